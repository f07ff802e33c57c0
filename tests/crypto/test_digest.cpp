#include <boost/test/unit_test.hpp>

#include "crypto/digest.hpp"

namespace {

std::string hex_digest(crypto::DigestAlg alg, std::string_view data) {
  return core::to_hex(crypto::digest(alg, core::to_bytes(data)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_digest)

BOOST_AUTO_TEST_CASE(digests_match_the_standard_test_vectors) {
  using crypto::DigestAlg;
  BOOST_TEST(hex_digest(DigestAlg::md5, "abc") == "900150983cd24fb0d6963f7d28e17f72");
  BOOST_TEST(hex_digest(DigestAlg::sha1, "abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  BOOST_TEST(hex_digest(DigestAlg::sha256, "abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(hex_digest(DigestAlg::sha256, "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(crypto::digest(DigestAlg::sha224, {}).size() == 28u);
  BOOST_TEST(crypto::digest(DigestAlg::sha384, {}).size() == 48u);
  BOOST_TEST(crypto::digest(DigestAlg::sha512, {}).size() == 64u);
}

BOOST_AUTO_TEST_CASE(fingerprints_holds_md5_sha1_sha256_of_the_input) {
  auto fps = crypto::fingerprints(core::to_bytes("abc"));
  BOOST_TEST(core::to_hex(fps.md5) == "900150983cd24fb0d6963f7d28e17f72");
  BOOST_TEST(core::to_hex(fps.sha1) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  BOOST_TEST(core::to_hex(fps.sha256) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(colon_hex_is_upper_case_and_colon_separated) {
  BOOST_TEST(crypto::colon_hex(core::Bytes{0x00, 0x0f, 0xab, 0xff}) == "00:0F:AB:FF");
  BOOST_TEST(crypto::colon_hex(core::Bytes{0x7e}) == "7E");
  BOOST_TEST(crypto::colon_hex(core::Bytes{}) == "");
}

BOOST_AUTO_TEST_CASE(digest_names_are_the_usual_spellings) {
  BOOST_TEST(crypto::digest_name(crypto::DigestAlg::md5) == "MD5");
  BOOST_TEST(crypto::digest_name(crypto::DigestAlg::sha1) == "SHA-1");
  BOOST_TEST(crypto::digest_name(crypto::DigestAlg::sha256) == "SHA-256");
  BOOST_TEST(crypto::digest_name(crypto::DigestAlg::sha512) == "SHA-512");
}

BOOST_AUTO_TEST_SUITE_END()
