#include "ca/authority.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "crypto/cert_builder.hpp"

namespace ca {

using core::Errc;
using namespace std::chrono;

core::Result<KeyPairCert> create_root(const RootSpec& spec, const core::Clock& clock, core::Rng& rng) {
  if (spec.days <= 0) return core::fail(Errc::invalid_argument, "--days must be positive");
  auto subject = crypto::subject_der_from_text(spec.subject);
  if (!subject) return std::unexpected(subject.error());
  auto key = crypto::PrivateKey::generate_rsa(spec.key_bits);
  if (!key) return std::unexpected(key.error());
  crypto::CertSpec cs;
  cs.subject = std::move(*subject);
  cs.serial = crypto::random_serial(rng);
  cs.not_before = clock.now() - backdate;
  cs.not_after = clock.now() + days(spec.days);
  cs.ca = true;
  cs.key_usage = crypto::ku_key_cert_sign | crypto::ku_crl_sign | crypto::ku_digital_signature |
                 crypto::ku_key_encipherment;
  auto cert = crypto::build_certificate(cs, key->public_key(), nullptr, *key);
  if (!cert) return std::unexpected(cert.error());
  return KeyPairCert{std::move(*cert), std::move(*key)};
}

core::Result<KeyPairCert> create_ra(const RaSpec& spec, const crypto::Certificate& ca_cert,
                                    const crypto::PrivateKey& ca_key, const core::Clock& clock, core::Rng& rng) {
  if (spec.days <= 0) return core::fail(Errc::invalid_argument, "--days must be positive");
  auto subject = crypto::subject_der_from_text(spec.subject);
  if (!subject) return std::unexpected(subject.error());
  auto key = crypto::PrivateKey::generate_rsa(spec.key_bits);
  if (!key) return std::unexpected(key.error());
  crypto::CertSpec cs;
  cs.subject = std::move(*subject);
  cs.serial = crypto::random_serial(rng);
  cs.not_before = clock.now() - backdate;
  cs.not_after = std::min(clock.now() + days(spec.days), ca_cert.not_after());
  cs.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
  auto cert = crypto::build_certificate(cs, key->public_key(), &ca_cert, ca_key);
  if (!cert) return std::unexpected(cert.error());
  return KeyPairCert{std::move(*cert), std::move(*key)};
}

core::Result<std::vector<std::string>> check_import(const crypto::Certificate& cert, const crypto::PrivateKey& key,
                                                    const std::vector<crypto::Certificate>& chain) {
  if (!cert.matches(key)) return core::fail(Errc::invalid_argument, "the key does not match the certificate");
  if (!cert.is_ca())
    return core::fail(Errc::invalid_argument, "the certificate is not a CA certificate (basicConstraints CA:TRUE)");
  const crypto::Certificate* child = &cert;
  for (const auto& parent : chain) {
    if (!parent.issued(*child))
      return core::fail(Errc::invalid_argument, fmt::format("the chain is broken: \"{}\" did not issue \"{}\"",
                                                            parent.subject(), child->subject()));
    child = &parent;
  }
  std::vector<std::string> warnings;
  if (!key.is_rsa()) warnings.push_back("the CA key is not RSA: SCEP clients need an RSA RA (scepctl ra create)");
  unsigned ku = cert.key_usage();
  if (!(ku & crypto::ku_key_encipherment) || !(ku & crypto::ku_digital_signature))
    warnings.push_back(
        "the CA certificate lacks digitalSignature or keyEncipherment: create an RA (scepctl ra create)");
  if (!chain.empty() && !chain.back().is_self_issued())
    warnings.push_back("the chain does not end in a self-signed root");
  return warnings;
}

core::Result<crypto::Certificate> issue(crypto::CertSpec& spec, const crypto::PublicKey& key,
                                        const crypto::Certificate& issuer, const crypto::PrivateKey& issuer_key,
                                        core::Rng& rng) {
  spec.serial = crypto::random_serial(rng);
  auto cert = crypto::build_certificate(spec, key, &issuer, issuer_key);
  if (!cert) return core::fail(core::Errc::internal, "cannot build the certificate: " + cert.error().detail);
  return cert;
}

}  // namespace ca
