#include <boost/test/unit_test.hpp>

#include "crypto/der.hpp"
#include "web/query.hpp"

BOOST_AUTO_TEST_SUITE(web_query)

BOOST_AUTO_TEST_CASE(operation_and_message_are_found_case_insensitively) {
  auto q = web::parse_query("foo=1&Operation=GetCACert&MESSAGE=my%20ca&operation=ignored");
  BOOST_TEST(q.operation == "GetCACert");
  BOOST_REQUIRE(q.message);
  BOOST_TEST(*q.message == "my%20ca");
}

BOOST_AUTO_TEST_CASE(message_decoding_repairs_what_clients_send) {
  core::Bytes data;
  for (int i = 0; i < 200; ++i) data.push_back(static_cast<std::uint8_t>(i * 7 + 3));
  std::string b64 = crypto::base64_encode(data);
  BOOST_REQUIRE(b64.find('+') != std::string::npos);
  BOOST_REQUIRE(b64.find('/') != std::string::npos);
  std::string spaces = b64, escaped, urlsafe = b64, unpadded = b64;
  for (auto& c : spaces)
    if (c == '+') c = ' ';
  for (std::size_t i = 0; i < b64.size(); ++i) {
    if (i > 0 && i % 64 == 0) escaped += "%0A";
    char c = b64[i];
    escaped += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
  }
  for (auto& c : urlsafe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (unpadded.back() == '=') unpadded.pop_back();
  for (const auto& variant : {b64, spaces, escaped, urlsafe, unpadded}) {
    auto dec = web::decode_message(variant);
    BOOST_REQUIRE_MESSAGE(dec, variant);
    BOOST_TEST((*dec == data));
  }
  BOOST_TEST(!web::decode_message("a"));
  BOOST_TEST(!web::decode_message("ab*d"));
}

BOOST_AUTO_TEST_CASE(percent_decode_decodes_pairs_of_hex_digits_in_either_case) {
  BOOST_TEST(web::percent_decode("%41%4a%4A", false) == "AJJ");
  BOOST_TEST(web::percent_decode("a%2Fb%2fc", false) == "a/b/c");
  BOOST_TEST(web::percent_decode("%%41", false) == "%A");
  BOOST_TEST(web::percent_decode("%00", false) == std::string(1, '\0'));
  BOOST_TEST(web::percent_decode("%C3%BC", false) == "\xc3\xbc");
}

BOOST_AUTO_TEST_CASE(percent_decode_keeps_a_percent_without_two_hex_digits) {
  BOOST_TEST(web::percent_decode("%", false) == "%");
  BOOST_TEST(web::percent_decode("abc%", false) == "abc%");
  BOOST_TEST(web::percent_decode("a%4", false) == "a%4");
  BOOST_TEST(web::percent_decode("%zz", false) == "%zz");
  BOOST_TEST(web::percent_decode("%4z", false) == "%4z");
  BOOST_TEST(web::percent_decode("%z4", false) == "%z4");
  BOOST_TEST(web::percent_decode("100%!", true) == "100%!");
}

BOOST_AUTO_TEST_CASE(percent_decode_plus_is_space_only_in_form_mode) {
  BOOST_TEST(web::percent_decode("a+b", true) == "a b");
  BOOST_TEST(web::percent_decode("a+b", false) == "a+b");
  BOOST_TEST(web::percent_decode("a%2Bb", true) == "a+b");
  BOOST_TEST(web::percent_decode("a%2Bb", false) == "a+b");
  BOOST_TEST(web::percent_decode("%20", false) == " ");
}

BOOST_AUTO_TEST_CASE(percent_decode_does_not_decode_twice) { BOOST_TEST(web::percent_decode("%2541", false) == "%41"); }

BOOST_AUTO_TEST_CASE(parse_query_decodes_the_operation_but_not_the_message) {
  auto q = web::parse_query("operation=Get%43ACert&message=a%2Bb+c");
  BOOST_TEST(q.operation == "GetCACert");
  BOOST_REQUIRE(q.message);
  BOOST_TEST(*q.message == "a%2Bb+c");
}

BOOST_AUTO_TEST_CASE(parse_query_without_parameters) {
  auto q = web::parse_query("");
  BOOST_TEST(q.operation == "");
  BOOST_TEST(!q.message);
  auto bare = web::parse_query("operation&message");
  BOOST_TEST(bare.operation == "");
  BOOST_REQUIRE(bare.message);
  BOOST_TEST(*bare.message == "");
}

BOOST_AUTO_TEST_CASE(parse_query_first_message_wins_and_values_may_hold_equals) {
  auto q = web::parse_query("message=abc==&message=second&operation=PKIOperation");
  BOOST_REQUIRE(q.message);
  BOOST_TEST(*q.message == "abc==");
  BOOST_TEST(q.operation == "PKIOperation");
}

BOOST_AUTO_TEST_SUITE_END()
