#pragma once
// What a CA signs: its own and its RA's certificates (policy-free decisions
// about what they contain) and the certificates it issues, on top of
// crypto::build_certificate.

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/cert_builder.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key_type.hpp"
#include "crypto/keys.hpp"

namespace ca {

/// Certificates start this far in the past, to tolerate client clock skew.
inline constexpr std::chrono::minutes backdate{5};

struct KeyPairCert {
  crypto::Certificate cert;
  crypto::PrivateKey key;
};

struct RootSpec {
  std::string subject;  ///< "CN=..." or "/CN=..."
  crypto::KeyType key_type = crypto::KeyType::rsa_2048;
  int days = 3650;
  /// The key to certify (of `key_type`; one on a token), else a new one.
  std::optional<crypto::PrivateKey> key = std::nullopt;
};

/// A self-signed CA: keyCertSign, cRLSign and digitalSignature, and for an
/// RSA key keyEncipherment, so that it can sign CertReps and decrypt
/// requests without an RA. An EC CA (signed with ECDSA, SHA-384 for P-384)
/// cannot decrypt: SCEP's key transport is RSA, so it needs an RSA RA.
core::Result<KeyPairCert> create_root(const RootSpec& spec, const core::Clock& clock, core::Rng& rng);

struct RaSpec {
  std::string subject;
  crypto::KeyType key_type = crypto::KeyType::rsa_2048;
  int days = 730;
  /// As RootSpec::key.
  std::optional<crypto::PrivateKey> key = std::nullopt;
};

/// An RA certificate signed by the CA: digitalSignature + keyEncipherment,
/// never valid beyond the CA certificate. The RA decrypts requests, so its
/// key must be RSA (invalid_argument otherwise), whatever the CA's key is.
core::Result<KeyPairCert> create_ra(const RaSpec& spec, const crypto::Certificate& ca_cert,
                                    const crypto::PrivateKey& ca_key, const core::Clock& clock, core::Rng& rng);

/// Issues a certificate for `key` as `spec` says (the policy decided it),
/// signed by `issuer` under a fresh random serial, which is written to
/// spec.serial. The spec is the operator's, so a failure is Errc::internal.
/// Not stored: the caller records it (scep::Ledger::record_issuance) and
/// issues again when another certificate took the serial.
core::Result<crypto::Certificate> issue(crypto::CertSpec& spec, const crypto::PublicKey& key,
                                        const crypto::Certificate& issuer, const crypto::PrivateKey& issuer_key,
                                        core::Rng& rng);

/// The next generation of a self-signed CA (`scepctl ca rollover`): a new
/// key of `key_type`, the current certificate's subject byte for byte (so
/// clients and issuerAndSerialNumber lookups still name it), a new
/// subjectKeyIdentifier, validity from now - backdate for `days`.
/// `key`, if given (one on a token), is certified instead of a new key of
/// `key_type`; it must not be the current certificate's key.
core::Result<KeyPairCert> create_next_root(const crypto::Certificate& current, crypto::KeyType key_type, int days,
                                           const core::Clock& clock, core::Rng& rng,
                                           std::optional<crypto::PrivateKey> key = std::nullopt);

/// The RA's existing key certified again under the next CA: the old RA
/// certificate's subject and lifetime (capped at the next CA's). The RA key
/// does not change, so clients that encrypt to it keep working.
core::Result<crypto::Certificate> recertify_ra(const crypto::Certificate& old_ra, const crypto::PublicKey& ra_key,
                                               const crypto::Certificate& next_ca, const crypto::PrivateKey& next_key,
                                               const core::Clock& clock, core::Rng& rng);

/// Why `next` cannot follow `current` as the CA's next certificate (an
/// imported next generation): nullopt when it can. It must be a CA
/// certificate with a different key and, so that issuerAndSerialNumber and
/// clients' stores still name the same CA, the same subject.
std::optional<std::string> next_mismatch(const crypto::Certificate& current, const crypto::Certificate& next);

/// The CA cannot serve SCEP alone: its key is not RSA, so requests must be
/// encrypted to an RSA RA (RFC 8894 §3.1 key transport; Apple refuses
/// anything else).
bool needs_rsa_ra(const crypto::Certificate& ca_cert);

/// The RA that `ca create` and `ca import` make beside a CA that needs one:
/// RSA 2048, "CN=<name> SCEP RA", 730 days (capped at the CA's).
RaSpec default_ra(std::string_view ca_name);

/// Checks an imported CA: key matches, it is a CA, the chain links up.
/// Returns warnings (e.g. "no keyEncipherment: needs an RA") on success; a
/// key that is not RSA is no warning: the importer gives it an RSA RA.
core::Result<std::vector<std::string>> check_import(const crypto::Certificate& cert, const crypto::PrivateKey& key,
                                                    const std::vector<crypto::Certificate>& chain);

}  // namespace ca
