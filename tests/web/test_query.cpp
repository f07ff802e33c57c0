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
  for (auto& c : spaces) if (c == '+') c = ' ';
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

BOOST_AUTO_TEST_SUITE_END()
