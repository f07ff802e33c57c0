// PKCSReq that succeeds: what the CertRep and the issued certificate hold,
// and how the reply mirrors the request's algorithms.
#include <boost/test/unit_test.hpp>

#include <openssl/bn.h>

#include "enroll_fixture.hpp"

using namespace enroll_test;
using crypto::ContentCipher;
using crypto::DigestAlg;

BOOST_AUTO_TEST_SUITE(scep_enroll_success)

BOOST_AUTO_TEST_CASE(success_reply_is_a_ca_signed_certrep_echoing_the_request) {
  Fixture f;
  f.add_secret("SECRET-ONE");
  Send s;
  s.transaction_id = "F00DCAFE0123456789ABCDEF";
  s.sender_nonce = nonce_of(16, 0x10);
  auto r = f.exchange(f.csr("SECRET-ONE"), s);
  require_success(r);

  BOOST_REQUIRE(r.sd.signer);
  BOOST_TEST((*r.sd.signer == f.pki.root.cert));
  BOOST_TEST(r.text(scep::oid::message_type) == "3");
  BOOST_TEST((r.attr(scep::oid::message_type)->type == crypto::StringType::printable));
  BOOST_TEST((r.attr(scep::oid::pki_status)->type == crypto::StringType::printable));
  BOOST_TEST(!r.attr(scep::oid::fail_info));
  BOOST_TEST(!r.attr(scep::oid::fail_info_text));
  BOOST_REQUIRE(r.attr(scep::oid::transaction_id));
  BOOST_TEST(r.text(scep::oid::transaction_id) == s.transaction_id);
  BOOST_TEST((r.attr(scep::oid::transaction_id)->type == crypto::StringType::printable));
  BOOST_REQUIRE(r.attr(scep::oid::recipient_nonce));
  BOOST_TEST((r.attr(scep::oid::recipient_nonce)->type == crypto::StringType::octet));
  BOOST_TEST((r.attr(scep::oid::recipient_nonce)->value == s.sender_nonce));
  const auto* sender = r.attr(scep::oid::sender_nonce);
  BOOST_REQUIRE(sender);
  BOOST_TEST((sender->type == crypto::StringType::octet));
  BOOST_TEST(sender->value.size() == 16u);
  BOOST_TEST((sender->value != s.sender_nonce));
  // CMS housekeeping attributes some clients insist on (Windows).
  BOOST_TEST(r.attr("1.2.840.113549.1.9.3"));
  BOOST_TEST(r.attr("1.2.840.113549.1.9.4"));
  BOOST_TEST(r.attr("1.2.840.113549.1.9.5"));

  auto certs = reply_certs(r, f.signer, f.pki.client_key);
  // The issued certificate alone: clients take the first of the SET.
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST((certs[0].public_key() == f.pki.client_key.public_key()));
  BOOST_TEST(f.pki.root.cert.issued(certs[0]));

  // Stored and recorded under the transaction.
  BOOST_TEST(f.repo.certificates.count("main/" + certs[0].serial_hex()) == 1u);
  auto tx = f.repo.transactions.find("main/" + s.transaction_id);
  BOOST_REQUIRE(tx != f.repo.transactions.end());
  BOOST_TEST((tx->second.state == scep::Transaction::State::issued));
  BOOST_TEST(tx->second.serial == certs[0].serial_hex());
  BOOST_TEST(f.uses_left("SECRET-ONE") == 0);
}

