#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>

#include "policy/policy.hpp"
#include "support/requests.hpp"
#include "support/test_pki.hpp"

using policy::Refusal;
using policy::SanMode;
using testing::CsrSpec;
using testing::make_csr;

namespace {

crypto::Csr csr_of(const core::Bytes& der) {
  auto csr = crypto::Csr::from_der(der);
  BOOST_REQUIRE_MESSAGE(csr, (csr ? "" : csr.error().detail));
  return *csr;
}

crypto::Csr client_csr(CsrSpec spec = {}) { return csr_of(make_csr(spec, testing::test_pki().client_key)); }

/// A time well inside the test CA's validity.
core::TimePoint inside_ca() { return testing::test_pki().root.cert.not_before() + std::chrono::hours(1); }

policy::Decision evaluate(const policy::Policy& p, const crypto::Csr& csr, policy::SecretConstraints limits = {},
                          core::TimePoint now = inside_ca()) {
  return policy::evaluate(p, csr, limits, testing::test_pki().root.cert, now);
}

policy::Policy parsed(std::string_view text) {
  auto p = policy::parse_policy("t", text);
  BOOST_REQUIRE_MESSAGE(p, (p ? "" : p.error().detail));
  return *p;
}

/// The names as crypto::to_text spells them (unescaped).
std::vector<std::string> texts(const std::vector<crypto::GeneralName>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(crypto::to_text(n));
  return out;
}

void refused(std::string_view text, std::string_view needle) {
  auto p = policy::parse_policy("t", text);
  BOOST_TEST(!p, "accepted: " << text);
  if (p) return;
  BOOST_TEST((p.error().code == core::Errc::config_invalid));
  BOOST_TEST(p.error().detail.find(needle) != std::string::npos, p.error().detail << " lacks " << needle);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_policy)

// --- parse_policy / render_policy -------------------------------------------

BOOST_AUTO_TEST_CASE(render_then_parse_keeps_every_field) {
  policy::Policy p;
  p.name = "vpn";
  p.validity_days = 90;
  p.key_usage = crypto::ku_digital_signature | crypto::ku_non_repudiation;
  p.extended_key_usage = {"clientAuth", "serverAuth", "1.3.6.1.5.5.7.3.17"};
  p.subject_regex = R"(CN=[a-z0-9-]+\.example\.com,O="Ex")";
  p.required_attributes = {"CN", "O"};
  p.san_mode = SanMode::match;
  p.san_regex = R"(DNS:.*\.example\.com)";
  p.min_rsa_bits = 3072;
  p.allowed_digests = {crypto::DigestAlg::sha256, crypto::DigestAlg::sha512};
  p.copy_extensions = {"1.3.6.1.4.1.99999.1"};
  p.secret_cn_scope = policy::SecretCnScope::cn;

  std::string text = policy::render_policy(p);
  auto back = policy::parse_policy("vpn", text);
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().detail) << "\n" << text);
  BOOST_TEST(back->name == "vpn");
  BOOST_TEST(back->validity_days == 90);
  BOOST_TEST(back->key_usage == p.key_usage);
  BOOST_TEST(back->extended_key_usage == p.extended_key_usage, boost::test_tools::per_element());
  BOOST_TEST(back->subject_regex == p.subject_regex);
  BOOST_TEST(back->required_attributes == p.required_attributes, boost::test_tools::per_element());
  BOOST_TEST((back->san_mode == SanMode::match));
  BOOST_TEST(back->san_regex == p.san_regex);
  BOOST_TEST(back->min_rsa_bits == 3072);
  BOOST_TEST((back->allowed_digests == p.allowed_digests));
  BOOST_TEST(back->copy_extensions == p.copy_extensions, boost::test_tools::per_element());
  BOOST_TEST((back->secret_cn_scope == policy::SecretCnScope::cn));
  BOOST_TEST(policy::render_policy(*back) == text);
}

BOOST_AUTO_TEST_CASE(a_regex_with_control_characters_renders_to_a_file_that_parses) {
  // fuzz_config found this: "\u0001" in a policy file parsed, rendered raw,
  // and the rendered file was refused.
  auto p = parsed("format = 1\nsubject_regex = \"CN=a\\u0001b\\tc\\u007f\"\n");
  BOOST_TEST(p.subject_regex == std::string("CN=a\x01"
                                            "b\tc\x7f"));
  std::string text = policy::render_policy(p);
  auto back = policy::parse_policy(p.name, text);
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().detail) << "\n" << text);
  BOOST_TEST(back->subject_regex == p.subject_regex);
  BOOST_TEST(policy::render_policy(*back) == text);
}

