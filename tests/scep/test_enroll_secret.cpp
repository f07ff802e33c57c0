// PKCSReq and the one-time challenge secret: when it is spent, when it is
// refused (and why, without ever echoing it), and retransmissions.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "enroll_fixture.hpp"

using namespace enroll_test;
using scep::FailInfo;

BOOST_AUTO_TEST_SUITE(scep_enroll_secret)

BOOST_AUTO_TEST_CASE(a_secret_is_spent_once) {
  Fixture f;
  f.add_secret("ONCE-ONLY-SECRET");
  f.enroll_ok("ONCE-ONLY-SECRET", "tid-first");
  BOOST_TEST(f.uses_left("ONCE-ONLY-SECRET") == 0);
  Send s;
  s.transaction_id = "tid-second";
  auto r = f.exchange(f.csr("ONCE-ONLY-SECRET"), s);
  require_failure(r, FailInfo::bad_request, "already been used");
  BOOST_TEST(r.fail_text().find("ONCE-ONLY-SECRET") == std::string::npos);
  BOOST_TEST(r.text(scep::oid::transaction_id) == "tid-second");
  BOOST_TEST(f.repo.certificates.size() == 1u);
  BOOST_TEST(f.repo.transactions.count("main/tid-second") == 0u);
  BOOST_REQUIRE(f.repo.audit_log.size() == 2u);
  BOOST_TEST(f.repo.audit_log[1].outcome == scep::Outcome::failure);
  BOOST_TEST(f.repo.audit_log[1].fail_info == "badRequest");
  BOOST_TEST(f.repo.audit_log[1].serial.empty());
  f.require_secret_never_shown("ONCE-ONLY-SECRET");
}

BOOST_AUTO_TEST_CASE(a_multi_use_secret_counts_down) {
  Fixture f;
  f.add_secret("TWICE-SECRET", 2);
  f.enroll_ok("TWICE-SECRET", "tid-a");
  BOOST_TEST(f.uses_left("TWICE-SECRET") == 1);
  f.enroll_ok("TWICE-SECRET", "tid-b");
  BOOST_TEST(f.uses_left("TWICE-SECRET") == 0);
  Send s;
  s.transaction_id = "tid-c";
  require_failure(f.exchange(f.csr("TWICE-SECRET"), s), FailInfo::bad_request, "already been used");
  BOOST_TEST(f.repo.certificates.size() == 2u);
}

