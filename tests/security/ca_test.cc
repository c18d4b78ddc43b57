// The CA against OpenSSL's own command-line tool: what it signs verifies with `openssl verify`
// against the root, carries exactly the caller's SPIFFE ID, and is a TLS client and server leaf.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "security/ca/certificate_authority.h"
#include "security/ca/csr.h"
#include "tests/testing/subprocess.h"

namespace security::ca {
namespace {

using mixer::testing::runCommand;

class CaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ca_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
  }
  // Runs openssl with `args`; returns {exit code, output}.
  std::pair<int, std::string> openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    return runCommand(args);
  }
  std::string csrFor(EVP_PKEY* key, const std::string& san = "") {
    auto csr = createCsrPem(key, san);
    EXPECT_TRUE(csr.ok()) << csr.status();
    return *csr;
  }
  // An openssl-made key and CSR: `newkey` as for `openssl req -newkey`.
  std::string opensslCsr(const std::string& newkey) {
    auto [rc, out] = openssl({"req", "-new", "-newkey", newkey, "-nodes", "-keyout", path("k.pem"),
                              "-subj", "/CN=x", "-out", path("req.pem")});
    EXPECT_EQ(rc, 0) << out;
    return *readFile(path("req.pem"));
  }

  std::filesystem::path dir_;
};

WorkloadId reviews() { return *parseWorkloadId("spiffe://cluster.local/ns/default/sa/reviews"); }

TEST_F(CaTest, SignedCertificateVerifiesAgainstTheRootAndCarriesOnlyTheCallersId) {
  auto ca = CertificateAuthority::selfSigned(CaOptions{});
  ASSERT_TRUE(ca.ok()) << ca.status();
  KeyPtr key = generateEcP256Key();
  // The CSR asks for another identity; the certificate carries the caller's.
  CsrResult csr = parseCsr(csrFor(key.get(), "spiffe://cluster.local/ns/kube-system/sa/admin"));
  ASSERT_EQ(csr.problem, CsrProblem::kNone) << csr.detail;
  auto chain = (*ca)->sign(csr.public_key.get(), reviews(), std::chrono::seconds(0));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);  // leaf, root
  EXPECT_EQ((*chain)[1], (*ca)->trustBundlePem());
  write("root.pem", (*ca)->trustBundlePem());
  write("leaf.pem", (*chain)[0]);
  auto [rc, out] =
      openssl({"verify", "-CAfile", path("root.pem"), "-purpose", "sslclient", path("leaf.pem")});
  EXPECT_EQ(rc, 0) << out;
  auto [rc2, out2] =
      openssl({"verify", "-CAfile", path("root.pem"), "-purpose", "sslserver", path("leaf.pem")});
  EXPECT_EQ(rc2, 0) << out2;

  auto [rc3, text] = openssl({"x509", "-in", path("leaf.pem"), "-noout", "-text"});
  ASSERT_EQ(rc3, 0) << text;
  EXPECT_NE(text.find("URI:spiffe://cluster.local/ns/default/sa/reviews"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("kube-system"), std::string::npos) << text;
  EXPECT_NE(text.find("CA:FALSE"), std::string::npos) << text;
  EXPECT_NE(text.find("TLS Web Server Authentication, TLS Web Client Authentication"),
            std::string::npos)
      << text;
  auto leaf = parseCertificates((*chain)[0]);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(uriSans((*leaf)[0].get()),
            std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/reviews"});
  EXPECT_FALSE(isCa((*leaf)[0].get()));
  // The default TTL is 24 hours (and a minute of back-dating for clock skew).
  EXPECT_EQ(notAfter((*leaf)[0].get()) - notBefore((*leaf)[0].get()),
            std::chrono::hours(24) + std::chrono::minutes(1));
}

TEST_F(CaTest, OperatorGivenDnsNamesAreAddedAndKeptOnRenewal) {
  auto ca = CertificateAuthority::selfSigned(CaOptions{});
  ASSERT_TRUE(ca.ok());
  WorkloadId id = reviews();
  id.dns_names = {"reviews.default.svc", "localhost"};
  KeyPtr key = generateEcP256Key();
  auto chain = (*ca)->sign(key.get(), id, std::chrono::seconds(0));
  ASSERT_TRUE(chain.ok()) << chain.status();
  write("leaf.pem", (*chain)[0]);
  auto [rc, text] = openssl({"x509", "-in", path("leaf.pem"), "-noout", "-ext", "subjectAltName"});
  EXPECT_NE(text.find("URI:spiffe://cluster.local/ns/default/sa/reviews, "
                      "DNS:reviews.default.svc, DNS:localhost"),
            std::string::npos)
      << text;
  auto verified = (*ca)->verifyWorkloadCertificate((*chain)[0], "");
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->dns_names, id.dns_names);
  id.dns_names = {"bad_name"};
  EXPECT_FALSE((*ca)->sign(key.get(), id, std::chrono::seconds(0)).ok());
}

