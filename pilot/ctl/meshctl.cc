// meshctl: manage routing config through pilot-discovery's Rules API, in the spirit of istioctl
// and kubectl. It talks only to the Rules API (--server) and the debug endpoints of the
// monitoring port (--monitoring).
//
//   meshctl get virtualservices [NAME] [-n NS | -A] [-o table|yaml|json] [--watch]
//   meshctl apply -f FILE|-            create or replace every document
//   meshctl delete KIND NAME... | -f FILE
//   meshctl validate -f FILE|-         the server's validation, nothing written (dryRun)
//   meshctl proxy-status               connected xDS clients: what they ACKed or NACKed
//
// Kinds: virtualservice(s)/vs, destinationrule(s)/dr, serviceentry/serviceentries/se.
// Environment: MESHCTL_SERVER, MESHCTL_MONITORING, MESHCTL_CACERT, MESHCTL_CERT, MESHCTL_KEY.
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pilot/ctl/http_client.h"
#include "pilot/model/yaml_reader.h"
#include "pilot/rules/resource.h"

namespace {

using pilot::rules::KindInfo;

constexpr char kDefaultVersion[] = "v1beta1";

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string scalarAt(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return "";
  const YAML::Node v = map[key];
  return v.IsDefined() && v.IsScalar() ? v.Scalar() : "";
}

// node[key], or a null node when node is not a map or lacks it (never an invalid node).
YAML::Node at(const YAML::Node& node, const char* key) {
  if (!node.IsMap()) return YAML::Node();
  const YAML::Node v = node[key];
  return v.IsDefined() ? v : YAML::Node();
}

std::string collectionPath(const KindInfo& kind, const std::string& ns) {
  std::string p = "/apis/networking.istio.io/" + std::string(kDefaultVersion);
  if (!ns.empty()) p += "/namespaces/" + ns;
  return p + "/" + std::string(kind.plural);
}

YAML::Node parseJson(const std::string& body) {
  try {
    return YAML::Load(body);
  } catch (const std::exception&) {
    return YAML::Node();
  }
}

// Prints a Status answer the way kubectl does; returns 1.
int reportFailure(const meshctl::HttpResult& r, const std::string& what) {
  const YAML::Node s = parseJson(r.body);
  const std::string reason = scalarAt(s, "reason");
  std::string message = scalarAt(s, "message");
  if (message.empty()) message = r.body;
  std::cerr << "Error from server" << (reason.empty() ? "" : " (" + reason + ")") << ": ";
  const YAML::Node causes = at(at(s, "details"), "causes");
  if (r.code == 422 && causes.IsDefined() && causes.IsSequence() && causes.size() > 0) {
    std::cerr << what << " is invalid:\n";
    for (const YAML::Node& c : causes) {
      const std::string field = scalarAt(c, "field");
      std::cerr << "  " << (field.empty() ? "" : field + ": ") << scalarAt(c, "message") << "\n";
    }
  } else {
    std::cerr << message << (message.empty() || message.back() != '\n' ? "\n" : "");
  }
  return 1;
}

std::string age(const std::string& timestamp) {
  std::tm tm{};
  if (timestamp.empty() || strptime(timestamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) {
    return "<unknown>";
  }
  const long long secs = static_cast<long long>(std::time(nullptr) - timegm(&tm));
  if (secs < 120) return std::to_string(std::max(0LL, secs)) + "s";
  if (secs < 7200) return std::to_string(secs / 60) + "m";
  if (secs < 172800) return std::to_string(secs / 3600) + "h";
  return std::to_string(secs / 86400) + "d";
}

std::string joinScalars(const YAML::Node& seq) {
  std::string out;
  if (!seq.IsSequence()) return "";
  for (const YAML::Node& n : seq) {
    if (!out.empty()) out += ",";
    out += n.IsScalar() ? n.Scalar() : "?";
  }
  return out;
}

void printTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    std::cout << line << "\n";
  }
}

std::vector<std::string> header(const KindInfo& kind, bool namespaces) {
  std::vector<std::string> h;
  if (namespaces) h.push_back("NAMESPACE");
  h.push_back("NAME");
  if (kind.kind == "VirtualService") {
    h.insert(h.end(), {"HOSTS", "ROUTES"});
  } else if (kind.kind == "DestinationRule") {
    h.insert(h.end(), {"HOST", "SUBSETS"});
  } else {
    h.insert(h.end(), {"HOSTS", "LOCATION", "RESOLUTION"});
  }
  h.push_back("AGE");
  return h;
}

