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

BOOST_AUTO_TEST_CASE(iequals_ascii_folds_ascii_letters_only) {
  BOOST_TEST(core::iequals_ascii("GetCACaps", "getcacaps"));
  BOOST_TEST(core::iequals_ascii("PKIOPERATION", "PKIOperation"));
  BOOST_TEST(core::iequals_ascii("", ""));
  BOOST_TEST(!core::iequals_ascii("GetCACap", "GetCACaps"));
  BOOST_TEST(!core::iequals_ascii("GetCACert", "GetCACerx"));
  BOOST_TEST(!core::iequals_ascii("[", "{"));        // 0x5B and 0x7B differ by 0x20 but are not letters
  BOOST_TEST(!core::iequals_ascii("\xC9", "\xE9"));  // Latin-1 E-acute: not folded
  BOOST_TEST(core::iequals_ascii("100-Continue", "100-continue"));
}

BOOST_AUTO_TEST_CASE(hex_of_empty_input_and_separators) {
  BOOST_TEST(core::to_hex({}) == "");
  BOOST_TEST(core::to_hex(core::Bytes{0x0a}, ':') == "0a");
  BOOST_TEST(core::to_hex(core::Bytes{0x0a, 0xb0, 0xc1}, '-') == "0a-b0-c1");
  core::Bytes out{1, 2, 3};
  BOOST_TEST(core::from_hex("", out));
  BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(from_hex_rejects_separators_signs_and_spaces) {
  core::Bytes out;
  BOOST_TEST(!core::from_hex("ab:cd", out));
  BOOST_TEST(!core::from_hex(" abc", out));
  BOOST_TEST(!core::from_hex("0x12", out));
  BOOST_TEST(!core::from_hex("g0", out));
  BOOST_TEST(!core::from_hex("0G", out));
}

BOOST_AUTO_TEST_CASE(string_and_bytes_convert_both_ways_with_nul_bytes) {
  std::string s("a\0b\xff", 4);
  core::Bytes b = core::to_bytes(s);
  BOOST_TEST(b.size() == 4u);
  BOOST_TEST(b[3] == 0xffu);
  BOOST_TEST(core::to_string(b) == s);
}

BOOST_AUTO_TEST_CASE(constant_time_equality_of_empty_strings) {
  BOOST_TEST(core::equal_constant_time(core::Bytes{}, core::Bytes{}));
  BOOST_TEST(!core::equal_constant_time(core::Bytes{}, core::Bytes{0}));
  BOOST_TEST(!core::equal_constant_time(core::Bytes{0x80}, core::Bytes{0x00}));
}

BOOST_AUTO_TEST_CASE(name_rules_at_the_edges) {
  BOOST_TEST(core::is_valid_name("a"));
  BOOST_TEST(core::is_valid_name("0"));
  BOOST_TEST(core::is_valid_name("a.."));
  BOOST_TEST(!core::is_valid_name("_a"));
  BOOST_TEST(!core::is_valid_name("."));
  BOOST_TEST(!core::is_valid_name("a\\b"));
  BOOST_TEST(!core::is_valid_name("a%2Fb"));
  BOOST_TEST(!core::is_valid_name(std::string("a\0b", 3)));
  BOOST_TEST(!core::is_valid_name("caf\xc3\xa9"));
}

BOOST_AUTO_TEST_SUITE_END()
