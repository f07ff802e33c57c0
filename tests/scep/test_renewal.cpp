// Renewal (RFC 8894 §3.3.1.2): a RenewalReq, or a PKCSReq without challenge,
// signed by a certificate this CA issued, answered under that certificate's
// policy; one renewal per certificate; resends answered again.
#include <boost/test/unit_test.hpp>

#include "renewal_fixture.hpp"

using namespace renewal_test;
using scep::FailInfo;
using scep::MessageType;

namespace {

const scep::Transaction& transaction(const RenewalFixture& f, const std::string& tid) {
  auto it = f.repo.transactions.find("main/" + tid);
  BOOST_REQUIRE_MESSAGE(it != f.repo.transactions.end(), "no transaction " << tid);
  return it->second;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_renewal)

BOOST_AUTO_TEST_CASE(renewal_req_signed_by_an_issued_certificate_renews_it) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-renew");
  require_success(r);

  // Encrypted to the certificate that signed the request, not to the new one.
  auto env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  auto certs = reply_certs(r, old, f.pki.client_key);
  BOOST_REQUIRE(certs.size() == 1u);
  const auto& fresh = certs[0];
  BOOST_TEST((env->recipient_index({fresh, old}) == std::optional<std::size_t>(1)));

  BOOST_TEST(fresh.subject() == old.subject());
  BOOST_TEST(f.pki.root.cert.issued(fresh));
  BOOST_TEST((fresh.public_key() == next_key().public_key()));
  BOOST_TEST(fresh.serial_hex() != old.serial_hex());
  BOOST_TEST((fresh.not_after() == f.clock.now() + std::chrono::days(20)), "the validity of policy P");
  BOOST_TEST(f.repo.certificates.at("main/" + fresh.serial_hex()).policy == "P");

  const auto& tx = transaction(f, "tid-renew");
  BOOST_TEST((tx.state == scep::Transaction::State::issued));
  BOOST_TEST(tx.serial == fresh.serial_hex());
  BOOST_TEST(tx.renewed_from == old.serial_hex());
  BOOST_TEST(tx.policy == "P");

  BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
  const auto& e = f.last_audit();
  BOOST_TEST(e.outcome == scep::Outcome::renewed);
  BOOST_TEST(e.operation == "RenewalReq");
  BOOST_TEST(e.serial == fresh.serial_hex());
  BOOST_TEST(e.policy == "P");
  BOOST_TEST(e.detail.find(old.serial_hex()) != std::string::npos);
  BOOST_TEST(e.secret_id.empty());
}

BOOST_AUTO_TEST_CASE(pkcs_req_signed_by_an_issued_certificate_renews_it) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  auto fresh = f.renew_ok(old, f.pki.client_key, next_key(), "tid-pkcsreq", MessageType::pkcs_req);
  BOOST_TEST(fresh.subject() == old.subject());
  BOOST_TEST(f.pki.root.cert.issued(fresh));
  BOOST_TEST(transaction(f, "tid-pkcsreq").renewed_from == old.serial_hex());
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::renewed);
  BOOST_TEST(f.last_audit().operation == "PKCSReq");
  BOOST_TEST(f.repo.pending.empty());
}

BOOST_AUTO_TEST_CASE(a_resend_of_a_renewal_gets_the_same_certificate) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  auto first = f.renew_ok(old, f.pki.client_key, next_key(), "tid-resend");
  auto again = f.renew_ok(old, f.pki.client_key, next_key(), "tid-resend");
  BOOST_TEST((again == first));
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::reissued);
  BOOST_TEST(f.last_audit().serial == first.serial_hex());
  BOOST_TEST(f.repo.certificates.size() == 2u, "the old certificate and one new one");
}

BOOST_AUTO_TEST_CASE(a_certificate_renews_once) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.renew_ok(old, f.pki.client_key, next_key(), "tid-one");
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-two");
  require_failure(r, FailInfo::bad_request, "already been renewed");
  BOOST_TEST(f.repo.certificates.size() == 2u);
  BOOST_TEST(!f.repo.transactions.count("main/tid-two"));
}