TEST_F(CaTest, ValidityIsCappedByTheTtlAndTheRequest) {
  CaOptions options;
  options.workload_ttl = std::chrono::hours(2);
  auto ca = CertificateAuthority::selfSigned(options);
  ASSERT_TRUE(ca.ok());
  KeyPtr key = generateEcP256Key();
  for (auto [requested, expected] :
       {std::pair{std::chrono::seconds(0), std::chrono::seconds(7200)},
        {std::chrono::seconds(3600), std::chrono::seconds(3600)},
        {std::chrono::seconds(86400 * 365), std::chrono::seconds(7200)}}) {
    auto chain = (*ca)->sign(key.get(), reviews(), requested);
    ASSERT_TRUE(chain.ok());
    auto leaf = parseCertificates((*chain)[0]);
    EXPECT_EQ(notAfter((*leaf)[0].get()) - notBefore((*leaf)[0].get()),
              expected + std::chrono::minutes(1))
        << requested.count();
  }
}

TEST_F(CaTest, IntermediateSignerGivesTheChainAndItsExpiryCapsTheLeaf) {
  // A root, and an intermediate valid for one day, made with the openssl tool.
  write("ext.cnf",
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  ASSERT_EQ(
      openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", path("root-key.pem"), "-out", path("root.pem"), "-days", "3650", "-subj",
               "/O=cluster.local/CN=root", "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"})
          .first,
      0);
  ASSERT_EQ(openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", path("int-key.pem"), "-out", path("int.csr"), "-subj",
                     "/O=cluster.local/CN=intermediate"})
                .first,
            0);
  auto [rc, out] =
      openssl({"x509", "-req", "-in", path("int.csr"), "-CA", path("root.pem"), "-CAkey",
               path("root-key.pem"), "-CAcreateserial", "-days", "1", "-extfile", path("ext.cnf"),
               "-extensions", "ca", "-out", path("int.pem")});
  ASSERT_EQ(rc, 0) << out;
  const std::string root = *readFile(path("root.pem"));
  const std::string intermediate = *readFile(path("int.pem"));
  CaOptions options;
  options.workload_ttl = std::chrono::hours(24 * 7);
  auto ca = CertificateAuthority::fromPem(intermediate + root, *readFile(path("int-key.pem")), "",
                                          options);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ((*ca)->trustBundlePem(), root);
  KeyPtr key = generateEcP256Key();
  auto chain = (*ca)->sign(key.get(), reviews(), std::chrono::seconds(0));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 3u);
  write("leaf.pem", (*chain)[0]);
  write("chain-int.pem", (*chain)[1]);
  EXPECT_EQ((*chain)[2], root);
  auto [vrc, vout] = openssl({"verify", "-CAfile", path("root.pem"), "-untrusted",
                              path("chain-int.pem"), path("leaf.pem")});
  EXPECT_EQ(vrc, 0) << vout;
  auto leaf = parseCertificates((*chain)[0]);
  auto signer = parseCertificates(intermediate);
  EXPECT_EQ(notAfter((*leaf)[0].get()), notAfter((*signer)[0].get()));

  // Without the root there is nothing to anchor the bundle, unless the root comes separately.
  EXPECT_FALSE(
      CertificateAuthority::fromPem(intermediate, *readFile(path("int-key.pem")), "", options)
          .ok());
  EXPECT_TRUE(
      CertificateAuthority::fromPem(intermediate, *readFile(path("int-key.pem")), root, options)
          .ok());
  // A key that is not the certificate's.
  EXPECT_FALSE(CertificateAuthority::fromPem(intermediate + root, *readFile(path("root-key.pem")),
                                             "", options)
                   .ok());
}