BOOST_AUTO_TEST_CASE(success_is_audited_once_with_serial_subject_secret_id_and_policy) {
  Fixture f;
  auto& secret = f.add_secret("AUDITED-SECRET");
  std::string secret_id = secret.id;
  auto cert = f.enroll_ok("AUDITED-SECRET", "tid-audit");
  BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
  const auto& e = f.repo.audit_log.front();
  BOOST_TEST(e.outcome == scep::Outcome::issued);
  BOOST_TEST(e.serial == cert.serial_hex());
  BOOST_TEST(e.fail_info.empty());
  BOOST_TEST(e.ca == "main");
  BOOST_TEST(e.operation == "PKCSReq");
  BOOST_TEST(e.transaction_id == "tid-audit");
  BOOST_TEST(e.subject == "CN=device1,O=Example");
  BOOST_TEST(e.secret_id == secret_id);
  BOOST_TEST(e.policy == "default");
  BOOST_TEST(e.remote == "192.0.2.7");
  BOOST_TEST((e.time == f.clock.now()));
  f.require_secret_never_shown("AUDITED-SECRET");
}

BOOST_AUTO_TEST_CASE(issued_certificate_follows_the_csr_and_the_policy) {
  Fixture f;
  auto& p = f.repo.policies["default"];
  p.validity_days = 30;
  p.key_usage = crypto::ku_digital_signature;
  p.extended_key_usage = {"clientAuth", "serverAuth"};
  f.add_secret("POLICY-SECRET", 2);
  CsrSpec spec;
  spec.subject = "CN=router7,OU=Net,O=Example";
  spec.sans = {"DNS:router7.example.com", "DNS:r7.example.com"};
  auto now = f.clock.now();
  auto cert = f.enroll_ok("POLICY-SECRET", "tid-policy", spec);

  BOOST_TEST(cert.subject() == "CN=router7,OU=Net,O=Example");
  BOOST_TEST(cert.issuer() == f.pki.root.cert.subject());
  BOOST_TEST((cert.not_before() <= now && cert.not_before() >= now - std::chrono::minutes(10)));
  BOOST_TEST((cert.not_after() == now + std::chrono::days(30)));
  BOOST_TEST(cert.key_usage() == unsigned(crypto::ku_digital_signature));
  BOOST_TEST(eku_flags(cert) == std::uint32_t(XKU_SSL_CLIENT | XKU_SSL_SERVER));
  BOOST_TEST(!cert.is_ca());
  BOOST_TEST((X509_get_extension_flags(cert.native()) & EXFLAG_BCONS), "basicConstraints is present");
  BOOST_TEST(!(X509_get_extension_flags(cert.native()) & EXFLAG_CA), "basicConstraints says CA:FALSE");
  std::vector<std::string> sans{"DNS:router7.example.com", "DNS:r7.example.com"};
  BOOST_TEST(cert_sans(cert) == sans, boost::test_tools::per_element());

  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.native());
  crypto::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  BOOST_TEST(!BN_is_negative(bn.get()));
  BOOST_TEST(BN_num_bits(bn.get()) >= 64);

  // A second certificate gets another serial.
  auto other = f.enroll_ok("POLICY-SECRET", "tid-policy-2", spec);
  BOOST_TEST(other.serial_hex() != cert.serial_hex());
}

BOOST_AUTO_TEST_CASE(validity_never_goes_beyond_the_ca_not_after) {
  Fixture f;
  f.repo.policies["default"].validity_days = 36500;
  f.add_secret("LONG-SECRET");
  auto cert = f.enroll_ok("LONG-SECRET", "tid-long");
  BOOST_TEST((cert.not_after() == f.pki.root.cert.not_after()));
}

BOOST_AUTO_TEST_CASE(sender_nonce_is_fresh_and_as_long_as_the_request_nonce) {
  for (std::size_t len : {8u, 16u, 32u}) {
    BOOST_TEST_CONTEXT("nonce length " << len) {
      Fixture f;
      f.add_secret("NONCE-SECRET", 2);
      Send s;
      s.sender_nonce = nonce_of(len, 0x40);
      s.transaction_id = "tid-nonce-a";
      auto a = f.exchange(f.csr("NONCE-SECRET"), s);
      require_success(a);
      s.transaction_id = "tid-nonce-b";
      auto b = f.exchange(f.csr("NONCE-SECRET"), s);
      require_success(b);
      for (const auto* r : {&a, &b}) {
        BOOST_TEST((r->attr(scep::oid::recipient_nonce)->value == s.sender_nonce));
        BOOST_TEST(r->attr(scep::oid::sender_nonce)->value.size() == len);
        BOOST_TEST((r->attr(scep::oid::sender_nonce)->value != s.sender_nonce));
      }
      BOOST_TEST((a.attr(scep::oid::sender_nonce)->value != b.attr(scep::oid::sender_nonce)->value));
    }
  }
}

