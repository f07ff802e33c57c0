#pragma once
// What a signature AlgorithmIdentifier says about the digest signed: the
// sha*WithRSAEncryption family names it in the OID, RSASSA-PSS in its
// parameters (RFC 4055 §3.1), rsaEncryption (CMS SignerInfo) not at all.

#include <optional>

#include <openssl/types.h>

#include "crypto/digest.hpp"

namespace crypto {

enum class SignaturePadding { pkcs1, pss, other };

struct SignatureScheme {
  SignaturePadding padding = SignaturePadding::other;
  /// The digest the algorithm names; nullopt: none (rsaEncryption), an
  /// unknown one, or RSASSA-PSS parameters this server does not take.
  std::optional<DigestAlg> digest;
};

/// RSASSA-PSS is taken with MGF1 over the same digest and trailerField 1
/// (what OpenSSL, strongSwan and every profile of RFC 4055 produce); absent
/// fields have RFC 4055's defaults (SHA-1, MGF1-SHA-1).
SignatureScheme signature_scheme(const X509_ALGOR* alg);

}  // namespace crypto
