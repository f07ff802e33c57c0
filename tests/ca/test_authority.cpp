// lib/ca: the CA's own certificates, its RA's, imports, and what it issues.
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/authority.hpp"
#include "crypto/cert_builder.hpp"
#include "crypto/crl.hpp"
#include "support/test_pki.hpp"

namespace {

crypto::CertSpec leaf_spec(const std::string& subject) {
  crypto::CertSpec spec;
  auto der = crypto::subject_der_from_text(subject);
  BOOST_REQUIRE(der);
  spec.subject = *der;
  spec.not_before = testing::fixed_time();
  spec.not_after = testing::fixed_time() + std::chrono::days(30);
  spec.key_usage = crypto::ku_digital_signature;
  return spec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ca_authority)

BOOST_AUTO_TEST_CASE(a_root_is_a_self_signed_ca_that_can_also_sign_and_decrypt) {
  const auto& root = testing::test_pki().root;
  BOOST_TEST(root.cert.is_ca());
  BOOST_TEST(root.cert.is_self_issued());
  BOOST_TEST(root.cert.issued(root.cert));
  BOOST_TEST(root.cert.matches(root.key));
  unsigned ku = root.cert.key_usage();
  for (unsigned bit :
       {crypto::ku_key_cert_sign, crypto::ku_crl_sign, crypto::ku_digital_signature, crypto::ku_key_encipherment})
    BOOST_TEST((ku & bit) != 0u, "key usage bit " << bit);
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  auto bad = ca::create_root({"CN=x", crypto::KeyType::rsa_2048, 0}, clock, rng);
  BOOST_REQUIRE(!bad);
  BOOST_TEST((bad.error().code == core::Errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(an_ra_is_issued_by_its_ca_and_never_outlives_it) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(pki.root.cert.issued(pki.ra.cert));
  BOOST_TEST(!pki.ra.cert.is_ca());
  BOOST_TEST((pki.ra.cert.key_usage() & crypto::ku_key_encipherment) != 0u);
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  auto long_ra = ca::create_ra({"CN=long RA", crypto::KeyType::rsa_2048, 20000}, pki.root.cert, pki.root.key, clock,
                               rng);
  BOOST_REQUIRE_MESSAGE(long_ra, (long_ra ? "" : long_ra.error().detail));
  BOOST_TEST((long_ra->cert.not_after() <= pki.root.cert.not_after()));
}

BOOST_AUTO_TEST_CASE(an_import_must_match_its_key_be_a_ca_and_link_up) {
  const auto& pki = testing::test_pki();
  auto ok = ca::check_import(pki.inter.cert, pki.inter.key, {pki.root.cert});
  BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().detail));
  auto wrong_key = ca::check_import(pki.inter.cert, pki.root.key, {pki.root.cert});
  BOOST_REQUIRE(!wrong_key);
  BOOST_TEST(wrong_key.error().detail.find("does not match") != std::string::npos);
  auto not_ca = ca::check_import(pki.ra.cert, pki.ra.key, {pki.root.cert});
  BOOST_REQUIRE(!not_ca);
  BOOST_TEST(not_ca.error().detail.find("not a CA") != std::string::npos);
  auto broken = ca::check_import(pki.root.cert, pki.root.key, {pki.inter.cert});
  BOOST_REQUIRE(!broken);
  BOOST_TEST(broken.error().detail.find("chain is broken") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_issued_certificate_is_signed_by_the_ca_under_a_fresh_serial) {
  const auto& pki = testing::test_pki();
  testing::CountingRng rng;
  auto spec = leaf_spec("CN=device-1");
  auto first = ca::issue(spec, pki.client_key.public_key(), pki.root.cert, pki.root.key, rng);
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : first.error().detail));
  BOOST_TEST(first->subject() == "CN=device-1");
  BOOST_TEST(pki.root.cert.issued(*first));
  BOOST_TEST(first->matches(pki.client_key));
  auto digits = [](std::string hex) { return hex.erase(0, hex.find_first_not_of('0')); };
  BOOST_TEST(digits(first->serial_hex()) == digits(core::to_hex(spec.serial, '\0', true)),
             "spec.serial is the certificate's");
  auto second = ca::issue(spec, pki.client_key.public_key(), pki.root.cert, pki.root.key, rng);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->serial_hex() != first->serial_hex(), "each issuance draws a new serial");
  // The intermediate issues too, with its own name as the issuer.
  auto by_inter = ca::issue(spec, pki.client_key.public_key(), pki.inter.cert, pki.inter.key, rng);
  BOOST_REQUIRE(by_inter);
  BOOST_TEST(pki.inter.cert.issued(*by_inter));
  BOOST_TEST(!pki.root.cert.issued(*by_inter));
}

BOOST_AUTO_TEST_CASE(a_spec_that_cannot_be_built_is_the_operators_fault_not_the_clients) {
  const auto& pki = testing::test_pki();
  testing::CountingRng rng;
  auto spec = leaf_spec("CN=device-2");
  spec.extended_key_usage = {"not-an-eku-name"};
  auto cert = ca::issue(spec, pki.client_key.public_key(), pki.root.cert, pki.root.key, rng);
  BOOST_REQUIRE(!cert);
  BOOST_TEST((cert.error().code == core::Errc::internal));
}

