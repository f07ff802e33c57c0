// libFuzzer: a PKCS#10 request through crypto::Csr and policy::evaluate, and
// what a policy lets through on to build_certificate. A fuzzed request's
// signature rarely verifies, and evaluate stops there; so each request is
// also re-signed with a fixed key, letting its subject, attributes and
// extensions reach the subject, SAN and extension rules and the builder.
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
#include "crypto/general_name.hpp"
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
    match.san_regex = R"((DNS:.*\.example\.com)|(IP:10\..*)|(email:.*@example\.com)|(otherName|dirName|RID):.*)";
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
  (void)csr.subject_attribute_types();
  (void)csr.challenge_password();
  if (auto sans = csr.subject_alt_names())
    for (const auto& s : *sans) (void)crypto::to_display(s);
  (void)csr.extensions();
  crypto::PublicKey key = csr.public_key();
  (void)key.description();
  (void)key.bits();
  (void)key.spki_der();
}

/// The certificate names exactly the subjectAltNames the policy allowed, typed.
void check_sans(const crypto::Certificate& cert, const std::vector<crypto::GeneralName>& allowed,
                const policy::Policy& p) {
  auto issued = crypto::subject_alt_names(cert);
  if (issued && *issued == allowed) return;
  std::fprintf(stderr, "the certificate's subjectAltNames differ from those policy \"%s\" allowed\n", p.name.c_str());
  for (const auto& s : allowed) std::fprintf(stderr, "  allowed: \"%s\"\n", crypto::to_display(s).c_str());
  if (!issued) std::fprintf(stderr, "  issued:  unreadable: %s\n", issued.error().detail.c_str());
  for (const auto& s : issued.value_or(std::vector<crypto::GeneralName>{}))
    std::fprintf(stderr, "  issued:  \"%s\"\n", crypto::to_display(s).c_str());
  std::abort();
}

/// Evaluates the request under every policy and builds what is allowed, as
/// the service would (a build error must be the client's, not a 5xx).
void evaluate_all(const crypto::Csr& csr) {
  const auto& ca = fuzz::wire_ca().cert;
  const policy::SecretConstraints limits[] = {{}, {"device1", "CN=.*"}, {"device1", std::nullopt}};
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
