#pragma once

#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"

namespace crypto {

/// A degenerate certs-only SignedData (RFC 8894 §3.4): no signers, no content,
/// the certificates in the order given, then the CRLs (DER).
core::Result<core::Bytes> degenerate_pkcs7(const std::vector<Certificate>& certs,
                                           const std::vector<core::Bytes>& crls = {});

/// The certificates of a degenerate (or any) PKCS#7 SignedData, in order.
core::Result<std::vector<Certificate>> certificates_of_pkcs7(core::ByteView der);

}  // namespace crypto
