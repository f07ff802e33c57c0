#include <boost/test/unit_test.hpp>

#include <string>

#include <openssl/err.h>

#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "support/test_pki.hpp"

namespace {

core::Bytes bytes_of(std::string_view s) { return core::to_bytes(s); }

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_certificate)

BOOST_AUTO_TEST_CASE(load_all_reads_every_certificate_of_a_pem_bundle_in_order) {
  const auto& pki = testing::test_pki();
  std::string bundle = pki.inter.cert.pem() + pki.root.cert.pem() + pki.ra.cert.pem();
  auto certs = crypto::Certificate::load_all(bytes_of(bundle));
  BOOST_REQUIRE(certs);
  BOOST_REQUIRE(certs->size() == 3u);
  BOOST_TEST(((*certs)[0] == pki.inter.cert));
  BOOST_TEST(((*certs)[1] == pki.root.cert));
  BOOST_TEST(((*certs)[2] == pki.ra.cert));
}

BOOST_AUTO_TEST_CASE(load_all_skips_other_pem_blocks_and_leading_whitespace) {
  const auto& pki = testing::test_pki();
  std::string bundle = "\n  \r\n" + pki.root.cert.pem() + pki.client_key.to_pem() + pki.ra.cert.pem();
  auto certs = crypto::Certificate::load_all(bytes_of(bundle));
  BOOST_REQUIRE(certs);
  BOOST_REQUIRE(certs->size() == 2u);
  BOOST_TEST(((*certs)[0] == pki.root.cert));
  BOOST_TEST(((*certs)[1] == pki.ra.cert));
}

// Regression (was a bug): RFC 7468 §2 says text before the encapsulation boundary must not make a
// parser fail; files written by `openssl pkcs12 -nokeys` start with "Bag
// Attributes" and those by `openssl x509 -text` with the decoded text. Such
// data does not start with "-----BEGIN", so load_all treats it as DER and
// fails with "neither PEM nor a DER certificate".
BOOST_AUTO_TEST_CASE(load_all_accepts_explanatory_text_before_the_pem) {
  const auto& pki = testing::test_pki();
  std::string file = "Bag Attributes\n    friendlyName: ca\nsubject=CN = Test Root CA\n" + pki.root.cert.pem();
  auto certs = crypto::Certificate::load_all(bytes_of(file));
  BOOST_REQUIRE_MESSAGE(certs, (certs ? "" : certs.error().detail));
  BOOST_REQUIRE(certs->size() == 1u);
  BOOST_TEST(((*certs)[0] == pki.root.cert));
}

// Regression (was a bug): a damaged certificate inside a PEM bundle ends the read loop silently,
// so the certificates before it are returned as if the bundle were complete
// (a truncated chain file imports without an error).
BOOST_AUTO_TEST_CASE(load_all_refuses_a_bundle_with_a_damaged_certificate) {
  const auto& pki = testing::test_pki();
  std::string damaged = pki.ra.cert.pem();
  damaged.replace(damaged.find('\n') + 1, 8, "!!!!!!!!");
  auto certs = crypto::Certificate::load_all(bytes_of(pki.root.cert.pem() + damaged));
  BOOST_TEST(!certs);
}

BOOST_AUTO_TEST_CASE(load_all_reads_one_der_certificate) {
  const auto& pki = testing::test_pki();
  auto certs = crypto::Certificate::load_all(pki.ra.cert.der());
  BOOST_REQUIRE(certs);
  BOOST_REQUIRE(certs->size() == 1u);
  BOOST_TEST(((*certs)[0] == pki.ra.cert));
}

