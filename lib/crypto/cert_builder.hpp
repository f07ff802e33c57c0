#pragma once
// Building and signing X.509 certificates from plain data (CertSpec); the CA
// layer decides the content, this header only encodes it.

#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/general_name.hpp"
#include "crypto/keys.hpp"

namespace crypto {

/// What goes into a certificate. Plain data: the CA layer fills it from a
/// policy, this layer only encodes and signs it.
struct CertSpec {
  core::Bytes subject;  ///< DER of the subject Name
  core::Bytes serial;   ///< big-endian magnitude; must be positive and non-zero
  core::TimePoint not_before;
  core::TimePoint not_after;
  bool ca = false;
  unsigned key_usage = 0;                       ///< KeyUsageBit mask; 0 = no extension
  std::vector<std::string> extended_key_usage;  ///< short names ("clientAuth") or dotted OIDs
  std::vector<GeneralName> subject_alt_names;   ///< written as they are, typed; none: no extension
  std::vector<RawExtension> copied_extensions;  ///< verbatim from the request
};

/// Encodes a typed subject ("CN=a,O=b" or "/CN=a/O=b") as DER.
core::Result<core::Bytes> subject_der_from_text(std::string_view text);
/// The text form of a DER Name (for display and matching).
core::Result<std::string> subject_text_from_der(core::ByteView der);

/// Builds and signs a certificate (SHA-256; SHA-384 by a P-384 key: crypto::signing_digest). `issuer` null means
/// self-signed by `signing_key` (which must then be the subject key).
core::Result<Certificate> build_certificate(const CertSpec& spec, const PublicKey& subject_key,
                                            const Certificate* issuer, const PrivateKey& signing_key);

/// A random positive serial of `bytes` bytes (top bit clear, never zero).
core::Bytes random_serial(core::Rng& rng, std::size_t bytes = 16);

}  // namespace crypto