std::vector<std::string> row(const KindInfo& kind, const YAML::Node& o, bool namespaces) {
  std::vector<std::string> r;
  const YAML::Node meta = at(o, "metadata");
  const YAML::Node spec = at(o, "spec");
  if (namespaces) r.push_back(scalarAt(meta, "namespace"));
  r.push_back(scalarAt(meta, "name"));
  if (kind.kind == "VirtualService") {
    r.push_back(joinScalars(at(spec, "hosts")));
    r.push_back(std::to_string(at(spec, "http").IsSequence() ? at(spec, "http").size() : 0));
  } else if (kind.kind == "DestinationRule") {
    r.push_back(scalarAt(spec, "host"));
    std::string subsets;
    if (at(spec, "subsets").IsSequence()) {
      for (const YAML::Node& s : at(spec, "subsets")) {
        subsets += (subsets.empty() ? "" : ",") + scalarAt(s, "name");
      }
    }
    r.push_back(subsets);
  } else {
    r.push_back(joinScalars(at(spec, "hosts")));
    const std::string location = scalarAt(spec, "location");
    r.push_back(location.empty() ? "MESH_EXTERNAL" : location);
    const std::string resolution = scalarAt(spec, "resolution");
    r.push_back(resolution.empty() ? "NONE" : resolution);
  }
  r.push_back(age(scalarAt(meta, "creationTimestamp")));
  return r;
}

void printObject(const YAML::Node& node, const std::string& output) {
  if (output == "json") {
    std::cout << pilot::rules::emitJson(node, 2) << "\n";
  } else {
    std::cout << pilot::rules::emitYaml(node);
  }
}

struct Options {
  meshctl::Endpoint server;
  meshctl::Endpoint monitoring;
  std::string ns = "default";
  bool all_namespaces = false;
  std::string output = "table";
};

