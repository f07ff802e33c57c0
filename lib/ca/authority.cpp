#include "ca/authority.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "crypto/cert_builder.hpp"

namespace ca {

using core::Errc;
using namespace std::chrono;

namespace {

/// A new key and what every certificate of the CA's own has: the
/// subject, a random serial, backdated validity of `days` (at most until
/// `not_after_cap`, when given).
struct Fresh {
  crypto::PrivateKey key;
  crypto::CertSpec spec;
};
core::Result<Fresh> fresh(std::string_view subject_text, crypto::KeyType key_type, int validity_days,
                          const std::optional<crypto::PrivateKey>& given, const core::Clock& clock, core::Rng& rng,
                          std::optional<core::TimePoint> not_after_cap = std::nullopt) {
  if (validity_days <= 0) return core::fail(Errc::invalid_argument, "--days must be positive");
  SCEP_TRY_ASSIGN(auto subject, crypto::subject_der_from_text(subject_text));
  std::optional<crypto::PrivateKey> key = given;
  if (!key) {
    SCEP_TRY_ASSIGN(auto made, crypto::generate_key(key_type));
    key = std::move(made);
  }
  crypto::CertSpec cs;
  cs.subject = std::move(subject);
  cs.serial = crypto::random_serial(rng);
  cs.not_before = clock.now() - backdate;
  cs.not_after = clock.now() + days(validity_days);
  if (not_after_cap) cs.not_after = std::min(cs.not_after, *not_after_cap);
  return Fresh{std::move(*key), std::move(cs)};
}

}  // namespace

core::Result<KeyPairCert> create_root(const RootSpec& spec, const core::Clock& clock, core::Rng& rng) {
  SCEP_TRY_ASSIGN(auto f, fresh(spec.subject, spec.key_type, spec.days, spec.key, clock, rng));
  f.spec.ca = true;
  f.spec.key_usage = crypto::ku_key_cert_sign | crypto::ku_crl_sign | crypto::ku_digital_signature;
  // An EC key cannot encipher a key (RFC 5480 §3): only an RSA CA decrypts.
  if (f.key.is_rsa()) f.spec.key_usage |= crypto::ku_key_encipherment;
  SCEP_TRY_ASSIGN(auto cert, crypto::build_certificate(f.spec, f.key.public_key(), nullptr, f.key));
  return KeyPairCert{std::move(cert), std::move(f.key)};
}

core::Result<KeyPairCert> create_ra(const RaSpec& spec, const crypto::Certificate& ca_cert,
                                    const crypto::PrivateKey& ca_key, const core::Clock& clock, core::Rng& rng) {
  if (spec.key ? !spec.key->is_rsa() : !crypto::is_rsa(spec.key_type))
    return core::fail(Errc::invalid_argument,
                      fmt::format("an RA key must be RSA (SCEP clients encrypt to it with RSA), not {}: use "
                                  "--key-type rsa-2048, rsa-3072 or rsa-4096",
                                  spec.key ? spec.key->public_key().description()
                                           : std::string(crypto::key_type_name(spec.key_type))));
  SCEP_TRY_ASSIGN(auto f, fresh(spec.subject, spec.key_type, spec.days, spec.key, clock, rng, ca_cert.not_after()));
  f.spec.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
  SCEP_TRY_ASSIGN(auto cert, crypto::build_certificate(f.spec, f.key.public_key(), &ca_cert, ca_key));
  return KeyPairCert{std::move(cert), std::move(f.key)};
}

core::Result<KeyPairCert> create_next_root(const crypto::Certificate& current, crypto::KeyType key_type, int days,
                                           const core::Clock& clock, core::Rng& rng,
                                           std::optional<crypto::PrivateKey> given) {
  if (!current.is_self_issued())
    return core::fail(Errc::invalid_argument,
                      "the CA is not self-signed: import its next certificate (--cert, --key) instead");
  if (days <= 0) return core::fail(Errc::invalid_argument, "--days must be positive");
  if (given && given->public_key() == current.public_key())
    return core::fail(Errc::invalid_argument,
                      "that is the current CA key: the next generation needs a key of its own (name another object)");
  std::optional<crypto::PrivateKey> made;
  if (!given) {
    SCEP_TRY_ASSIGN(auto k, crypto::generate_key(key_type));
    made.emplace(std::move(k));
  }
  crypto::PrivateKey key = given ? std::move(*given) : std::move(*made);
  crypto::CertSpec cs;
  cs.subject = current.subject_der();
  cs.serial = crypto::random_serial(rng);
  cs.not_before = clock.now() - backdate;
  cs.not_after = clock.now() + std::chrono::days(days);
  cs.ca = true;
  cs.key_usage = crypto::ku_key_cert_sign | crypto::ku_crl_sign | crypto::ku_digital_signature;
  if (key.is_rsa()) cs.key_usage |= crypto::ku_key_encipherment;
  SCEP_TRY_ASSIGN(auto cert, crypto::build_certificate(cs, key.public_key(), nullptr, key));
  return KeyPairCert{std::move(cert), std::move(key)};
}

core::Result<crypto::Certificate> recertify_ra(const crypto::Certificate& old_ra, const crypto::PublicKey& ra_key,
                                               const crypto::Certificate& next_ca, const crypto::PrivateKey& next_key,
                                               const core::Clock& clock, core::Rng& rng) {
  crypto::CertSpec cs;
  cs.subject = old_ra.subject_der();
  cs.serial = crypto::random_serial(rng);
  cs.not_before = clock.now() - backdate;
  auto lifetime = old_ra.not_after() - old_ra.not_before();
  cs.not_after = std::min(clock.now() + duration_cast<seconds>(lifetime), next_ca.not_after());
  cs.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
  return crypto::build_certificate(cs, ra_key, &next_ca, next_key);
}

std::optional<std::string> next_mismatch(const crypto::Certificate& current, const crypto::Certificate& next) {
  if (!next.is_ca()) return "the next certificate is not a CA certificate (basicConstraints CA:TRUE)";
  if (next.public_key().spki_der() == current.public_key().spki_der())
    return "the next certificate has the current CA's key: a rollover needs a new key";
  if (next.subject_der() != current.subject_der())
    return fmt::format(
        "the next certificate's subject \"{}\" is not the CA's \"{}\": clients and GetCert "
        "name a CA by its subject, so a new subject is a new CA (scepctl ca import)",
        next.subject(), current.subject());
  if (next == current) return "the next certificate is the current one";
  return std::nullopt;
}

bool needs_rsa_ra(const crypto::Certificate& ca_cert) { return !ca_cert.public_key().is_rsa(); }

RaSpec default_ra(std::string_view ca_name) { return RaSpec{fmt::format("CN={} SCEP RA", ca_name)}; }

core::Result<std::vector<std::string>> check_import(const crypto::Certificate& cert, const crypto::PrivateKey& key,
                                                    const std::vector<crypto::Certificate>& chain) {
  if (!crypto::signs_with_digest(key))
    return core::fail(Errc::invalid_argument,
                      fmt::format("a {} CA key is not supported: import an RSA or EC (P-256, P-384, P-521) CA",
                                  key.public_key().description()));
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
  unsigned ku = cert.key_usage();
  // A key that is not RSA cannot decrypt SCEP requests: the caller makes it
  // an RSA RA (needs_rsa_ra), so keyEncipherment does not matter then.
  if (key.is_rsa() && (!(ku & crypto::ku_key_encipherment) || !(ku & crypto::ku_digital_signature)))
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