BOOST_AUTO_TEST_CASE(load_all_refuses_junk_empty_input_and_key_only_pem) {
  const auto& pki = testing::test_pki();
  for (std::string junk : {std::string("hello world"), std::string(), std::string("-----BEGIN CERTIFICATE-----\n"),
                           pki.client_key.to_pem()}) {
    BOOST_TEST_CONTEXT(junk.substr(0, 30)) {
      auto certs = crypto::Certificate::load_all(bytes_of(junk));
      BOOST_TEST(!certs);
      if (!certs) BOOST_TEST(certs.error().code == core::Errc::invalid_argument);
    }
  }
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_CASE(from_der_is_strict_about_trailing_bytes) {
  const auto& pki = testing::test_pki();
  core::Bytes der = pki.root.cert.der();
  BOOST_TEST(crypto::Certificate::from_der(der).has_value());
  der.push_back(0);
  auto cert = crypto::Certificate::from_der(der);
  BOOST_REQUIRE(!cert);
  BOOST_TEST(cert.error().code == core::Errc::malformed_request);
  auto truncated = crypto::Certificate::from_der(core::ByteView(der).first(der.size() / 2));
  BOOST_TEST(!truncated);
}

BOOST_AUTO_TEST_CASE(der_and_pem_round_trip) {
  const auto& pki = testing::test_pki();
  auto from_der = crypto::Certificate::from_der(pki.inter.cert.der());
  BOOST_REQUIRE(from_der);
  BOOST_TEST((*from_der == pki.inter.cert));
  BOOST_TEST((from_der->der() == pki.inter.cert.der()));
  std::string pem = pki.inter.cert.pem();
  BOOST_TEST(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  BOOST_TEST(pem.ends_with("-----END CERTIFICATE-----\n"));
  auto from_pem = crypto::Certificate::load_all(bytes_of(pem));
  BOOST_REQUIRE(from_pem);
  BOOST_TEST((from_pem->front().der() == pki.inter.cert.der()));
}

BOOST_AUTO_TEST_CASE(equality_compares_certificates_and_copies_share_them) {
  const auto& pki = testing::test_pki();
  crypto::Certificate copy = pki.root.cert;
  BOOST_TEST((copy == pki.root.cert));
  BOOST_TEST(!(copy == pki.ra.cert));
  copy = pki.ra.cert;
  BOOST_TEST((copy == pki.ra.cert));
  BOOST_TEST((copy.native() == pki.ra.cert.native()));
}

BOOST_AUTO_TEST_CASE(fingerprints_are_digests_of_the_der) {
  const auto& pki = testing::test_pki();
  for (const auto* cert : {&pki.root.cert, &pki.ra.cert, &pki.inter.cert}) {
    core::Bytes der = cert->der();
    for (auto alg : {crypto::DigestAlg::md5, crypto::DigestAlg::sha1, crypto::DigestAlg::sha256})
      BOOST_TEST((cert->fingerprint(alg) == crypto::digest(alg, der)));
    auto fps = crypto::fingerprints(der);
    BOOST_TEST((fps.md5 == cert->fingerprint(crypto::DigestAlg::md5)));
    BOOST_TEST((fps.sha1 == cert->fingerprint(crypto::DigestAlg::sha1)));
    BOOST_TEST((fps.sha256 == cert->fingerprint(crypto::DigestAlg::sha256)));
    BOOST_TEST(fps.md5.size() == 16u);
    BOOST_TEST(fps.sha1.size() == 20u);
    BOOST_TEST(fps.sha256.size() == 32u);
  }
  BOOST_TEST(
      (pki.root.cert.fingerprint(crypto::DigestAlg::sha256) != pki.ra.cert.fingerprint(crypto::DigestAlg::sha256)));
}

BOOST_AUTO_TEST_CASE(fingerprint_colon_hex_is_upper_case_pairs) {
  const auto& pki = testing::test_pki();
  auto fp = pki.root.cert.fingerprint(crypto::DigestAlg::sha256);
  std::string text = crypto::colon_hex(fp);
  BOOST_REQUIRE(text.size() == 32u * 3 - 1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i % 3 == 2) {
      BOOST_TEST(text[i] == ':');
    } else {
      BOOST_TEST(((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'A' && text[i] <= 'F')), text);
    }
  }
  BOOST_TEST(text == core::to_hex(fp, ':', true));
}

BOOST_AUTO_TEST_CASE(matches_is_true_only_for_the_certificates_own_key) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(pki.root.cert.matches(pki.root.key));
  BOOST_TEST(pki.ra.cert.matches(pki.ra.key));
  BOOST_TEST(pki.inter.cert.matches(pki.inter.key));
  BOOST_TEST(!pki.root.cert.matches(pki.ra.key));
  BOOST_TEST(!pki.root.cert.matches(pki.client_key));
  BOOST_TEST(!pki.ra.cert.matches(pki.root.key));
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_CASE(names_and_ca_properties_of_the_test_pki) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(pki.root.cert.subject() == "CN=Test Root CA");
  BOOST_TEST(pki.root.cert.issuer() == "CN=Test Root CA");
  BOOST_TEST(pki.ra.cert.subject() == "CN=Test RA");
  BOOST_TEST(pki.ra.cert.issuer() == "CN=Test Root CA");
  BOOST_TEST(pki.inter.cert.issuer() == "CN=Test Root CA");
  BOOST_TEST(pki.root.cert.is_ca());
  BOOST_TEST(pki.inter.cert.is_ca());
  BOOST_TEST(!pki.ra.cert.is_ca());
  BOOST_TEST(pki.root.cert.is_self_issued());
  BOOST_TEST(!pki.ra.cert.is_self_issued());
  BOOST_TEST(!pki.inter.cert.is_self_issued());
}