BOOST_AUTO_TEST_CASE(a_renewed_certificate_renews_in_turn) {
  RenewalFixture f;
  auto first = f.issued(f.pki.client_key);
  auto second = f.renew_ok(first, f.pki.client_key, next_key(), "tid-gen-2");
  auto third = f.renew_ok(second, next_key(), f.pki.client_key, "tid-gen-3");
  BOOST_TEST(f.pki.root.cert.issued(third));
  BOOST_TEST(third.subject() == first.subject());
  BOOST_TEST((third.public_key() == f.pki.client_key.public_key()));
  BOOST_TEST(transaction(f, "tid-gen-3").renewed_from == second.serial_hex());
  BOOST_TEST(f.repo.certificates.at("main/" + third.serial_hex()).policy == "P");
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::renewed);
}

BOOST_AUTO_TEST_CASE(the_transaction_id_of_the_enrollment_renews_instead_of_resending) {
  // micromdm derives the transactionID from its key, which it keeps.
  RenewalFixture f;
  f.add_secret("ENROLL-SECRET", 1, "main", "P");
  auto enrolled = f.enroll_ok("ENROLL-SECRET", "tid-same-key");
  auto renewed = f.renew_ok(enrolled, f.pki.client_key, f.pki.client_key, "tid-same-key");
  BOOST_TEST(renewed.serial_hex() != enrolled.serial_hex());
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::renewed);
  const auto& tx = transaction(f, "tid-same-key");
  BOOST_TEST(tx.serial == renewed.serial_hex());
  BOOST_TEST(tx.renewed_from == enrolled.serial_hex());

  // Sent again, the renewal is answered with the same new certificate.
  auto again = f.renew_ok(enrolled, f.pki.client_key, f.pki.client_key, "tid-same-key");
  BOOST_TEST((again == renewed));
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::reissued);
  BOOST_TEST(f.repo.certificates.size() == 2u);

  // The next renewal comes under the same transactionID again.
  auto third = f.renew_ok(renewed, f.pki.client_key, f.pki.client_key, "tid-same-key");
  BOOST_TEST(third.serial_hex() != renewed.serial_hex());
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::renewed);
  BOOST_TEST(transaction(f, "tid-same-key").renewed_from == renewed.serial_hex());
}

BOOST_AUTO_TEST_CASE(a_revoked_certificate_cannot_renew) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.revoke(old);
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-revoked");
  require_failure(r, FailInfo::bad_request, "revoked");
  BOOST_TEST(f.repo.certificates.size() == 1u);
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::failure);
  BOOST_TEST(f.last_audit().fail_info == std::string(scep::fail_info_name(FailInfo::bad_request)));
}

BOOST_AUTO_TEST_CASE(an_expired_certificate_cannot_renew) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key, "P", 1);
  f.clock.advance(std::chrono::days(2));
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-expired");
  require_failure(r, FailInfo::bad_request, "expired");
  BOOST_TEST(f.repo.certificates.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_expired_certificate_renews_within_the_grace_period) {
  config::CaOptions options;
  options.renewal_grace_days = 5;
  RenewalFixture f(options);
  auto old = f.issued(f.pki.client_key, "P", 1);
  auto late = f.issued(next_key(), "P", 1, "CN=device2,O=Example");
  f.clock.advance(std::chrono::days(2));
  auto fresh = f.renew_ok(old, f.pki.client_key, next_key(), "tid-grace");
  BOOST_TEST(f.pki.root.cert.issued(fresh));

  f.clock.advance(std::chrono::days(5));  // 7 days: past 1 + 5
  CsrSpec spec;
  spec.subject = "CN=device2,O=Example";
  auto r = f.signed_by(late, next_key(), make_csr(spec, f.pki.client_key), MessageType::renewal_req, "tid-too-late");
  require_failure(r, FailInfo::bad_request, "expired");
}