BOOST_AUTO_TEST_CASE(render_then_parse_keeps_drop_mode_and_empty_lists) {
  policy::Policy p;
  p.name = "bare";
  p.san_mode = SanMode::drop;
  p.extended_key_usage = {};
  p.key_usage = crypto::ku_key_encipherment;
  auto back = parsed(policy::render_policy(p));
  BOOST_TEST((back.san_mode == SanMode::drop));
  BOOST_TEST(back.extended_key_usage.empty());
  BOOST_TEST(back.key_usage == crypto::ku_key_encipherment);
}

BOOST_AUTO_TEST_CASE(only_the_format_line_gives_the_defaults) {
  auto p = parsed("format = 1\n");
  policy::Policy d;
  BOOST_TEST(p.name == "t");
  BOOST_TEST(p.validity_days == d.validity_days);
  BOOST_TEST(p.key_usage == d.key_usage);
  BOOST_TEST(p.extended_key_usage == d.extended_key_usage, boost::test_tools::per_element());
  BOOST_TEST((p.san_mode == SanMode::copy));
  BOOST_TEST(p.min_rsa_bits == 2048);
  BOOST_TEST((p.allowed_digests == d.allowed_digests));
  BOOST_TEST(p.subject_regex.empty());
  BOOST_TEST(p.required_attributes.empty());
  BOOST_TEST(p.copy_extensions.empty());
  BOOST_TEST((p.secret_cn_scope == policy::SecretCnScope::names));
}

BOOST_AUTO_TEST_CASE(secret_cn_scope_is_names_or_cn) {
  BOOST_TEST((parsed("format = 1\nsecret_cn_scope = \"cn\"\n").secret_cn_scope == policy::SecretCnScope::cn));
  BOOST_TEST((parsed("format = 1\nsecret_cn_scope = \"names\"\n").secret_cn_scope == policy::SecretCnScope::names));
  refused("format = 1\nsecret_cn_scope = \"all\"\n", "secret_cn_scope");
  refused("format = 1\nsecret_cn_scope = true\n", "secret_cn_scope");
}

BOOST_AUTO_TEST_CASE(unknown_settings_are_refused_by_name) {
  refused("format = 1\nvalidty_days = 30\n", "validty_days");
  refused("format = 1\n[extra]\nx = 1\n", "extra");
}

BOOST_AUTO_TEST_CASE(missing_or_unknown_format_is_refused) {
  refused("validity_days = 30\n", "format");
  refused("format = 2\nvalidity_days = 30\n", "format");
  refused("format = \"1\"\n", "format");
}

BOOST_AUTO_TEST_CASE(regex_numbers_libstdcxx_would_overflow_are_refused) {
  // fuzz_config: "\\2222222222222222222222" made libstdc++'s regex compiler
  // overflow a long (undefined behaviour); so would a huge repeat count.
  refused("format = 1\nsubject_regex = \"CN=a\\\\22222222222222222222x\"\n", "back-reference");
  refused("format = 1\nsubject_regex = \"CN=a{99999999999999999999}\"\n", "repeat count");
  refused("format = 1\nsubject_regex = \"CN=a{1,99999999999999999999}\"\n", "repeat count");
  refused("format = 1\nsan = \"match\"\nsan_regex = \"DNS:(a)\\\\12345\"\n", "back-reference");
  BOOST_TEST(!policy::regex_error("(a)\\1{2,5}[0-9]{1,3}x\\d+ 12345678901234567890").has_value());
  BOOST_TEST(policy::regex_error("a{200000}").has_value());  // too many states for libstdc++
  BOOST_TEST(policy::regex_error("(").has_value());
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused) {
  refused("format = 1\nsan = \"maybe\"\n", "san");
  refused("format = 1\nvalidity_days = 0\n", "validity_days");
  refused("format = 1\nvalidity_days = 36501\n", "validity_days");
  refused("format = 1\nmin_rsa_bits = 512\n", "min_rsa_bits");
  refused("format = 1\nsubject_regex = \"CN=(\"\n", "subject_regex");
  refused("format = 1\nsan = \"match\"\n", "san_regex");
  refused("format = 1\nkey_usage = [\"frobnicate\"]\n", "frobnicate");
  refused("format = 1\nkey_usage = \"digitalSignature\"\n", "key_usage");
  refused("format = 1\nallowed_digests = [\"md4\"]\n", "md4");
  refused("format = 1\nrequired_attributes = [1, 2]\n", "required_attributes");
  refused("format = 1\nvalidity_days = \n", "line");
}

