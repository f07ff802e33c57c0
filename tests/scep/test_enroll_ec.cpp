// An EC P-256 CA with an RSA RA (issue 19): the RA decrypts and signs the
// CertReps, the EC CA signs certificates and CRLs; an EC CA without an RSA
// RA is refused (Errc::unavailable), never answered half-way.
#include <boost/test/unit_test.hpp>

#include <openssl/x509.h>

#include "crypto/crl.hpp"
#include "enroll_fixture.hpp"
#include "scep/manual.hpp"

using namespace enroll_test;

namespace {

struct EcFixture : Fixture {
  EcFixture() : Fixture(Mode::ec_ra) {}

  Send to_ra(std::string tid) {
    Send s;
    s.recipient = &pki.ec_ra.cert;
    s.transaction_id = std::move(tid);
    return s;
  }
};

/// The same CA with its RA gone, as a store edited by hand would have it.
struct EcWithoutRa : Fixture {
  EcWithoutRa() : Fixture(Mode::ec_ra) {
    repo.cas.front().ra.reset();
    repo.keys.erase("main/ra");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_enroll_ec)

BOOST_AUTO_TEST_CASE(get_ca_cert_sends_the_rsa_ra_and_the_ec_ca) {
  EcFixture f;
  auto reply = f.svc.get_ca_cert("main");
  BOOST_REQUIRE_MESSAGE(reply, (reply ? "" : reply.error().detail));
  BOOST_TEST((reply->kind == scep::CaCertKind::bundle));
  auto certs = crypto::certificates_of_pkcs7(reply->body);
  BOOST_REQUIRE(certs);
  BOOST_REQUIRE(certs->size() == 2u);
  // A DER SET OF: in byte order, not RA first (clients pick by key usage).
  const auto& ra = (*certs)[0].public_key().is_rsa() ? (*certs)[0] : (*certs)[1];
  const auto& ca = (*certs)[0].public_key().is_rsa() ? (*certs)[1] : (*certs)[0];
  BOOST_TEST((ra == f.pki.ec_ra.cert));
  BOOST_TEST((ca == f.pki.ec_root.cert));
  BOOST_TEST(ca.public_key().description() == "EC 256");
}

BOOST_AUTO_TEST_CASE(the_ra_signs_the_certrep_and_the_ec_ca_the_certificate) {
  EcFixture f;
  f.add_secret("ec-secret");
  auto r = f.exchange(f.csr("ec-secret"), f.to_ra("tid-ec-1"));
  require_success(r);
  BOOST_REQUIRE(r.sd.signer);
  BOOST_TEST((*r.sd.signer == f.pki.ec_ra.cert), "the CertRep is signed by the RA, not the EC CA");
  auto certs = reply_certs(r, f.signer, f.pki.client_key);
  BOOST_REQUIRE(!certs.empty());
  const auto& cert = certs.front();
  BOOST_TEST(f.pki.ec_root.cert.issued(cert));
  BOOST_TEST(cert.issuer() == f.pki.ec_root.cert.subject());
  BOOST_TEST(X509_get_signature_nid(cert.native()) == NID_ecdsa_with_SHA256);
  BOOST_TEST(cert.public_key().is_rsa(), "the client's own key stays RSA");
}

BOOST_AUTO_TEST_CASE(a_request_encrypted_to_the_ec_ca_itself_gets_a_signed_failure) {
  // OpenSSL's CMS encrypts to an EC certificate by key agreement (ECDH);
  // the service decrypts only with the RA's RSA key.
  EcFixture f;
  f.add_secret("ec-secret");
  Send s = f.to_ra("tid-ec-wrong");
  s.recipient = &f.pki.ec_root.cert;
  auto r = f.exchange(f.csr("ec-secret"), s);
  BOOST_TEST(r.status() == "2", "pkiStatus " << r.status() << " " << r.fail_text());
  // Refused before any key is used: the EC CA key is no recipient at all
  // (it signs, it never decrypts), not tried and found wanting.
  BOOST_TEST(r.fail_text().find("not encrypted to this CA") != std::string::npos, r.fail_text());
  BOOST_REQUIRE(r.sd.signer);
  BOOST_TEST((*r.sd.signer == f.pki.ec_ra.cert));
  BOOST_TEST(f.uses_left("ec-secret") == 1, "nothing was spent");
}

BOOST_AUTO_TEST_CASE(crls_are_signed_by_the_ec_ca_over_http_and_pkioperation) {
  EcFixture f;
  auto der = f.svc.get_crl("main");
  BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
  auto crl = crypto::Crl::parse(*der);
  BOOST_REQUIRE(crl);
  BOOST_TEST(crl->verify(f.pki.ec_root.cert));
  BOOST_TEST(X509_CRL_get_signature_nid(crl->native()) == NID_ecdsa_with_SHA256);

  auto ias = crypto::encode_issuer_and_serial(f.pki.ec_root.cert, "01");
  BOOST_REQUIRE(ias);
  Send s = f.to_ra("tid-ec-crl");
  s.type = scep::MessageType::get_crl;
  auto r = f.exchange(*ias, s);
  require_success(r);
  BOOST_TEST((*r.sd.signer == f.pki.ec_ra.cert));
  auto env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  auto plain = env->decrypt(f.signer, f.pki.client_key);
  BOOST_REQUIRE(plain);
  auto crls = crypto::crls_of_pkcs7(*plain);
  BOOST_REQUIRE(crls);
  BOOST_REQUIRE(crls->size() == 1u);
  auto sent = crypto::Crl::parse(crls->front());
  BOOST_REQUIRE(sent);
  BOOST_TEST(sent->verify(f.pki.ec_root.cert));
}

BOOST_AUTO_TEST_CASE(an_ec_ca_without_an_rsa_ra_is_unavailable_and_says_what_to_run) {
  EcWithoutRa f;
  auto expect_unavailable = [](const auto& r, std::string_view what) {
    BOOST_TEST_CONTEXT(what) {
      BOOST_REQUIRE(!r);
      BOOST_TEST((r.error().code == core::Errc::unavailable));
      BOOST_TEST(r.error().detail.find("scepctl ra create main") != std::string::npos, r.error().detail);
    }
  };
  expect_unavailable(f.svc.get_ca_cert("main"), "GetCACert");
  expect_unavailable(f.svc.get_ca_chain("main"), "GetCACertChain");
  // What a client might send anyway (to an RA it saw before, say).
  f.add_secret("ec-secret");
  Send s;
  s.recipient = &f.pki.ec_ra.cert;
  s.transaction_id = "tid-ec-no-ra";
  expect_unavailable(f.send(f.build(f.csr("ec-secret"), s)), "PKIOperation");
  BOOST_TEST(f.uses_left("ec-secret") == 1, "nothing was spent");
  auto problem = f.svc.health();
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->reason.find("main") != std::string::npos);
  // The CRL needs only the CA key: still served.
  BOOST_TEST(f.svc.get_crl("main").has_value());
}

BOOST_AUTO_TEST_CASE(an_ec_ca_without_an_rsa_ra_approves_nothing_its_device_cannot_collect) {
  EcWithoutRa f;
  scep::PendingRequest p{.ca = "main",
                         .transaction_id = "tid-ec-parked",
                         .csr_der = f.csr(""),
                         .created = f.clock.now()};
  auto approved = scep::approve(f.repo.backend(), f.clock, f.rng, p, "P");
  BOOST_REQUIRE(!approved);
  BOOST_TEST((approved.error().code == core::Errc::unavailable));
  BOOST_TEST(f.repo.certificates.empty(), "no certificate was issued");
}

BOOST_AUTO_TEST_CASE(an_rsa_ca_is_servable_without_an_ra) {
  Fixture f;
  BOOST_TEST(scep::check_servable(f.repo.cas.front()).has_value());
  BOOST_TEST(!f.svc.health());
}

BOOST_AUTO_TEST_SUITE_END()
