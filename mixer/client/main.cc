// mixc: a command-line client of istio.mixer.v1, flag-compatible with Istio's mixc.
//   mixc check  [attribute flags] [-q name=amount,...]   one Check, printed
//   mixc report [attribute flags] [--records N]          one Report (of N records)
// With -r/--repeat > 1, --duration or --rate, the same request is sent as a load test and a summary
// (rate, errors by code, latency percentiles; --json for one JSON object) is printed instead.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>

#include "base/go_duration.h"
#include "base/str_cat.h"
#include "base/word_compression.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/client/attribute_flags.h"
#include "mixer/client/eval_command.h"
#include "mixer/client/load_generator.h"
#include "mixer/v1/mixer.grpc.pb.h"
#include "proxy-filter/core/lean_transport.h"
#include "security/tls/credentials.h"

namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;
using istio::mixer::v1::ReportRequest;
using istio::mixer::v1::ReportResponse;

struct CommonOptions {
  std::string mixer = "localhost:9091";
  mixer::client::AttributeFlags attrs;
  std::vector<std::string> quotas;
  int64_t repeat = 1;
  int concurrency = 1;
  double rate = 0;
  std::string duration;
  bool json = false;
  int timeout_ms = 10000;
  int records = 1;              // report: records per ReportRequest
  security::tls::TlsFiles tls;  // --tls-ca, --tls-cert, --tls-key: TLS to the server
  std::string tls_server_name;
  std::string transport = "grpc";  // load runs: grpc (gRPC C++) or lean (the proxy library's)
};

// The channel to the server: plain text, or TLS when a CA or a client certificate is given.
// Null (after printing why) when the TLS files are unusable.
std::shared_ptr<grpc::Channel> makeChannel(const CommonOptions& o) {
  if (o.tls.ca.empty() && o.tls.cert.empty() && o.tls.key.empty()) {
    return grpc::CreateChannel(o.mixer, grpc::InsecureChannelCredentials());
  }
  auto credentials = security::tls::channelCredentials(o.tls);
  if (!credentials.ok()) {
    std::cerr << "mixc: " << credentials.status().message() << "\n";
    return nullptr;
  }
  grpc::ChannelArguments args;
  if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  security::tls::enableSessionResumption(&args);
  return grpc::CreateCustomChannel(o.mixer, *credentials, args);
}

void addAttributeFlags(CLI::App* cmd, mixer::client::AttributeFlags* attrs) {
  auto& a = *attrs;
  cmd->add_option("-a,--attributes", a.attributes,
                  "Auto-typed attributes: name1=value1,name2=value2");
  cmd->add_option("-s,--string_attributes", a.strings, "STRING attributes: name=value,...");
  cmd->add_option("-i,--int64_attributes", a.int64s, "INT64 attributes: name=value,...");
  cmd->add_option("-d,--double_attributes", a.doubles, "DOUBLE attributes: name=value,...");
  cmd->add_option("-b,--bool_attributes", a.bools, "BOOL attributes: name=value,...");
  cmd->add_option("-t,--timestamp_attributes", a.timestamps,
                  "TIMESTAMP attributes, RFC 3339: name=2017-01-02T15:04:05Z,...");
  cmd->add_option("--duration_attributes", a.durations, "DURATION attributes: name=10ms,...");
  cmd->add_option("--bytes_attributes", a.bytes, "Bytes attributes, hex: name=c0:a8:0:1,...");
  cmd->add_option("--stringmap_attributes", a.string_maps,
                  "STRING_MAP attributes: name=k1:v1;k2:v2,...");
}

