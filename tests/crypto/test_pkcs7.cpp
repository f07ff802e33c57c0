#include <boost/test/unit_test.hpp>

#include <openssl/err.h>

#include <algorithm>
#include <optional>

#include "crypto/pkcs7.hpp"
#include "support/test_pki.hpp"

namespace {

crypto::Pkcs7Ptr decode(const core::Bytes& der) {
  const unsigned char* p = der.data();
  crypto::Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  BOOST_REQUIRE(p7);
  BOOST_REQUIRE(p == der.data() + der.size());
  return p7;
}

/// An empty CRL signed by the test root.
core::Bytes make_crl() {
  const auto& pki = testing::test_pki();
  crypto::X509CrlPtr crl(X509_CRL_new());
  BOOST_REQUIRE(crl);
  crypto::Asn1TimePtr last(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(testing::fixed_time())));
  crypto::Asn1TimePtr next(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(testing::fixed_time()) + 86400));
  BOOST_REQUIRE(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1);
  BOOST_REQUIRE(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(pki.root.cert.native())) == 1);
  BOOST_REQUIRE(X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1);
  BOOST_REQUIRE(X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1);
  BOOST_REQUIRE(X509_CRL_sign(crl.get(), pki.root.key.native(), EVP_sha256()) > 0);
  unsigned char* buf = nullptr;
  int n = i2d_X509_CRL(crl.get(), &buf);
  BOOST_REQUIRE(n > 0);
  core::Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_pkcs7)

// `certificates` is a SET OF: DER sorts it by encoding (X.690 §11.6), so the
// order given does not matter and the bytes are the same for every order.
BOOST_AUTO_TEST_CASE(certificates_are_in_der_order_whatever_the_order_given) {
  const auto& pki = testing::test_pki();
  std::vector<crypto::Certificate> order{pki.ra.cert, pki.root.cert, pki.inter.cert};
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.der() < b.der(); });
  std::optional<core::Bytes> first;
  do {
    auto der = crypto::degenerate_pkcs7(order);
    BOOST_REQUIRE(der);
    if (!first) first = *der;
    BOOST_TEST((*der == *first), "the encoding depends on the order given");
    auto certs = crypto::certificates_of_pkcs7(*der);
    BOOST_REQUIRE(certs);
    BOOST_REQUIRE(certs->size() == 3u);
    // Certificates all begin 30 82 LL LL: plain byte order is DER order here.
    for (std::size_t i = 1; i < certs->size(); ++i)
      BOOST_TEST(((*certs)[i - 1].der() < (*certs)[i].der()), "position " << i);
  } while (std::next_permutation(order.begin(), order.end(),
                                 [](const auto& a, const auto& b) { return a.der() < b.der(); }));
}

BOOST_AUTO_TEST_CASE(der_set_order_pads_the_shorter_encoding_with_zeros) {
  using B = core::Bytes;
  BOOST_TEST(crypto::der_set_order(B{0x01}, B{0x02}));
  BOOST_TEST(!crypto::der_set_order(B{0x02}, B{0x01, 0xff}));
  BOOST_TEST(crypto::der_set_order(B{0x01}, B{0x01, 0x01}));
  BOOST_TEST(!crypto::der_set_order(B{0x01}, B{0x01, 0x00}));  // equal once padded
  BOOST_TEST(!crypto::der_set_order(B{0x01, 0x00}, B{0x01}));
  BOOST_TEST(!crypto::der_set_order(B{}, B{}));
  BOOST_TEST(crypto::der_set_order(B{}, B{0x00, 0x01}));
}

BOOST_AUTO_TEST_CASE(degenerate_means_no_signers_no_content_and_no_crls) {
  const auto& pki = testing::test_pki();
  auto der = crypto::degenerate_pkcs7({pki.root.cert});
  BOOST_REQUIRE(der);
  auto p7 = decode(*der);
  BOOST_TEST(PKCS7_type_is_signed(p7.get()));
  PKCS7_SIGNED* sd = p7->d.sign;
  BOOST_TEST(sk_PKCS7_SIGNER_INFO_num(sd->signer_info) == 0);
  BOOST_TEST(sk_X509_num(sd->cert) == 1);
  BOOST_TEST((sd->crl == nullptr || sk_X509_CRL_num(sd->crl) == 0));
  BOOST_REQUIRE(sd->contents != nullptr);
  BOOST_TEST(OBJ_obj2nid(sd->contents->type) == NID_pkcs7_data);
  BOOST_TEST(sd->contents->d.ptr == nullptr);  // encapContentInfo without eContent
}

BOOST_AUTO_TEST_CASE(crls_follow_the_certificates) {
  const auto& pki = testing::test_pki();
  core::Bytes crl = make_crl();
  auto der = crypto::degenerate_pkcs7({pki.ra.cert, pki.root.cert}, {crl});
  BOOST_REQUIRE(der);
  auto p7 = decode(*der);
  PKCS7_SIGNED* sd = p7->d.sign;
  BOOST_REQUIRE(sk_X509_CRL_num(sd->crl) == 1);
  unsigned char* buf = nullptr;
  int n = i2d_X509_CRL(sk_X509_CRL_value(sd->crl, 0), &buf);
  BOOST_REQUIRE(n > 0);
  core::Bytes back(buf, buf + n);
  OPENSSL_free(buf);
  BOOST_TEST((back == crl));
  auto certs = crypto::certificates_of_pkcs7(*der);
  BOOST_REQUIRE(certs);
  BOOST_TEST(certs->size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_bad_crl_is_an_error) {
  const auto& pki = testing::test_pki();
  auto der = crypto::degenerate_pkcs7({pki.root.cert}, {core::Bytes{0x30, 0x00}});
  BOOST_TEST(!der);
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_CASE(an_empty_list_gives_an_empty_bundle) {
  auto der = crypto::degenerate_pkcs7({});
  BOOST_REQUIRE(der);
  auto certs = crypto::certificates_of_pkcs7(*der);
  BOOST_REQUIRE(certs);
  BOOST_TEST(certs->empty());
}

BOOST_AUTO_TEST_CASE(certificates_of_pkcs7_refuses_junk) {
  const auto& pki = testing::test_pki();
  for (core::Bytes junk : {core::to_bytes("junk"), core::Bytes{}, pki.root.cert.der()}) {
    auto certs = crypto::certificates_of_pkcs7(junk);
    BOOST_REQUIRE(!certs);
    BOOST_TEST(certs.error().code == core::Errc::malformed_request);
  }
  BOOST_TEST(ERR_peek_error() == 0u);
}

// Regression (was a bug): STYLE.md asks for strict DER ("leftover bytes are an error", as
// Certificate::from_der does), but certificates_of_pkcs7 ignores bytes after
// the PKCS#7 structure.
BOOST_AUTO_TEST_CASE(certificates_of_pkcs7_refuses_trailing_bytes) {
  const auto& pki = testing::test_pki();
  auto der = crypto::degenerate_pkcs7({pki.root.cert});
  BOOST_REQUIRE(der);
  der->push_back(0x00);
  auto certs = crypto::certificates_of_pkcs7(*der);
  BOOST_REQUIRE(!certs);
  BOOST_TEST(certs.error().code == core::Errc::malformed_request);
}

BOOST_AUTO_TEST_SUITE_END()
