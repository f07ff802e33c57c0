// GetCert and GetCRL (RFC 8894 §3.3.3, §3.3.4) through PKIOperation, and the
// CA's CRL as ca_crl keeps it: numbered, re-signed when due.
#include <boost/test/unit_test.hpp>

#include "crypto/crl.hpp"
#include "renewal_fixture.hpp"
#include "scep/crl.hpp"

using namespace renewal_test;
using crypto::RevocationReason;
using scep::FailInfo;
using scep::MessageType;

namespace {

core::Bytes issuer_and_serial(const crypto::Certificate& issuer, std::string_view serial) {
  auto der = crypto::encode_issuer_and_serial(issuer, serial);
  BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
  return *der;
}

/// The CRLs of a SUCCESS reply, decrypted with the requester's key.
std::vector<crypto::Crl> reply_crls(const Reply& r, const crypto::Certificate& recipient,
                                    const crypto::PrivateKey& key) {
  auto env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  auto plain = env->decrypt(recipient, key);
  BOOST_REQUIRE(plain);
  auto certs = crypto::certificates_of_pkcs7(*plain);
  BOOST_REQUIRE(certs);
  BOOST_TEST(certs->empty(), "a GetCRL reply carries no certificates");
  auto ders = crypto::crls_of_pkcs7(*plain);
  BOOST_REQUIRE_MESSAGE(ders, (ders ? "" : ders.error().detail));
  std::vector<crypto::Crl> out;
  for (const auto& der : *ders) {
    auto crl = crypto::Crl::parse(der);
    BOOST_REQUIRE(crl);
    out.push_back(std::move(*crl));
  }
  return out;
}

struct RetrieveFixture : RenewalFixture {
  Reply get_cert(const core::Bytes& message_data, const std::string& tid = "tid-getcert") {
    return signed_by(signer, pki.client_key, message_data, MessageType::get_cert, tid);
  }
  /// The one CRL of a GetCRL reply.
  crypto::Crl get_crl(const std::string& tid = "tid-getcrl") {
    auto r = signed_by(signer, pki.client_key, issuer_and_serial(pki.root.cert, "01"), MessageType::get_crl, tid);
    require_success(r);
    auto crls = reply_crls(r, signer, pki.client_key);
    BOOST_REQUIRE(crls.size() == 1u);
    return std::move(crls.front());
  }
  crypto::Crl direct_crl(scep::CrlRefresh mode = scep::CrlRefresh::when_due) {
    auto der = scep::ca_crl(repo.backend(), repo.cas.front(), clock, mode);
    BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
    auto crl = crypto::Crl::parse(*der);
    BOOST_REQUIRE(crl);
    return std::move(*crl);
  }
};

const crypto::RevokedEntry* entry_for(const std::vector<crypto::RevokedEntry>& entries, const crypto::Certificate& c) {
  for (const auto& e : entries)
    if (e.serial_hex == c.serial_hex()) return &e;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_get_cert)

BOOST_AUTO_TEST_CASE(get_cert_sends_exactly_the_certificate_asked_for) {
  RetrieveFixture f;
  auto wanted = f.issued(next_key());
  f.issued(f.pki.client_key, "P", 10, "CN=other,O=Example");
  auto r = f.get_cert(issuer_and_serial(f.pki.root.cert, wanted.serial_hex()));
  require_success(r);
  auto certs = reply_certs(r, f.signer, f.pki.client_key);
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST((certs[0] == wanted));
  BOOST_TEST(f.last_audit().operation == "GetCert");
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::sent);
  BOOST_TEST(f.last_audit().serial == wanted.serial_hex());
}

BOOST_AUTO_TEST_CASE(get_cert_sends_a_revoked_certificate_too) {
  RetrieveFixture f;
  auto wanted = f.issued(next_key());
  f.revoke(wanted);
  auto r = f.get_cert(issuer_and_serial(f.pki.root.cert, wanted.serial_hex()));
  require_success(r);
  BOOST_TEST((reply_certs(r, f.signer, f.pki.client_key).at(0) == wanted));
}

BOOST_AUTO_TEST_CASE(get_cert_of_an_unknown_serial_is_bad_cert_id) {
  RetrieveFixture f;
  f.issued(next_key());
  auto r = f.get_cert(issuer_and_serial(f.pki.root.cert, "0123456789ABCDEF"));
  require_failure(r, FailInfo::bad_cert_id, "0123456789ABCDEF");
  BOOST_TEST(f.last_audit().fail_info == std::string(scep::fail_info_name(FailInfo::bad_cert_id)));
}

BOOST_AUTO_TEST_CASE(get_cert_naming_another_issuer_is_bad_cert_id) {
  RetrieveFixture f;
  auto wanted = f.issued(next_key());
  auto r = f.get_cert(issuer_and_serial(f.pki.inter.cert, wanted.serial_hex()));
  require_failure(r, FailInfo::bad_cert_id, "issuer");
}

