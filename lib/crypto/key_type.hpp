#pragma once
// The key types scepctl creates for CAs and RAs (`--key-type`), their
// generation, and the digest a key signs certificates and CRLs with.

#include <optional>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"

namespace crypto {

enum class KeyType { rsa_2048, rsa_3072, rsa_4096, ec_p256, ec_p384 };

/// "rsa-2048", "ec-p256", ...: the spelling of `--key-type`.
std::string_view key_type_name(KeyType t);
std::optional<KeyType> parse_key_type(std::string_view name);
/// Every name, in the order of the enum, for help texts and checks.
std::vector<std::string_view> key_type_names();
bool is_rsa(KeyType t);
/// The RSA type of that many bits (2048, 3072, 4096; `--key-bits`).
std::optional<KeyType> rsa_key_type(int bits);

/// A fresh key (RSA with e = 65537; EC on a named curve, the curve's OID in
/// its encoding), through OpenSSL 3's EVP_PKEY_Q_keygen.
core::Result<PrivateKey> generate_key(KeyType t);

/// What a key signs X.509 certificates and CRLs with, as RFC 5480 §4 pairs
/// curves and digests: SHA-384 for P-384, SHA-512 for P-521, else SHA-256
/// (sha256WithRSAEncryption, ecdsa-with-SHA256).
DigestAlg signing_digest(const PrivateKey& key);
/// An RSA or EC key: the kinds a CA here signs with (a digest from
/// signing_digest). Ed25519 and Ed448 sign without one and are refused.
bool signs_with_digest(const PrivateKey& key);

}  // namespace crypto
