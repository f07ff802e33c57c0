#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

#include "scep/outcome.hpp"

// Outcome names are what the audit log stores and `scepctl audit --outcome`
// matches: each is unique and reads back to its outcome in any case.
BOOST_AUTO_TEST_SUITE(outcome_names)

BOOST_AUTO_TEST_CASE(every_outcome_has_one_name_that_reads_back) {
  std::set<std::string_view> seen;
  for (scep::Outcome o : scep::all_outcomes()) {
    auto name = scep::outcome_name(o);
    BOOST_TEST(!name.empty());
    BOOST_TEST(seen.insert(name).second, "two outcomes are called " << name);
    BOOST_TEST((scep::outcome_from_name(name) == o));
    std::string upper(name);
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    BOOST_TEST((scep::outcome_from_name(upper) == o));
  }
  BOOST_TEST(seen.size() == 13u);
}

BOOST_AUTO_TEST_CASE(names_stay_what_the_audit_log_has_always_written) {
  BOOST_TEST(scep::outcome_name(scep::Outcome::issued) == "issued");
  BOOST_TEST(scep::outcome_name(scep::Outcome::signed_crl) == "signed");
  BOOST_TEST(scep::outcome_name(scep::Outcome::error) == "error");
}

BOOST_AUTO_TEST_CASE(unknown_names_are_not_outcomes) {
  BOOST_TEST(!scep::outcome_from_name("isued"));
  BOOST_TEST(!scep::outcome_from_name(""));
  BOOST_TEST(!scep::outcome_from_name("issued "));
  BOOST_TEST(!scep::outcome_from_name("signed_crl"));
}

BOOST_AUTO_TEST_SUITE_END()
