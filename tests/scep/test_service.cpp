#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "crypto/pkcs7.hpp"
#include "scep/service.hpp"
#include "support/memory_store.hpp"
#include "support/test_pki.hpp"

using testing::MemoryStore;

BOOST_AUTO_TEST_SUITE(scep_service)

BOOST_AUTO_TEST_CASE(get_ca_cert_without_ra_is_the_ca_der) {
  const auto& pki = testing::test_pki();
  MemoryStore repo;
  repo.cas.push_back({"main", pki.root.cert, {}, std::nullopt, {}});
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  scep::Service svc(repo.backend(), clock, rng);
  auto reply = svc.get_ca_cert("main");
  BOOST_REQUIRE(reply);
  BOOST_TEST((reply->kind == scep::CaCertKind::single));
  BOOST_TEST((reply->body == pki.root.cert.der()));
}

BOOST_AUTO_TEST_CASE(get_ca_cert_with_ra_lists_ra_first_and_honours_include_root) {
  const auto& pki = testing::test_pki();
  MemoryStore repo;
  repo.cas.push_back({"main", pki.root.cert, {}, pki.ra.cert, {}});
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  scep::Service svc(repo.backend(), clock, rng);
  auto reply = svc.get_ca_cert("main");
  BOOST_REQUIRE(reply);
  BOOST_TEST((reply->kind == scep::CaCertKind::bundle));
  auto certs = crypto::certificates_of_pkcs7(reply->body);
  BOOST_REQUIRE_MESSAGE(certs, (certs ? "" : certs.error().detail));
  BOOST_REQUIRE(certs->size() == 2u);
  BOOST_TEST(((*certs)[0] == pki.ra.cert));
  BOOST_TEST(((*certs)[1] == pki.root.cert));

  // The issuing CA itself is never left out, even when it is a root.
  repo.cas.front().options.include_root = false;
  reply = svc.get_ca_cert("main");
  BOOST_REQUIRE(reply);
  certs = crypto::certificates_of_pkcs7(reply->body);
  BOOST_REQUIRE(certs);
  BOOST_TEST(certs->size() == 2u);
}

BOOST_AUTO_TEST_CASE(include_root_false_drops_only_the_root_above_an_intermediate) {
  const auto& pki = testing::test_pki();
  MemoryStore repo;
  repo.cas.push_back({"sub", pki.inter.cert, {pki.root.cert}, std::nullopt, {}});
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  scep::Service svc(repo.backend(), clock, rng);
  auto reply = svc.get_ca_cert("sub");
  BOOST_REQUIRE(reply);
  BOOST_TEST((reply->kind == scep::CaCertKind::bundle));
  auto certs = crypto::certificates_of_pkcs7(reply->body);
  BOOST_REQUIRE(certs);
  BOOST_REQUIRE(certs->size() == 2u);
  BOOST_TEST((std::count(certs->begin(), certs->end(), pki.inter.cert) == 1));
  BOOST_TEST((std::count(certs->begin(), certs->end(), pki.root.cert) == 1));
  repo.cas.front().options.include_root = false;
  reply = svc.get_ca_cert("sub");
  BOOST_REQUIRE(reply);
  BOOST_TEST((reply->kind == scep::CaCertKind::single));
  BOOST_TEST((reply->body == pki.inter.cert.der()));
}

BOOST_AUTO_TEST_CASE(unknown_ca_is_an_unknown_ca_error) {
  MemoryStore repo;
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng;
  scep::Service svc(repo.backend(), clock, rng);
  auto reply = svc.get_ca_cert("nope");
  BOOST_REQUIRE(!reply);
  BOOST_TEST((reply.error().code == core::Errc::unknown_ca));
}

BOOST_AUTO_TEST_SUITE_END()
