#include <boost/test/unit_test.hpp>

#include "crypto/der.hpp"

BOOST_AUTO_TEST_SUITE(crypto_der)

BOOST_AUTO_TEST_CASE(base64_round_trips_every_padding_length) {
  for (std::string s : {"", "a", "ab", "abc", "abcd"}) {
    auto enc = crypto::base64_encode(core::to_bytes(s));
    auto dec = crypto::base64_decode(enc);
    BOOST_REQUIRE(dec);
    BOOST_TEST(core::to_string(*dec) == s);
  }
}

BOOST_AUTO_TEST_CASE(base64_decode_is_strict) {
  BOOST_TEST(!crypto::base64_decode("YWJ"));   // not a multiple of 4
  BOOST_TEST(!crypto::base64_decode("YW*j"));  // bad character
  BOOST_TEST(!crypto::base64_decode("Y==="));  // too much padding
  BOOST_TEST(!crypto::base64_decode("YW-_"));  // URL-safe alphabet is not standard base64
}

BOOST_AUTO_TEST_SUITE_END()