// Regression (fixed in bd9aa80): scalars were read with value<T>(),
// so a value of the wrong TOML type was skipped and the default kept:
// `min_rsa_bits = "4096"` parsed as min_rsa_bits 2048, `subject_regex = 5` as "any subject".
BOOST_AUTO_TEST_CASE(mistyped_values_are_refused_not_ignored) {
  refused("format = 1\nmin_rsa_bits = \"4096\"\n", "min_rsa_bits");
  refused("format = 1\nvalidity_days = \"30\"\n", "validity_days");
  refused("format = 1\nsubject_regex = 5\n", "subject_regex");
  refused("format = 1\nsan = 1\n", "san");
  refused("format = 1\nsan_regex = true\n", "san_regex");
}

// Regression (fixed in bd9aa80): the int64 was cast to int before the range check, so
// 2^32 + 30 wrapped to validity_days 30 and 2^32 + 2048 to min_rsa_bits 2048.
BOOST_AUTO_TEST_CASE(out_of_range_integers_do_not_wrap_into_range) {
  refused("format = 1\nvalidity_days = 4294967326\n", "validity_days");  // 2^32 + 30
  refused("format = 1\nmin_rsa_bits = 4294969344\n", "min_rsa_bits");    // 2^32 + 2048
}

// Regression (fixed in bd9aa80): extended_key_usage names were not checked; a typo
// ("clientAuht") was accepted and only failed at issuance (see scep_enroll_secret/
// a_certificate_that_cannot_be_built_does_not_spend_the_secret).
BOOST_AUTO_TEST_CASE(unknown_extended_key_usage_names_are_refused) {
  refused("format = 1\nextended_key_usage = [\"clientAuht\"]\n", "clientAuht");
  auto p = parsed("format = 1\nextended_key_usage = [\"serverAuth\", \"1.3.6.1.5.5.7.3.17\"]\n");
  BOOST_TEST(p.extended_key_usage.size() == 2u);
}

BOOST_AUTO_TEST_CASE(key_usage_names_and_masks_round_trip) {
  std::vector<std::string> all{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
                               "keyAgreement",     "keyCertSign",    "cRLSign"};
  auto mask = policy::parse_key_usage(all);
  BOOST_REQUIRE(mask);
  BOOST_TEST(*mask == 0x7fu);
  BOOST_TEST(policy::key_usage_names(*mask) == all, boost::test_tools::per_element());
  BOOST_TEST(*policy::parse_key_usage({"keyEncipherment"}) == unsigned(crypto::ku_key_encipherment));
  BOOST_TEST(!policy::parse_key_usage({"digitalsignature"}));
}

// --- evaluate ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_good_request_gets_subject_validity_usages_and_sans) {
  policy::Policy p;
  p.validity_days = 30;
  p.key_usage = crypto::ku_digital_signature;
  p.extended_key_usage = {"clientAuth", "serverAuth"};
  CsrSpec spec;
  spec.sans = {"DNS:a.example.com", "IP:10.0.0.1", "email:dev@example.com", "URI:https://example.com/x"};
  auto csr = client_csr(spec);
  auto now = inside_ca();
  auto d = evaluate(p, csr, {}, now);
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  BOOST_TEST((d.spec.subject == csr.subject_der()));
  BOOST_TEST(!d.spec.ca);
  BOOST_TEST(d.spec.serial.empty());
  BOOST_TEST((d.spec.not_before <= now && d.spec.not_before >= now - std::chrono::minutes(10)));
  BOOST_TEST((d.spec.not_after == now + std::chrono::days(30)));
  BOOST_TEST(d.spec.key_usage == unsigned(crypto::ku_digital_signature));
  BOOST_TEST(d.spec.extended_key_usage == p.extended_key_usage, boost::test_tools::per_element());
  std::vector<std::string> want{"DNS:a.example.com", "IP:10.0.0.1", "email:dev@example.com",
                                "URI:https://example.com/x"};
  BOOST_TEST(texts(d.spec.subject_alt_names) == want, boost::test_tools::per_element());
  BOOST_TEST(d.spec.copied_extensions.empty());
}

