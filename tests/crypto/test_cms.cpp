#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "crypto/cms.hpp"
#include "support/requests.hpp"
#include "support/test_pki.hpp"

namespace {

using crypto::ContentCipher;
using crypto::DigestAlg;

const core::Bytes cms_payload = core::to_bytes("a PKCS#10 would go here, and it is longer than one block");
constexpr std::string_view cms_type_oid = "2.16.840.1.113733.1.9.2";   // SCEP messageType
constexpr std::string_view cms_nonce_oid = "2.16.840.1.113733.1.9.5";  // SCEP senderNonce

core::Bytes envelope_for(core::ByteView content, const crypto::Certificate& to, ContentCipher cipher,
                         const crypto::KeyTransport& kt = {}) {
  auto der = crypto::make_envelope(content, to, cipher, kt);
  BOOST_REQUIRE_MESSAGE(der, "make_envelope: " << (der ? "" : der.error().detail));
  return *der;
}

crypto::Envelope parsed_envelope(core::ByteView der) {
  auto env = crypto::Envelope::parse(der);
  BOOST_REQUIRE_MESSAGE(env, "Envelope::parse: " << (env ? "" : env.error().detail));
  return *env;
}

std::vector<crypto::SignedAttribute> cms_scep_attributes() {
  crypto::SignedAttribute type{std::string(cms_type_oid), crypto::StringType::printable, core::to_bytes("19"), 1};
  crypto::SignedAttribute nonce{std::string(cms_nonce_oid), crypto::StringType::octet, testing::nonce_of(16), 1};
  return {type, nonce};
}

/// A SignedData over cms_payload by a self-signed certificate on the client key.
struct SignedCase {
  crypto::Certificate signer = testing::self_signed(testing::test_pki().client_key, "CN=cms signer");
  core::Bytes der;