BOOST_AUTO_TEST_CASE(issued_checks_name_and_signature) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(pki.root.cert.issued(pki.ra.cert));
  BOOST_TEST(pki.root.cert.issued(pki.inter.cert));
  BOOST_TEST(pki.root.cert.issued(pki.root.cert));
  BOOST_TEST(!pki.ra.cert.issued(pki.root.cert));
  BOOST_TEST(!pki.inter.cert.issued(pki.ra.cert));  // names differ
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_CASE(key_usage_of_the_test_pki) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(pki.root.cert.key_usage() == (crypto::ku_key_cert_sign | crypto::ku_crl_sign |
                                           crypto::ku_digital_signature | crypto::ku_key_encipherment));
  BOOST_TEST(pki.ra.cert.key_usage() == (crypto::ku_digital_signature | crypto::ku_key_encipherment));
}

BOOST_AUTO_TEST_CASE(public_key_of_a_certificate_equals_its_private_keys) {
  const auto& pki = testing::test_pki();
  BOOST_TEST((pki.root.cert.public_key() == pki.root.key.public_key()));
  BOOST_TEST(!(pki.root.cert.public_key() == pki.ra.key.public_key()));
}

BOOST_AUTO_TEST_CASE(serial_hex_is_upper_case_without_separators) {
  const auto& pki = testing::test_pki();
  std::string s = pki.root.cert.serial_hex();
  BOOST_TEST(s.size() == 32u);  // random_serial: 16 bytes, top byte never zero
  for (char c : s) BOOST_TEST(((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')), s);
  BOOST_TEST(s != pki.ra.cert.serial_hex());
}

BOOST_AUTO_TEST_CASE(format_time_is_iso8601_utc) {
  BOOST_TEST(crypto::format_time(testing::fixed_time()) == "2026-01-01T00:00:00Z");
  BOOST_TEST(crypto::format_time(testing::fixed_time() + std::chrono::seconds(86400 + 3600 + 61)) ==
             "2026-01-02T01:01:01Z");
}

BOOST_AUTO_TEST_CASE(parse_time_reads_what_format_time_writes_and_nothing_else) {
  auto t = testing::fixed_time() + std::chrono::seconds(86400 * 59 + 3600 + 61);
  auto back = crypto::parse_time(crypto::format_time(t));
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == t));
  for (const char* bad : {"2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00Zx",
                          "2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "", "junk"})
    BOOST_TEST(!crypto::parse_time(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
