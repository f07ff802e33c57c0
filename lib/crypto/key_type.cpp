#include "crypto/key_type.hpp"

#include <array>

#include <openssl/evp.h>

#include <fmt/format.h>

#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

namespace {

struct KeyTypeInfo {
  KeyType type;
  std::string_view name;
  int rsa_bits;       ///< 0 for EC
  const char* curve;  ///< OpenSSL's group name for EC
};

constexpr std::array<KeyTypeInfo, 5> key_types{{
    {KeyType::rsa_2048, "rsa-2048", 2048, nullptr},
    {KeyType::rsa_3072, "rsa-3072", 3072, nullptr},
    {KeyType::rsa_4096, "rsa-4096", 4096, nullptr},
    {KeyType::ec_p256, "ec-p256", 0, "P-256"},
    {KeyType::ec_p384, "ec-p384", 0, "P-384"},
}};

const KeyTypeInfo& info(KeyType t) { return key_types.at(static_cast<std::size_t>(t)); }

}  // namespace

std::string_view key_type_name(KeyType t) { return info(t).name; }

std::optional<KeyType> parse_key_type(std::string_view name) {
  for (const auto& k : key_types)
    if (k.name == name) return k.type;
  return std::nullopt;
}

std::vector<std::string_view> key_type_names() {
  std::vector<std::string_view> names;
  for (const auto& k : key_types) names.push_back(k.name);
  return names;
}

bool is_rsa(KeyType t) { return info(t).rsa_bits != 0; }

std::optional<KeyType> rsa_key_type(int bits) {
  for (const auto& k : key_types)
    if (k.rsa_bits != 0 && k.rsa_bits == bits) return k.type;
  return std::nullopt;
}

core::Result<PrivateKey> generate_key(KeyType t) {
  const KeyTypeInfo& k = info(t);
  if (k.rsa_bits != 0) return PrivateKey::generate_rsa(k.rsa_bits);
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", k.curve));
  if (!key) return ossl_fail(Errc::internal, fmt::format("EC key generation ({}) failed", k.curve));
  return PrivateKey(std::move(key));
}

DigestAlg signing_digest(const PrivateKey& key) {
  if (EVP_PKEY_get_base_id(key.native()) == EVP_PKEY_EC) {
    if (key.bits() > 384) return DigestAlg::sha512;  // P-521
    if (key.bits() > 256) return DigestAlg::sha384;  // P-384
  }
  return DigestAlg::sha256;
}

bool signs_with_digest(const PrivateKey& key) {
  int id = EVP_PKEY_get_base_id(key.native());
  return id == EVP_PKEY_RSA || id == EVP_PKEY_EC;
}

}  // namespace crypto
