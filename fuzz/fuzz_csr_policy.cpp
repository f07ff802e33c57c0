// libFuzzer: a PKCS#10 request through crypto::Csr and policy::evaluate, and
// what a policy lets through on to build_certificate. A fuzzed request's
// signature rarely verifies, and evaluate stops there; so each request is
// also re-signed with a fixed key, letting its subject, attributes and
// extensions reach the subject, SAN and extension rules and the builder.
#include <arpa/inet.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/cert_builder.hpp"
#include "crypto/csr.hpp"
#include "fuzz_store.hpp"
#include "policy/policy.hpp"

namespace {

policy::Policy base_policy(std::string name) {
  policy::Policy p;
  p.name = std::move(name);
  p.min_rsa_bits = 1024;  // the re-signing key: small, so signing stays cheap
  return p;
}

/// Three policies that between them take every branch of evaluate.
const std::vector<policy::Policy>& policies() {
  static const std::vector<policy::Policy> all = [] {
    policy::Policy copy = base_policy("copy");
    copy.copy_extensions = {"1.3.6.1.4.1.311.20.2", "1.3.6.1.4.1.311.21.7", "2.5.29.32"};
    policy::Policy match = base_policy("match");
    match.required_attributes = {"CN", "O"};
    match.subject_regex = "CN=[A-Za-z0-9.-]+(,.*)?";
    match.san_mode = policy::SanMode::match;
    match.san_regex = R"((DNS:.*\.example\.com)|(IP:10\..*)|(email:.*@example\.com))";
    policy::Policy drop = base_policy("drop");
    drop.san_mode = policy::SanMode::drop;
    drop.allowed_digests = {crypto::DigestAlg::sha256};
    return std::vector<policy::Policy>{copy, match, drop};
  }();
  return all;
}

const crypto::PrivateKey& resigning_key() {
  static const crypto::PrivateKey key = [] {
    auto k = crypto::PrivateKey::generate_rsa(1024);
    if (!k) fuzz::die("generate_rsa", k.error().detail);
    return std::move(*k);
  }();
  return key;
}

/// The request with the fixed key's public key and signature in place of its own.
std::optional<crypto::Csr> resign(const core::Bytes& der) {
  const unsigned char* p = der.data();
  crypto::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  EVP_PKEY* key = resigning_key().native();
  if (!req || X509_REQ_set_pubkey(req.get(), key) != 1 || X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
    return std::nullopt;
  unsigned char* out = nullptr;
  int n = i2d_X509_REQ(req.get(), &out);
  if (n <= 0) return std::nullopt;
  core::Bytes bytes(out, out + n);
  OPENSSL_free(out);
  auto csr = crypto::Csr::from_der(bytes);
  if (!csr) return std::nullopt;
  return std::move(*csr);
}

void read_everything(const crypto::Csr& csr) {
  (void)csr.signature_valid();
  (void)csr.signature_digest();
  (void)csr.subject();
  (void)csr.subject_der();
  (void)csr.subject_values("CN");
  (void)csr.challenge_password();
  (void)csr.subject_alt_names();
  (void)csr.extensions();
  crypto::PublicKey key = csr.public_key();
  (void)key.description();
  (void)key.bits();
  (void)key.spki_der();
}

std::string text_of(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

/// The certificate's subjectAltNames, spelled as Csr::subject_alt_names spells them.
std::vector<std::string> issued_sans(const crypto::Certificate& cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.native(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    switch (gn->type) {
      case GEN_DNS: out.push_back("DNS:" + text_of(gn->d.dNSName)); break;
      case GEN_EMAIL: out.push_back("email:" + text_of(gn->d.rfc822Name)); break;
      case GEN_URI: out.push_back("URI:" + text_of(gn->d.uniformResourceIdentifier)); break;
      case GEN_IPADD: {
        char text[INET6_ADDRSTRLEN] = {};
        int family = gn->d.iPAddress->length == 4 ? AF_INET : AF_INET6;
        out.push_back(std::string("IP:") + (inet_ntop(family, gn->d.iPAddress->data, text, sizeof text) ? text : "?"));
        break;
      }
      default: out.push_back("other"); break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

/// "KIND:value" with the value's surrounding white space dropped, as
/// OpenSSL's configuration syntax drops it (harmless).
std::string trimmed(const std::string& san) {
  auto colon = san.find(':');
  if (colon == std::string::npos) return san;
  std::size_t b = colon + 1, e = san.size();
  while (b < e && std::isspace(static_cast<unsigned char>(san[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(san[e - 1]))) --e;
  return san.substr(0, colon + 1) + san.substr(b, e - b);
}

/// Bytes outside printable ASCII as \xHH.
std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    char buf[8];
    std::snprintf(buf, sizeof buf, c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
    out += buf;
  }
  return out;
}

/// The certificate names exactly the subjectAltNames the policy allowed.
void check_sans(const crypto::Certificate& cert, const std::vector<std::string>& allowed, const policy::Policy& p) {
  std::vector<std::string> issued = issued_sans(cert), want;
  for (const auto& s : allowed) want.push_back(trimmed(s));
  if (issued == want) return;
  std::fprintf(stderr, "the certificate's subjectAltNames differ from those policy \"%s\" allowed\n", p.name.c_str());
  for (const auto& s : want) std::fprintf(stderr, "  allowed: \"%s\"\n", escaped(s).c_str());
  for (const auto& s : issued) std::fprintf(stderr, "  issued:  \"%s\"\n", escaped(s).c_str());
  std::abort();
}

/// Evaluates the request under every policy and builds what is allowed, as
/// the service would (a build error must be the client's, not a 5xx).
void evaluate_all(const crypto::Csr& csr) {
  const auto& ca = fuzz::wire_ca().cert;
  const policy::SecretConstraints limits[] = {{}, {"device1", "CN=.*"}};
  for (const auto& p : policies()) {
    for (const auto& l : limits) {
      policy::Decision d = policy::evaluate(p, csr, l, ca, fuzz::wire_time());
      if (!d.issue) continue;
      d.spec.serial = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
      auto cert = crypto::build_certificate(d.spec, csr.public_key(), &ca, resigning_key());
      if (!cert) {
        fuzz::require_client_error(cert.error(), "build_certificate");
        continue;
      }
      check_sans(*cert, d.spec.subject_alt_names, p);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (auto csr = crypto::Csr::from_der(core::ByteView(data, size))) {
    read_everything(*csr);
    evaluate_all(*csr);
    if (auto again = resign(csr->der())) {
      read_everything(*again);
      evaluate_all(*again);
    }
  }
  fuzz::end_run();
  return 0;
}
