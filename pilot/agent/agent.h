// pilot-agent's work: obtain a workload certificate from pilot-discovery's CA and keep it fresh
// as three files in a directory,
//   cert-chain.pem  the workload certificate and any intermediates (leaf first),
//   key.pem         its private key (mode 0600), ECDSA P-256,
//   root-cert.pem   the trust bundle (the CA's ROOTCA secret; the chain's root if SDS is not
//                   reachable),
// each written atomically (a temporary file in the directory, fsync, rename); root-cert.pem
// first, so that peers trust a new root before certificates it signed appear. The key is made
// once, with the first certificate, and renewals certify the same key: then a renewal replaces
// cert-chain.pem alone, and a reader never sees a key and a certificate that do not belong
// together (the two files cannot be replaced in one step). These are the files gRPC's
// file_watcher certificate provider and the --tls-* flags of mixs, mixc and pilot-discovery read.
//
// The first certificate is paid for with a join token; later ones are renewals over mutual TLS
// with the current certificate. Certificates already in the directory and still valid are
// reused when the agent restarts. The agent renews when half of the certificate's remaining
// life (from when it was received) has passed and, when
// the CA cannot be reached or refuses, retries with exponential backoff (doubling from
// backoff_initial up to backoff_max). Thread-compatible; run() may be stopped from another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "security/ca/x509.h"

namespace pilot::agent {

struct AgentOptions {
  std::string ca_address;  // host:port of pilot-discovery's gRPC port
  std::string out_dir;
  std::string token;  // join token for the first certificate (may be empty)
  // PEM roots that verify the CA's server certificate; empty: a plaintext channel (trials only:
  // the join token then crosses the network in the clear, and renewal is impossible).
  std::string ca_root_file;
  std::string server_name;  // the name checked in the CA's certificate (default: the host)
  std::chrono::seconds requested_ttl{0};  // 0: the CA's TTL
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::seconds call_timeout{20};
};

class Agent {
 public:
  explicit Agent(AgentOptions options);

  // Reads the directory's current certificate, if any is there and valid.
  void loadExisting();
  // One attempt: a new key and CSR, CreateCertificate (token first time, mTLS after), the
  // trust bundle, the files.
  absl::Status obtainOnce();
  // Renews until `stop`; returns when it is set.
  void run(const std::atomic<bool>& stop);

  bool hasCertificate() const { return not_after_ > std::chrono::system_clock::now(); }
  std::chrono::system_clock::time_point renewAt() const { return renew_at_; }
  const std::string& spiffeId() const { return spiffe_id_; }

 private:
  AgentOptions options_;
  std::string cert_path_, key_path_, root_path_;
  std::string spiffe_id_;
  std::chrono::system_clock::time_point not_after_{};
  std::chrono::system_clock::time_point renew_at_{};
  bool token_used_ = false;
  security::ca::KeyPtr key_;  // the workload's key, once made or loaded
};

}  // namespace pilot::agent