BOOST_AUTO_TEST_CASE(validity_is_capped_at_the_ca_not_after) {
  const auto& ca = testing::test_pki().root.cert;
  policy::Policy p;
  p.validity_days = 365;
  auto now = ca.not_after() - std::chrono::days(10);
  auto d = evaluate(p, client_csr(), {}, now);
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  BOOST_TEST((d.spec.not_after == ca.not_after()));
  p.validity_days = 36500;
  d = evaluate(p, client_csr(), {}, inside_ca());
  BOOST_REQUIRE(d.issue);
  BOOST_TEST((d.spec.not_after == ca.not_after()));
}

BOOST_AUTO_TEST_CASE(an_expired_ca_issues_nothing) {
  const auto& ca = testing::test_pki().root.cert;
  auto d = evaluate(policy::Policy{}, client_csr(), {}, ca.not_after() + std::chrono::hours(1));
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
}

BOOST_AUTO_TEST_CASE(keys_below_min_rsa_bits_are_refused) {
  auto csr = csr_of(make_csr({}, testing::small_rsa_key()));
  policy::Policy p;
  auto d = evaluate(p, csr);
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
  BOOST_TEST(d.detail.find("1024") != std::string::npos, d.detail);
  p.min_rsa_bits = 1024;
  BOOST_TEST(evaluate(p, csr).issue);
  p.min_rsa_bits = 2049;
  BOOST_TEST(!evaluate(p, client_csr()).issue);  // 2048 < 2049
}

BOOST_AUTO_TEST_CASE(non_rsa_keys_are_a_bad_alg) {
  crypto::PrivateKey ec(crypto::EvpPkeyPtr(EVP_EC_gen("P-256")));
  BOOST_REQUIRE(ec.native());
  auto d = evaluate(policy::Policy{}, csr_of(make_csr({}, ec)));
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_alg));
}

BOOST_AUTO_TEST_CASE(the_csr_signature_digest_must_be_allowed) {
  policy::Policy p;
  CsrSpec sha1;
  sha1.digest = crypto::DigestAlg::sha1;
  BOOST_TEST(evaluate(p, client_csr(sha1)).issue);  // default list has SHA-1
  CsrSpec sha512;
  sha512.digest = crypto::DigestAlg::sha512;
  BOOST_TEST(evaluate(p, client_csr(sha512)).issue);
  CsrSpec md5;
  md5.digest = crypto::DigestAlg::md5;
  auto d = evaluate(p, client_csr(md5));  // MD5 is never in the default list
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_alg));

  p.allowed_digests = {crypto::DigestAlg::sha256};
  d = evaluate(p, client_csr(sha1));
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_alg));
  BOOST_TEST(evaluate(p, client_csr()).issue);
}

// RFC 8894 §3.2.1.4 keeps badMessageCheck for the CMS signature; a PKCS#10
// that fails its own check is a bad request.
BOOST_AUTO_TEST_CASE(a_csr_whose_signature_fails_is_a_bad_request) {
  auto csr = csr_of(testing::corrupt_last_byte(make_csr({}, testing::test_pki().client_key)));
  auto d = evaluate(policy::Policy{}, csr);
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
}

BOOST_AUTO_TEST_CASE(required_subject_attributes_must_be_present) {
  policy::Policy p;
  p.required_attributes = {"CN", "O", "OU"};
  auto d = evaluate(p, client_csr());
  BOOST_TEST(!d.issue);
  BOOST_TEST(d.detail.find("OU") != std::string::npos, d.detail);
  CsrSpec spec;
  spec.subject = "CN=device1,OU=Lab,O=Example";
  BOOST_TEST(evaluate(p, client_csr(spec)).issue);
}

BOOST_AUTO_TEST_CASE(subject_regex_must_match_the_whole_subject) {
  policy::Policy p;
  p.subject_regex = "CN=device[0-9]+,O=Example";
  BOOST_TEST(client_csr().subject() == "CN=device1,O=Example");
  BOOST_TEST(evaluate(p, client_csr()).issue);
  CsrSpec printer;
  printer.subject = "CN=printer,O=Example";
  auto d = evaluate(p, client_csr(printer));
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
  p.subject_regex = "CN=device1";  // a prefix is not a match
  BOOST_TEST(!evaluate(p, client_csr()).issue);
}