TEST_F(CaTest, CsrChecks) {
  EXPECT_EQ(parseCsr(opensslCsr("rsa:2048")).problem, CsrProblem::kNone);
  EXPECT_EQ(parseCsr(opensslCsr("rsa:1024")).problem, CsrProblem::kWeakKey);
  EXPECT_EQ(
      parseCsr(opensslCsr("ec:" +
                          [&] {
                            openssl({"ecparam", "-name", "secp384r1", "-out", path("p384.pem")});
                            return path("p384.pem");
                          }()))
          .problem,
      CsrProblem::kNone);
  EXPECT_EQ(
      parseCsr(opensslCsr("ec:" +
                          [&] {
                            openssl({"ecparam", "-name", "secp521r1", "-out", path("p521.pem")});
                            return path("p521.pem");
                          }()))
          .problem,
      CsrProblem::kWeakKey);
  EXPECT_EQ(parseCsr(opensslCsr("ed25519")).problem, CsrProblem::kWeakKey);

  EXPECT_EQ(parseCsr("").problem, CsrProblem::kMalformed);
  EXPECT_EQ(parseCsr("not a csr").problem, CsrProblem::kMalformed);
  KeyPtr key = generateEcP256Key();
  std::string good = csrFor(key.get());
  EXPECT_EQ(parseCsr(good).problem, CsrProblem::kNone);
  EXPECT_EQ(parseCsr(good + good).problem, CsrProblem::kMalformed);
  EXPECT_EQ(parseCsr("junk\n" + good).problem, CsrProblem::kMalformed);
  // A flipped bit in the body: either unreadable or a signature that fails.
  std::string tampered = good;
  const size_t mid = tampered.find('\n') + 40;
  tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
  EXPECT_EQ(parseCsr(tampered).problem, CsrProblem::kMalformed);
  // A certificate is no CSR.
  auto ca = CertificateAuthority::selfSigned(CaOptions{});
  EXPECT_EQ(parseCsr((*ca)->trustBundlePem()).problem, CsrProblem::kMalformed);
}

TEST_F(CaTest, RenewalCertificateMustComeFromThisCa) {
  auto ca = CertificateAuthority::selfSigned(CaOptions{});
  auto other = CertificateAuthority::selfSigned(CaOptions{});
  ASSERT_TRUE(ca.ok() && other.ok());
  KeyPtr key = generateEcP256Key();
  auto mine = (*ca)->sign(key.get(), reviews(), std::chrono::seconds(0));
  auto theirs = (*other)->sign(key.get(), reviews(), std::chrono::seconds(0));
  auto id = (*ca)->verifyWorkloadCertificate((*mine)[0], "");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri(), "spiffe://cluster.local/ns/default/sa/reviews");
  auto bad = (*ca)->verifyWorkloadCertificate((*theirs)[0], (*theirs)[1]);
  EXPECT_FALSE(bad.ok());
  // The root itself is no workload certificate.
  EXPECT_FALSE((*ca)->verifyWorkloadCertificate((*ca)->trustBundlePem(), "").ok());
}

TEST_F(CaTest, TrustBundleHoldsTheExtraRootsForRotation) {
  auto old_ca = CertificateAuthority::selfSigned(CaOptions{});
  ASSERT_TRUE(old_ca.ok());
  // The new CA's root, made with the openssl tool; the old root is served beside it.
  ASSERT_EQ(
      openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", path("new-key.pem"), "-out", path("new.pem"), "-days", "3650", "-subj",
               "/O=cluster.local/CN=new root", "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"})
          .first,
      0);
  auto new_ca =
      CertificateAuthority::fromPem(*readFile(path("new.pem")), *readFile(path("new-key.pem")),
                                    (*old_ca)->trustBundlePem(), CaOptions{});
  ASSERT_TRUE(new_ca.ok()) << new_ca.status();
  EXPECT_EQ((*new_ca)->trustBundlePem(), *readFile(path("new.pem")) + (*old_ca)->trustBundlePem());
  KeyPtr key = generateEcP256Key();
  auto old_leaf = (*old_ca)->sign(key.get(), reviews(), std::chrono::seconds(0));
  auto id = (*new_ca)->verifyWorkloadCertificate((*old_leaf)[0], "");
  EXPECT_TRUE(id.ok()) << id.status();
}

TEST_F(CaTest, TrustDomainIsEnforced) {
  CaOptions options;
  options.trust_domain = "example.org";
  auto ca = CertificateAuthority::selfSigned(options);
  ASSERT_TRUE(ca.ok());
  KeyPtr key = generateEcP256Key();
  EXPECT_FALSE((*ca)->sign(key.get(), reviews(), std::chrono::seconds(0)).ok());
  options.trust_domain = "Bad Domain";
  EXPECT_FALSE(CertificateAuthority::selfSigned(options).ok());
}

TEST(WorkloadIdTest, Parse) {
  auto id = parseWorkloadId("spiffe://cluster.local/ns/default/sa/reviews");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->path, "/ns/default/sa/reviews");
  for (const char* bad :
       {"", "spiffe://", "spiffe://cluster.local", "spiffe://cluster.local/",
        "spiffe://Cluster.local/ns/a", "http://cluster.local/ns/a", "spiffe://c/ns//a",
        "spiffe://c/ns/../a", "spiffe://c/ns/a/", "spiffe://c/ns/a b", "spiffe://c/ns/a?x"}) {
    EXPECT_FALSE(parseWorkloadId(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace security::ca