BOOST_AUTO_TEST_CASE(a_certificate_not_valid_yet_is_bad_time) {
  RenewalFixture f;
  auto early = f.issued(f.pki.client_key);  // valid from an hour ago
  f.clock.advance(-std::chrono::hours(2));
  auto r = f.renew(early, f.pki.client_key, next_key(), "tid-early");
  require_failure(r, FailInfo::bad_time, "not valid yet");
}

BOOST_AUTO_TEST_CASE(a_self_signed_certificate_cannot_renew) {
  RenewalFixture f;
  auto r = f.renew(f.signer, f.pki.client_key, next_key(), "tid-self");
  require_failure(r, FailInfo::bad_message_check);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(a_certificate_of_another_ca_cannot_renew) {
  RenewalFixture f;
  auto foreign = f.make_cert(f.pki.client_key, device_subject, 10, &f.pki.inter);
  auto r = f.renew(foreign, f.pki.client_key, next_key(), "tid-foreign");
  require_failure(r, FailInfo::bad_message_check);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(a_certificate_missing_from_the_store_is_bad_cert_id) {
  RenewalFixture f;
  auto unknown = f.make_cert(f.pki.client_key);
  auto r = f.renew(unknown, f.pki.client_key, next_key(), "tid-unknown");
  require_failure(r, FailInfo::bad_cert_id);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(a_renewal_keeps_the_subject_unless_the_policy_allows_a_change) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-rename", MessageType::renewal_req, "CN=renamed,O=Example");
  require_failure(r, FailInfo::bad_request, "keep the subject");
  BOOST_TEST(f.repo.certificates.size() == 1u);

  f.repo.policies["P"].renewal_subject_change = true;
  r = f.renew(old, f.pki.client_key, next_key(), "tid-rename-2", MessageType::renewal_req, "CN=renamed,O=Example");
  require_success(r);
  auto certs = reply_certs(r, old, f.pki.client_key);
  BOOST_TEST(certs.at(0).subject() == "CN=renamed,O=Example");
}

// A renewal needs no secret: were it to add names, a certificate bound to
// one name (secret create --cn) would get any other at its first renewal.
BOOST_AUTO_TEST_CASE(a_renewal_keeps_the_subject_alt_names_unless_the_policy_allows_a_change) {
  RenewalFixture f;
  crypto::CertSpec spec;
  spec.subject = *crypto::subject_der_from_text(device_subject);
  spec.serial = crypto::random_serial(f.rng);
  spec.not_before = f.clock.now() - std::chrono::hours(1);
  spec.not_after = f.clock.now() + std::chrono::days(10);
  spec.subject_alt_names = {crypto::dns_name("device1"), crypto::dns_name("device1.example")};
  auto built = crypto::build_certificate(spec, f.pki.client_key.public_key(), &f.pki.root.cert, f.pki.root.key);
  BOOST_REQUIRE(built);
  auto old = *built;
  BOOST_REQUIRE(f.repo.add_certificate("main", old, "P"));
  CsrSpec more;
  more.subject = std::string(device_subject);
  more.sans = {"DNS:device1", "DNS:www.bank.example"};
  auto r = f.signed_by(old, f.pki.client_key, make_csr(more, next_key()), MessageType::renewal_req, "tid-more");
  require_failure(r, FailInfo::bad_request, "DNS:www.bank.example is not one of them");
  BOOST_TEST(f.repo.certificates.size() == 1u);

  CsrSpec same_or_fewer = more;
  same_or_fewer.sans = {"DNS:device1.example"};
  auto fresh = reply_certs(f.signed_by(old, f.pki.client_key, make_csr(same_or_fewer, next_key()),
                                       MessageType::renewal_req, "tid-fewer"),
                           old, f.pki.client_key);
  BOOST_TEST(cert_sans(fresh.at(0)) == std::vector<std::string>{"DNS:device1.example"},
             boost::test_tools::per_element());

  auto old2 = f.issued(f.pki.client_key);  // no SANs
  f.repo.policies["P"].renewal_subject_change = true;
  r = f.signed_by(old2, f.pki.client_key, make_csr(more, next_key()), MessageType::renewal_req, "tid-more-2");
  require_success(r);
  BOOST_TEST(cert_sans(reply_certs(r, old2, f.pki.client_key).at(0)).size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_certificate_whose_policy_was_deleted_cannot_renew) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.repo.policies.erase("P");
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-no-policy");
  require_failure(r, FailInfo::bad_request, "no longer exists");
  BOOST_TEST(f.repo.certificates.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_certificate_without_a_policy_renews_under_the_builtin_one) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key, "");
  auto fresh = f.renew_ok(old, f.pki.client_key, next_key(), "tid-builtin");
  BOOST_TEST(f.last_audit().policy == std::string(policy::builtin_policy_name));
  BOOST_TEST(f.repo.certificates.at("main/" + fresh.serial_hex()).policy == std::string(policy::builtin_policy_name));
}

BOOST_AUTO_TEST_CASE(the_new_certificate_follows_the_policy_as_it_is_now) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.repo.policies["P"].min_rsa_bits = 4096;
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-strict");
  require_failure(r, FailInfo::bad_request);
  BOOST_TEST(f.repo.certificates.size() == 1u);
  // A refused renewal does not spend the certificate's one renewal.
  f.repo.policies["P"].min_rsa_bits = 2048;
  f.renew_ok(old, f.pki.client_key, next_key(), "tid-relaxed");
}