BOOST_AUTO_TEST_CASE(transaction_id_is_echoed_byte_for_byte_with_its_string_type) {
  struct Case {
    int asn1;
    crypto::StringType type;
    std::string tid;
  };
  const Case cases[] = {{V_ASN1_PRINTABLESTRING, crypto::StringType::printable, "AB 12 (x)"},
                        {V_ASN1_UTF8STRING, crypto::StringType::utf8, "tid-\xC3\xBC-\xE2\x82\xAC"},
                        {V_ASN1_IA5STRING, crypto::StringType::ia5, "tid@example.com"}};
  Fixture f;
  f.add_secret("TID-SECRET", 3);
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("transactionID " << c.tid) {
      auto env = crypto::make_envelope(f.csr("TID-SECRET"), f.pki.root.cert, ContentCipher::aes128_cbc);
      BOOST_REQUIRE(env);
      auto attrs = scep_attrs("19", "unused", nonce_of(16));
      attrs[1] = Attr{std::string(scep::oid::transaction_id), c.asn1, {core::to_bytes(c.tid)}};
      auto der = cms_sign(*env, {{&f.signer, &f.pki.client_key, DigestAlg::sha256, attrs}});
      auto r = open_reply(f.send(der));
      require_success(r);
      const auto* tid = r.attr(scep::oid::transaction_id);
      BOOST_REQUIRE(tid);
      BOOST_TEST((tid->type == c.type));
      BOOST_TEST((tid->value == core::to_bytes(c.tid)));
    }
  }
}

