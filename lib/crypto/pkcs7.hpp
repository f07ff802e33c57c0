#pragma once
// Certs-only PKCS#7 (GetCACert, CertRep payloads, GetCRL) and
// IssuerAndSerialNumber, as SCEP carries them.

#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"

namespace crypto {

/// A degenerate certs-only SignedData (RFC 8894 §3.4): no signers, no content,
/// the certificates, then the CRLs (DER), each SET in DER order (X.690 §11.6),
/// whatever the order given: clients choose by key usage, not position.
core::Result<core::Bytes> degenerate_pkcs7(const std::vector<Certificate>& certs,
                                           const std::vector<core::Bytes>& crls = {});

/// X.690 §11.6: true when encoding `a` sorts before `b` in a DER SET OF
/// (octet-wise, the shorter one padded with zero octets).
bool der_set_order(core::ByteView a, core::ByteView b);

/// The certificates of a degenerate (or any) PKCS#7 SignedData, in order.
core::Result<std::vector<Certificate>> certificates_of_pkcs7(core::ByteView der);

/// The CRLs (DER) of a PKCS#7 SignedData, in order.
core::Result<std::vector<core::Bytes>> crls_of_pkcs7(core::ByteView der);

/// IssuerAndSerialNumber (RFC 5652 §10.2.4): what GetCert and GetCRL carry.
struct IssuerAndSerial {
  X509NamePtr issuer;
  std::string serial_hex;  ///< upper-case hex, as Certificate::serial_hex()
  /// True when `ca` is the issuer named (its subject equals `issuer`).
  bool names_issuer(const Certificate& ca) const;
};
core::Result<IssuerAndSerial> parse_issuer_and_serial(core::ByteView der);
/// Encodes the issuer name of `cert` with a serial (hex); for requests.
core::Result<core::Bytes> encode_issuer_and_serial(const Certificate& issuer, std::string_view serial_hex);

}  // namespace crypto