BOOST_AUTO_TEST_CASE(unusable_secrets_are_bad_requests_that_say_why) {
  struct Case {
    const char* name;
    const char* why;
    std::function<void(Fixture&)> setup;
  };
  const std::string secret = "XK7PLQ2MZT4RNVW6";
  const Case cases[] = {
      {"unknown", "unknown challenge password", [](Fixture&) {}},
      {"expired", "expired",
       [&](Fixture& f) {
         f.add_secret(secret).expires = f.clock.now() + std::chrono::hours(1);
         f.clock.advance(std::chrono::hours(2));
       }},
      {"expired at the instant", "expired", [&](Fixture& f) { f.add_secret(secret).expires = f.clock.now(); }},
      {"revoked", "revoked", [&](Fixture& f) { f.add_secret(secret).revoked = true; }},
      {"for another CA", "not valid for this CA", [&](Fixture& f) { f.add_secret(secret, 1, "other"); }},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("secret " << c.name) {
      Fixture f;
      c.setup(f);
      Send s;
      s.transaction_id = "tid-unusable";
      auto r = f.exchange(f.csr(secret), s);
      require_failure(r, FailInfo::bad_request, c.why);
      BOOST_TEST(r.fail_text().find(secret) == std::string::npos);
      BOOST_TEST(f.repo.certificates.empty());
      if (f.repo.secrets.count(core::to_hex(policy::secret_hash(secret)))) BOOST_TEST(f.uses_left(secret) == 1);
      BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
      BOOST_TEST(f.repo.audit_log[0].outcome == scep::Outcome::failure);
      BOOST_TEST(f.repo.audit_log[0].fail_info == "badRequest");
      f.require_secret_never_shown(secret);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_secret_just_before_expiry_still_works) {
  Fixture f;
  f.add_secret("NEARLY-EXPIRED").expires = f.clock.now() + std::chrono::seconds(1);
  f.enroll_ok("NEARLY-EXPIRED", "tid-just-in-time");
}

BOOST_AUTO_TEST_CASE(a_request_without_challenge_is_not_issued) {
  Fixture f;
  f.add_secret("UNUSED-SECRET");
  auto r = f.exchange(make_csr({}, f.pki.client_key));
  BOOST_TEST(r.status() != "0");
  BOOST_TEST(f.repo.certificates.empty());
  BOOST_TEST(f.uses_left("UNUSED-SECRET") == 1);
}

BOOST_AUTO_TEST_CASE(policy_rejections_keep_the_secret_unspent) {
  const std::string secret = "POLICY-REJECT-SECRET";
  struct Case {
    const char* name;
    FailInfo info;
    const char* why;
    std::function<void(Fixture&)> setup;
    std::function<Send(Fixture&)> request;  ///< sets f's signer and returns how to send
    std::function<core::Bytes(Fixture&)> csr;
  };
  auto plain = [&](Fixture& f) { return f.csr(secret); };
  auto as_client = [](Fixture&) { return Send{}; };
  static const crypto::Certificate small_signer = self_signed(small_rsa_key());
  const Case cases[] = {
      {"key below min_rsa_bits", FailInfo::bad_request, "1024", [](Fixture&) {},
       [](Fixture&) {
         Send s;
         s.signer = &small_signer;
         s.key = &small_rsa_key();
         return s;
       },
       [&](Fixture& f) { return f.csr(secret, {}, &small_rsa_key()); }},
      {"subject_regex mismatch", FailInfo::bad_request, "not allowed",
       [](Fixture& f) { f.repo.policies["default"].subject_regex = "CN=device[0-9]+,O=Example"; }, as_client,
       [&](Fixture& f) {
         CsrSpec spec;
         spec.subject = "CN=printer,O=Example";
         return f.csr(secret, spec);
       }},
      {"secret --cn mismatch", FailInfo::bad_request, "CN",
       [&](Fixture& f) { f.repo.secrets[core::to_hex(policy::secret_hash(secret))].common_name = "device9"; },
       as_client, plain},
      {"secret subject_regex mismatch", FailInfo::bad_request, "not allowed",
       [&](Fixture& f) { f.repo.secrets[core::to_hex(policy::secret_hash(secret))].subject_regex = "CN=other"; },
       as_client, plain},
      {"required attribute missing", FailInfo::bad_request, "OU",
       [](Fixture& f) {
         f.repo.policies["default"].required_attributes = {"CN", "OU"};
       },
       as_client, plain},
      {"CSR digest not allowed", FailInfo::bad_alg, "digest",
       [](Fixture& f) { f.repo.policies["default"].allowed_digests = {crypto::DigestAlg::sha512}; }, as_client, plain},
      {"unsupported SAN", FailInfo::bad_request, "subjectAltName", [](Fixture&) {}, as_client,
       [&](Fixture& f) {
         CsrSpec spec;
         spec.sans = {"otherName:someone@example.com"};
         return f.csr(secret, spec);
       }},
      {"CSR signature broken", FailInfo::bad_request, "signature", [](Fixture&) {}, as_client,
       [&](Fixture& f) { return corrupt_last_byte(f.csr(secret)); }},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Fixture f;
      f.add_secret(secret);
      c.setup(f);
      Send s = c.request(f);
      s.transaction_id = "tid-rejected";
      auto r = f.exchange(c.csr(f), s);
      require_failure(r, c.info, c.why);
      BOOST_TEST(r.fail_text().find(secret) == std::string::npos);
      BOOST_TEST(f.uses_left(secret) == 1);
      BOOST_TEST(f.repo.certificates.empty());
      BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
      BOOST_TEST(f.repo.audit_log[0].outcome == scep::Outcome::failure);
      BOOST_TEST(f.repo.audit_log[0].fail_info == std::string(scep::fail_info_name(c.info)));
      f.require_secret_never_shown(secret);
    }
  }
}

// Regression (fixed in bd9aa80): Service::enroll spent the secret before building the
// certificate; when build_certificate failed (EKU "clientAuht", which parse_policy then
// accepted), pki_operation returned an error and the one-time secret was gone.
BOOST_AUTO_TEST_CASE(a_certificate_that_cannot_be_built_does_not_spend_the_secret) {
  Fixture f;
  f.repo.policies["default"].extended_key_usage = {"clientAuht"};  // a typo OpenSSL cannot encode
  f.add_secret("UNBUILDABLE-SECRET");
  Send s;
  s.transaction_id = "tid-unbuildable";
  auto r = f.send(f.build(f.csr("UNBUILDABLE-SECRET"), s));
  if (r) BOOST_TEST(open_reply(r).status() != "0");
  BOOST_TEST(f.repo.certificates.empty());
  BOOST_TEST(f.uses_left("UNBUILDABLE-SECRET") == 1);
}

BOOST_AUTO_TEST_CASE(after_a_policy_rejection_a_corrected_request_can_use_the_secret) {
  Fixture f;
  f.add_secret("SECOND-CHANCE");
  f.repo.policies["default"].subject_regex = "CN=device[0-9]+,O=Example";
  CsrSpec bad;
  bad.subject = "CN=printer,O=Example";
  Send s;
  s.transaction_id = "tid-retry";
  require_failure(f.exchange(f.csr("SECOND-CHANCE", bad), s), FailInfo::bad_request);
  // The same transactionID, now with an acceptable subject.
  auto r = f.exchange(f.csr("SECOND-CHANCE"), s);
  require_success(r);
  BOOST_TEST(f.uses_left("SECOND-CHANCE") == 0);
}

BOOST_AUTO_TEST_CASE(san_match_and_drop_modes_shape_the_issued_certificate) {
  CsrSpec spec;
  spec.sans = {"DNS:a.example.com", "DNS:evil.test"};
  {
    Fixture f;
    auto& p = f.repo.policies["default"];
    p.san_mode = policy::SanMode::match;
    p.san_regex = R"(DNS:.*\.example\.com)";
    f.add_secret("SAN-SECRET");
    auto cert = f.enroll_ok("SAN-SECRET", "tid-san-match", spec);
    BOOST_TEST(cert_sans(cert) == std::vector<std::string>{"DNS:a.example.com"}, boost::test_tools::per_element());
  }
  {
    Fixture f;
    f.repo.policies["default"].san_mode = policy::SanMode::drop;
    f.add_secret("SAN-SECRET");
    auto cert = f.enroll_ok("SAN-SECRET", "tid-san-drop", spec);
    BOOST_TEST(cert_sans(cert).empty());
    BOOST_TEST(X509_get_ext_by_NID(cert.native(), NID_subject_alt_name, -1) < 0);
  }
}

// Issue 15 item 7: a secret bound to a name yields only that name. A
// request asking for more is refused (so the client learns why) and spends
// nothing; the corrected retry on the same transactionID gets the certificate.
BOOST_AUTO_TEST_CASE(a_bound_secret_refuses_extra_names_without_spending_a_use) {
  Fixture f;
  f.add_secret("BOUND-SECRET").common_name = "laptop-17";
  CsrSpec greedy;
  greedy.subject = "CN=laptop-17,O=Corp Admins";
  greedy.sans = {"DNS:laptop-17"};
  Send s;
  s.transaction_id = "tid-bound";
  require_failure(f.exchange(f.csr("BOUND-SECRET", greedy), s), FailInfo::bad_request, "subject attribute O");
  CsrSpec extra;
  extra.subject = "CN=laptop-17";
  extra.sans = {"DNS:laptop-17", "email:move"};
  require_failure(f.exchange(f.csr("BOUND-SECRET", extra), s), FailInfo::bad_request, "email:move");
  BOOST_TEST(f.uses_left("BOUND-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.empty());
  BOOST_REQUIRE(f.repo.audit_log.size() == 2u);
  BOOST_TEST((f.repo.audit_log[1].sans == std::vector<std::string>{"DNS:laptop-17", "email:move"}));

  extra.sans = {"DNS:laptop-17"};
  auto cert = f.enroll_ok("BOUND-SECRET", "tid-bound", extra);
  BOOST_TEST(cert.subject() == "CN=laptop-17");
  BOOST_TEST(cert_sans(cert) == std::vector<std::string>{"DNS:laptop-17"}, boost::test_tools::per_element());
  BOOST_TEST(f.uses_left("BOUND-SECRET") == 0);
}

BOOST_AUTO_TEST_CASE(message_signed_with_another_key_than_the_csr_is_a_bad_message_check) {
  Fixture f;
  f.add_secret("SIGNER-SECRET");
  auto other_signer = self_signed(f.pki.inter.key, "CN=someone else");
  Send s;
  s.signer = &other_signer;
  s.key = &f.pki.inter.key;
  auto r = f.exchange(f.csr("SIGNER-SECRET"), s);  // CSR on the client key
  require_failure(r, FailInfo::bad_message_check);
  BOOST_TEST(f.uses_left("SIGNER-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(a_retransmitted_pkcsreq_gets_the_same_certificate_without_another_use) {
  Fixture f;
  f.add_secret("RETRANSMIT-SECRET", 2);
  Send s;
  s.transaction_id = "tid-retransmit";
  auto request = f.build(f.csr("RETRANSMIT-SECRET"), s);
  auto first = open_reply(f.send(request));
  require_success(first);
  auto cert = reply_certs(first, f.signer, f.pki.client_key).at(0);
  BOOST_TEST(f.uses_left("RETRANSMIT-SECRET") == 1);

  // The very same bytes (micromdm, certmonger) ...
  auto again = open_reply(f.send(request));
  require_success(again);
  auto certs = reply_certs(again, f.signer, f.pki.client_key);
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST((certs[0] == cert));
  // ... and a rebuilt message with a new nonce and a new CSR on the same key.
  s.sender_nonce = nonce_of(16, 0x77);
  auto rebuilt = f.exchange(f.csr("RETRANSMIT-SECRET"), s);
  require_success(rebuilt);
  BOOST_TEST((rebuilt.attr(scep::oid::recipient_nonce)->value == s.sender_nonce));
  BOOST_TEST((reply_certs(rebuilt, f.signer, f.pki.client_key).at(0) == cert));

  BOOST_TEST(f.uses_left("RETRANSMIT-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.size() == 1u);
  BOOST_REQUIRE(f.repo.audit_log.size() == 3u);
  BOOST_TEST(f.repo.audit_log[0].outcome == scep::Outcome::issued);
  for (int i : {1, 2}) {
    BOOST_TEST(f.repo.audit_log[i].outcome == scep::Outcome::reissued);
    BOOST_TEST(f.repo.audit_log[i].serial == cert.serial_hex());
  }
}

BOOST_AUTO_TEST_CASE(the_same_transaction_id_with_another_key_is_refused) {
  Fixture f;
  f.add_secret("SHARED-TID-SECRET", 2);
  f.enroll_ok("SHARED-TID-SECRET", "tid-shared");
  auto intruder = self_signed(f.pki.inter.key, "CN=intruder");
  Send s;
  s.transaction_id = "tid-shared";
  s.signer = &intruder;
  s.key = &f.pki.inter.key;
  auto r = f.exchange(f.csr("SHARED-TID-SECRET", {}, &f.pki.inter.key), s);
  require_failure(r, FailInfo::bad_request, "another key");
  BOOST_TEST(f.uses_left("SHARED-TID-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.size() == 1u);
  BOOST_REQUIRE(f.repo.audit_log.size() == 2u);
  BOOST_TEST(f.repo.audit_log[1].outcome == scep::Outcome::failure);
  BOOST_TEST(f.repo.audit_log[1].serial.empty());
}

// A client's retry racing its first try (found by test_concurrency_mixed.sh:
// the retry was told the secret had been used). Each request decides under
// its transaction's lock; the test holds that lock so both tries wait at it,
// then lets them race.
BOOST_AUTO_TEST_CASE(a_retry_racing_its_first_try_gets_the_same_certificate) {
  Fixture f;
  f.add_secret("RACED-RETRY-SECRET", 2);
  Send raced;
  raced.transaction_id = "tid-raced";
  core::Bytes der = f.build(f.csr("RACED-RETRY-SECRET"), raced);
  testing::CountingRng rng2{98765};
  scep::Service second(f.repo.backend(), f.clock, rng2);
  core::Result<core::Bytes> first_reply = core::fail(core::Errc::internal, "not sent"), second_reply = first_reply;
  std::atomic<int> finished{0};
  std::jthread a, b;
  {
    auto held = f.repo.lock_transaction("main", "tid-raced");
    BOOST_REQUIRE(held);
    a = std::jthread([&] {
      first_reply = f.send(der);
      ++finished;
    });
    b = std::jthread([&] {
      second_reply = second.pki_operation("main", der, "192.0.2.7");
      ++finished;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    BOOST_TEST(finished.load() == 0, "a request was decided while its transaction was locked");
  }
  a.join();
  b.join();
  Reply r1 = open_reply(first_reply), r2 = open_reply(second_reply);
  require_success(r1);
  require_success(r2);
  auto c1 = reply_certs(r1, f.signer, f.pki.client_key), c2 = reply_certs(r2, f.signer, f.pki.client_key);
  BOOST_REQUIRE(!c1.empty());
  BOOST_REQUIRE(!c2.empty());
  BOOST_TEST(c1.front().serial_hex() == c2.front().serial_hex());
  BOOST_TEST(f.repo.certificates.size() == 1u);
  BOOST_TEST(f.uses_left("RACED-RETRY-SECRET") == 1, "the retry spent a second use");
}

// `scepctl pending` lists from what was read when the request was parked:
// with 10,000 requests, decoding each public key again took ~1 s.
BOOST_AUTO_TEST_CASE(a_parked_request_keeps_its_subject_sans_and_key) {
  Fixture f;
  CsrSpec spec;
  spec.sans = {"DNS:phone.example.com"};
  spec.challenge = std::nullopt;
  Send s;
  s.transaction_id = "tid-parked";
  auto r = f.exchange(make_csr(spec, f.pki.client_key), s);
  BOOST_TEST(r.status() == "3", "pkiStatus " << r.status() << ": " << r.fail_text());
  BOOST_REQUIRE(f.repo.pending.size() == 1u);
  const auto& p = f.repo.pending.front();
  BOOST_TEST(p.subject == "CN=device1,O=Example");
  BOOST_TEST((p.sans == std::vector<std::string>{"DNS:phone.example.com"}));
  BOOST_TEST(p.key == f.pki.client_key.public_key().description());
}

BOOST_AUTO_TEST_SUITE_END()