BOOST_AUTO_TEST_CASE(get_cert_without_an_issuer_and_serial_is_bad_request) {
  RetrieveFixture f;
  auto wanted = f.issued(next_key());
  core::Bytes trailing = issuer_and_serial(f.pki.root.cert, wanted.serial_hex());
  trailing.push_back(0x00);
  for (const core::Bytes& bad : {core::to_bytes("garbage"), trailing, wanted.der()}) {
    auto r = f.get_cert(bad);
    require_failure(r, FailInfo::bad_request);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scep_get_crl)

BOOST_AUTO_TEST_CASE(get_crl_sends_a_crl_of_the_ca_listing_its_revocations) {
  RetrieveFixture f;
  auto compromised = f.issued(next_key());
  auto retired = f.issued(f.pki.client_key, "P", 10, "CN=retired,O=Example");
  auto valid = f.issued(f.pki.client_key, "P", 10, "CN=valid,O=Example");
  f.revoke(compromised, RevocationReason::key_compromise);
  f.revoke(retired, RevocationReason::unspecified);

  auto crl = f.get_crl();
  BOOST_TEST(crl.verify(f.pki.root.cert));
  BOOST_TEST(!crl.verify(f.pki.inter.cert));
  BOOST_TEST(crl.number() == 1u);
  BOOST_TEST((crl.this_update() == f.clock.now()));
  BOOST_TEST((crl.next_update() == f.clock.now() + std::chrono::days(7)), "the default crl_days");
  auto entries = crl.revoked();
  BOOST_REQUIRE(entries.size() == 2u);
  const auto* a = entry_for(entries, compromised);
  const auto* b = entry_for(entries, retired);
  BOOST_REQUIRE(a);
  BOOST_REQUIRE(b);
  BOOST_TEST((a->reason == RevocationReason::key_compromise));
  BOOST_TEST((a->time == f.clock.now()));
  BOOST_TEST((b->reason == RevocationReason::unspecified));
  BOOST_TEST(!entry_for(entries, valid));
  BOOST_TEST(f.last_audit().operation == "GetCRL");
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::sent);
}

BOOST_AUTO_TEST_CASE(a_new_revocation_gives_the_next_crl_number) {
  RetrieveFixture f;
  auto first = f.issued(next_key());
  auto second = f.issued(f.pki.client_key, "P", 10, "CN=second,O=Example");
  f.revoke(first);
  auto before = f.get_crl("tid-crl-1");
  BOOST_TEST(before.revoked().size() == 1u);

  f.clock.advance(std::chrono::minutes(5));
  f.revoke(second, RevocationReason::superseded);
  auto after = f.get_crl("tid-crl-2");
  BOOST_TEST(after.number() == before.number() + 1);
  auto entries = after.revoked();
  BOOST_REQUIRE(entries.size() == 2u);
  BOOST_REQUIRE(entry_for(entries, second));
  BOOST_TEST((entry_for(entries, second)->reason == RevocationReason::superseded));
  BOOST_TEST(entry_for(entries, first));
}

BOOST_AUTO_TEST_CASE(without_changes_the_same_crl_is_sent_again) {
  RetrieveFixture f;
  f.revoke(f.issued(next_key()));
  auto first = f.get_crl("tid-crl-1");
  f.clock.advance(std::chrono::hours(1));
  auto second = f.get_crl("tid-crl-2");
  BOOST_TEST(second.number() == first.number());
  BOOST_TEST((second.der() == first.der()));
  BOOST_TEST(f.repo.crls_stored == 1u, "signed once");
}

BOOST_AUTO_TEST_CASE(a_ca_without_revocations_sends_an_empty_crl) {
  RetrieveFixture f;
  auto crl = f.get_crl();
  BOOST_TEST(crl.revoked().empty());
  BOOST_TEST(crl.verify(f.pki.root.cert));
}

BOOST_AUTO_TEST_CASE(get_crl_naming_another_issuer_is_bad_cert_id) {
  RetrieveFixture f;
  auto r = f.signed_by(f.signer, f.pki.client_key, issuer_and_serial(f.pki.inter.cert, "01"), MessageType::get_crl,
                       "tid");
  require_failure(r, FailInfo::bad_cert_id);
  BOOST_TEST(f.repo.crls.empty(), "no CRL is made for a refused request");
}

BOOST_AUTO_TEST_CASE(get_crl_with_garbage_is_bad_request) {
  RetrieveFixture f;
  auto r = f.signed_by(f.signer, f.pki.client_key, core::to_bytes("garbage"), MessageType::get_crl, "tid");
  require_failure(r, FailInfo::bad_request);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scep_ca_crl)