BOOST_AUTO_TEST_CASE(secret_limits_pin_the_common_name_and_subject) {
  policy::Policy p;
  CsrSpec cn_only;
  cn_only.subject = "CN=device1";
  BOOST_TEST(evaluate(p, client_csr(cn_only), {"device1", std::nullopt}).issue);
  auto d = evaluate(p, client_csr(cn_only), {"device2", std::nullopt});
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
  CsrSpec two_cns;
  two_cns.subject = "CN=device1,CN=device2";
  BOOST_TEST(!evaluate(p, client_csr(two_cns), {"device1", std::nullopt}).issue);
  CsrSpec no_cn;
  no_cn.subject = "O=Example";
  BOOST_TEST(!evaluate(p, client_csr(no_cn), {"device1", std::nullopt}).issue);
  BOOST_TEST(evaluate(p, client_csr(), {std::nullopt, ".*O=Example"}).issue);
  BOOST_TEST(!evaluate(p, client_csr(), {std::nullopt, "CN=other.*"}).issue);
}

// --- a secret bound to a name (secret create --cn) ----------------------------

BOOST_AUTO_TEST_CASE(a_bound_name_allows_no_other_subject_attribute_by_default) {
  policy::Policy p;
  CsrSpec admins;
  admins.subject = "CN=laptop-17,O=Corp Admins";
  auto d = evaluate(p, client_csr(admins), {"laptop-17", std::nullopt});
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
  BOOST_TEST(d.detail.find("subject attribute O ") != std::string::npos, d.detail);
  BOOST_TEST(d.detail.find("laptop-17") != std::string::npos, d.detail);
  // What the policy or the secret allows explicitly is allowed.
  p.required_attributes = {"CN", "O"};
  BOOST_TEST(evaluate(p, client_csr(admins), {"laptop-17", std::nullopt}).issue);
  p.required_attributes = {};
  p.subject_regex = "CN=[^,]+,O=Corp Admins";
  BOOST_TEST(evaluate(p, client_csr(admins), {"laptop-17", std::nullopt}).issue);
  p.subject_regex = "";
  BOOST_TEST(evaluate(p, client_csr(admins), {"laptop-17", "CN=laptop-17,O=Corp.*"}).issue);
  // A policy may bind only the CN, as before.
  p.secret_cn_scope = policy::SecretCnScope::cn;
  BOOST_TEST(evaluate(p, client_csr(admins), {"laptop-17", std::nullopt}).issue);
}

BOOST_AUTO_TEST_CASE(a_bound_name_allows_only_sans_that_name_it) {
  policy::Policy p;  // san = "copy"
  CsrSpec own;
  own.subject = "CN=laptop-17";
  own.sans = {"DNS:laptop-17", "email:laptop-17", "URI:laptop-17"};
  auto d = evaluate(p, client_csr(own), {"laptop-17", std::nullopt});
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  BOOST_TEST(texts(d.spec.subject_alt_names) == own.sans, boost::test_tools::per_element());

  for (std::string extra : {"DNS:www.bank.example", "DNS:*.example.com", "IP:192.0.2.1", "URI:https://laptop-17/",
                            "DNS:Laptop-17", "email:laptop-17@example.com"}) {
    CsrSpec spec = own;
    spec.sans.push_back(extra);
    d = evaluate(p, client_csr(spec), {"laptop-17", std::nullopt});
    BOOST_TEST(!d.issue, extra);
    BOOST_TEST((d.refusal == Refusal::bad_request));
    BOOST_TEST(d.detail.find(extra) != std::string::npos, d.detail);
  }
  CsrSpec by_ip;
  by_ip.subject = "CN=2001:db8::17";
  by_ip.sans = {"IP:2001:db8:0:0::17", "DNS:2001:db8::17"};
  d = evaluate(p, client_csr(by_ip), {"2001:db8::17", std::nullopt});
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  BOOST_TEST(d.spec.subject_alt_names.size() == 2u);
  p.secret_cn_scope = policy::SecretCnScope::cn;
  CsrSpec spec = own;
  spec.sans.push_back("DNS:www.bank.example");
  BOOST_TEST(evaluate(p, client_csr(spec), {"laptop-17", std::nullopt}).issue);
}

