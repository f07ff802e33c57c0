#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

#include <openssl/x509v3.h>

#include "crypto/cert_builder.hpp"
#include "support/test_pki.hpp"

namespace {

using namespace std::chrono;

crypto::CertSpec leaf_spec() {
  crypto::CertSpec spec;
  auto subject = crypto::subject_der_from_text("CN=leaf.example,O=Example");
  BOOST_REQUIRE(subject);
  spec.subject = *subject;
  spec.serial = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  spec.not_before = testing::fixed_time();
  spec.not_after = testing::fixed_time() + days(30);
  return spec;
}

crypto::Certificate build_leaf(const crypto::CertSpec& spec) {
  const auto& pki = testing::test_pki();
  auto cert = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
  BOOST_REQUIRE_MESSAGE(cert, (cert ? "" : cert.error().detail));
  return std::move(*cert);
}

const X509_EXTENSION* extension(const crypto::Certificate& cert, int nid) {
  int i = X509_get_ext_by_NID(cert.native(), nid, -1);
  return i < 0 ? nullptr : X509_get_ext(cert.native(), i);
}

/// "DNS:x", "IP:1.2.3.4", "email:y" for every subjectAltName entry.
std::vector<std::string> alt_names(const crypto::Certificate& cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.native(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    const auto* s = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(gn, &type));
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<std::size_t>(ASN1_STRING_length(s)));
    if (type == GEN_DNS) out.push_back("DNS:" + value);
    else if (type == GEN_EMAIL) out.push_back("email:" + value);
    else if (type == GEN_URI) out.push_back("URI:" + value);
    else if (type == GEN_IPADD && value.size() == 4)
      out.push_back("IP:" + std::to_string(static_cast<unsigned char>(value[0])) + "." +
                    std::to_string(static_cast<unsigned char>(value[1])) + "." +
                    std::to_string(static_cast<unsigned char>(value[2])) + "." +
                    std::to_string(static_cast<unsigned char>(value[3])));
    else out.push_back("other");
  }
  GENERAL_NAMES_free(names);
  return out;
}

/// Hands out bytes from a script, then repeats the last one.
class ScriptedRng final : public core::Rng {
 public:
  explicit ScriptedRng(std::vector<std::uint8_t> fills) : m_fills(std::move(fills)) {}
  void fill(std::span<std::uint8_t> out) override {
    std::uint8_t b = m_fills[std::min(m_calls, m_fills.size() - 1)];
    ++m_calls;
    for (auto& x : out) x = b;
  }
  std::size_t calls() const { return m_calls; }

 private:
  std::vector<std::uint8_t> m_fills;
  std::size_t m_calls = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_cert_builder)

BOOST_AUTO_TEST_CASE(leaf_carries_subject_issuer_serial_key_and_validity) {
  const auto& pki = testing::test_pki();
  auto spec = leaf_spec();
  auto cert = build_leaf(spec);
  BOOST_TEST(cert.subject() == "CN=leaf.example,O=Example");
  BOOST_TEST(cert.issuer() == pki.root.cert.subject());
  BOOST_TEST(cert.serial_hex() == "0123456789ABCDEF");
  BOOST_TEST((cert.public_key() == pki.client_key.public_key()));
  BOOST_TEST((cert.not_before() == spec.not_before));
  BOOST_TEST((cert.not_after() == spec.not_after));
  BOOST_TEST(X509_get_version(cert.native()) == X509_VERSION_3);
  BOOST_TEST(pki.root.cert.issued(cert));
  BOOST_TEST(!pki.ra.cert.issued(cert));
}

BOOST_AUTO_TEST_CASE(validity_beyond_2049_round_trips) {
  auto spec = leaf_spec();
  spec.not_after = sys_days(year(2061) / 3 / 4) + hours(5) + minutes(6) + seconds(7);
  auto cert = build_leaf(spec);
  BOOST_TEST((cert.not_after() == spec.not_after));
  BOOST_TEST(crypto::format_time(cert.not_after()) == "2061-03-04T05:06:07Z");
}