void addCommonFlags(CLI::App* cmd, CommonOptions* o) {
  cmd->add_option("-m,--mixer", o->mixer, "Address of the mixer server")->capture_default_str();
  addAttributeFlags(cmd, &o->attrs);
  cmd->add_option("-r,--repeat", o->repeat, "Send the request this many times (load mode if > 1)")
      ->capture_default_str();
  cmd->add_option("-c,--concurrency", o->concurrency, "Calls in flight (closed-loop load)")
      ->capture_default_str();
  cmd->add_option("--rate", o->rate, "Open-loop load at this many calls per second");
  cmd->add_option("--duration", o->duration, "Load for this long (Go syntax: 10s, 1m)");
  cmd->add_flag("--json", o->json, "Print the load summary as one JSON object");
  cmd->add_option("--timeout-ms", o->timeout_ms, "Per-call deadline")->capture_default_str();
  cmd->add_option("--tls-ca", o->tls.ca, "PEM CA bundle that verifies the server (TLS)");
  cmd->add_option("--tls-cert", o->tls.cert, "PEM client certificate (mTLS)");
  cmd->add_option("--tls-key", o->tls.key, "PEM key of --tls-cert");
  cmd->add_option("--tls-server-name", o->tls_server_name,
                  "Name the server's certificate must carry (default: the --mixer host)");
  cmd->add_option("--transport", o->transport,
                  "Load runs: grpc (gRPC C++), or lean (the proxy library's libnghttp2 client, "
                  "as nginx's mixer_transport lean)")
      ->check(CLI::IsMember({"grpc", "lean"}))
      ->capture_default_str();
}

std::string wordOrIndex(int32_t index, const google::protobuf::RepeatedPtrField<std::string>& w) {
  auto word = mixer::base::wordAt(index, mixer::api::kGlobalWords, w);
  if (!word) {
    return mixer::base::strCat("<bad word index ", index, ">");
  }
  return std::string(*word);
}

void printReferenced(const ReferencedAttributes& r, const char* indent) {
  std::printf("%sReferenced Attributes\n", indent);
  if (r.attribute_matches().empty()) {
    std::printf("%s  <none>\n", indent);
  }
  for (const auto& m : r.attribute_matches()) {
    std::string name = wordOrIndex(m.name(), r.words());
    if (m.map_key() != 0) {
      name += "[" + wordOrIndex(m.map_key(), r.words()) + "]";
    }
    std::printf("%s  %-40s %s%s\n", indent, name.c_str(),
                ReferencedAttributes::Condition_Name(m.condition()).c_str(),
                m.regex().empty() ? "" : (" " + m.regex()).c_str());
  }
}

std::string durationText(const google::protobuf::Duration& d) {
  return mixer::base::formatGoDuration(d.seconds() * 1000000000 + d.nanos());
}

std::string statusText(const google::rpc::Status& s) {
  std::string out = mixer::client::statusCodeName(static_cast<grpc::StatusCode>(s.code()));
  if (!s.message().empty()) {
    out += " (" + s.message() + ")";
  }
  return out;
}

bool isLoad(const CommonOptions& o) {
  return o.repeat > 1 || o.rate > 0 || !o.duration.empty() || o.concurrency > 1;
}

int runLoadMode(const std::string& method, const std::string& bytes, const CommonOptions& o) {
  mixer::client::LoadRunOptions lo;
  lo.method = method;
  lo.concurrency = o.concurrency;
  lo.rate = o.rate;
  lo.timeout = std::chrono::milliseconds(o.timeout_ms);
  lo.requests = o.repeat;
  if (!o.duration.empty()) {
    auto ns = mixer::base::parseGoDuration(o.duration);
    if (!ns || *ns <= 0) {
      std::cerr << "mixc: --duration " << o.duration << ": want a positive duration (10s, 1m)\n";
      return 2;
    }
    lo.duration = std::chrono::nanoseconds(*ns);
    if (o.repeat <= 1) {
      lo.requests = INT64_MAX;  // bounded by the duration
    }
  }
  // SIGINT / SIGTERM end the run early, with its summary.
  std::signal(SIGINT, [](int) { mixer::client::stopLoad(); });
  std::signal(SIGTERM, [](int) { mixer::client::stopLoad(); });
  mixer::client::LoadRunResult result;
  if (o.transport == "lean") {
    mixer::proxy::LeanTransportOptions t;
    t.address = o.mixer;
    t.timeout_ms = o.timeout_ms;
    t.tls = !o.tls.ca.empty() || !o.tls.cert.empty() || !o.tls.key.empty();
    t.tls_files = o.tls;
    t.server_name = o.tls_server_name;
    auto transport = mixer::proxy::LeanTransport::create(t);
    if (!transport.ok()) {
      std::cerr << "mixc: " << transport.status().message() << "\n";
      return 2;
    }
    result = mixer::client::runLoad(**transport, bytes, lo);
  } else {
    auto channel = makeChannel(o);
    if (!channel) return 2;
    result = mixer::client::runLoad(channel, bytes, lo);
  }
  if (o.json) {
    std::printf("%s\n", result.json(lo).c_str());
  } else {
    std::printf("%s", result.text(lo).c_str());
  }
  return result.ok == result.sent ? 0 : 1;
}

