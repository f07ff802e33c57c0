#pragma once
// What a CA signs: its own and its RA's certificates (policy-free decisions
// about what they contain) and the certificates it issues, on top of
// crypto::build_certificate.

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/cert_builder.hpp"
#include "crypto/certificate.hpp"
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
  int key_bits = 2048;
  int days = 3650;
};

/// A self-signed RSA CA: keyCertSign, cRLSign, and digitalSignature +
/// keyEncipherment so it can sign CertReps and decrypt requests without an RA.
core::Result<KeyPairCert> create_root(const RootSpec& spec, const core::Clock& clock, core::Rng& rng);

struct RaSpec {
  std::string subject;
  int key_bits = 2048;
  int days = 730;
};

/// An RA certificate signed by the CA: digitalSignature + keyEncipherment,
/// never valid beyond the CA certificate.
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

/// Checks an imported CA: key matches, it is a CA, the chain links up.
/// Returns warnings (e.g. "no keyEncipherment: needs an RA") on success.
core::Result<std::vector<std::string>> check_import(const crypto::Certificate& cert, const crypto::PrivateKey& key,
                                                    const std::vector<crypto::Certificate>& chain);

}  // namespace ca
