// lib/ca: the CA's own certificates, its RA's, imports, and what it issues.
#include <boost/test/unit_test.hpp>

#include "ca/authority.hpp"
#include "crypto/cert_builder.hpp"
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
  auto bad = ca::create_root({"CN=x", 2048, 0}, clock, rng);
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
  auto long_ra = ca::create_ra({"CN=long RA", 2048, 20000}, pki.root.cert, pki.root.key, clock, rng);
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

BOOST_AUTO_TEST_SUITE_END()