// A single call (not a load run) goes over gRPC C++; false, after saying why, for another
// transport.
bool singleCallTransport(const CommonOptions& o) {
  if (o.transport == "grpc") return true;
  std::cerr << "mixc: --transport " << o.transport
            << " is for load runs (-r, -c, --rate, --duration)\n";
  return false;
}

std::string deduplicationId() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "mixc-%08x%08x", rd(), rd());
  return buf;
}

int runCheck(const CommonOptions& o, const mixer::attribute::AttributeBag& bag) {
  CheckRequest req;
  mixer::api::encodeAttributes(bag, mixer::api::kGlobalWordCount, req.mutable_attributes());
  req.set_global_word_count(mixer::api::kGlobalWordCount);
  req.set_deduplication_id(deduplicationId());
  for (const auto& spec : o.quotas) {
    std::string_view rest = spec;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view pair = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const auto eq = pair.find('=');
      int64_t amount = 0;
      if (eq == std::string_view::npos || eq == 0 ||
          !CLI::detail::lexical_cast(std::string(pair.substr(eq + 1)), amount)) {
        std::cerr << "mixc: --quotas: '" << pair << "' is not name=amount\n";
        return 2;
      }
      auto& q = (*req.mutable_quotas())[std::string(pair.substr(0, eq))];
      q.set_amount(amount);
      q.set_best_effort(false);
    }
  }
  if (isLoad(o)) {
    return runLoadMode("/istio.mixer.v1.Mixer/Check", req.SerializeAsString(), o);
  }
  if (!singleCallTransport(o)) return 2;
  auto channel = makeChannel(o);
  if (!channel) return 2;
  auto stub = istio::mixer::v1::Mixer::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o.timeout_ms));
  CheckResponse resp;
  const grpc::Status s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) {
    std::printf("Check RPC failed with: %s: %s\n",
                mixer::client::statusCodeName(s.error_code()).c_str(), s.error_message().c_str());
    return 1;
  }
  const auto& p = resp.precondition();
  std::printf("Check RPC completed successfully. Check status was %s\n",
              statusText(p.status()).c_str());
  std::printf("  Valid use count: %d, valid duration: %s\n", p.valid_use_count(),
              durationText(p.valid_duration()).c_str());
  printReferenced(p.referenced_attributes(), "  ");
  if (p.has_route_directive()) {
    const auto& rd = p.route_directive();
    for (const auto& [ops, what] : {std::pair{&rd.request_header_operations(), "Request"},
                                    std::pair{&rd.response_header_operations(), "Response"}}) {
      for (const auto& op : *ops) {
        std::printf("  %s header %s %s%s\n", what,
                    istio::mixer::v1::HeaderOperation::Operation_Name(op.operation()).c_str(),
                    op.name().c_str(), op.value().empty() ? "" : (": " + op.value()).c_str());
      }
    }
    if (rd.direct_response_code() != 0) {
      std::printf("  Direct response %u: %s\n", rd.direct_response_code(),
                  rd.direct_response_body().c_str());
    }
  }
  std::vector<std::string> names;
  for (const auto& [name, q] : resp.quotas()) {
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const auto& q = resp.quotas().at(name);
    std::printf(
        "  Quota '%s': granted %lld, valid duration %s%s\n", name.c_str(),
        static_cast<long long>(q.granted_amount()), durationText(q.valid_duration()).c_str(),
        q.has_status() && q.status().code() != 0 ? (", status " + statusText(q.status())).c_str()
                                                 : "");
    printReferenced(q.referenced_attributes(), "    ");
  }
  return 0;
}

