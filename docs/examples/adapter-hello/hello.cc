// hello: a small example adapter. It serves check (denies the users listed in its params, and
// greets the others in the status message; the user is the `value` of a `listentry` instance)
// and report (counts and logs what it receives).
//
// Handler params:
//   greeting: "Hello"          # required
//   deny: [mallory, trudy]     # optional
//   valid_duration: 10s        # optional, how long a proxy may cache a verdict (default 1s)
#include <memory>
#include <string>
#include <vector>

#include "mixer/adapter_sdk/adapter.h"

namespace hello {

namespace sdk = mixer::adapter_sdk;

struct Config {
  std::string greeting;
  std::vector<std::string> deny;
  int64_t valid_duration_ns = 1'000'000'000;
};

// Shared by validate() and createHandler(), so both read params the same way.
Config readConfig(sdk::ValueView params, sdk::ErrorSink& errors) {
  Config config;
  sdk::checkKnownKeys(params, {"greeting", "deny", "valid_duration"}, "", errors);
  sdk::ValueView greeting = params.find("greeting");
  if (greeting.type() != MIXER_VALUE_STRING || greeting.stringValue().empty()) {
    errors.add("greeting", "required: a non-empty string");
  }
  config.greeting = std::string(greeting.stringValue());
  sdk::ValueView deny = params.find("deny");
  if (!deny.isNull() && !deny.isList()) {
    errors.add("deny", "expected a list of user names");
  }
  for (size_t i = 0; i < deny.size(); ++i) {
    if (deny.at(i).type() != MIXER_VALUE_STRING) {
      errors.add(sdk::indexPath("deny", i), "expected a string");
    }
    config.deny.emplace_back(deny.at(i).stringValue());
  }
  sdk::readDuration(params.find("valid_duration"), "valid_duration", errors,
                    &config.valid_duration_ns);
  return config;
}

// Immutable after construction, so calls from many host threads need no locking.
class HelloHandler : public sdk::Handler {
 public:
  HelloHandler(Config config, sdk::Host host, sdk::Host::Counter reports)
      : config_(std::move(config)), host_(host), reports_(reports) {}

  void check(const sdk::InstanceView& instance, const sdk::CallContext&,
             sdk::CheckCompletion done) override {
    const std::string user(instance.field("value").stringValue());
    sdk::CheckResult result;
    result.valid_duration_ns = config_.valid_duration_ns;
    result.valid_use_count = 100;
    for (const std::string& denied : config_.deny) {
      if (user == denied) {
        result.code = sdk::Code::kPermissionDenied;
        result.message = "no entry for " + user;
        done.respond(result);
        return;
      }
    }
    result.message = config_.greeting + ", " + (user.empty() ? "stranger" : user);
    done.respond(result);  // may also be called later, from a host timer or posted task
  }

  void report(const std::vector<sdk::InstanceView>& instances, const sdk::CallContext&,
              sdk::ReportCompletion done) override {
    reports_.add(static_cast<double>(instances.size()));
    host_.info("received " + std::to_string(instances.size()) + " instances");
    done.respond(sdk::ReportResult{});
  }

 private:
  const Config config_;
  sdk::Host host_;
  sdk::Host::Counter reports_;
};

class HelloAdapter : public sdk::Adapter {
 public:
  HelloAdapter()
      : reports_(host().declareCounter("hello_instances", "Instances reported to hello.")) {}

  static sdk::AdapterInfo info() {
    return sdk::AdapterInfo{"hello",
                            "1.0.0",
                            "Greets allowed users, denies listed ones",
                            MIXER_KIND_CHECK | MIXER_KIND_REPORT,
                            {"listentry", "reportnothing"}};
  }

  void validate(sdk::ValueView params, sdk::ErrorSink& errors) const override {
    readConfig(params, errors);
  }

  std::unique_ptr<sdk::Handler> createHandler(const std::string& name,
                                              sdk::ValueView params) override {
    sdk::ErrorSink ignored(nullptr);
    return std::make_unique<HelloHandler>(readConfig(params, ignored), host(), reports_);
  }

 private:
  sdk::Host::Counter reports_;
};

}  // namespace hello

MIXER_DEFINE_ADAPTER(hello::HelloAdapter);