BOOST_AUTO_TEST_CASE(policy_refusals_have_the_fail_info_of_an_enrollment) {
  // test_enroll_secret.cpp: a broken PKCS#10 signature is badRequest, a
  // digest the policy does not allow is badAlg. A renewal is judged by the same policy.
  {
    RenewalFixture f;
    auto old = f.issued(f.pki.client_key);
    auto r = f.signed_by(old, f.pki.client_key, corrupt_last_byte(make_csr({}, next_key())), MessageType::renewal_req,
                         "tid-broken-csr");
    require_failure(r, FailInfo::bad_request, "signature");
  }
  {
    RenewalFixture f;
    f.repo.policies["P"].allowed_digests = {crypto::DigestAlg::sha512};
    auto old = f.issued(f.pki.client_key);
    auto r = f.renew(old, f.pki.client_key, next_key(), "tid-digest");
    require_failure(r, FailInfo::bad_alg, "digest");
  }
}

BOOST_AUTO_TEST_CASE(a_renewal_that_cannot_be_built_does_not_spend_the_one_renewal) {
  // Like the secret in a_certificate_that_cannot_be_built_does_not_spend_the_secret:
  // the operator mends the policy, the device sends its renewal again.
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.repo.policies["P"].extended_key_usage = {"clientAuht"};  // a typo OpenSSL cannot encode
  Send s;
  s.type = MessageType::renewal_req;
  s.transaction_id = "tid-mended";
  s.signer = &old;
  s.key = &f.pki.client_key;
  auto request = f.build(make_csr({}, next_key()), s);  // the very same message, sent twice
  BOOST_TEST(!f.send(request), "the certificate cannot be built: no CertRep");
  BOOST_TEST(f.repo.certificates.size() == 1u);

  f.repo.policies["P"].extended_key_usage = {"clientAuth"};
  auto r = open_reply(f.send(request));
  require_success(r);
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::renewed);
}

// Proof of possession: a PKCSReq that is not a renewal is signed with the
// key it asks for, whatever certificate carries it.
BOOST_AUTO_TEST_CASE(pkcs_req_signed_by_a_revoked_certificate_for_another_key_is_refused) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.revoke(old, crypto::RevocationReason::superseded);
  auto r = f.renew(old, f.pki.client_key, next_key(), "tid-other-key", MessageType::pkcs_req);
  BOOST_TEST(r.status() == "2");
  BOOST_TEST(r.fail_info() == "1", r.fail_text());  // badMessageCheck
  BOOST_TEST(f.repo.pending.empty());
  BOOST_TEST(f.repo.transactions.empty());
}