int runReport(const CommonOptions& o, const mixer::attribute::AttributeBag& bag) {
  ReportRequest req;
  // `records` entries (the same attributes each time), encoded as Istio's client batches are:
  // words in default_words, INDEPENDENT.
  mixer::base::MessageDictionary dict(mixer::api::globalWords(), mixer::api::kGlobalWordCount);
  mixer::api::encodeAttributes(bag, &dict, req.add_attributes());
  for (int i = 1; i < o.records; ++i) {
    *req.add_attributes() = req.attributes(0);
  }
  for (const auto& w : dict.words()) {
    req.add_default_words(w);
  }
  req.set_global_word_count(mixer::api::kGlobalWordCount);
  req.set_repeated_attributes_semantics(ReportRequest::INDEPENDENT_ENCODING);
  if (isLoad(o)) {
    return runLoadMode("/istio.mixer.v1.Mixer/Report", req.SerializeAsString(), o);
  }
  if (!singleCallTransport(o)) return 2;
  auto channel = makeChannel(o);
  if (!channel) return 2;
  auto stub = istio::mixer::v1::Mixer::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o.timeout_ms));
  ReportResponse resp;
  const grpc::Status s = stub->Report(&ctx, req, &resp);
  if (!s.ok()) {
    std::printf("Report RPC failed with: %s: %s\n",
                mixer::client::statusCodeName(s.error_code()).c_str(), s.error_message().c_str());
    return 1;
  }
  std::printf("Report RPC returned OK\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mixc: client of the istio.mixer.v1 API (Check, Report)"};
  app.require_subcommand(1);

  CommonOptions check_opts;
  auto* check = app.add_subcommand("check", "Send a Check (precondition and quota) request");
  addCommonFlags(check, &check_opts);
  check->add_option("-q,--quotas", check_opts.quotas, "Quotas to allocate: name1=amount1,...");

  CommonOptions report_opts;
  auto* report = app.add_subcommand("report", "Send a Report (telemetry) request");
  addCommonFlags(report, &report_opts);
  report
      ->add_option("--records", report_opts.records,
                   "Records per Report, as a proxy's batch (the same attributes in each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  mixer::client::EvalOptions eval_opts;
  auto* eval = app.add_subcommand("eval", "Evaluate an expression over attributes, locally");
  eval->add_option("-e,--expression", eval_opts.expression, "The expression")->required();
  eval->add_option("--lang", eval_opts.lang, "cexl (Istio Mixer's language) or cel")
      ->capture_default_str();
  eval->add_option("--manifest", eval_opts.manifest_file,
                   "Istio attributemanifest YAML typing the attributes (default: the built-in "
                   "vocabularies)");
  eval->add_option("--vocabulary", eval_opts.vocabulary,
                   "Built-in vocabularies: all (Istio 1.x's istio-proxy and kubernetes manifests "
                   "and the Istio 0.1/0.2 names such as target.service) or 1.x")
      ->capture_default_str();
  eval->add_flag("--json", eval_opts.json, "Print one JSON object");
  addAttributeFlags(eval, &eval_opts.attrs);

  CLI11_PARSE(app, argc, argv);

  if (eval->parsed()) {
    return mixer::client::runEval(eval_opts);
  }
  const bool is_check = check->parsed();
  const CommonOptions& o = is_check ? check_opts : report_opts;
  mixer::attribute::AttributeBag bag(mixer::attribute::Vocabulary::allBuiltin());
  if (auto s = mixer::client::buildAttributes(o.attrs, &bag); !s.ok()) {
    std::cerr << "mixc: " << s.message() << "\n";
    return 2;
  }
  return is_check ? runCheck(o, bag) : runReport(o, bag);
}