// The documents of the -f files ("-": stdin).
bool readDocuments(const std::vector<std::string>& files, std::vector<YAML::Node>* docs) {
  for (const std::string& f : files) {
    std::string text;
    if (f == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else {
      std::ifstream in(f);
      if (!in) {
        std::cerr << "error: cannot read " << f << "\n";
        return false;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    std::vector<pilot::model::ConfigError> errors;
    pilot::model::YamlReader reader(f == "-" ? "stdin" : f, &errors);
    for (YAML::Node& d : pilot::model::loadDocuments(text, &reader)) {
      if (d.IsDefined() && !d.IsNull()) docs->push_back(d);
    }
    if (!errors.empty()) {
      std::cerr << "error: " << pilot::model::formatErrors(errors);
      return false;
    }
  }
  return true;
}

struct DocTarget {
  const KindInfo* kind = nullptr;
  std::string ns;
  std::string name;
};

bool targetOf(const YAML::Node& doc, const Options& o, DocTarget* t) {
  t->kind = pilot::rules::kindByKind(scalarAt(doc, "kind"));
  if (t->kind == nullptr) {
    std::cerr << "error: unsupported kind \"" << scalarAt(doc, "kind")
              << "\" (VirtualService, DestinationRule, ServiceEntry)\n";
    return false;
  }
  t->name = scalarAt(at(doc, "metadata"), "name");
  if (t->name.empty()) {
    std::cerr << "error: a " << t->kind->kind << " without metadata.name\n";
    return false;
  }
  t->ns = scalarAt(at(doc, "metadata"), "namespace");
  if (t->ns.empty()) t->ns = o.ns;
  return true;
}

std::string display(const DocTarget& t) {
  return std::string(t.kind->singular) + ".networking.istio.io/" + t.name;
}

bool call(const meshctl::Endpoint& e, const std::string& method, const std::string& path,
          const std::string& body, meshctl::HttpResult* r,
          const std::function<bool(std::string_view)>& on_body = nullptr) {
  std::string error;
  if (!meshctl::httpCall(e, method, path, body.empty() ? "" : "application/yaml", body,
                         "application/json", r, &error, on_body)) {
    std::cerr << "error: " << error << "\n";
    return false;
  }
  return true;
}

int cmdGet(const Options& o, const std::string& kind_arg, const std::vector<std::string>& names,
           bool watch) {
  const KindInfo* kind = pilot::rules::kindByAlias(kind_arg);
  if (kind == nullptr) {
    std::cerr << "error: the server doesn't have a resource type \"" << kind_arg << "\"\n";
    return 1;
  }
  const std::string base = collectionPath(*kind, o.all_namespaces ? "" : o.ns);
  if (watch) {
    meshctl::HttpResult r;
    std::string pending;
    bool first = true;
    if (!call(o.server, "GET", base + "?watch=true", "", &r, [&](std::string_view data) {
          pending.append(data);
          size_t nl;
          while ((nl = pending.find('\n')) != std::string::npos) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line.empty()) continue;
            const YAML::Node e = parseJson(line);
            if (o.output == "json") {
              std::cout << line << std::endl;
            } else if (o.output == "yaml") {
              std::cout << "---\n" << pilot::rules::emitYaml(e) << std::flush;
            } else {
              std::vector<std::vector<std::string>> rows;
              if (first) {
                auto h = header(*kind, o.all_namespaces);
                h.insert(h.begin(), "EVENT");
                rows.push_back(h);
                first = false;
              }
              auto rr = row(*kind, at(e, "object"), o.all_namespaces);
              rr.insert(rr.begin(), scalarAt(e, "type"));
              rows.push_back(rr);
              printTable(rows);
              std::cout << std::flush;
            }
          }
          return true;
        })) {
      return 1;
    }
    if (r.code / 100 != 2) return reportFailure(r, "");
    return 0;
  }
  if (!names.empty()) {
    int rc = 0;
    std::vector<std::vector<std::string>> rows{header(*kind, o.all_namespaces)};
    for (const std::string& name : names) {
      meshctl::HttpResult r;
      if (!call(o.server, "GET", collectionPath(*kind, o.ns) + "/" + name, "", &r)) return 1;
      if (r.code != 200) {
        rc = reportFailure(r, name);
        continue;
      }
      const YAML::Node obj = parseJson(r.body);
      if (o.output == "table") {
        rows.push_back(row(*kind, obj, o.all_namespaces));
      } else {
        printObject(obj, o.output);
      }
    }
    if (o.output == "table" && rows.size() > 1) printTable(rows);
    return rc;
  }
  meshctl::HttpResult r;
  if (!call(o.server, "GET", base, "", &r)) return 1;
  if (r.code != 200) return reportFailure(r, "");
  const YAML::Node list = parseJson(r.body);
  if (o.output != "table") {
    printObject(list, o.output);
    return 0;
  }
  const YAML::Node items = at(list, "items");
  if (!items.IsSequence() || items.size() == 0) {
    std::cerr << "No resources found" << (o.all_namespaces ? "" : " in " + o.ns + " namespace")
              << ".\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{header(*kind, o.all_namespaces)};
  for (const YAML::Node& item : items) rows.push_back(row(*kind, item, o.all_namespaces));
  printTable(rows);
  return 0;
}

// apply (dry_run false) and validate (dry_run true).
int cmdApply(const Options& o, const std::vector<std::string>& files, bool dry_run) {
  std::vector<YAML::Node> docs;
  if (!readDocuments(files, &docs)) return 1;
  if (docs.empty()) {
    std::cerr << "error: no objects passed to " << (dry_run ? "validate" : "apply") << "\n";
    return 1;
  }
  int rc = 0;
  for (YAML::Node doc : docs) {
    DocTarget t;
    if (!targetOf(doc, o, &t)) {
      rc = 1;
      continue;
    }
    const std::string path = collectionPath(*t.kind, t.ns);
    const std::string query = dry_run ? "?dryRun=All" : "";
    meshctl::HttpResult existing;
    if (!call(o.server, "GET", path + "/" + t.name, "", &existing)) return 1;
    meshctl::HttpResult r;
    bool created = false;
    if (existing.code == 404) {
      if (!call(o.server, "POST", path + query, pilot::rules::emitYaml(doc), &r)) return 1;
      created = true;
    } else if (existing.code == 200) {
      // Replace the version just read: a change made meanwhile is a conflict, not lost.
      if (!doc["metadata"].IsMap()) doc["metadata"] = YAML::Node(YAML::NodeType::Map);
      if (scalarAt(doc["metadata"], "resourceVersion").empty()) {
        const std::string version =
            scalarAt(at(parseJson(existing.body), "metadata"), "resourceVersion");
        YAML::Node v(version);
        v.SetTag("!");
        doc["metadata"]["resourceVersion"] = v;
      }
      if (!call(o.server, "PUT", path + "/" + t.name + query, pilot::rules::emitYaml(doc), &r)) {
        return 1;
      }
    } else {
      rc = reportFailure(existing, display(t));
      continue;
    }
    if (r.code / 100 != 2) {
      rc = reportFailure(r, display(t));
      continue;
    }
    if (dry_run) {
      std::cout << display(t) << " is valid\n";
    } else {
      std::cout << display(t) << (created ? " created" : " configured") << "\n";
    }
  }
  return rc;
}

int cmdDelete(const Options& o, const std::vector<std::string>& args,
              const std::vector<std::string>& files) {
  std::vector<DocTarget> targets;
  if (!files.empty()) {
    std::vector<YAML::Node> docs;
    if (!readDocuments(files, &docs)) return 1;
    for (const YAML::Node& d : docs) {
      DocTarget t;
      if (!targetOf(d, o, &t)) return 1;
      targets.push_back(t);
    }
  } else {
    if (args.size() < 2) {
      std::cerr << "error: delete KIND NAME... or delete -f FILE\n";
      return 1;
    }
    const KindInfo* kind = pilot::rules::kindByAlias(args[0]);
    if (kind == nullptr) {
      std::cerr << "error: the server doesn't have a resource type \"" << args[0] << "\"\n";
      return 1;
    }
    for (size_t i = 1; i < args.size(); ++i) targets.push_back(DocTarget{kind, o.ns, args[i]});
  }
  int rc = 0;
  for (const DocTarget& t : targets) {
    meshctl::HttpResult r;
    if (!call(o.server, "DELETE", collectionPath(*t.kind, t.ns) + "/" + t.name, "", &r)) return 1;
    if (r.code / 100 != 2) {
      rc = reportFailure(r, display(t));
      continue;
    }
    std::cout << display(t) << " deleted\n";
  }
  return rc;
}

std::string syncState(const YAML::Node& type) {
  if (!type.IsMap()) return "NOT SENT";
  const std::string sent = scalarAt(type, "version_sent");
  const std::string acked = scalarAt(type, "version_acked");
  const YAML::Node nack = at(type, "last_nack");
  if (sent.empty()) return "NOT SENT";
  if (nack.IsMap() && scalarAt(nack, "version") == sent) return "NACK";
  if (acked == sent) return "SYNCED";
  return "STALE";
}

int cmdProxyStatus(const Options& o) {
  meshctl::HttpResult r;
  if (!call(o.monitoring, "GET", "/debug/syncz", "", &r)) return 1;
  if (r.code != 200) {
    std::cerr << "error: " << o.monitoring.url << "/debug/syncz answered " << r.code << ": "
              << r.body;
    return 1;
  }
  const YAML::Node sync = parseJson(r.body);
  if (o.output != "table") {
    printObject(sync, o.output);
    return 0;
  }
  const std::string snapshot = scalarAt(sync, "snapshot_version");
  std::vector<std::vector<std::string>> rows{
      {"NAME", "PEER", "CDS", "LDS", "EDS", "RDS", "VERSION", "SNAPSHOT"}};
  std::vector<std::string> nacks;
  if (at(sync, "clients").IsSequence()) {
    for (const YAML::Node& c : at(sync, "clients")) {
      const YAML::Node xds = at(c, "xds");
      const std::string name = scalarAt(at(c, "node"), "id");
      std::string version;
      for (const char* t : {"LDS", "RDS", "CDS", "EDS"}) {
        if (version.empty()) version = scalarAt(at(xds, t), "version_acked");
      }
      rows.push_back({name.empty() ? "<stream " + scalarAt(c, "stream") + ">" : name,
                      scalarAt(c, "peer"), syncState(at(xds, "CDS")), syncState(at(xds, "LDS")),
                      syncState(at(xds, "EDS")), syncState(at(xds, "RDS")),
                      version.empty() ? "-" : version, snapshot});
      for (const char* t : {"CDS", "LDS", "EDS", "RDS"}) {
        const YAML::Node nack = at(at(xds, t), "last_nack");
        if (nack.IsMap()) {
          nacks.push_back(name + " " + t + " NACKed version " + scalarAt(nack, "version") + ": " +
                          scalarAt(nack, "message"));
        }
      }
    }
  }
  if (rows.size() == 1) {
    std::cerr << "No connected xDS clients.\n";
    return 0;
  }
  printTable(rows);
  for (const std::string& n : nacks) std::cout << n << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"meshctl: manage routing config through pilot-discovery's Rules API"};
  app.require_subcommand(1);
  app.fallthrough();  // global options after the subcommand, as kubectl takes them
  Options o;
  o.server.url = envOr("MESHCTL_SERVER", "http://127.0.0.1:15016");
  o.monitoring.url = envOr("MESHCTL_MONITORING", "http://127.0.0.1:15014");
  o.server.ca_file = envOr("MESHCTL_CACERT", "");
  o.server.cert_file = envOr("MESHCTL_CERT", "");
  o.server.key_file = envOr("MESHCTL_KEY", "");
  app.add_option("--server", o.server.url,
                 "the Rules API: http://HOST:PORT or https://HOST:PORT (env MESHCTL_SERVER)");
  app.add_option("--monitoring", o.monitoring.url,
                 "pilot-discovery's monitoring address, for proxy-status (env "
                 "MESHCTL_MONITORING)");
  app.add_option("--cacert", o.server.ca_file, "https: the CA bundle to verify the server with");
  app.add_option("--cert", o.server.cert_file, "https: client certificate (mTLS)");
  app.add_option("--key", o.server.key_file, "https: the client certificate's key");
  app.add_option("--tls-server-name", o.server.server_name,
                 "https: the name the server's certificate must carry (default: the host)");
  app.add_option("-n,--namespace", o.ns, "namespace (default: default)");
  app.add_flag("-A,--all-namespaces", o.all_namespaces, "list across namespaces (get)");
  app.add_option("-o,--output", o.output, "table, yaml or json")
      ->check(CLI::IsMember({"table", "yaml", "json"}));
  app.add_option("--timeout-ms", o.server.timeout_ms, "connect and send timeout");

  auto* get = app.add_subcommand("get", "list or show objects: get KIND [NAME...]");
  std::vector<std::string> get_args;
  bool watch = false;
  get->add_option("args", get_args, "KIND [NAME...]")->required();
  get->add_flag("-w,--watch", watch, "stream changes (ADDED, MODIFIED, DELETED)");

  auto* apply = app.add_subcommand("apply", "create or replace the objects of files");
  std::vector<std::string> apply_files;
  bool apply_dry_run = false;
  apply->add_option("-f,--filename", apply_files, "YAML or JSON file, - for stdin")->required();
  apply->add_flag("--dry-run", apply_dry_run, "validate on the server, write nothing");

  auto* del = app.add_subcommand("delete", "delete objects: delete KIND NAME... | -f FILE");
  std::vector<std::string> delete_args, delete_files;
  del->add_option("args", delete_args, "KIND NAME...");
  del->add_option("-f,--filename", delete_files, "the objects of these files");

  auto* validate = app.add_subcommand("validate", "validate files on the server (nothing written)");
  std::vector<std::string> validate_files;
  validate->add_option("-f,--filename", validate_files, "YAML or JSON file, - for stdin")
      ->required();

  auto* status = app.add_subcommand(
      "proxy-status", "connected xDS clients and what they ACKed or NACKed (/debug/syncz)");

  CLI11_PARSE(app, argc, argv);
  o.monitoring.ca_file = o.server.ca_file;
  o.monitoring.timeout_ms = o.server.timeout_ms;
  if (o.output.empty()) o.output = "table";

  if (get->parsed()) {
    std::vector<std::string> names(get_args.begin() + 1, get_args.end());
    return cmdGet(o, get_args[0], names, watch);
  }
  if (apply->parsed()) return cmdApply(o, apply_files, apply_dry_run);
  if (validate->parsed()) return cmdApply(o, validate_files, true);
  if (del->parsed()) return cmdDelete(o, delete_args, delete_files);
  if (status->parsed()) return cmdProxyStatus(o);
  return 2;
}
