#include <boost/test/unit_test.hpp>

#include <set>

#include "policy/secret.hpp"
#include "support/test_pki.hpp"

BOOST_AUTO_TEST_SUITE(policy_secret)

BOOST_AUTO_TEST_CASE(secrets_are_printable_long_and_distinct) {
  testing::CountingRng rng(1);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string s = policy::generate_secret(rng);
    BOOST_TEST(s.size() == 26u);
    for (char c : s) BOOST_TEST(((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')));
    seen.insert(s);
  }
  BOOST_TEST(seen.size() == 200u);
}

BOOST_AUTO_TEST_CASE(records_round_trip_without_the_secret) {
  policy::SecretRecord r;
  r.id = "s-0011223344ff";
  r.hash = policy::secret_hash("HUNTER2");
  r.ca = "main";
  r.policy = "vpn";
  r.common_name = "dev1";
  r.uses = 3;
  r.created = testing::fixed_time();
  r.expires = r.created + std::chrono::hours(24);
  std::string text = policy::render_secret(r);
  BOOST_TEST(text.find("HUNTER2") == std::string::npos);
  auto back = policy::parse_secret(text);
  BOOST_REQUIRE(back);
  BOOST_TEST((back->hash == r.hash));
  BOOST_TEST(*back->common_name == "dev1");
  BOOST_TEST(back->uses == 3);
  BOOST_TEST((back->expires == r.expires));
}

BOOST_AUTO_TEST_CASE(durations_parse_with_units_and_reject_junk) {
  BOOST_TEST(policy::parse_duration("30d")->count() == 30 * 86400);
  BOOST_TEST(policy::parse_duration("12h")->count() == 12 * 3600);
  BOOST_TEST(policy::parse_duration("90m")->count() == 90 * 60);
  BOOST_TEST(policy::parse_duration("3600")->count() == 3600);
  BOOST_TEST(!policy::parse_duration("0d"));
  BOOST_TEST(!policy::parse_duration("-1h"));
  BOOST_TEST(!policy::parse_duration("5y"));
  BOOST_TEST(!policy::parse_duration(""));
}

BOOST_AUTO_TEST_SUITE_END()