BOOST_AUTO_TEST_CASE(refresh_now_always_gives_the_next_number) {
  RetrieveFixture f;
  BOOST_TEST(f.direct_crl(scep::CrlRefresh::now).number() == 1u);
  BOOST_TEST(f.direct_crl(scep::CrlRefresh::now).number() == 2u);
  BOOST_TEST(f.direct_crl(scep::CrlRefresh::now).number() == 3u);
  BOOST_TEST(f.direct_crl(scep::CrlRefresh::when_due).number() == 3u);
  auto stored = crypto::Crl::parse(f.repo.crls.at("main"));
  BOOST_REQUIRE(stored);
  BOOST_TEST(stored->number() == 3u);
}

BOOST_AUTO_TEST_CASE(when_due_re_signs_after_half_the_crl_life) {
  RetrieveFixture f;
  f.repo.cas.front().options.crl_days = 4;
  auto first = f.direct_crl();
  BOOST_TEST(first.number() == 1u);
  BOOST_TEST((first.next_update() == f.clock.now() + std::chrono::days(4)));

  f.clock.advance(std::chrono::hours(48) - std::chrono::seconds(1));
  auto early = f.direct_crl();
  BOOST_TEST(early.number() == 1u);
  BOOST_TEST((early.der() == first.der()));

  f.clock.advance(std::chrono::seconds(1));
  auto due = f.direct_crl();
  BOOST_TEST(due.number() == 2u);
  BOOST_TEST((due.this_update() == f.clock.now()));
  BOOST_TEST((due.next_update() == f.clock.now() + std::chrono::days(4)));
}

BOOST_AUTO_TEST_CASE(when_due_re_signs_when_the_revocations_changed) {
  RetrieveFixture f;
  auto cert = f.issued(next_key());
  BOOST_TEST(f.direct_crl().number() == 1u);
  f.revoke(cert, RevocationReason::ca_compromise);
  auto crl = f.direct_crl();
  BOOST_TEST(crl.number() == 2u);
  BOOST_REQUIRE(crl.revoked().size() == 1u);
  BOOST_TEST((crl.revoked().front().reason == RevocationReason::ca_compromise));
}

BOOST_AUTO_TEST_CASE(when_due_serves_the_stored_crl_without_signing) {
  RetrieveFixture f;
  f.revoke(f.issued(next_key()));
  auto first = f.direct_crl();
  for (int i = 0; i < 10; ++i) {
    f.clock.advance(std::chrono::hours(1));
    BOOST_TEST((f.direct_crl().der() == first.der()));
  }
  BOOST_TEST(f.repo.crls_stored == 1u);
}

BOOST_AUTO_TEST_CASE(a_damaged_stored_crl_is_signed_again) {
  RetrieveFixture f;
  f.revoke(f.issued(next_key()));
  auto good = f.direct_crl();
  const core::Bytes good_der = good.der();  // der() returns a copy: one vector for both iterators
  core::Bytes torn(good_der.begin(), good_der.begin() + 40);
  core::Bytes flipped = good_der;
  flipped.back() ^= 0x80;
  for (const auto& bad : {core::to_bytes("garbage"), torn, flipped}) {
    f.clock.advance(std::chrono::seconds(10));
    auto before = f.repo.crls_stored;
    f.repo.crls.at("main") = bad;
    auto crl = f.direct_crl();
    BOOST_TEST(crl.verify(f.pki.root.cert));
    BOOST_TEST(crl.revoked().size() == 1u);
    BOOST_TEST(crl.number() > good.number());
    BOOST_TEST(f.repo.crls_stored == before + 1);
    BOOST_TEST((f.repo.crls.at("main") == crl.der()));
  }
}

BOOST_AUTO_TEST_CASE(a_crl_from_the_future_or_expired_is_signed_again) {
  RetrieveFixture f;
  auto first = f.direct_crl();
  f.clock.advance(std::chrono::days(-1));  // the clock was set back
  auto earlier = f.direct_crl();
  BOOST_TEST(earlier.number() == first.number() + 1);
  BOOST_TEST((earlier.this_update() == f.clock.now()));
  f.clock.advance(std::chrono::days(30));
  auto later = f.direct_crl();
  BOOST_TEST(later.number() == earlier.number() + 1);
  BOOST_TEST((later.this_update() == f.clock.now()));
}

BOOST_AUTO_TEST_CASE(days_overrides_the_crl_days_of_the_ca) {
  RetrieveFixture f;
  auto der = scep::ca_crl(f.repo.backend(), f.repo.cas.front(), f.clock, scep::CrlRefresh::now, 30);
  BOOST_REQUIRE(der);
  auto crl = crypto::Crl::parse(*der);
  BOOST_REQUIRE(crl);
  BOOST_TEST((crl->next_update() == f.clock.now() + std::chrono::days(30)));
}

BOOST_AUTO_TEST_CASE(get_crl_over_http_is_the_same_crl) {
  RetrieveFixture f;
  f.revoke(f.issued(next_key()));
  auto via_message = f.get_crl();
  auto via_http = f.svc.get_crl("main");
  BOOST_REQUIRE(via_http);
  BOOST_TEST((*via_http == via_message.der()));
}

BOOST_AUTO_TEST_SUITE_END()