BOOST_AUTO_TEST_CASE(an_ec_root_signs_with_ecdsa_and_cannot_decrypt) {
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  struct Case {
    crypto::KeyType type;
    const char* description;
    int signature_nid;
  };
  for (auto c : {Case{crypto::KeyType::ec_p256, "EC 256", NID_ecdsa_with_SHA256},
                 Case{crypto::KeyType::ec_p384, "EC 384", NID_ecdsa_with_SHA384}}) {
    BOOST_TEST_CONTEXT(crypto::key_type_name(c.type)) {
      auto root = ca::create_root({"CN=EC Root", c.type, 365}, clock, rng);
      BOOST_REQUIRE_MESSAGE(root, (root ? "" : root.error().detail));
      BOOST_TEST(root->cert.public_key().description() == c.description);
      BOOST_TEST(!root->key.is_rsa());
      BOOST_TEST(root->cert.is_ca());
      BOOST_TEST(root->cert.issued(root->cert), "self-signature verifies");
      BOOST_TEST(X509_get_signature_nid(root->cert.native()) == c.signature_nid);
      unsigned ku = root->cert.key_usage();
      BOOST_TEST((ku & crypto::ku_key_cert_sign) != 0u);
      BOOST_TEST((ku & crypto::ku_crl_sign) != 0u);
      BOOST_TEST((ku & crypto::ku_key_encipherment) == 0u, "an EC key cannot encipher keys");
      BOOST_TEST(ca::needs_rsa_ra(root->cert));

      auto spec = leaf_spec("CN=leaf under EC");
      auto leaf = ca::issue(spec, testing::test_pki().client_key.public_key(), root->cert, root->key, rng);
      BOOST_REQUIRE_MESSAGE(leaf, (leaf ? "" : leaf.error().detail));
      BOOST_TEST(root->cert.issued(*leaf));
      BOOST_TEST(X509_get_signature_nid(leaf->native()) == c.signature_nid);

      crypto::CrlSpec crl_spec;
      crl_spec.this_update = testing::fixed_time();
      crl_spec.next_update = testing::fixed_time() + std::chrono::days(7);
      crl_spec.digest = crypto::signing_digest(root->key);
      auto der = crypto::build_crl(crl_spec, root->cert, root->key);
      BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
      auto crl = crypto::Crl::parse(*der);
      BOOST_REQUIRE(crl);
      BOOST_TEST(crl->verify(root->cert));
      BOOST_TEST(X509_CRL_get_signature_nid(crl->native()) == c.signature_nid);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_ra_under_an_ec_ca_is_rsa_and_an_ec_ra_is_refused) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(pki.ec_root.cert.issued(pki.ec_ra.cert));
  BOOST_TEST(pki.ec_ra.cert.public_key().is_rsa());
  BOOST_TEST((pki.ec_ra.cert.key_usage() & crypto::ku_key_encipherment) != 0u);
  BOOST_TEST(X509_get_signature_nid(pki.ec_ra.cert.native()) == NID_ecdsa_with_SHA256);
  BOOST_TEST(!ca::needs_rsa_ra(pki.root.cert));
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  auto ec_ra = ca::create_ra({"CN=EC RA", crypto::KeyType::ec_p256, 365}, pki.ec_root.cert, pki.ec_root.key, clock,
                             rng);
  BOOST_REQUIRE(!ec_ra);
  BOOST_TEST((ec_ra.error().code == core::Errc::invalid_argument));
  BOOST_TEST(ec_ra.error().detail.find("must be RSA") != std::string::npos, ec_ra.error().detail);
  BOOST_TEST(ec_ra.error().detail.find("--key-type rsa-2048") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(importing_an_ec_ca_is_no_warning_about_keyencipherment) {
  const auto& pki = testing::test_pki();
  auto ok = ca::check_import(pki.ec_root.cert, pki.ec_root.key, {});
  BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().detail));
  BOOST_TEST(ok->empty(), "the importer makes the RSA RA; nothing to warn about");
}

/// A key OpenSSL makes that `ca create` does not offer.
crypto::PrivateKey other_key(const char* type, const char* curve = nullptr) {
  crypto::EvpPkeyPtr k(curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                             : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  BOOST_REQUIRE(k);
  return crypto::PrivateKey(std::move(k));
}

BOOST_AUTO_TEST_CASE(digests_pair_with_curves_as_rfc_5480_says) {
  const auto& pki = testing::test_pki();
  BOOST_TEST((crypto::signing_digest(pki.root.key) == crypto::DigestAlg::sha256));
  BOOST_TEST((crypto::signing_digest(pki.ec_root.key) == crypto::DigestAlg::sha256));
  BOOST_TEST((crypto::signing_digest(other_key("EC", "P-384")) == crypto::DigestAlg::sha384));
  BOOST_TEST((crypto::signing_digest(other_key("EC", "P-521")) == crypto::DigestAlg::sha512));
}

BOOST_AUTO_TEST_CASE(an_import_of_a_key_that_signs_without_a_digest_is_refused_first) {
  // Ed25519 would fail deep in X509_sign while the RA is made: refused, with
  // what to import instead, before anything else is looked at.
  const auto& pki = testing::test_pki();
  auto r = ca::check_import(pki.ec_root.cert, other_key("ED25519"), {});
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == core::Errc::invalid_argument));
  BOOST_TEST(r.error().detail.find("import an RSA or EC") != std::string::npos, r.error().detail);
}

BOOST_AUTO_TEST_CASE(key_type_names_round_trip) {
  for (auto name : crypto::key_type_names()) {
    auto t = crypto::parse_key_type(name);
    BOOST_REQUIRE(t);
    BOOST_TEST(crypto::key_type_name(*t) == name);
  }
  BOOST_TEST(!crypto::parse_key_type("ec-p521"));
  BOOST_TEST((crypto::rsa_key_type(3072) == crypto::KeyType::rsa_3072));
  BOOST_TEST(!crypto::rsa_key_type(1024));
}

BOOST_AUTO_TEST_SUITE_END()
