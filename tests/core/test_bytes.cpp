#include <boost/test/unit_test.hpp>

#include "core/bytes.hpp"
#include "core/names.hpp"

BOOST_AUTO_TEST_SUITE(core_bytes)

BOOST_AUTO_TEST_CASE(hex_round_trips_and_rejects_junk) {
  core::Bytes b{0x00, 0xab, 0xff};
  BOOST_TEST(core::to_hex(b) == "00abff");
  BOOST_TEST(core::to_hex(b, ':', true) == "00:AB:FF");
  core::Bytes back;
  BOOST_TEST(core::from_hex("00ABff", back));
  BOOST_TEST(back == b);
  BOOST_TEST(!core::from_hex("abc", back));
  BOOST_TEST(!core::from_hex("zz", back));
}

BOOST_AUTO_TEST_CASE(constant_time_equality_compares_content_and_length) {
  core::Bytes a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
  BOOST_TEST(core::equal_constant_time(a, b));
  BOOST_TEST(!core::equal_constant_time(a, c));
  BOOST_TEST(!core::equal_constant_time(a, d));
}

BOOST_AUTO_TEST_CASE(names_are_single_safe_path_components) {
  BOOST_TEST(core::is_valid_name("main"));
  BOOST_TEST(core::is_valid_name("ca-1.example_2"));
  BOOST_TEST(core::is_valid_name(std::string(64, 'a')));
  BOOST_TEST(!core::is_valid_name(std::string(65, 'a')));
  BOOST_TEST(!core::is_valid_name(""));
  BOOST_TEST(!core::is_valid_name(".."));
  BOOST_TEST(!core::is_valid_name(".hidden"));
  BOOST_TEST(!core::is_valid_name("a/b"));
  BOOST_TEST(!core::is_valid_name("-x"));
  BOOST_TEST(!core::is_valid_name("a b"));
}

BOOST_AUTO_TEST_SUITE_END()