// A signer that cannot renew is no reason to refuse a PKCSReq, but the
// operator who approves it must see why it did not renew.
BOOST_AUTO_TEST_CASE(pkcs_req_signed_by_a_revoked_certificate_enrolls_manually) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  f.revoke(old, crypto::RevocationReason::superseded);
  auto r = f.renew(old, f.pki.client_key, f.pki.client_key, "tid-fallback", MessageType::pkcs_req);
  BOOST_TEST(r.status() == "3", "pkiStatus " << r.status() << ": " << r.fail_text());
  BOOST_REQUIRE(f.repo.pending.size() == 1u);
  std::string want = "signed by certificate " + old.serial_hex() + " is revoked (superseded)";
  BOOST_TEST(f.repo.pending.front().note == want);
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::pending);
  BOOST_TEST(f.last_audit().detail == want);
  BOOST_TEST((transaction(f, "tid-fallback").state == scep::Transaction::State::pending));
  BOOST_TEST(f.repo.renewals.empty());
}

BOOST_AUTO_TEST_CASE(pkcs_req_signed_by_a_compromised_certificate_is_refused) {
  using crypto::RevocationReason;
  for (auto reason :
       {RevocationReason::key_compromise, RevocationReason::ca_compromise, RevocationReason::aa_compromise}) {
    BOOST_TEST_CONTEXT(crypto::reason_name(reason)) {
      RenewalFixture f;
      auto old = f.issued(f.pki.client_key);
      f.revoke(old, reason);
      auto r = f.renew(old, f.pki.client_key, f.pki.client_key, "tid-compromised", MessageType::pkcs_req);
      BOOST_TEST(r.status() == "2");
      BOOST_TEST(r.fail_info() == "2", r.fail_text());  // badRequest
      BOOST_TEST(r.fail_text().find(std::string(crypto::reason_name(reason))) != std::string::npos, r.fail_text());
      BOOST_TEST(f.repo.pending.empty());
      BOOST_TEST(f.repo.transactions.empty());
      BOOST_TEST(f.last_audit().outcome == scep::Outcome::failure);
      BOOST_TEST(f.last_audit().detail.find("compromised") != std::string::npos, f.last_audit().detail);
    }
  }
}

// An expired signer: parked, and the pending record and the audit line say
// that the signer did not renew.
BOOST_AUTO_TEST_CASE(pkcs_req_signed_by_an_expired_certificate_notes_it) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key, "P", 1);
  f.clock.advance(std::chrono::days(3));
  auto r = f.renew(old, f.pki.client_key, f.pki.client_key, "tid-expired-signer", MessageType::pkcs_req);
  BOOST_TEST(r.status() == "3", r.fail_text());
  BOOST_REQUIRE(f.repo.pending.size() == 1u);
  BOOST_TEST(f.repo.pending.front().note.find("has expired") != std::string::npos);
  BOOST_TEST(f.last_audit().detail == f.repo.pending.front().note);
}

BOOST_AUTO_TEST_CASE(cert_poll_signed_by_the_old_certificate_finds_the_renewal) {
  RenewalFixture f;
  auto old = f.issued(f.pki.client_key);
  CsrSpec spec;
  auto csr = make_csr(spec, next_key());
  auto renewal = f.signed_by(old, f.pki.client_key, csr, MessageType::renewal_req, "tid-poll");
  require_success(renewal);
  auto fresh = reply_certs(renewal, old, f.pki.client_key).at(0);

  auto r = f.signed_by(old, f.pki.client_key, issuer_and_subject(f.pki.root.cert, csr), MessageType::cert_poll,
                       "tid-poll");
  require_success(r);
  BOOST_TEST((reply_certs(r, old, f.pki.client_key).at(0) == fresh));
  BOOST_TEST(f.last_audit().outcome == scep::Outcome::reissued);
}

BOOST_AUTO_TEST_SUITE_END()
