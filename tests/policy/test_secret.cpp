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
