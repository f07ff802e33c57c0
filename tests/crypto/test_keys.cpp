#include <boost/test/unit_test.hpp>

#include <string>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto/der.hpp"
#include "crypto/keys.hpp"
#include "support/test_pki.hpp"

namespace {

/// The DER inside a PEM block (the armour stripped, base64 decoded).
core::Bytes pem_body(const std::string& pem) {
  std::string b64;
  std::size_t start = pem.find('\n') + 1, end = pem.find("-----END");
  for (char c : pem.substr(start, end - start))
    if (c != '\n') b64 += c;
  auto der = crypto::base64_decode(b64);
  BOOST_REQUIRE(der);
  return *der;
}

std::string write_with(const crypto::PrivateKey& key, int (*writer)(BIO*, const EVP_PKEY*)) {
  crypto::BioPtr bio = crypto::new_memory_bio();
  BOOST_REQUIRE(writer(bio.get(), key.native()) == 1);
  return core::to_string(crypto::bio_contents(bio.get()));
}

int write_traditional(BIO* bio, const EVP_PKEY* key) {
  return PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
}
int write_encrypted(BIO* bio, const EVP_PKEY* key) {
  return PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_128_cbc(), const_cast<char*>("secret"), 6, nullptr, nullptr);
}
int write_public(BIO* bio, const EVP_PKEY* key) { return PEM_write_bio_PUBKEY(bio, key); }

void require_loads_as(core::ByteView data, const crypto::PrivateKey& want) {
  auto key = crypto::PrivateKey::load(data);
  BOOST_REQUIRE_MESSAGE(key, (key ? "" : key.error().detail));
  BOOST_TEST((key->public_key() == want.public_key()));
  BOOST_TEST(key->bits() == want.bits());
}

void require_refused(core::ByteView data) {
  auto key = crypto::PrivateKey::load(data);
  BOOST_REQUIRE(!key);
  BOOST_TEST(key.error().code == core::Errc::invalid_argument);
  BOOST_TEST(ERR_peek_error() == 0u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_keys)

BOOST_AUTO_TEST_CASE(to_pem_is_unencrypted_pkcs8) {
  std::string pem = testing::test_pki().client_key.to_pem();
  BOOST_TEST(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  BOOST_TEST(pem.find("ENCRYPTED") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(load_reads_pkcs8_pem) {
  const auto& key = testing::test_pki().client_key;
  require_loads_as(core::to_bytes(key.to_pem()), key);
}

BOOST_AUTO_TEST_CASE(load_reads_pem_after_leading_whitespace) {
  const auto& key = testing::test_pki().ra.key;
  require_loads_as(core::to_bytes("\n  \r\n\n" + key.to_pem()), key);
}

// Regression (was a bug): same cause as load_all: a PEM key file with text before "-----BEGIN"
// (e.g. "Bag Attributes" from `openssl pkcs12 -nocerts -nodes`) is taken for
// DER and refused, although PEM_read_bio_PrivateKey would skip the text.
BOOST_AUTO_TEST_CASE(load_reads_pem_after_explanatory_text) {
  const auto& key = testing::test_pki().ra.key;
  require_loads_as(core::to_bytes("Bag Attributes\n    localKeyID: 01\nKey Attributes: <No Attributes>\n" +
                                  key.to_pem()),
                   key);
}

BOOST_AUTO_TEST_CASE(load_reads_traditional_rsa_pem) {
  const auto& key = testing::test_pki().root.key;
  std::string pem = write_with(key, write_traditional);
  BOOST_REQUIRE(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
  require_loads_as(core::to_bytes(pem), key);
}

BOOST_AUTO_TEST_CASE(load_reads_pkcs8_der) {
  const auto& key = testing::test_pki().client_key;
  core::Bytes der = pem_body(key.to_pem());
  BOOST_REQUIRE(!der.empty());
  BOOST_REQUIRE(der[0] == 0x30);
  require_loads_as(der, key);
}

BOOST_AUTO_TEST_CASE(load_reads_an_ec_key) {
  crypto::EvpPkeyPtr raw(EVP_EC_gen("P-256"));
  BOOST_REQUIRE(raw);
  crypto::PrivateKey ec(std::move(raw));
  auto key = crypto::PrivateKey::load(core::to_bytes(ec.to_pem()));
  BOOST_REQUIRE(key);
  BOOST_TEST(!key->is_rsa());
  BOOST_TEST(key->bits() == 256);
  BOOST_TEST(key->public_key().description() == "EC 256");
  BOOST_TEST((key->public_key() == ec.public_key()));
}

BOOST_AUTO_TEST_CASE(load_refuses_junk_and_empty_input) {
  require_refused(core::to_bytes("this is not a key"));
  require_refused(core::Bytes{});
  require_refused(core::Bytes{0x30, 0x03, 0x02, 0x01, 0x00});
  require_refused(core::to_bytes("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
}

BOOST_AUTO_TEST_CASE(load_refuses_an_encrypted_key_without_prompting) {
  require_refused(core::to_bytes(write_with(testing::test_pki().client_key, write_encrypted)));
}

BOOST_AUTO_TEST_CASE(load_refuses_a_public_key_or_a_certificate) {
  const auto& pki = testing::test_pki();
  require_refused(core::to_bytes(write_with(pki.client_key, write_public)));
  require_refused(core::to_bytes(pki.root.cert.pem()));
  require_refused(pki.root.cert.der());
}

BOOST_AUTO_TEST_CASE(rsa_key_properties) {
  const auto& key = testing::test_pki().client_key;
  BOOST_TEST(key.is_rsa());
  BOOST_TEST(key.bits() == 2048);
  BOOST_TEST(key.public_key().is_rsa());
  BOOST_TEST(key.public_key().bits() == 2048);
  BOOST_TEST(key.public_key().description() == "RSA 2048");
}

BOOST_AUTO_TEST_CASE(public_keys_are_equal_exactly_when_the_key_is_the_same) {
  const auto& pki = testing::test_pki();
  BOOST_TEST((pki.client_key.public_key() == pki.client_key.public_key()));
  BOOST_TEST((pki.root.key.public_key() == pki.root.cert.public_key()));
  BOOST_TEST(!(pki.client_key.public_key() == pki.root.key.public_key()));
  BOOST_TEST(!(pki.ra.cert.public_key() == pki.root.cert.public_key()));
}

BOOST_AUTO_TEST_CASE(public_key_copies_compare_equal) {
  const auto& pki = testing::test_pki();
  crypto::PublicKey a = pki.root.key.public_key();
  crypto::PublicKey b = a;
  BOOST_TEST((a == b));
  b = pki.ra.key.public_key();
  BOOST_TEST(!(a == b));
  BOOST_TEST((b == pki.ra.cert.public_key()));
}

BOOST_AUTO_TEST_CASE(spki_der_round_trips) {
  const auto& pki = testing::test_pki();
  core::Bytes spki = pki.client_key.public_key().spki_der();
  BOOST_REQUIRE(!spki.empty());
  auto back = crypto::PublicKey::from_spki_der(spki);
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == pki.client_key.public_key()));
  BOOST_TEST((back->spki_der() == spki));
}

BOOST_AUTO_TEST_CASE(from_spki_der_refuses_junk) {
  auto key = crypto::PublicKey::from_spki_der(core::to_bytes("junk"));
  BOOST_REQUIRE(!key);
  BOOST_TEST(key.error().code == core::Errc::malformed_request);
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
