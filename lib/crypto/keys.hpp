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

/// What keeps a key that lives outside this process usable: a PKCS#11
/// token's login (crypto/pkcs11.hpp). A key in memory has none.
class KeyHolder {
 public:
  virtual ~KeyHolder() = default;
  /// Where the key is: its token URI (no PIN).
  virtual std::string location() const = 0;
  /// False once the token's session or login is gone (a token reset): load
  /// the key again.
  virtual bool usable() const = 0;
};

class PrivateKey {
 public:
  static core::Result<PrivateKey> generate_rsa(int bits);
  /// PEM (PKCS#8 or traditional) or DER (PKCS#8); unencrypted.
  static core::Result<PrivateKey> load(core::ByteView data);
  /// Copies share the key (OsslShared): a long-lived server hands its
  /// cached CA key to each request without parsing the PEM again.
  explicit PrivateKey(EvpPkeyPtr key) : m_key(std::move(key)) {}
  /// A key on a token: `holder` (its login) stays alive with every copy.
  /// Its public half is a plain copy (public_key()): libp11 0.4.12's EC key
  /// method crashes when OpenSSL duplicates a key that carries it (as a
  /// certificate's cached public key does), so none ever leaves this class.
  PrivateKey(EvpPkeyPtr key, std::shared_ptr<const KeyHolder> holder);

  /// Unencrypted PKCS#8 PEM; empty for a key on a token (it never leaves it).
  std::string to_pem() const;
  PublicKey public_key() const;
  int bits() const;
  bool is_rsa() const;

  EVP_PKEY* native() const { return m_key.get(); }

  /// Whether the key lives on a token (then location() is its URI).
  bool on_token() const { return m_holder != nullptr; }
  /// The token URI (no PIN), or empty for a key in memory (from a file).
  std::string location() const { return m_holder ? m_holder->location() : std::string(); }
  /// A key in memory always; a token key while its login holds.
  bool usable() const { return !m_holder || m_holder->usable(); }

 private:
  OsslShared<EVP_PKEY> m_key;
  OsslShared<EVP_PKEY> m_public;  ///< a token key's public half, decoded anew
  std::shared_ptr<const KeyHolder> m_holder;
};

}  // namespace crypto