BOOST_AUTO_TEST_CASE(basic_constraints_is_critical_and_carries_the_ca_flag) {
  auto spec = leaf_spec();
  auto leaf = build_leaf(spec);
  const X509_EXTENSION* bc = extension(leaf, NID_basic_constraints);
  BOOST_REQUIRE(bc != nullptr);
  BOOST_TEST(X509_EXTENSION_get_critical(bc) == 1);
  BOOST_TEST(!leaf.is_ca());
  BOOST_TEST((X509_get_extension_flags(leaf.native()) & EXFLAG_CA) == 0u);

  spec.ca = true;
  spec.key_usage = crypto::ku_key_cert_sign | crypto::ku_crl_sign;
  auto ca = build_leaf(spec);
  BOOST_TEST(ca.is_ca());
  BOOST_TEST((X509_get_extension_flags(ca.native()) & EXFLAG_CA) != 0u);
}

BOOST_AUTO_TEST_CASE(every_key_usage_bit_maps_to_itself) {
  for (unsigned bit :
       {crypto::ku_digital_signature, crypto::ku_non_repudiation, crypto::ku_key_encipherment,
        crypto::ku_data_encipherment, crypto::ku_key_agreement, crypto::ku_key_cert_sign, crypto::ku_crl_sign}) {
    auto spec = leaf_spec();
    spec.ca = bit == crypto::ku_key_cert_sign;
    spec.key_usage = bit;
    auto cert = build_leaf(spec);
    BOOST_TEST(cert.key_usage() == bit, "bit " << bit);
    const X509_EXTENSION* ku = extension(cert, NID_key_usage);
    BOOST_REQUIRE(ku != nullptr);
    BOOST_TEST(X509_EXTENSION_get_critical(ku) == 1);
  }
}

BOOST_AUTO_TEST_CASE(key_usage_mask_is_kept_whole) {
  auto spec = leaf_spec();
  spec.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment | crypto::ku_key_agreement;
  BOOST_TEST(build_leaf(spec).key_usage() == spec.key_usage);
}

BOOST_AUTO_TEST_CASE(no_key_usage_means_no_extension_and_every_use) {
  auto cert = build_leaf(leaf_spec());
  BOOST_TEST(extension(cert, NID_key_usage) == nullptr);
  BOOST_TEST(cert.key_usage() == 0x7fu);
}

BOOST_AUTO_TEST_CASE(subject_alt_names_are_encoded_in_order) {
  auto spec = leaf_spec();
  spec.subject_alt_names = {crypto::dns_name("host.example"), *crypto::ip_name("192.0.2.7"),
                            crypto::email_name("a@example.com"), crypto::uri_name("https://example.com/x")};
  auto cert = build_leaf(spec);
  std::vector<std::string> want = {"DNS:host.example", "IP:192.0.2.7", "email:a@example.com",
                                   "URI:https://example.com/x"};
  BOOST_TEST(alt_names(cert) == want, boost::test_tools::per_element());
  auto typed = crypto::subject_alt_names(cert);
  BOOST_REQUIRE(typed);
  BOOST_TEST((*typed == spec.subject_alt_names));
  BOOST_TEST(X509_EXTENSION_get_critical(extension(cert, NID_subject_alt_name)) == 0);
}

