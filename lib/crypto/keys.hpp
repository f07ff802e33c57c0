#pragma once
// crypto::PublicKey and crypto::PrivateKey: value classes over EVP_PKEY.

#include <memory>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

class PublicKey {
 public:
  static core::Result<PublicKey> from_spki_der(core::ByteView der);
  explicit PublicKey(EvpPkeyPtr key) : m_key(std::move(key)) {}
  /// A key with the SubjectPublicKeyInfo a request or certificate carried
  /// it in (copied): spki_der() and the certificate builder then copy those
  /// bytes instead of encoding the key again, which OpenSSL 3.0 does through
  /// its provider encoders at ~75-160 µs a time (half an RSA signature).
  PublicKey(EvpPkeyPtr key, const X509_PUBKEY* encoded);
  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;

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
  EvpPkeyPtr m_key;
  std::shared_ptr<const X509_PUBKEY> m_encoded;  ///< immutable, so copies share it
};

class PrivateKey {
 public:
  static core::Result<PrivateKey> generate_rsa(int bits);
  /// PEM (PKCS#8 or traditional) or DER (PKCS#8); unencrypted.
  static core::Result<PrivateKey> load(core::ByteView data);
  explicit PrivateKey(EvpPkeyPtr key) : m_key(std::move(key)) {}
  /// Copies share the key (a reference count): a long-lived server hands
  /// its cached CA key to each request without parsing the PEM again.
  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

  /// Unencrypted PKCS#8 PEM.
  std::string to_pem() const;
  PublicKey public_key() const;
  int bits() const;
  bool is_rsa() const;

  EVP_PKEY* native() const { return m_key.get(); }

 private:
  EvpPkeyPtr m_key;
};

}  // namespace crypto