BOOST_AUTO_TEST_CASE(reply_digest_mirrors_the_request_digest) {
  Fixture f;
  f.add_secret("DIGEST-SECRET", 5);
  int n = 0;
  for (auto alg : {DigestAlg::sha1, DigestAlg::sha256, DigestAlg::sha512, DigestAlg::sha224, DigestAlg::sha384}) {
    BOOST_TEST_CONTEXT("digest " << crypto::digest_name(alg)) {
      Send s;
      s.digest = alg;
      s.transaction_id = "tid-digest-" + std::to_string(n++);
      auto r = f.exchange(f.csr("DIGEST-SECRET"), s);
      require_success(r);
      BOOST_REQUIRE(r.sd.digest);
      BOOST_TEST((*r.sd.digest == alg));
      BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(reply_cipher_mirrors_the_request_cipher) {
  Fixture f;
  f.add_secret("CIPHER-SECRET", 4);
  int n = 0;
  for (auto c :
       {ContentCipher::aes128_cbc, ContentCipher::aes256_cbc, ContentCipher::des3_cbc, ContentCipher::aes192_cbc}) {
    BOOST_TEST_CONTEXT("cipher " << crypto::cipher_name(c)) {
      Send s;
      s.cipher = c;
      s.transaction_id = "tid-cipher-" + std::to_string(n++);
      auto r = f.exchange(f.csr("CIPHER-SECRET"), s);
      require_success(r);
      auto env = crypto::Envelope::parse(r.sd.content);
      BOOST_REQUIRE(env);
      BOOST_REQUIRE(env->cipher());
      BOOST_TEST((*env->cipher() == c));
      BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(rsa_oaep_key_transport_is_mirrored_and_pkcs1_stays_pkcs1) {
  Fixture f;
  f.add_secret("OAEP-SECRET", 3);
  Send s;
  s.key_transport = crypto::KeyTransport{true, DigestAlg::sha256};
  s.transaction_id = "tid-oaep";
  auto r = f.exchange(f.csr("OAEP-SECRET"), s);
  require_success(r);
  auto env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  auto kt = env->key_transport(f.signer);
  BOOST_TEST(kt.oaep);
  BOOST_TEST((kt.oaep_digest == DigestAlg::sha256));
  BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);

  s.key_transport = crypto::KeyTransport{true, DigestAlg::sha1};
  s.transaction_id = "tid-oaep-sha1";
  r = f.exchange(f.csr("OAEP-SECRET"), s);
  require_success(r);
  env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  BOOST_TEST(env->key_transport(f.signer).oaep);
  BOOST_TEST((env->key_transport(f.signer).oaep_digest == DigestAlg::sha1));

  s.key_transport = {};
  s.transaction_id = "tid-pkcs1";
  r = f.exchange(f.csr("OAEP-SECRET"), s);
  require_success(r);
  env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  BOOST_TEST(!env->key_transport(f.signer).oaep);
}

BOOST_AUTO_TEST_CASE(ra_mode_replies_are_signed_by_the_ra_for_either_recipient) {
  Fixture f(Fixture::Mode::ra);
  f.add_secret("RA-SECRET", 2);
  int n = 0;
  for (const crypto::Certificate* recipient : {&f.pki.ra.cert, &f.pki.root.cert}) {
    BOOST_TEST_CONTEXT("encrypted to " << recipient->subject()) {
      Send s;
      s.recipient = recipient;
      s.transaction_id = "tid-ra-" + std::to_string(n++);
      auto r = f.exchange(f.csr("RA-SECRET"), s);
      require_success(r);
      BOOST_REQUIRE(r.sd.signer);
      BOOST_TEST((*r.sd.signer == f.pki.ra.cert));
      auto certs = reply_certs(r, f.signer, f.pki.client_key);
      BOOST_REQUIRE(certs.size() == 1u);
      BOOST_TEST(f.pki.root.cert.issued(certs[0]), "issued by the CA, not the RA");
    }
  }
}

BOOST_AUTO_TEST_CASE(without_a_ca_name_the_envelope_recipient_picks_the_ca) {
  Fixture f;
  scep::CaBundle sub{"sub", f.pki.inter.cert, {f.pki.root.cert}, std::nullopt, {}};
  f.repo.add_ca(sub, f.pki.inter.key);
  f.add_secret("SUB-SECRET", 1, "sub");
  Send s;
  s.recipient = &f.pki.inter.cert;
  s.transaction_id = "tid-sub";
  auto r = f.exchange(f.csr("SUB-SECRET"), s, "");
  require_success(r);
  BOOST_REQUIRE(r.sd.signer);
  BOOST_TEST((*r.sd.signer == f.pki.inter.cert));
  auto certs = reply_certs(r, f.signer, f.pki.client_key);
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST(f.pki.inter.cert.issued(certs[0]));
  BOOST_TEST(f.repo.certificates.count("sub/" + certs[0].serial_hex()) == 1u);
  BOOST_REQUIRE(f.repo.audit_log.size() == 1u);
  BOOST_TEST(f.repo.audit_log[0].ca == "sub");
}

BOOST_AUTO_TEST_CASE(challenge_password_in_any_directory_string_type_is_accepted) {
  struct Case {
    int type;
    const char* name;
  };
  const Case cases[] = {{V_ASN1_PRINTABLESTRING, "PrintableString"},
                        {V_ASN1_UTF8STRING, "UTF8String"},
                        {V_ASN1_IA5STRING, "IA5String"},
                        {V_ASN1_BMPSTRING, "BMPString"}};
  Fixture f;
  f.add_secret("TYPED2SECRET", 4);
  int n = 0;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("challengePassword as " << c.name) {
      CsrSpec spec;
      spec.challenge_type = c.type;
      Send s;
      s.transaction_id = "tid-typed-" + std::to_string(n++);
      auto r = f.exchange(f.csr("TYPED2SECRET", spec), s);
      require_success(r);
    }
  }
  BOOST_TEST(f.uses_left("TYPED2SECRET") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
