#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

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

std::vector<std::string> texts(const std::vector<crypto::GeneralName>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(crypto::to_text(n));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_csr)

BOOST_AUTO_TEST_CASE(subject_alt_names_are_read_typed_and_in_order) {
  CsrSpec spec;
  spec.sans = {"DNS:a.example", "email:move", "IP:10.0.0.1", "IP:2001:db8::2", "URI:urn:x",
               "dirName:CN=Dir,O=Example", "RID:1.2.3.4", "otherName:user@example.com", "DNS:b,c\nd"};
  auto sans = csr_with(spec).subject_alt_names();
  BOOST_REQUIRE(sans);
  std::vector<std::string> want{"DNS:a.example", "email:move", "IP:10.0.0.1", "IP:2001:db8::2", "URI:urn:x",
                                "dirName:CN=Dir,O=Example", "RID:1.2.3.4",
                                "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com", "DNS:b,c\nd"};
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

BOOST_AUTO_TEST_SUITE_END()
