#include "crypto/keys.hpp"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fmt/format.h>

#include "crypto/der.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

core::Result<PublicKey> PublicKey::from_spki_der(core::ByteView der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return ossl_fail(Errc::malformed_request, "bad public key");
  return PublicKey(std::move(key));
}

PublicKey::PublicKey(EvpPkeyPtr key, const X509_PUBKEY* encoded) : m_key(std::move(key)) {
  if (X509PubkeyPtr copy{encoded ? X509_PUBKEY_dup(encoded) : nullptr}) m_encoded = std::move(copy);
}

core::Bytes PublicKey::spki_der() const {
  return m_encoded ? to_der(i2d_X509_PUBKEY, m_encoded.get()) : to_der(i2d_PUBKEY, m_key.get());
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(m_key.get()); }
bool PublicKey::is_rsa() const { return EVP_PKEY_get_base_id(m_key.get()) == EVP_PKEY_RSA; }

std::string PublicKey::description() const {
  const char* type = OBJ_nid2sn(EVP_PKEY_get_base_id(m_key.get()));
  if (is_rsa()) type = "RSA";
  else if (EVP_PKEY_get_base_id(m_key.get()) == EVP_PKEY_EC) type = "EC";
  return fmt::format("{} {}", type ? type : "unknown", bits());
}

bool PublicKey::operator==(const PublicKey& other) const { return EVP_PKEY_eq(m_key.get(), other.m_key.get()) == 1; }

core::Result<PrivateKey> PrivateKey::generate_rsa(int bits) {
  EvpPkeyPtr key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!key) return ossl_fail(Errc::internal, "RSA key generation failed");
  return PrivateKey(std::move(key));
}

core::Result<PrivateKey> PrivateKey::load(core::ByteView data) {
  BioPtr bio = memory_bio(data);
  EvpPkeyPtr key;
  if (looks_like_pem(data)) {
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>("")));
  } else {
    key.reset(d2i_PrivateKey_bio(bio.get(), nullptr));
  }
  if (!key) return ossl_fail(Errc::invalid_argument, "not an unencrypted private key (PEM or DER)");
  return PrivateKey(std::move(key));
}

std::string PrivateKey::to_pem() const {
  if (m_holder) return {};
  BioPtr bio = new_memory_bio();
  PEM_write_bio_PrivateKey(bio.get(), m_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return core::to_string(bio_contents(bio.get()));
}

PrivateKey::PrivateKey(EvpPkeyPtr key, std::shared_ptr<const KeyHolder> holder)
    : m_key(std::move(key)), m_holder(std::move(holder)) {
  core::Bytes spki = to_der(i2d_PUBKEY, m_key.get());
  const unsigned char* p = spki.data();
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (pub) m_public = std::move(pub);
  else clear_ossl_errors();
}

PublicKey PrivateKey::public_key() const { return PublicKey(m_public ? m_public : m_key); }

int PrivateKey::bits() const { return EVP_PKEY_get_bits(m_key.get()); }
bool PrivateKey::is_rsa() const { return EVP_PKEY_get_base_id(m_key.get()) == EVP_PKEY_RSA; }

}  // namespace crypto