  explicit SignedCase(crypto::SignaturePadding padding = crypto::SignaturePadding::pkcs1,
                      DigestAlg digest = DigestAlg::sha256) {
    auto made = crypto::make_signed_data(cms_payload, signer, testing::test_pki().client_key, digest,
                                         cms_scep_attributes(), {}, padding);
    BOOST_REQUIRE_MESSAGE(made, "make_signed_data: " << (made ? "" : made.error().detail));
    der = *made;
  }
};

void require_malformed_signed_data(core::ByteView der, const std::string& what) {
  auto sd = crypto::parse_signed_data(der);
  BOOST_TEST(!sd, what << " parsed as a SignedData");
  if (!sd) BOOST_TEST((sd.error().code == core::Errc::malformed_request), what << ": " << sd.error().detail);
}

void require_malformed_envelope(core::ByteView der, const std::string& what) {
  auto env = crypto::Envelope::parse(der);
  BOOST_TEST(!env, what << " parsed as an EnvelopedData");
  if (!env) BOOST_TEST((env.error().code == core::Errc::malformed_request), what << ": " << env.error().detail);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_cms_envelope)

BOOST_AUTO_TEST_CASE(every_cipher_round_trips_and_is_named_by_the_envelope) {
  crypto::enable_legacy_algorithms();  // DES-CBC exists only in the legacy provider
  const auto& pki = testing::test_pki();
  for (ContentCipher c : {ContentCipher::des_cbc, ContentCipher::des3_cbc, ContentCipher::aes128_cbc,
                          ContentCipher::aes192_cbc, ContentCipher::aes256_cbc}) {
    BOOST_TEST_CONTEXT("cipher " << crypto::cipher_name(c)) {
      auto env = parsed_envelope(envelope_for(cms_payload, pki.root.cert, c));
      BOOST_TEST((env.cipher() == std::optional(c)));
      auto plain = env.decrypt(pki.root.cert, pki.root.key);
      BOOST_REQUIRE_MESSAGE(plain, plain.error().detail);
      BOOST_TEST(*plain == cms_payload, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(cipher_names_are_distinct) {
  std::vector<std::string> names;
  for (ContentCipher c : {ContentCipher::des_cbc, ContentCipher::des3_cbc, ContentCipher::aes128_cbc,
                          ContentCipher::aes192_cbc, ContentCipher::aes256_cbc})
    names.emplace_back(crypto::cipher_name(c));
  std::sort(names.begin(), names.end());
  BOOST_TEST((std::adjacent_find(names.begin(), names.end()) == names.end()));
}

BOOST_AUTO_TEST_CASE(an_empty_content_round_trips) {
  const auto& pki = testing::test_pki();
  auto plain =
      parsed_envelope(envelope_for({}, pki.root.cert, ContentCipher::aes128_cbc)).decrypt(pki.root.cert, pki.root.key);
  BOOST_REQUIRE_MESSAGE(plain, plain.error().detail);
  BOOST_TEST(plain->empty());
}

BOOST_AUTO_TEST_CASE(rsa_oaep_key_transport_round_trips_and_is_reported) {
  const auto& pki = testing::test_pki();
  crypto::KeyTransport kt;
  kt.oaep = true;
  kt.oaep_digest = DigestAlg::sha256;
  auto env = parsed_envelope(envelope_for(cms_payload, pki.root.cert, ContentCipher::aes256_cbc, kt));
  auto seen = env.key_transport(pki.root.cert);
  BOOST_TEST(seen.oaep);
  BOOST_TEST((seen.oaep_digest == DigestAlg::sha256));
  auto plain = env.decrypt(pki.root.cert, pki.root.key);
  BOOST_REQUIRE_MESSAGE(plain, plain.error().detail);
  BOOST_TEST(*plain == cms_payload, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(pkcs1_key_transport_is_reported_as_not_oaep) {
  const auto& pki = testing::test_pki();
  auto env = parsed_envelope(envelope_for(cms_payload, pki.root.cert, ContentCipher::aes128_cbc));
  BOOST_TEST(!env.key_transport(pki.root.cert).oaep);
}

BOOST_AUTO_TEST_CASE(the_recipient_is_found_among_candidates) {
  const auto& pki = testing::test_pki();
  auto env = parsed_envelope(envelope_for(cms_payload, pki.ra.cert, ContentCipher::aes128_cbc));
  BOOST_TEST((env.recipient_index({pki.root.cert, pki.ra.cert}) == std::optional<std::size_t>(1)));
  BOOST_TEST(!env.recipient_index({pki.root.cert, pki.inter.cert}));
  BOOST_TEST(!env.recipient_index({}));
}

BOOST_AUTO_TEST_CASE(the_wrong_recipient_key_fails_cleanly) {
  const auto& pki = testing::test_pki();
  auto env = parsed_envelope(envelope_for(cms_payload, pki.root.cert, ContentCipher::aes128_cbc));
  // The right certificate with another key, and a certificate that is no recipient.
  for (auto [cert, key] : {std::pair{&pki.root.cert, &pki.client_key}, std::pair{&pki.ra.cert, &pki.ra.key}}) {
    auto plain = env.decrypt(*cert, *key);
    BOOST_REQUIRE(!plain);
    BOOST_TEST((plain.error().code == core::Errc::decrypt_failed), plain.error().detail);
  }
  // The failures left nothing behind: the right key still decrypts.
  auto plain = env.decrypt(pki.root.cert, pki.root.key);
  BOOST_REQUIRE_MESSAGE(plain, plain.error().detail);
  BOOST_TEST(*plain == cms_payload, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rsa_certificates_can_be_encrypted_to) {
  BOOST_TEST(crypto::can_encrypt_to(testing::test_pki().root.cert));
  BOOST_TEST(crypto::can_encrypt_to(testing::test_pki().ra.cert));
}

BOOST_AUTO_TEST_CASE(an_ec_certificate_can_be_encrypted_to_and_an_eddsa_one_cannot) {
  crypto::PrivateKey ec(crypto::EvpPkeyPtr(EVP_EC_gen("P-256")));
  BOOST_REQUIRE(ec.native());
  BOOST_TEST(crypto::can_encrypt_to(testing::self_signed(ec, "CN=ec recipient")));
  crypto::PrivateKey ed(crypto::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")));
  BOOST_REQUIRE(ed.native());
  auto ed_cert = testing::build_self_signed(ed, "CN=ed25519", std::chrono::system_clock::now());
  if (ed_cert) BOOST_TEST(!crypto::can_encrypt_to(*ed_cert));
}

BOOST_AUTO_TEST_CASE(garbage_is_malformed_not_a_crash) {
  const auto& pki = testing::test_pki();
  auto good = envelope_for(cms_payload, pki.root.cert, ContentCipher::aes128_cbc);
  require_malformed_envelope({}, "no bytes");
  require_malformed_envelope(core::Bytes{0x30}, "one byte");
  require_malformed_envelope(core::Bytes{0x30, 0x80}, "an open indefinite length");
  require_malformed_envelope(core::Bytes(512, 0xff), "0xff bytes");
  for (std::size_t cut : {std::size_t{1}, std::size_t{16}, good.size() / 2, good.size() - 1})
    require_malformed_envelope(core::ByteView(good).first(good.size() - cut), "cut by " + std::to_string(cut));
  auto trailing = good;
  trailing.push_back(0x00);
  require_malformed_envelope(trailing, "a trailing byte");
  require_malformed_envelope(SignedCase().der, "a SignedData");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(crypto_cms_signed_data)

BOOST_AUTO_TEST_CASE(signed_data_round_trips_with_its_attributes) {
  SignedCase c;
  auto sd = crypto::parse_signed_data(c.der);
  BOOST_REQUIRE_MESSAGE(sd, sd.error().detail);
  BOOST_TEST(sd->signature_valid, sd->signature_error);
  BOOST_REQUIRE(sd->signer);
  BOOST_TEST((*sd->signer == c.signer));
  BOOST_TEST((sd->digest == std::optional(DigestAlg::sha256)));
  BOOST_TEST((sd->signature.padding == crypto::SignaturePadding::pkcs1));
  BOOST_TEST(sd->content == cms_payload, boost::test_tools::per_element());
  const auto* type = sd->attribute(cms_type_oid);
  BOOST_REQUIRE(type);
  BOOST_TEST((type->type == crypto::StringType::printable));
  BOOST_TEST(core::to_string(type->value) == "19");
  BOOST_TEST(type->values == 1u);
  const auto* nonce = sd->attribute(cms_nonce_oid);
  BOOST_REQUIRE(nonce);
  BOOST_TEST((nonce->type == crypto::StringType::octet));
  BOOST_TEST(nonce->value == testing::nonce_of(16), boost::test_tools::per_element());
  BOOST_TEST(!sd->attribute("1.2.3.4.5"));
}

BOOST_AUTO_TEST_CASE(each_digest_is_named_back) {
  for (DigestAlg d : {DigestAlg::sha1, DigestAlg::sha256, DigestAlg::sha512}) {
    BOOST_TEST_CONTEXT("digest " << crypto::digest_name(d)) {
      auto sd = crypto::parse_signed_data(SignedCase(crypto::SignaturePadding::pkcs1, d).der);
      BOOST_REQUIRE_MESSAGE(sd, sd.error().detail);
      BOOST_TEST(sd->signature_valid, sd->signature_error);
      BOOST_TEST((sd->digest == std::optional(d)));
    }
  }
}

BOOST_AUTO_TEST_CASE(an_rsassa_pss_signature_verifies_and_is_named) {
  auto sd = crypto::parse_signed_data(SignedCase(crypto::SignaturePadding::pss).der);
  BOOST_REQUIRE_MESSAGE(sd, sd.error().detail);
  BOOST_TEST(sd->signature_valid, sd->signature_error);
  BOOST_TEST((sd->signature.padding == crypto::SignaturePadding::pss));
  BOOST_TEST((sd->signature.digest == std::optional(DigestAlg::sha256)));
}

BOOST_AUTO_TEST_CASE(tampered_content_is_reported_not_an_error) {
  SignedCase c;
  auto at = std::search(c.der.begin(), c.der.end(), cms_payload.begin(), cms_payload.end());
  BOOST_REQUIRE((at != c.der.end()));
  *at ^= 0x20;
  auto sd = crypto::parse_signed_data(c.der);
  BOOST_REQUIRE_MESSAGE(sd, "the header must still be readable: " << (sd ? "" : sd.error().detail));
  BOOST_TEST(!sd->signature_valid);
  BOOST_TEST(!sd->signature_error.empty());
  BOOST_TEST((sd->content != cms_payload));
  BOOST_TEST(sd->attribute(cms_type_oid));  // still there, to echo in a signed FAILURE
}

BOOST_AUTO_TEST_CASE(a_tampered_signature_does_not_verify) {
  auto der = testing::corrupt_last_byte(SignedCase().der);  // no unsigned attributes: the signature ends the DER
  auto sd = crypto::parse_signed_data(der);
  BOOST_REQUIRE_MESSAGE(sd, sd.error().detail);
  BOOST_TEST(!sd->signature_valid);
  BOOST_TEST(!sd->signature_error.empty());
}

BOOST_AUTO_TEST_CASE(a_missing_signer_certificate_is_reported) {
  const auto& pki = testing::test_pki();
  auto signer = testing::self_signed(pki.client_key, "CN=absent signer");
  testing::SignerSpec s{&signer, &pki.client_key, DigestAlg::sha256,
                        testing::scep_attrs("19", "tid-cms", testing::nonce_of(16))};
  s.include_cert = false;
  auto sd = crypto::parse_signed_data(testing::cms_sign(cms_payload, {s}));
  BOOST_REQUIRE_MESSAGE(sd, sd.error().detail);
  BOOST_TEST(!sd->signer);
  BOOST_TEST(!sd->signature_valid);
  BOOST_TEST(!sd->signature_error.empty());
}

BOOST_AUTO_TEST_CASE(structural_problems_are_malformed) {
  const auto& pki = testing::test_pki();
  auto signer = testing::self_signed(pki.client_key, "CN=one");
  auto other = testing::self_signed(pki.inter.key, "CN=two");
  auto attrs = testing::scep_attrs("19", "tid-cms", testing::nonce_of(16));
  testing::SignerSpec one{&signer, &pki.client_key, DigestAlg::sha256, attrs};
  testing::SignerSpec two{&other, &pki.inter.key, DigestAlg::sha256, attrs};
  require_malformed_signed_data(testing::cms_sign(cms_payload, {one, two}), "two signers");
  testing::SignerSpec bare{&signer, &pki.client_key, DigestAlg::sha256, {}};
  require_malformed_signed_data(testing::cms_sign(cms_payload, {bare},
                                                  testing::SignOptions::without_signed_attributes()),
                                "no signed attributes");
  require_malformed_signed_data(testing::cms_sign(cms_payload, {one},
                                                  testing::SignOptions::econtent("1.2.840.113549.1.7.3")),
                                "eContentType envelopedData");
}

BOOST_AUTO_TEST_CASE(garbage_is_malformed_not_a_crash) {
  auto good = SignedCase().der;
  require_malformed_signed_data({}, "no bytes");
  require_malformed_signed_data(core::Bytes{0x30, 0x00}, "an empty SEQUENCE");
  require_malformed_signed_data(core::Bytes{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, "a length of 2 GiB");
  testing::CountingRng rng(99);
  for (int i = 0; i < 8; ++i) {
    core::Bytes junk(64 + 97 * i);
    rng.fill(junk);
    junk[0] = 0x30;
    require_malformed_signed_data(junk, "junk #" + std::to_string(i));
  }
  for (std::size_t cut : {std::size_t{1}, std::size_t{32}, good.size() / 2, good.size() - 2})
    require_malformed_signed_data(core::ByteView(good).first(good.size() - cut), "cut by " + std::to_string(cut));
  auto trailing = good;
  trailing.push_back(0x00);
  require_malformed_signed_data(trailing, "a trailing byte");
  const auto& pki = testing::test_pki();
  require_malformed_signed_data(envelope_for(cms_payload, pki.root.cert, ContentCipher::aes128_cbc),
                                "an EnvelopedData");
}

BOOST_AUTO_TEST_SUITE_END()
