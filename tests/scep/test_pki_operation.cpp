// PKIOperation outside the happy path: broken or refused messages become a
// signed FAILURE when a reply can be signed, and an error when it cannot;
// CertPoll; one audit event per answered operation.
#include <boost/test/unit_test.hpp>

#include <functional>

#include "enroll_fixture.hpp"

using namespace enroll_test;
using crypto::ContentCipher;
using crypto::DigestAlg;
using scep::FailInfo;

namespace {

config::CaOptions legacy_on() {
  config::CaOptions o;
  o.legacy_algorithms = true;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_pki_operation)

BOOST_AUTO_TEST_CASE(a_broken_outer_signature_gets_a_signed_bad_message_check) {
  Fixture f;
  f.add_secret("SIG-SECRET");
  Send s;
  s.transaction_id = "tid-badsig";
  auto der = f.build(f.csr("SIG-SECRET"), s);
  der.back() ^= 0x5a;  // the last field of the (only) SignerInfo is its signature
  auto r = open_reply(f.send(der));
  require_failure(r, FailInfo::bad_message_check);
  BOOST_REQUIRE(r.sd.signer);
  BOOST_TEST((*r.sd.signer == f.pki.root.cert));
  BOOST_TEST(r.text(scep::oid::transaction_id) == "tid-badsig");
  BOOST_TEST((r.attr(scep::oid::recipient_nonce)->value == s.sender_nonce));
  BOOST_TEST((r.attr(scep::oid::fail_info)->type == crypto::StringType::printable));
  BOOST_TEST((r.attr(scep::oid::fail_info_text)->type == crypto::StringType::utf8));
  BOOST_TEST(f.uses_left("SIG-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.empty());
  BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
  BOOST_TEST(f.repo.audit_log[0].outcome == scep::Outcome::failure);
  BOOST_TEST(f.repo.audit_log[0].fail_info == "badMessageCheck");
}

BOOST_AUTO_TEST_CASE(des_cbc_is_bad_alg_unless_legacy_algorithms_are_on) {
  crypto::enable_legacy_algorithms();  // so that the test client can encrypt with DES at all
  Send s;
  s.cipher = ContentCipher::des_cbc;
  s.transaction_id = "tid-des";
  {
    Fixture f;
    f.add_secret("DES-SECRET");
    auto r = f.exchange(f.csr("DES-SECRET"), s);
    require_failure(r, FailInfo::bad_alg, "DES");
    BOOST_TEST(f.uses_left("DES-SECRET") == 1);
    BOOST_TEST(f.repo.certificates.empty());
  }
  {
    Fixture f(Fixture::Mode::ca, legacy_on());
    f.add_secret("DES-SECRET");
    auto r = f.exchange(f.csr("DES-SECRET"), s);
    require_success(r);
    auto env = crypto::Envelope::parse(r.sd.content);
    BOOST_REQUIRE(env);
    BOOST_TEST((env->cipher() == std::optional(ContentCipher::des_cbc)));
    BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(md5_is_bad_alg_unless_legacy_algorithms_are_on) {
  Send s;
  s.digest = DigestAlg::md5;
  s.transaction_id = "tid-md5";
  {
    Fixture f;
    f.add_secret("MD5-SECRET");
    auto r = f.exchange(f.csr("MD5-SECRET"), s);
    require_failure(r, FailInfo::bad_alg, "MD5");
    BOOST_REQUIRE(r.sd.digest);
    BOOST_TEST((*r.sd.digest != DigestAlg::md5), "a refused digest is not used for the reply");
    BOOST_TEST(f.uses_left("MD5-SECRET") == 1);
  }
  {
    Fixture f(Fixture::Mode::ca, legacy_on());
    f.add_secret("MD5-SECRET");
    auto r = f.exchange(f.csr("MD5-SECRET"), s);
    require_success(r);
    BOOST_REQUIRE(r.sd.digest);
    BOOST_TEST((*r.sd.digest == DigestAlg::md5));
  }
}

// RFC 8894 §3.2.1.4: badMessageCheck is for a signature that fails; a
// message the CA cannot open is a badRequest.
BOOST_AUTO_TEST_CASE(an_envelope_for_another_recipient_is_a_bad_request) {
  for (std::string_view hint : {"main", ""}) {
    BOOST_TEST_CONTEXT("CA name \"" << hint << "\"") {
      Fixture f;
      f.add_secret("ELSEWHERE-SECRET");
      Send s;
      s.recipient = &f.pki.inter.cert;
      s.transaction_id = "tid-elsewhere";
      auto r = f.exchange(f.csr("ELSEWHERE-SECRET"), s, hint);
      require_failure(r, FailInfo::bad_request, "not encrypted to this CA");
      BOOST_TEST((*r.sd.signer == f.pki.root.cert));
      BOOST_TEST(f.uses_left("ELSEWHERE-SECRET") == 1);
      BOOST_TEST(f.repo.audit_log.size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(content_that_is_not_an_envelope_is_refused) {
  Fixture f;
  f.add_secret("BARE-SECRET");
  auto der = cms_sign(f.csr("BARE-SECRET"),
                      {{&f.signer, &f.pki.client_key, DigestAlg::sha256, scep_attrs("19", "tid-bare", nonce_of(16))}});
  auto r = open_reply(f.send(der));
  require_failure(r, FailInfo::bad_request);
  BOOST_TEST(f.uses_left("BARE-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(messages_that_cannot_be_answered_are_malformed_errors) {
  Fixture f;
  f.add_secret("MALFORMED-SECRET", 5);
  auto env = crypto::make_envelope(f.csr("MALFORMED-SECRET"), f.pki.root.cert, ContentCipher::aes128_cbc);
  BOOST_REQUIRE(env);
  auto client = [&](std::vector<Attr> attrs) {
    return SignerSpec{&f.signer, &f.pki.client_key, DigestAlg::sha256, std::move(attrs)};
  };
  auto without = [](std::vector<Attr> attrs, std::string_view oid) {
    std::erase_if(attrs, [&](const Attr& a) { return a.oid == oid; });
    return attrs;
  };
  auto good = scep_attrs("19", "tid-malformed", nonce_of(16));
  auto replaced = [&](std::size_t i, Attr a) {
    auto attrs = good;
    attrs[i] = std::move(a);
    return attrs;
  };
  auto other_signer = self_signed(f.pki.inter.key, "CN=second signer");
  SignerSpec second{&other_signer, &f.pki.inter.key, DigestAlg::sha256, good};
  SignerSpec no_cert = client(good);
  no_cert.include_cert = false;
  auto valid = cms_sign(*env, {client(good)});
  auto trailing = valid;
  trailing.push_back(0x00);
  auto with_dup = good;
  with_dup.push_back(printable(scep::oid::transaction_id, "tid-other"));

  struct Case {
    const char* name;
    core::Bytes der;
  };
  const Case cases[] = {
      {"no transactionID", cms_sign(*env, {client(without(good, scep::oid::transaction_id))})},
      {"no senderNonce", cms_sign(*env, {client(without(good, scep::oid::sender_nonce))})},
      {"no messageType", cms_sign(*env, {client(without(good, scep::oid::message_type))})},
      {"two transactionID attributes", cms_sign(*env, {client(with_dup)})},
      {"a transactionID with two values",
       cms_sign(*env, {client(replaced(1, {std::string(scep::oid::transaction_id),
                                           V_ASN1_PRINTABLESTRING,
                                           {core::to_bytes("a"), core::to_bytes("b")}}))})},
      {"an empty transactionID", cms_sign(*env, {client(replaced(1, printable(scep::oid::transaction_id, "")))})},
      {"a transactionID of 4097 characters",
       cms_sign(*env, {client(replaced(1, printable(scep::oid::transaction_id, std::string(4097, 'T'))))})},
      {"an empty senderNonce", cms_sign(*env, {client(replaced(2, octets(scep::oid::sender_nonce, {})))})},
      {"a senderNonce of 4097 bytes",
       cms_sign(*env, {client(replaced(2, octets(scep::oid::sender_nonce, core::Bytes(4097, 0x5a))))})},
      {"a PrintableString senderNonce",
       cms_sign(*env, {client(replaced(2, printable(scep::oid::sender_nonce, "0123456789abcdef")))})},
      {"an OCTET STRING transactionID",
       cms_sign(*env, {client(replaced(1, octets(scep::oid::transaction_id, core::to_bytes("tid"))))})},
      {"an OCTET STRING messageType",
       cms_sign(*env, {client(replaced(0, octets(scep::oid::message_type, core::to_bytes("19"))))})},
      {"a five-character messageType",
       cms_sign(*env, {client(replaced(0, printable(scep::oid::message_type, "00019")))})},
      {"two signers", cms_sign(*env, {client(good), second})},
      {"trailing bytes", trailing},
      {"junk", core::to_bytes("this is not DER at all")},
      {"nothing", {}},
      {"half a message", core::Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(valid.size() / 2))},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto r = f.send(c.der);
      BOOST_REQUIRE_MESSAGE(!r, "answered instead of refused");
      BOOST_TEST((r.error().code == core::Errc::malformed_request),
                 "code " << core::errc_name(r.error().code) << ": " << r.error().detail);
    }
  }
  // The signer certificate must be in the message: without it nothing is issued.
  auto r = f.send(cms_sign(*env, {no_cert}));
  BOOST_TEST((!r || open_reply(r).status() != "0"));

  BOOST_TEST(f.uses_left("MALFORMED-SECRET") == 5);
  BOOST_TEST(f.repo.certificates.empty());
  // The untouched message is fine: the cases above failed for their own reason.
  auto ok = open_reply(f.send(valid));
  require_success(ok);
}

BOOST_AUTO_TEST_CASE(limits_on_transaction_id_and_nonce_are_inclusive) {
  Fixture f;
  f.add_secret("LIMIT-SECRET", 2);
  Send s;
  s.transaction_id = std::string(128, 'T');
  require_success(f.exchange(f.csr("LIMIT-SECRET"), s));
  s.transaction_id = "tid-nonce-64";
  s.sender_nonce = nonce_of(64);
  auto r = f.exchange(f.csr("LIMIT-SECRET"), s);
  require_success(r);
  BOOST_TEST(r.attr(scep::oid::sender_nonce)->value.size() == 64u);
}

// One past the limits: a signed FAILURE badRequest that echoes both, and
// nothing spent.
BOOST_AUTO_TEST_CASE(a_transaction_id_or_nonce_past_the_limit_is_a_bad_request) {
  Fixture f;
  f.add_secret("PAST-SECRET", 1);
  Send s;
  s.transaction_id = std::string(129, 'T');
  auto r = f.exchange(f.csr("PAST-SECRET"), s);
  require_failure(r, FailInfo::bad_request, "transactionID");
  BOOST_TEST(r.text(scep::oid::transaction_id) == s.transaction_id);
  s.transaction_id = "tid-nonce-65";
  s.sender_nonce = nonce_of(65);
  r = f.exchange(f.csr("PAST-SECRET"), s);
  require_failure(r, FailInfo::bad_request, "senderNonce");
  BOOST_TEST(f.uses_left("PAST-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(an_unknown_message_type_is_a_bad_request) {
  Fixture f;
  f.add_secret("TYPE-SECRET");
  auto env = crypto::make_envelope(f.csr("TYPE-SECRET"), f.pki.root.cert, ContentCipher::aes128_cbc);
  BOOST_REQUIRE(env);
  int n = 0;
  for (std::string type : {"18", "99", "x"}) {
    BOOST_TEST_CONTEXT("messageType " << type) {
      std::string tid = "tid-type-" + std::to_string(n++);
      auto r = open_reply(f.send(
          cms_sign(*env, {{&f.signer, &f.pki.client_key, DigestAlg::sha256, scep_attrs(type, tid, nonce_of(16))}})));
      require_failure(r, FailInfo::bad_request);
      BOOST_TEST(r.text(scep::oid::transaction_id) == tid);
      BOOST_TEST(f.repo.audit_log.back().operation == type);
      BOOST_TEST(f.repo.audit_log.back().fail_info == "badRequest");
    }
  }
  BOOST_TEST(f.repo.audit_log.size() == 3u);
  BOOST_TEST(f.uses_left("TYPE-SECRET") == 1);
}

BOOST_AUTO_TEST_CASE(an_unknown_ca_name_is_an_error) {
  Fixture f;
  f.add_secret("CA-SECRET");
  auto r = f.send(f.build(f.csr("CA-SECRET")), "nosuchca");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == core::Errc::unknown_ca));
  BOOST_TEST(f.uses_left("CA-SECRET") == 1);
}

BOOST_AUTO_TEST_CASE(cert_poll_for_an_unknown_transaction_is_bad_cert_id) {
  Fixture f;
  Send s;
  s.type = scep::MessageType::cert_poll;
  s.transaction_id = "tid-never-seen";
  auto r = f.exchange(issuer_and_subject(f.pki.root.cert, f.csr("x")), s);
  require_failure(r, FailInfo::bad_cert_id);
  BOOST_TEST(r.text(scep::oid::transaction_id) == "tid-never-seen");
  BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
  BOOST_TEST(f.repo.audit_log[0].operation == "CertPoll");
  BOOST_TEST(f.repo.audit_log[0].fail_info == "badCertId");
}

BOOST_AUTO_TEST_CASE(cert_poll_for_an_issued_transaction_returns_the_certificate) {
  Fixture f;
  f.add_secret("POLL-SECRET", 2);
  auto csr = f.csr("POLL-SECRET");
  Send s;
  s.transaction_id = "tid-poll";
  auto first = f.exchange(csr, s);
  require_success(first);
  auto cert = reply_certs(first, f.signer, f.pki.client_key).at(0);

  s.type = scep::MessageType::cert_poll;
  s.sender_nonce = nonce_of(16, 0x30);
  auto r = f.exchange(issuer_and_subject(f.pki.root.cert, csr), s);
  require_success(r);
  BOOST_TEST((r.attr(scep::oid::recipient_nonce)->value == s.sender_nonce));
  auto certs = reply_certs(r, f.signer, f.pki.client_key);
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST((certs[0] == cert));
  BOOST_TEST(f.uses_left("POLL-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.size() == 1u);
  BOOST_REQUIRE(f.repo.audit_log.size() == 2u);
  BOOST_TEST(f.repo.audit_log[1].operation == "CertPoll");
  BOOST_TEST(f.repo.audit_log[1].outcome == scep::Outcome::reissued);
  BOOST_TEST(f.repo.audit_log[1].serial == cert.serial_hex());

  // Someone else polling the same transactionID gets nothing.
  auto intruder = self_signed(f.pki.inter.key, "CN=intruder");
  s.signer = &intruder;
  s.key = &f.pki.inter.key;
  auto denied = f.exchange(issuer_and_subject(f.pki.root.cert, csr), s);
  require_failure(denied, FailInfo::bad_request);
}

BOOST_AUTO_TEST_CASE(every_answered_operation_is_audited_exactly_once) {
  Fixture f;
  f.add_secret("AUDIT-SEQ-SECRET", 1);
  f.add_secret("REVOKED-SEQ-SECRET").revoked = true;
  struct Step {
    const char* name;
    std::function<core::Result<core::Bytes>()> run;
    scep::Outcome outcome;
    const char* fail_info;
    bool answered = true;
  };
  auto csr = f.csr("AUDIT-SEQ-SECRET");
  auto send = [&](core::Bytes data, std::string tid, scep::MessageType type = scep::MessageType::pkcs_req) {
    Send s;
    s.transaction_id = std::move(tid);
    s.type = type;
    return f.send(f.build(data, s));
  };
  const Step steps[] = {
      {"issue", [&] { return send(csr, "seq-1"); }, scep::Outcome::issued, ""},
      {"retransmit", [&] { return send(csr, "seq-1"); }, scep::Outcome::reissued, ""},
      {"spent secret", [&] { return send(f.csr("AUDIT-SEQ-SECRET"), "seq-2"); }, scep::Outcome::failure, "badRequest"},
      {"revoked secret", [&] { return send(f.csr("REVOKED-SEQ-SECRET"), "seq-3"); }, scep::Outcome::failure,
       "badRequest"},
      {"poll unknown",
       [&] { return send(issuer_and_subject(f.pki.root.cert, csr), "seq-4", scep::MessageType::cert_poll); },
       scep::Outcome::failure, "badCertId"},
      {"poll issued",
       [&] { return send(issuer_and_subject(f.pki.root.cert, csr), "seq-1", scep::MessageType::cert_poll); },
       scep::Outcome::reissued, ""},
      {"junk", [&] { return f.send(core::to_bytes("junk")); }, scep::Outcome::error, "", false},
  };
  std::size_t expected = 0;
  for (const auto& step : steps) {
    BOOST_TEST_CONTEXT(step.name) {
      auto r = step.run();
      BOOST_TEST(bool(r) == step.answered);
      if (!step.answered) {  // no decision was made; at most one line either way
        BOOST_TEST(f.repo.audit_log.size() <= expected + 1);
        expected = f.repo.audit_log.size();
        continue;
      }
      BOOST_REQUIRE(f.repo.audit_log.size() == ++expected);
      const auto& e = f.repo.audit_log.back();
      BOOST_TEST(e.outcome == step.outcome);
      BOOST_TEST(e.fail_info == step.fail_info);
      bool has_serial = std::string_view(step.fail_info).empty();
      BOOST_TEST(e.serial.empty() == !has_serial);
      auto reply = open_reply(r);
      BOOST_TEST(reply.status() == (has_serial ? "0" : "2"));
    }
  }
  BOOST_TEST(f.repo.audit_log[0].serial == f.repo.audit_log[1].serial);
  f.require_secret_never_shown("AUDIT-SEQ-SECRET");
  f.require_secret_never_shown("REVOKED-SEQ-SECRET");
}

BOOST_AUTO_TEST_SUITE_END()