BOOST_AUTO_TEST_CASE(with_a_bound_name_san_match_keeps_the_name_and_what_the_regex_allows) {
  policy::Policy p;
  p.san_mode = SanMode::match;
  p.san_regex = R"(DNS:[a-z0-9-]+\.corp\.example)";
  CsrSpec spec;
  spec.subject = "CN=laptop-17";
  spec.sans = {"DNS:laptop-17", "DNS:laptop-17.corp.example", "DNS:www.bank.example"};
  auto d = evaluate(p, client_csr(spec), {"laptop-17", std::nullopt});
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  std::vector<std::string> kept{"DNS:laptop-17", "DNS:laptop-17.corp.example"};
  BOOST_TEST(texts(d.spec.subject_alt_names) == kept, boost::test_tools::per_element());
  p.san_mode = SanMode::drop;
  d = evaluate(p, client_csr(spec), {"laptop-17", std::nullopt});
  BOOST_REQUIRE(d.issue);
  BOOST_TEST(d.spec.subject_alt_names.empty());
}

BOOST_AUTO_TEST_CASE(san_copy_match_and_drop) {
  CsrSpec spec;
  spec.sans = {"DNS:a.example.com", "DNS:evil.test", "IP:10.0.0.1"};
  auto csr = client_csr(spec);
  policy::Policy p;
  auto d = evaluate(p, csr);
  BOOST_REQUIRE(d.issue);
  BOOST_TEST(texts(d.spec.subject_alt_names) == spec.sans, boost::test_tools::per_element());

  p.san_mode = SanMode::match;
  p.san_regex = R"(DNS:.*\.example\.com|IP:10\..*)";
  d = evaluate(p, csr);
  BOOST_REQUIRE(d.issue);
  std::vector<std::string> kept{"DNS:a.example.com", "IP:10.0.0.1"};
  BOOST_TEST(texts(d.spec.subject_alt_names) == kept, boost::test_tools::per_element());

  p.san_mode = SanMode::drop;
  d = evaluate(p, csr);
  BOOST_REQUIRE(d.issue);
  BOOST_TEST(d.spec.subject_alt_names.empty());
}

BOOST_AUTO_TEST_CASE(names_of_other_types_need_a_regex_that_names_them) {
  policy::Policy p;
  for (std::string other : {"otherName:user@example.com", "dirName:CN=Admin,O=Corp", "RID:1.2.3.4"}) {
    CsrSpec spec;
    spec.sans = {"DNS:a.example.com", other};
    auto d = evaluate(p, client_csr(spec));
    BOOST_TEST(!d.issue, other);
    BOOST_TEST((d.refusal == Refusal::bad_request));
    BOOST_TEST(d.detail.find("copy") != std::string::npos, d.detail);
  }
  p.san_mode = SanMode::match;
  p.san_regex = R"(DNS:.*|otherName:1\.3\.6\.1\.4\.1\.311\.20\.2\.3;UTF8:[a-z]+@example\.com)";
  CsrSpec spec;
  spec.sans = {"DNS:a.example.com", "otherName:user@example.com", "dirName:CN=Admin,O=Corp"};
  auto d = evaluate(p, client_csr(spec));
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  std::vector<std::string> kept{"DNS:a.example.com", "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com"};
  BOOST_TEST(texts(d.spec.subject_alt_names) == kept, boost::test_tools::per_element());
}

// Names are data: a ',' or a line break in a dNSName, or an rfc822Name
// "move", is issued as it was asked for (they were OpenSSL directives and
// separators when the builder took text).
BOOST_AUTO_TEST_CASE(sans_are_matched_and_kept_as_typed_values) {
  policy::Policy p;
  CsrSpec spec;
  spec.sans = {"DNS:a.example.com,DNS:b.example.com", "DNS:c.example.com\nd.example.com", "email:move", "email:copy"};
  auto d = evaluate(p, client_csr(spec));
  BOOST_REQUIRE_MESSAGE(d.issue, d.detail);
  BOOST_TEST(texts(d.spec.subject_alt_names) == spec.sans, boost::test_tools::per_element());
  // A regex sees the type and the value: "DNS:.*" is anchored on the type,
  // and '.' does not match a line break.
  p.san_mode = SanMode::match;
  p.san_regex = R"(DNS:.*)";
  d = evaluate(p, client_csr(spec));
  BOOST_REQUIRE(d.issue);
  BOOST_TEST(texts(d.spec.subject_alt_names) == std::vector<std::string>{"DNS:a.example.com,DNS:b.example.com"},
             boost::test_tools::per_element());
}