// Regression: the names went to OpenSSL's configuration parser joined by
// ','. "email:move" moved the subject's emailAddress into the SAN (after the
// policy had checked the subject), "email:copy" copied it, and a ',' or a
// line break in a dNSName made two names of one.
BOOST_AUTO_TEST_CASE(subject_alt_names_are_data_never_directives) {
  auto spec = leaf_spec();
  auto subject = crypto::subject_der_from_text("CN=leaf.example,emailAddress=boss@example.com");
  BOOST_REQUIRE(subject);
  spec.subject = *subject;
  spec.subject_alt_names = {crypto::email_name("move"), crypto::email_name("copy"),
                            crypto::dns_name("a.example,DNS:b.example"), crypto::dns_name("c.example\nd.example")};
  auto cert = build_leaf(spec);
  BOOST_TEST(cert.subject() == "CN=leaf.example,emailAddress=boss@example.com");
  std::vector<std::string> want = {"email:move", "email:copy", "DNS:a.example,DNS:b.example",
                                   "DNS:c.example\nd.example"};
  BOOST_TEST(alt_names(cert) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_general_name_kind_is_written_as_given) {
  auto spec = leaf_spec();
  auto dir = crypto::subject_der_from_text("CN=Dir,O=Example");
  BOOST_REQUIRE(dir);
  spec.subject_alt_names = {crypto::GeneralName{crypto::NameType::registered_id, "1.2.3.4", {}},
                            crypto::GeneralName{crypto::NameType::directory_name, {}, *dir},
                            crypto::GeneralName{crypto::NameType::other_name,
                                                "1.3.6.1.4.1.311.20.2.3",
                                                {0x0c, 0x01, 'u'}},
                            *crypto::ip_name("2001:db8::7")};
  auto typed = crypto::subject_alt_names(build_leaf(spec));
  BOOST_REQUIRE(typed);
  BOOST_TEST((*typed == spec.subject_alt_names));
}

BOOST_AUTO_TEST_CASE(with_an_empty_subject_the_subject_alt_names_are_critical) {
  auto spec = leaf_spec();
  spec.subject = {0x30, 0x00};
  spec.subject_alt_names = {crypto::dns_name("only.example")};
  auto cert = build_leaf(spec);
  BOOST_TEST(X509_EXTENSION_get_critical(extension(cert, NID_subject_alt_name)) == 1);
}

BOOST_AUTO_TEST_CASE(no_subject_alt_names_means_no_extension) {
  BOOST_TEST(extension(build_leaf(leaf_spec()), NID_subject_alt_name) == nullptr);
}

BOOST_AUTO_TEST_CASE(extended_key_usage_by_short_name_and_oid) {
  auto spec = leaf_spec();
  spec.extended_key_usage = {"clientAuth", "1.3.6.1.5.5.7.3.1"};
  auto cert = build_leaf(spec);
  std::uint32_t xku = X509_get_extended_key_usage(cert.native());
  BOOST_TEST((xku & XKU_SSL_CLIENT) != 0u);
  BOOST_TEST((xku & XKU_SSL_SERVER) != 0u);
  BOOST_TEST((xku & XKU_CODE_SIGN) == 0u);
}

BOOST_AUTO_TEST_CASE(key_identifiers_link_to_the_issuer) {
  const auto& pki = testing::test_pki();
  auto cert = build_leaf(leaf_spec());
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(cert.native());
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(cert.native());
  const ASN1_OCTET_STRING* root_skid = X509_get0_subject_key_id(pki.root.cert.native());
  BOOST_REQUIRE(skid != nullptr);
  BOOST_REQUIRE(akid != nullptr);
  BOOST_REQUIRE(root_skid != nullptr);
  BOOST_TEST(ASN1_OCTET_STRING_cmp(akid, root_skid) == 0);
  BOOST_TEST(ASN1_OCTET_STRING_cmp(skid, root_skid) != 0);
}

BOOST_AUTO_TEST_CASE(null_issuer_means_self_signed) {
  const auto& pki = testing::test_pki();
  auto spec = leaf_spec();
  spec.ca = true;
  auto cert = crypto::build_certificate(spec, pki.client_key.public_key(), nullptr, pki.client_key);
  BOOST_REQUIRE(cert);
  BOOST_TEST(cert->is_self_issued());
  BOOST_TEST(cert->issuer() == "CN=leaf.example,O=Example");
  BOOST_TEST(cert->issued(*cert));
  BOOST_TEST(cert->matches(pki.client_key));
}

BOOST_AUTO_TEST_CASE(non_positive_or_empty_serials_are_refused) {
  const auto& pki = testing::test_pki();
  for (core::Bytes serial :
       {core::Bytes{}, core::Bytes{0x80, 0x01}, core::Bytes{0xff}, core::Bytes{0x00}, core::Bytes{0x00, 0x00, 0x00}}) {
    auto spec = leaf_spec();
    spec.serial = serial;
    auto cert = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
    BOOST_TEST(!cert, "serial " << core::to_hex(serial));
  }
}

BOOST_AUTO_TEST_CASE(a_positive_serial_with_a_leading_zero_octet_is_accepted) {
  auto spec = leaf_spec();
  spec.serial = {0x00, 0x01};
  BOOST_TEST(build_leaf(spec).serial_hex() == "01");
}

BOOST_AUTO_TEST_CASE(bad_subject_der_is_malformed) {
  const auto& pki = testing::test_pki();
  auto spec = leaf_spec();
  spec.subject = {0x30, 0x7f, 0x00};
  auto cert = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
  BOOST_REQUIRE(!cert);
  BOOST_TEST(cert.error().code == core::Errc::malformed_request);
}

BOOST_AUTO_TEST_CASE(bad_extension_values_are_errors) {
  const auto& pki = testing::test_pki();
  auto spec = leaf_spec();
  spec.subject_alt_names = {crypto::GeneralName{crypto::NameType::registered_id, "not-an-oid", {}}};
  auto bad_san = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
  BOOST_REQUIRE(!bad_san);
  BOOST_TEST(bad_san.error().code == core::Errc::malformed_request);
  spec = leaf_spec();
  spec.extended_key_usage = {"notAnExtendedKeyUsage"};
  auto bad_eku = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
  BOOST_REQUIRE(!bad_eku);
  BOOST_TEST(bad_eku.error().code == core::Errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(random_serial_is_positive_and_full_length) {
  testing::CountingRng rng(1);
  std::set<core::Bytes> seen;
  for (int i = 0; i < 2000; ++i) {
    core::Bytes s = crypto::random_serial(rng);
    BOOST_REQUIRE(s.size() == 16u);
    BOOST_REQUIRE((s[0] & 0x80) == 0);
    BOOST_REQUIRE(s[0] != 0);
    seen.insert(s);
  }
  BOOST_TEST(seen.size() == 2000u);
  BOOST_TEST(crypto::random_serial(rng, 20).size() == 20u);
  BOOST_TEST(crypto::random_serial(rng, 1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(random_serial_clears_the_top_bit_of_an_all_ones_draw) {
  ScriptedRng rng({0xff});
  core::Bytes s = crypto::random_serial(rng, 8);
  BOOST_TEST(core::to_hex(s) == "7fffffffffffffff");
}

BOOST_AUTO_TEST_CASE(random_serial_draws_again_instead_of_shortening) {
  // 0x80 and 0x00 leave a zero first octet once the top bit is cleared.
  ScriptedRng rng({0x80, 0x00, 0x81});
  core::Bytes s = crypto::random_serial(rng, 4);
  BOOST_TEST(core::to_hex(s) == "01818181");
  BOOST_TEST(rng.calls() == 3u);
}

BOOST_AUTO_TEST_CASE(random_serials_are_accepted_by_build_certificate_at_full_length) {
  testing::CountingRng rng(99);
  auto spec = leaf_spec();
  spec.serial = crypto::random_serial(rng);
  auto cert = build_leaf(spec);
  BOOST_TEST(cert.serial_hex() == core::to_hex(spec.serial, '\0', true));
  BOOST_TEST(cert.serial_hex().size() == 32u);
}

BOOST_AUTO_TEST_SUITE_END()
