#include "security/ca/x509.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"

namespace security::ca {
namespace {

std::unique_ptr<BIO, OpenSslDelete> memBio(std::string_view data) {
  return std::unique_ptr<BIO, OpenSslDelete>(
      BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

std::chrono::system_clock::time_point asn1Time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::string takeOpenSslErrors() {
  std::string out;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::StatusOr<std::vector<X509Ptr>> parseCertificates(std::string_view pem) {
  if (pem.size() > (1 << 20)) return absl::InvalidArgumentError("PEM larger than 1 MiB");
  auto bio = memBio(pem);
  std::vector<X509Ptr> out;
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    out.emplace_back(cert);
  }
  const unsigned long err = ERR_peek_last_error();
  if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
    ERR_clear_error();  // the normal end of the input
  } else if (err != 0) {
    return absl::InvalidArgumentError("bad certificate PEM: " + takeOpenSslErrors());
  }
  if (out.empty()) return absl::InvalidArgumentError("no CERTIFICATE block");
  return out;
}

std::string certificatePem(X509* cert) {
  std::unique_ptr<BIO, OpenSslDelete> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bioString(bio.get());
}

absl::StatusOr<KeyPtr> parsePrivateKey(std::string_view pem) {
  auto bio = memBio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError("bad private key PEM: " + takeOpenSslErrors());
  }
  return key;
}

std::string privateKeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, OpenSslDelete> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioString(bio.get());
}

KeyPtr generateEcP256Key() { return KeyPtr(EVP_EC_gen("P-256")); }

absl::StatusOr<std::string> createCsrPem(EVP_PKEY* key, std::string_view uri_san) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key);
  if (!uri_san.empty()) {
    GENERAL_NAMES* names = GENERAL_NAMES_new();
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    ASN1_STRING_set(value, uri_san.data(), static_cast<int>(uri_san.size()));
    GENERAL_NAME_set0_value(name, GEN_URI, value);
    sk_GENERAL_NAME_push(names, name);
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names);
    sk_X509_EXTENSION_push(exts, ext);
    X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(names);
  }
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
    return absl::InternalError("signing the CSR: " + takeOpenSslErrors());
  }
  std::unique_ptr<BIO, OpenSslDelete> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return bioString(bio.get());
}

namespace {
std::vector<std::string> sansOfType(X509* cert, int type) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != type) continue;
    const ASN1_IA5STRING* value = name->d.ia5;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
  }
  GENERAL_NAMES_free(names);
  return out;
}
}  // namespace

std::vector<std::string> uriSans(X509* cert) { return sansOfType(cert, GEN_URI); }
std::vector<std::string> dnsSans(X509* cert) { return sansOfType(cert, GEN_DNS); }

std::chrono::system_clock::time_point notBefore(X509* cert) {
  return asn1Time(X509_get0_notBefore(cert));
}
std::chrono::system_clock::time_point notAfter(X509* cert) {
  return asn1Time(X509_get0_notAfter(cert));
}

bool isCa(X509* cert) { return X509_check_ca(cert) != 0; }

bool isSelfSigned(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0; }

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::Status writeFileAtomically(const std::string& path, std::string_view data, int mode) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string tmp = dir + "/." + base + ".tmp." + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError("cannot create " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, mode);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::InternalError("cannot write " + tmp + ": " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return absl::InternalError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return absl::InternalError("cannot rename " + tmp + " to " + path + ": " + err);
  }
  return absl::OkStatus();
}

}  // namespace security::ca