// Caught by fuzz_csr_policy's SAN check: "DNS:evil.com\0.example.com" matched
// the regex and a relying party reading C strings sees "evil.com".
BOOST_AUTO_TEST_CASE(a_san_with_a_nul_or_a_non_ascii_byte_is_refused_unless_dropped) {
  policy::Policy p;
  p.san_mode = SanMode::match;
  p.san_regex = R"(DNS:[^,]*\.example\.com|email:.*)";
  for (std::string bad :
       {std::string("DNS:evil.com\0.example.com", 25), std::string("email:caf\xc3\xa9@example.com")}) {
    CsrSpec spec;
    spec.sans = {bad, "DNS:b.example.com"};
    auto d = evaluate(p, client_csr(spec));
    BOOST_TEST(!d.issue, bad);
    BOOST_TEST((d.refusal == Refusal::bad_request));
    BOOST_TEST(d.detail.find("\\x") != std::string::npos, d.detail);  // shown escaped
    p.san_mode = SanMode::copy;
    BOOST_TEST(!evaluate(p, client_csr(spec)).issue, bad);
    p.san_mode = SanMode::drop;
    BOOST_TEST(evaluate(p, client_csr(spec)).issue, bad);
    p.san_mode = SanMode::match;
  }
}

BOOST_AUTO_TEST_CASE(a_malformed_san_extension_is_refused_unless_dropped) {
  CsrSpec spec;
  spec.extensions = {{"2.5.29.17", false, {0x30, 0x03, 0x82, 0x01}}};
  auto d = evaluate(policy::Policy{}, client_csr(spec));
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
  policy::Policy drop;
  drop.san_mode = SanMode::drop;
  BOOST_TEST(evaluate(drop, client_csr(spec)).issue);
}

BOOST_AUTO_TEST_CASE(too_many_sans_are_refused) {
  CsrSpec spec;
  for (int i = 0; i < 101; ++i) spec.sans.push_back("DNS:h" + std::to_string(i) + ".example.com");
  auto d = evaluate(policy::Policy{}, client_csr(spec));
  BOOST_TEST(!d.issue);
  spec.sans.pop_back();
  BOOST_TEST(evaluate(policy::Policy{}, client_csr(spec)).issue);
}

BOOST_AUTO_TEST_CASE(only_listed_extensions_are_copied_verbatim) {
  CsrSpec spec;
  spec.extensions = {{"1.3.6.1.4.1.99999.1", true, {0x0c, 0x02, 'h', 'i'}},
                     {"1.3.6.1.4.1.99999.2", false, {0x05, 0x00}}};
  auto csr = client_csr(spec);
  policy::Policy p;
  auto d = evaluate(p, csr);
  BOOST_REQUIRE(d.issue);
  BOOST_TEST(d.spec.copied_extensions.empty());
  p.copy_extensions = {"1.3.6.1.4.1.99999.1"};
  d = evaluate(p, csr);
  BOOST_REQUIRE(d.issue);
  BOOST_REQUIRE(d.spec.copied_extensions.size() == 1u);
  const auto& e = d.spec.copied_extensions.front();
  BOOST_TEST(e.oid == "1.3.6.1.4.1.99999.1");
  BOOST_TEST(e.critical);
  BOOST_TEST((e.value == core::Bytes{0x0c, 0x02, 'h', 'i'}));
}

BOOST_AUTO_TEST_CASE(an_oversized_subject_is_refused) {
  CsrSpec spec;
  spec.subject = "CN=device1";
  for (int i = 0; i < 20; ++i) spec.subject += ",OU=" + std::string(60, static_cast<char>('a' + i));
  auto csr = client_csr(spec);
  BOOST_REQUIRE(csr.subject().size() > 1024u);
  auto d = evaluate(policy::Policy{}, csr);
  BOOST_TEST(!d.issue);
  BOOST_TEST((d.refusal == Refusal::bad_request));
  BOOST_TEST(d.detail.find("too long") != std::string::npos, d.detail);
}

BOOST_AUTO_TEST_SUITE_END()
