#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "crypto/cert_builder.hpp"
#include "crypto/general_name.hpp"

using crypto::GeneralName;
using crypto::NameType;

namespace {

GeneralName ip(std::string_view text) {
  auto n = crypto::ip_name(text);
  BOOST_REQUIRE_MESSAGE(n, "not an IP address: " << text);
  return *n;
}

/// DER of "CN=Dir,O=Example" as a Name.
core::Bytes dir_der() {
  auto der = crypto::subject_der_from_text("CN=Dir,O=Example");
  BOOST_REQUIRE(der);
  return *der;
}

/// otherName UPN value: [0] EXPLICIT is added by the encoder; this is the UTF8String.
const core::Bytes upn_value{0x0c, 0x10, 'u', 's', 'e', 'r', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'};

std::vector<GeneralName> every_kind() {
  return {crypto::dns_name("host.example"),
          crypto::email_name("move"),
          crypto::uri_name("https://example.com/x?a=1,b=2"),
          ip("192.0.2.7"),
          ip("2001:db8::1"),
          GeneralName{NameType::registered_id, "1.2.3.4", {}},
          GeneralName{NameType::directory_name, {}, dir_der()},
          GeneralName{NameType::other_name, "1.3.6.1.4.1.311.20.2.3", upn_value}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_general_name)

BOOST_AUTO_TEST_CASE(every_kind_survives_encoding_and_decoding) {
  auto names = every_kind();
  auto der = crypto::encode_general_names(names);
  BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
  auto back = crypto::decode_general_names(*der);
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().detail));
  BOOST_TEST((*back == names));
}

BOOST_AUTO_TEST_CASE(text_forms_name_the_type_then_the_value) {
  std::vector<std::string> want{"DNS:host.example",
                                "email:move",
                                "URI:https://example.com/x?a=1,b=2",
                                "IP:192.0.2.7",
                                "IP:2001:db8::1",
                                "RID:1.2.3.4",
                                "dirName:CN=Dir,O=Example",
                                "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com"};
  std::vector<std::string> got;
  for (const auto& n : every_kind()) got.push_back(crypto::to_text(n));
  BOOST_TEST(got == want, boost::test_tools::per_element());
  GeneralName other_type{NameType::other_name, "1.2.3", {0x02, 0x01, 0x05}};  // INTEGER 5
  BOOST_TEST(crypto::to_text(other_type) == "otherName:1.2.3;DER:020105");
}

// A value is data, whatever it holds: OpenSSL's configuration syntax would
// take "email:move" as a directive and split "a,b" in two.
BOOST_AUTO_TEST_CASE(values_are_kept_byte_for_byte_and_displayed_escaped) {
  std::vector<GeneralName> names{crypto::dns_name("a.example,DNS:b.example"), crypto::dns_name("a\nb.example"),
                                 crypto::email_name("copy"), crypto::uri_name("x\"y\\z")};
  auto back = crypto::decode_general_names(*crypto::encode_general_names(names));
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == names));
  BOOST_TEST(crypto::to_text(names[1]) == "DNS:a\nb.example");
  std::vector<std::string> shown{"DNS:a.example,DNS:b.example", "DNS:a\\x0ab.example", "email:copy",
                                 "URI:x\\x22y\\x5cz"};
  BOOST_TEST(crypto::to_display(names) == shown, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(names_that_cannot_be_issued_say_why) {
  BOOST_TEST(!crypto::general_name_problem(crypto::dns_name("a.example")));
  BOOST_TEST(!crypto::general_name_problem(crypto::dns_name("a,b\nc")));
  auto nul = crypto::general_name_problem(crypto::dns_name(std::string("evil.com\0.example.com", 21)));
  BOOST_REQUIRE(nul);
  BOOST_TEST(nul->find("NUL") != std::string::npos, *nul);
  BOOST_TEST(crypto::general_name_problem(crypto::email_name("caf\xc3\xa9@example.com")).has_value());
  BOOST_TEST(crypto::general_name_problem(GeneralName{NameType::ip_address, "12345678", {}}).has_value());
  BOOST_TEST(crypto::general_name_problem(GeneralName{NameType::x400_address, {}, {}}).has_value());
  BOOST_TEST(!crypto::general_name_problem(GeneralName{NameType::other_name, "1.2.3", upn_value}));
}

BOOST_AUTO_TEST_CASE(decoding_is_strict) {
  auto der = crypto::encode_general_names({crypto::dns_name("a.example")});
  BOOST_REQUIRE(der);
  der->push_back(0x00);
  auto trailing = crypto::decode_general_names(*der);
  BOOST_REQUIRE(!trailing);
  BOOST_TEST(trailing.error().code == core::Errc::malformed_request);
  BOOST_TEST(!crypto::decode_general_names(core::Bytes{0x30, 0x05, 0x82}));
}

BOOST_AUTO_TEST_CASE(unencodable_names_are_errors_not_crashes) {
  for (const auto& bad :
       {GeneralName{NameType::registered_id, "not-an-oid", {}}, GeneralName{NameType::directory_name, {}, {0x30, 0x7f}},
        GeneralName{NameType::other_name, "1.2.3", {}}, GeneralName{NameType::x400_address, {}, {0x01}}}) {
    auto der = crypto::encode_general_names({bad});
    BOOST_TEST(!der, crypto::to_display(bad));
  }
}

BOOST_AUTO_TEST_CASE(the_four_common_text_forms_parse) {
  BOOST_TEST((*crypto::general_name_from_text("DNS:a,b") == crypto::dns_name("a,b")));
  BOOST_TEST((*crypto::general_name_from_text("email:move") == crypto::email_name("move")));
  BOOST_TEST((*crypto::general_name_from_text("URI:urn:x") == crypto::uri_name("urn:x")));
  BOOST_TEST((*crypto::general_name_from_text("IP:10.0.0.1") == ip("10.0.0.1")));
  BOOST_TEST(!crypto::general_name_from_text("IP:10.0.0.256"));
  BOOST_TEST(!crypto::general_name_from_text("no-type"));
  BOOST_TEST(!crypto::general_name_from_text("otherName:x"));
}

BOOST_AUTO_TEST_SUITE_END()
