#include "tests/testing/nginx_config.h"

#include <unistd.h>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

std::string nginxConfigHead(const std::string& prefix, const std::string& load_module) {
  const std::string& p = prefix;
  return (load_module.empty() ? "" : "load_module " + load_module + ";\n") +
         (geteuid() == 0 ? "user root;\n" : "") +  // workers keep the test's identity
         "daemon off;\nworker_processes 1;\npid " + p + "/nginx.pid;\nerror_log " + p +
         "/logs/error.log info;\n" + "events { worker_connections 256; }\nhttp {\n" +
         "  access_log off;\n" + "  client_body_temp_path " + p + "/body;\n" +
         "  proxy_temp_path " + p + "/proxy;\n" + "  fastcgi_temp_path " + p + "/fastcgi;\n" +
         "  uwsgi_temp_path " + p + "/uwsgi;\n" + "  scgi_temp_path " + p + "/scgi;\n";
}

std::vector<std::string> nginxCommand(const std::string& prefix) {
  return {"/usr/sbin/nginx", "-p", prefix, "-c", prefix + "/nginx.conf"};
}

std::string nginxErrorLog(const std::string& prefix) {
  return readFile(prefix + "/logs/error.log");
}

}  // namespace mixer::testing
