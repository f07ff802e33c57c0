#include <boost/test/unit_test.hpp>

#include <set>
#include <sstream>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"

BOOST_AUTO_TEST_SUITE(core_error)

BOOST_AUTO_TEST_CASE(every_errc_has_its_own_stable_name) {
  using core::Errc;
  const Errc all[] = {Errc::malformed_request,
                      Errc::unknown_ca,
                      Errc::decrypt_failed,
                      Errc::too_large,
                      Errc::unsupported_algorithm,
                      Errc::bad_message_check,
                      Errc::policy_rejected,
                      Errc::invalid_argument,
                      Errc::not_found,
                      Errc::already_exists,
                      Errc::store_io,
                      Errc::store_busy,
                      Errc::config_invalid,
                      Errc::unavailable,
                      Errc::internal};
  std::set<std::string> names;
  for (Errc e : all) names.insert(std::string(core::errc_name(e)));
  BOOST_TEST(names.size() == std::size(all));
  BOOST_TEST(core::errc_name(Errc::unknown_ca) == "unknown_ca");
  BOOST_TEST(core::errc_name(Errc::store_io) == "store_io");
  BOOST_TEST(core::errc_name(Errc::malformed_request) == "malformed_request");
}

BOOST_AUTO_TEST_CASE(errc_prints_as_its_name) {
  std::ostringstream os;
  os << core::Errc::already_exists;
  BOOST_TEST(os.str() == "already_exists");
}

BOOST_AUTO_TEST_CASE(fail_carries_code_and_detail) {
  core::Result<int> r = core::fail(core::Errc::not_found, "no such thing");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == core::Errc::not_found);
  BOOST_TEST(r.error().detail == "no such thing");
}

BOOST_AUTO_TEST_CASE(fixed_clock_stands_still_until_advanced) {
  auto t0 = std::chrono::system_clock::from_time_t(1767225600);
  core::FixedClock clock(t0);
  BOOST_TEST((clock.now() == t0));
  BOOST_TEST((clock.now() == t0));
  clock.advance(std::chrono::seconds(90));
  BOOST_TEST((clock.now() == t0 + std::chrono::seconds(90)));
}

BOOST_AUTO_TEST_SUITE_END()
