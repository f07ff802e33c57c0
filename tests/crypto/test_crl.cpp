// CRLs (build_crl, Crl), IssuerAndSerialNumber and the CRLs of a PKCS#7.
#include <boost/test/unit_test.hpp>

#include <openssl/x509.h>

#include "crypto/cert_builder.hpp"
#include "crypto/crl.hpp"
#include "crypto/pkcs7.hpp"
#include "support/test_pki.hpp"

using crypto::RevocationReason;

namespace {

/// Two revocations, one of them without a stated reason, listed out of order.
crypto::CrlSpec sample_spec() {
  crypto::CrlSpec spec;
  spec.number = 42;
  spec.this_update = testing::fixed_time();
  spec.next_update = testing::fixed_time() + std::chrono::days(7);
  spec.revoked = {{"7F01", testing::fixed_time() - std::chrono::hours(2), RevocationReason::key_compromise},
                  {"0123ABCD", testing::fixed_time() - std::chrono::hours(1), RevocationReason::unspecified}};
  return spec;
}

core::Bytes signed_by_root(const crypto::CrlSpec& spec) {
  const auto& pki = testing::test_pki();
  auto der = crypto::build_crl(spec, pki.root.cert, pki.root.key);
  BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
  return *der;
}

crypto::Crl must_parse(core::ByteView data) {
  auto crl = crypto::Crl::parse(data);
  BOOST_REQUIRE_MESSAGE(crl, (crl ? "" : crl.error().detail));
  return std::move(*crl);
}

const crypto::RevokedEntry* entry_for(const std::vector<crypto::RevokedEntry>& entries, std::string_view serial) {
  for (const auto& e : entries)
    if (e.serial_hex == serial) return &e;
  return nullptr;
}

/// Whether the CRL entry for `serial` carries a reasonCode extension at all.
bool has_reason_extension(const crypto::Crl& crl, std::string_view serial) {
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.native());
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    const X509_REVOKED* rev = sk_X509_REVOKED_value(entries, i);
    if (crypto::integer_to_hex(X509_REVOKED_get0_serialNumber(rev)) == serial)
      return X509_REVOKED_get_ext_by_NID(rev, NID_crl_reason, -1) >= 0;
  }
  BOOST_FAIL("no CRL entry for " << serial);
  return false;
}

void check_sample(const crypto::Crl& crl) {
  auto spec = sample_spec();
  BOOST_TEST(crl.number() == 42u);
  BOOST_TEST((crl.this_update() == spec.this_update));
  BOOST_TEST((crl.next_update() == spec.next_update));
  auto entries = crl.revoked();
  BOOST_REQUIRE(entries.size() == 2u);
  const auto* compromised = entry_for(entries, "7F01");
  const auto* plain = entry_for(entries, "0123ABCD");
  BOOST_REQUIRE(compromised);
  BOOST_REQUIRE(plain);
  BOOST_TEST((compromised->reason == RevocationReason::key_compromise));
  BOOST_TEST((compromised->time == spec.revoked[0].time));
  BOOST_TEST((plain->reason == RevocationReason::unspecified));
  BOOST_TEST((plain->time == spec.revoked[1].time));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_crl)

BOOST_AUTO_TEST_CASE(a_built_crl_reads_back_from_der) {
  auto der = signed_by_root(sample_spec());
  auto crl = must_parse(der);
  check_sample(crl);
  BOOST_TEST((crl.der() == der));
  BOOST_TEST(X509_CRL_get_version(crl.native()) == X509_CRL_VERSION_2);
}

BOOST_AUTO_TEST_CASE(a_built_crl_reads_back_from_pem) {
  auto crl = must_parse(signed_by_root(sample_spec()));
  std::string pem = crl.pem();
  BOOST_TEST(pem.starts_with("-----BEGIN X509 CRL-----"));
  auto again = must_parse(core::to_bytes(pem));
  check_sample(again);
  BOOST_TEST((again.der() == crl.der()));
}

BOOST_AUTO_TEST_CASE(unspecified_revocations_carry_no_reason_code) {
  auto crl = must_parse(signed_by_root(sample_spec()));
  BOOST_TEST(!has_reason_extension(crl, "0123ABCD"));
  BOOST_TEST(has_reason_extension(crl, "7F01"));
}

