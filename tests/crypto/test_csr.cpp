#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/cert_builder.hpp"
#include "crypto/csr.hpp"
#include "crypto/general_name.hpp"
#include "support/requests.hpp"
#include "support/test_pki.hpp"

using testing::CsrSpec;

namespace {

crypto::Csr csr_with(CsrSpec spec) {
  auto csr = crypto::Csr::from_der(testing::make_csr(spec, testing::test_pki().client_key));
  BOOST_REQUIRE_MESSAGE(csr, (csr ? "" : csr.error().detail));
  return *csr;
}

void require_malformed_csr(core::ByteView der, const std::string& what) {
  auto csr = crypto::Csr::from_der(der);
  BOOST_TEST(!csr, what << " parsed as a PKCS#10");
  if (!csr) BOOST_TEST((csr.error().code == core::Errc::malformed_request), what << ": " << csr.error().detail);
}

std::string csr_pem(core::ByteView der) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  const unsigned char* p = der.data();
  crypto::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  BOOST_REQUIRE(req);
  BOOST_REQUIRE(PEM_write_bio_X509_REQ(bio.get(), req.get()) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<std::string> texts(const std::vector<crypto::GeneralName>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(crypto::to_text(n));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_csr)

BOOST_AUTO_TEST_CASE(subject_alt_names_are_read_typed_and_in_order) {
  CsrSpec spec;
  spec.sans = {"DNS:a.example", "email:move",
               "IP:10.0.0.1",   "IP:2001:db8::2",
               "URI:urn:x",     "dirName:CN=Dir,O=Example",
               "RID:1.2.3.4",   "otherName:user@example.com",
               "DNS:b,c\nd"};
  auto sans = csr_with(spec).subject_alt_names();
  BOOST_REQUIRE(sans);
  std::vector<std::string> want{"DNS:a.example", "email:move",
                                "IP:10.0.0.1",   "IP:2001:db8::2",
                                "URI:urn:x",     "dirName:CN=Dir,O=Example",
                                "RID:1.2.3.4",   "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com",
                                "DNS:b,c\nd"};
  BOOST_TEST(texts(*sans) == want, boost::test_tools::per_element());
  BOOST_TEST(((*sans)[1].type == crypto::NameType::email));
  BOOST_TEST((*sans)[1].value == "move");
  BOOST_TEST((*sans)[2].value == std::string("\x0a\x00\x00\x01", 4));
}

BOOST_AUTO_TEST_CASE(a_request_without_the_extension_has_no_names) {
  auto sans = csr_with({}).subject_alt_names();
  BOOST_REQUIRE(sans);
  BOOST_TEST(sans->empty());
}

BOOST_AUTO_TEST_CASE(a_malformed_or_doubled_extension_is_malformed) {
  CsrSpec garbage;
  garbage.extensions = {{"2.5.29.17", false, {0x30, 0x03, 0x82, 0x01}}};
  auto sans = csr_with(garbage).subject_alt_names();
  BOOST_REQUIRE(!sans);
  BOOST_TEST(sans.error().code == core::Errc::malformed_request);

  auto one = crypto::encode_general_names({crypto::dns_name("a.example")});
  BOOST_REQUIRE(one);
  CsrSpec trailing;
  trailing.extensions = {{"2.5.29.17", false, *one}};
  trailing.extensions[0].value.push_back(0x00);
  BOOST_TEST(!csr_with(trailing).subject_alt_names());

  CsrSpec doubled;
  doubled.extensions = {{"2.5.29.17", false, *one}, {"2.5.29.17", false, *one}};
  BOOST_TEST(!csr_with(doubled).subject_alt_names());
}

BOOST_AUTO_TEST_CASE(subject_attribute_types_in_order) {
  CsrSpec spec;
  spec.subject = "CN=laptop-17,O=Corp Admins,1.2.3.4=x,emailAddress=a@example.com";
  std::vector<std::string> want{"CN", "O", "1.2.3.4", "emailAddress"};
  BOOST_TEST(csr_with(spec).subject_attribute_types() == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_subject_is_read_as_text_der_and_values) {
  CsrSpec spec;
  spec.subject = "CN=laptop-17,O=Corp,OU=One,OU=Two";
  auto csr = csr_with(spec);
  BOOST_TEST(csr.subject() == "CN=laptop-17,O=Corp,OU=One,OU=Two");
  BOOST_TEST(csr.subject_values("CN") == std::vector<std::string>{"laptop-17"}, boost::test_tools::per_element());
  BOOST_TEST(csr.subject_values("OU") == (std::vector<std::string>{"One", "Two"}), boost::test_tools::per_element());
  BOOST_TEST(csr.subject_values("L").empty());
  BOOST_TEST(csr.subject_values("not-a-name").empty());
  auto want = crypto::subject_der_from_text(spec.subject);
  BOOST_REQUIRE(want);
  BOOST_TEST(csr.subject_der() == *want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_empty_subject_is_empty) {
  CsrSpec spec;
  spec.subject = "";
  auto csr = csr_with(spec);
  BOOST_TEST(csr.subject_attribute_types().empty());
  BOOST_TEST(csr.subject_values("CN").empty());
}

BOOST_AUTO_TEST_CASE(the_public_key_and_the_exact_bytes_are_kept) {
  auto der = testing::make_csr({}, testing::test_pki().client_key);
  auto csr = crypto::Csr::from_der(der);
  BOOST_REQUIRE(csr);
  BOOST_TEST(csr->der() == der, boost::test_tools::per_element());
  BOOST_TEST((csr->public_key() == testing::test_pki().client_key.public_key()));
  BOOST_TEST(!(csr->public_key() == testing::test_pki().root.key.public_key()));
}

BOOST_AUTO_TEST_CASE(the_challenge_password_is_utf8_whatever_its_string_type) {
  for (int type : {V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING, V_ASN1_IA5STRING, V_ASN1_BMPSTRING}) {
    BOOST_TEST_CONTEXT("ASN.1 type " << type) {
      CsrSpec spec;
      spec.challenge = "Secret 123";
      spec.challenge_type = type;
      BOOST_TEST((csr_with(spec).challenge_password() == std::optional<std::string>("Secret 123")));
    }
  }
  CsrSpec utf8;
  utf8.challenge = std::string("gr\xC3\xBC\xC3\x9F");
  utf8.challenge_type = V_ASN1_UTF8STRING;
  BOOST_TEST((csr_with(utf8).challenge_password() == utf8.challenge));
}

BOOST_AUTO_TEST_CASE(no_challenge_password_is_nullopt) {
  BOOST_TEST(!csr_with({}).challenge_password());
  CsrSpec octets;  // not a DirectoryString
  octets.challenge = "abc";
  octets.challenge_type = V_ASN1_OCTET_STRING;
  BOOST_TEST(!csr_with(octets).challenge_password());
}

BOOST_AUTO_TEST_CASE(requested_extensions_are_returned_verbatim) {
  CsrSpec spec;
  spec.sans = {"DNS:a.example"};
  spec.extensions = {{"1.2.3.4.5", true, {0x04, 0x02, 0xca, 0xfe}}, {"1.2.3.4.6", false, {0x05, 0x00}}};
  auto exts = csr_with(spec).extensions();
  BOOST_REQUIRE(exts.size() == 3u);
  auto sans = crypto::encode_general_names({crypto::dns_name("a.example")});
  BOOST_REQUIRE(sans);
  BOOST_TEST(!exts[0].critical);
  BOOST_TEST(exts[0].value == *sans, boost::test_tools::per_element());
  BOOST_TEST(exts[1].oid == "1.2.3.4.5");
  BOOST_TEST(exts[1].critical);
  BOOST_TEST(exts[1].value == (core::Bytes{0x04, 0x02, 0xca, 0xfe}), boost::test_tools::per_element());
  BOOST_TEST(exts[2].oid == "1.2.3.4.6");
  BOOST_TEST(!exts[2].critical);
  BOOST_TEST(csr_with({}).extensions().empty());
}

BOOST_AUTO_TEST_CASE(a_good_signature_verifies_and_names_its_digest) {
  for (auto d : {crypto::DigestAlg::sha1, crypto::DigestAlg::sha256, crypto::DigestAlg::sha512}) {
    BOOST_TEST_CONTEXT("digest " << crypto::digest_name(d)) {
      CsrSpec spec;
      spec.digest = d;
      auto csr = csr_with(spec);
      BOOST_TEST(csr.signature_valid());
      BOOST_TEST((csr.signature_digest() == std::optional(d)));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_bad_signature_parses_but_does_not_verify) {
  auto der = testing::corrupt_last_byte(testing::make_csr({}, testing::test_pki().client_key));
  auto csr = crypto::Csr::from_der(der);
  BOOST_REQUIRE_MESSAGE(csr, "a bad signature is for the policy to judge: " << (csr ? "" : csr.error().detail));
  BOOST_TEST(!csr->signature_valid());
}

BOOST_AUTO_TEST_CASE(a_request_signed_by_another_key_does_not_verify) {
  // The public key of the client key, the signature of the root key: swap the
  // signature of one request into another with the same layout.
  auto der = testing::make_csr({}, testing::test_pki().client_key);
  auto other = testing::make_csr({}, testing::test_pki().inter.key);
  BOOST_REQUIRE(der.size() == other.size());
  std::copy(other.end() - 256, other.end(), der.end() - 256);  // RSA-2048: the last 256 bytes are the signature
  auto csr = crypto::Csr::from_der(der);
  BOOST_REQUIRE(csr);
  BOOST_TEST(!csr->signature_valid());
}

BOOST_AUTO_TEST_CASE(truncated_or_padded_der_is_malformed) {
  auto der = testing::make_csr({}, testing::test_pki().client_key);
  require_malformed_csr({}, "no bytes");
  for (std::size_t cut : {std::size_t{1}, std::size_t{2}, std::size_t{100}, der.size() / 2, der.size() - 1})
    require_malformed_csr(core::ByteView(der).first(der.size() - cut), "cut by " + std::to_string(cut));
  auto trailing = der;
  trailing.push_back(0x00);
  require_malformed_csr(trailing, "a trailing byte");
  require_malformed_csr(core::Bytes{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, "a length of 2 GiB");
  require_malformed_csr(testing::test_pki().root.cert.der(), "a certificate");
}

BOOST_AUTO_TEST_CASE(load_takes_pem_and_der_alike) {
  auto der = testing::make_csr({}, testing::test_pki().client_key);
  auto from_der = crypto::Csr::load(der);
  auto from_pem = crypto::Csr::load(core::to_bytes(csr_pem(der)));
  BOOST_REQUIRE(from_der);
  BOOST_REQUIRE_MESSAGE(from_pem, (from_pem ? "" : from_pem.error().detail));
  BOOST_TEST(from_pem->der() == der, boost::test_tools::per_element());
  BOOST_TEST(from_der->der() == der, boost::test_tools::per_element());
  auto junk = crypto::Csr::load(
      core::to_bytes("-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n"));
  BOOST_TEST(!junk);
}

BOOST_AUTO_TEST_SUITE_END()
