#pragma once
// crypto::PublicKey and crypto::PrivateKey: value classes over EVP_PKEY.

#include <memory>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

/// A public key. Copies share the key and its encoding (OsslShared).
class PublicKey {
 public:
  static core::Result<PublicKey> from_spki_der(core::ByteView der);
  explicit PublicKey(EvpPkeyPtr key) : m_key(std::move(key)) {}
  /// A key with the SubjectPublicKeyInfo a request or certificate carried
  /// it in (copied): spki_der() and the certificate builder then copy those
  /// bytes instead of encoding the key again, which OpenSSL 3.0 does through
  /// its provider encoders at ~75-160 µs a time (half an RSA signature).
  PublicKey(EvpPkeyPtr key, const X509_PUBKEY* encoded);

  core::Bytes spki_der() const;
  int bits() const;
  bool is_rsa() const;
  /// "RSA 2048", "EC 256"
  std::string description() const;
  bool operator==(const PublicKey& other) const;

  EVP_PKEY* native() const { return m_key.get(); }
  /// The SubjectPublicKeyInfo as received, if the key came from one.
  const X509_PUBKEY* encoded() const { return m_encoded.get(); }

 private:
  friend class PrivateKey;  ///< its public half shares its EVP_PKEY
  explicit PublicKey(OsslShared<EVP_PKEY> key) : m_key(std::move(key)) {}
  OsslShared<EVP_PKEY> m_key;
  OsslShared<const X509_PUBKEY> m_encoded;
};

class PrivateKey {
 public:
  static core::Result<PrivateKey> generate_rsa(int bits);
  /// PEM (PKCS#8 or traditional) or DER (PKCS#8); unencrypted.
  static core::Result<PrivateKey> load(core::ByteView data);
  /// Copies share the key (OsslShared): a long-lived server hands its
  /// cached CA key to each request without parsing the PEM again.
  explicit PrivateKey(EvpPkeyPtr key) : m_key(std::move(key)) {}

  /// Unencrypted PKCS#8 PEM.
  std::string to_pem() const;
  PublicKey public_key() const;
  int bits() const;
  bool is_rsa() const;

  EVP_PKEY* native() const { return m_key.get(); }

 private:
  OsslShared<EVP_PKEY> m_key;
};

}  // namespace crypto