BOOST_AUTO_TEST_CASE(every_reason_survives_the_round_trip) {
  auto spec = sample_spec();
  spec.revoked.clear();
  int serial = 10;  // decimal digits are upper-case hex too
  for (auto name : crypto::reason_names()) {
    auto reason = crypto::parse_reason(name);
    BOOST_REQUIRE(reason);
    spec.revoked.push_back({std::to_string(serial++), testing::fixed_time(), *reason});
  }
  auto entries = must_parse(signed_by_root(spec)).revoked();
  BOOST_REQUIRE(entries.size() == spec.revoked.size());
  for (const auto& want : spec.revoked) {
    const auto* got = entry_for(entries, want.serial_hex);
    BOOST_REQUIRE_MESSAGE(got, want.serial_hex);
    BOOST_TEST(crypto::reason_name(got->reason) == crypto::reason_name(want.reason));
  }
}

BOOST_AUTO_TEST_CASE(an_empty_crl_has_no_entries) {
  auto spec = sample_spec();
  spec.revoked.clear();
  spec.number = 1;
  auto crl = must_parse(signed_by_root(spec));
  BOOST_TEST(crl.revoked().empty());
  BOOST_TEST(crl.number() == 1u);
}

BOOST_AUTO_TEST_CASE(verify_accepts_the_issuer_only) {
  const auto& pki = testing::test_pki();
  auto crl = must_parse(signed_by_root(sample_spec()));
  BOOST_TEST(crl.verify(pki.root.cert));
  BOOST_TEST(!crl.verify(pki.inter.cert));
  BOOST_TEST(!crl.verify(pki.ra.cert));
  // Same subject as the root, another key: the name alone is not enough.
  crypto::CertSpec spec;
  auto subject = crypto::subject_der_from_text("CN=Test Root CA");
  BOOST_REQUIRE(subject);
  spec.subject = *subject;
  spec.serial = {0x05};
  spec.not_before = testing::fixed_time();
  spec.not_after = testing::fixed_time() + std::chrono::days(1);
  spec.ca = true;
  auto impostor = crypto::build_certificate(spec, pki.client_key.public_key(), nullptr, pki.client_key);
  BOOST_REQUIRE(impostor);
  BOOST_TEST(!crl.verify(*impostor));
}

BOOST_AUTO_TEST_CASE(a_crl_signed_by_another_ca_names_it_as_issuer) {
  const auto& pki = testing::test_pki();
  auto der = crypto::build_crl(sample_spec(), pki.inter.cert, pki.inter.key);
  BOOST_REQUIRE(der);
  auto crl = must_parse(*der);
  BOOST_TEST(crl.verify(pki.inter.cert));
  BOOST_TEST(!crl.verify(pki.root.cert));
}

BOOST_AUTO_TEST_CASE(a_non_hex_serial_cannot_be_listed) {
  const auto& pki = testing::test_pki();
  auto spec = sample_spec();
  spec.revoked.push_back({"not-hex", testing::fixed_time(), RevocationReason::superseded});
  auto der = crypto::build_crl(spec, pki.root.cert, pki.root.key);
  BOOST_REQUIRE(!der);
  BOOST_TEST((der.error().code == core::Errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(garbage_is_not_a_crl) {
  auto der = signed_by_root(sample_spec());
  core::Bytes trailing = der;
  trailing.push_back(0x00);
  core::Bytes truncated(der.begin(), der.end() - 1);
  for (const core::Bytes& bad :
       {core::Bytes{}, core::to_bytes("hello"), core::Bytes{0x30, 0x03, 0x02, 0x01, 0x01}, trailing, truncated,
        core::to_bytes("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"),
        testing::test_pki().root.cert.der()}) {
    auto crl = crypto::Crl::parse(bad);
    BOOST_TEST(!crl, "accepted " << bad.size() << " bytes");
    if (!crl) BOOST_TEST((crl.error().code == core::Errc::invalid_argument));
  }
}

BOOST_AUTO_TEST_CASE(reason_names_and_values_round_trip) {
  auto names = crypto::reason_names();
  BOOST_TEST(names.size() == 9u);
  for (auto name : names) {
    auto reason = crypto::parse_reason(name);
    BOOST_REQUIRE_MESSAGE(reason, name);
    BOOST_TEST(crypto::reason_name(*reason) == name);
  }
  BOOST_TEST(crypto::reason_name(RevocationReason::key_compromise) == "keyCompromise");
  BOOST_TEST(crypto::reason_name(RevocationReason::aa_compromise) == "aACompromise");
  BOOST_TEST(!crypto::parse_reason("keycompromise"));
  BOOST_TEST(!crypto::parse_reason("removeFromCRL"));
  BOOST_TEST(!crypto::parse_reason(""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(crypto_issuer_and_serial)

BOOST_AUTO_TEST_CASE(encode_then_parse_keeps_issuer_and_serial) {
  const auto& pki = testing::test_pki();
  for (std::string serial :
       std::vector<std::string>{"01", "0123ABCD", "7F00FF00FF00FF00FF00FF00FF00FF00", pki.ra.cert.serial_hex()}) {
    auto der = crypto::encode_issuer_and_serial(pki.root.cert, serial);
    BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
    auto ias = crypto::parse_issuer_and_serial(*der);
    BOOST_REQUIRE_MESSAGE(ias, (ias ? "" : ias.error().detail));
    BOOST_TEST(ias->serial_hex == serial);
    BOOST_TEST(ias->names_issuer(pki.root.cert));
    BOOST_TEST(!ias->names_issuer(pki.inter.cert));
    BOOST_TEST(!ias->names_issuer(pki.ra.cert));
  }
}

BOOST_AUTO_TEST_CASE(the_issuer_named_is_the_subject_of_the_certificate_given) {
  const auto& pki = testing::test_pki();
  auto der = crypto::encode_issuer_and_serial(pki.inter.cert, "0A");
  BOOST_REQUIRE(der);
  auto ias = crypto::parse_issuer_and_serial(*der);
  BOOST_REQUIRE(ias);
  BOOST_TEST(ias->names_issuer(pki.inter.cert));
  BOOST_TEST(!ias->names_issuer(pki.root.cert));
}

BOOST_AUTO_TEST_CASE(a_non_hex_serial_cannot_be_encoded) {
  const auto& pki = testing::test_pki();
  for (std::string_view bad : {"", "xyz", "12 34", "0x12"})
    BOOST_TEST(!crypto::encode_issuer_and_serial(pki.root.cert, bad), "encoded \"" << bad << "\"");
}

BOOST_AUTO_TEST_CASE(garbage_and_trailing_bytes_are_refused) {
  const auto& pki = testing::test_pki();
  auto der = crypto::encode_issuer_and_serial(pki.root.cert, "0123");
  BOOST_REQUIRE(der);
  core::Bytes trailing = *der;
  trailing.push_back(0x00);
  core::Bytes truncated(der->begin(), der->end() - 1);
  for (const core::Bytes& bad : {core::Bytes{}, core::to_bytes("garbage"), trailing, truncated, pki.root.cert.der()}) {
    auto ias = crypto::parse_issuer_and_serial(bad);
    BOOST_TEST(!ias, "accepted " << bad.size() << " bytes");
    if (!ias) BOOST_TEST((ias.error().code == core::Errc::malformed_request));
  }
}

BOOST_AUTO_TEST_CASE(an_empty_issuer_names_no_ca) {
  crypto::IssuerAndSerial ias{nullptr, "01"};
  BOOST_TEST(!ias.names_issuer(testing::test_pki().root.cert));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(crypto_pkcs7_crls)

BOOST_AUTO_TEST_CASE(the_crl_of_a_degenerate_pkcs7_comes_back) {
  auto crl = signed_by_root(sample_spec());
  auto p7 = crypto::degenerate_pkcs7({}, {crl});
  BOOST_REQUIRE(p7);
  auto crls = crypto::crls_of_pkcs7(*p7);
  BOOST_REQUIRE_MESSAGE(crls, (crls ? "" : crls.error().detail));
  BOOST_REQUIRE(crls->size() == 1u);
  BOOST_TEST((crls->front() == crl));
  auto certs = crypto::certificates_of_pkcs7(*p7);
  BOOST_REQUIRE(certs);
  BOOST_TEST(certs->empty());
}

BOOST_AUTO_TEST_CASE(a_pkcs7_without_crls_has_none) {
  auto p7 = crypto::degenerate_pkcs7({testing::test_pki().root.cert});
  BOOST_REQUIRE(p7);
  auto crls = crypto::crls_of_pkcs7(*p7);
  BOOST_REQUIRE(crls);
  BOOST_TEST(crls->empty());
}

BOOST_AUTO_TEST_CASE(crls_of_garbage_fails) {
  auto crl = signed_by_root(sample_spec());
  auto p7 = crypto::degenerate_pkcs7({}, {crl});
  BOOST_REQUIRE(p7);
  core::Bytes trailing = *p7;
  trailing.push_back(0x00);
  for (const core::Bytes& bad : {core::Bytes{}, core::to_bytes("garbage"), crl, trailing})
    BOOST_TEST(!crypto::crls_of_pkcs7(bad), "accepted " << bad.size() << " bytes");
}

BOOST_AUTO_TEST_SUITE_END()
