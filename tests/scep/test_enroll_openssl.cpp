// Enrollment with parts made by another encoder: CSRs from `openssl req`,
// envelopes from `openssl cms -encrypt`, and our replies opened by `openssl cms`.
// Our builder round-tripping its own output could hide symmetric bugs.
#include <boost/test/unit_test.hpp>

#include "enroll_fixture.hpp"

using namespace enroll_test;
using crypto::ContentCipher;
using crypto::DigestAlg;

namespace {

/// A temp dir holding the client key, its self-signed signer cert and the CA cert.
struct OpensslDir {
  testing::TempDir tmp;
  explicit OpensslDir(const Fixture& f) {
    write_file(path() / "key.pem", f.pki.client_key.to_pem());
    write_file(path() / "signer.pem", f.signer.pem());
    write_file(path() / "ca.pem", f.pki.root.cert.pem());
    write_file(path() / "ra.pem", f.pki.ra.cert.pem());
  }
  const std::filesystem::path& path() const { return tmp.path(); }
  void run(const std::string& args) const { openssl(path(), args); }
  core::Bytes read(const std::string& name) const { return read_file(path() / name); }
};

/// `openssl req` with a config file: UTF8String challengePassword, SANs as an extension request.
core::Bytes openssl_csr(const OpensslDir& dir, const std::string& challenge, const std::string& sign_opts = "-sha256") {
  write_file(dir.path() / "req.cnf",
             "[req]\n"
             "prompt = no\n"
             "distinguished_name = dn\n"
             "attributes = attrs\n"
             "req_extensions = ext\n"
             "string_mask = utf8only\n"
             "[dn]\n"
             "CN = ossl-device\n"
             "O = Example Org\n"
             "[attrs]\n"
             "challengePassword = " +
                 challenge +
                 "\n"
                 "[ext]\n"
                 "subjectAltName = DNS:ossl.example.com,IP:192.0.2.44\n");
  dir.run("req -new -config req.cnf -key key.pem " + sign_opts + " -outform DER -out csr.der");
  return dir.read("csr.der");
}

int challenge_asn1_type(const core::Bytes& der) {
  const unsigned char* p = der.data();
  crypto::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  BOOST_REQUIRE(req);
  int idx = X509_REQ_get_attr_by_NID(req.get(), NID_pkcs9_challengePassword, -1);
  BOOST_REQUIRE(idx >= 0);
  ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(req.get(), idx), 0);
  BOOST_REQUIRE(t);
  return t->type;
}

core::Bytes sign_pkcsreq(const Fixture& f, const core::Bytes& envelope, const std::string& tid) {
  return cms_sign(envelope, {{&f.signer, &f.pki.client_key, DigestAlg::sha256, scep_attrs("19", tid, nonce_of(16))}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_enroll_openssl)

BOOST_AUTO_TEST_CASE(an_openssl_req_csr_with_a_utf8_challenge_is_issued) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("Ossl-Utf8-Secret-42");
  auto csr = openssl_csr(dir, "Ossl-Utf8-Secret-42");
  BOOST_TEST(challenge_asn1_type(csr) == V_ASN1_UTF8STRING);
  Send s;
  s.transaction_id = "tid-ossl-req";
  auto r = f.exchange(csr, s);
  require_success(r);
  auto certs = reply_certs(r, f.signer, f.pki.client_key);
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST(certs[0].subject() == "CN=ossl-device,O=Example Org");
  std::vector<std::string> sans{"DNS:ossl.example.com", "IP:192.0.2.44"};
  BOOST_TEST(cert_sans(certs[0]) == sans, boost::test_tools::per_element());
  BOOST_TEST(f.uses_left("Ossl-Utf8-Secret-42") == 0);
}

BOOST_AUTO_TEST_CASE(a_wrong_challenge_in_an_openssl_req_csr_is_refused) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("Ossl-Right-Secret");
  auto r = f.exchange(openssl_csr(dir, "Ossl-Wrong-Secret"));
  require_failure(r, scep::FailInfo::bad_request, "unknown challenge password");
  BOOST_TEST(r.fail_text().find("Ossl-Wrong-Secret") == std::string::npos);
  BOOST_TEST(f.uses_left("Ossl-Right-Secret") == 1);
}

BOOST_AUTO_TEST_CASE(an_openssl_req_csr_signed_with_rsassa_pss_is_issued) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("Ossl-Pss-Secret", 2);
  // Before, Csr::signature_digest() found no digest in rsassaPss: badAlg
  // "the PKCS#10 signature digest is not allowed by the policy".
  int n = 0;
  for (std::string opts : {"-sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest",
                           "-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max"}) {
    BOOST_TEST_CONTEXT("openssl req " << opts) {
      auto csr = openssl_csr(dir, "Ossl-Pss-Secret", opts);
      const unsigned char* p = csr.data();
      crypto::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(csr.size())));
      BOOST_REQUIRE(req);
      BOOST_TEST(X509_REQ_get_signature_nid(req.get()) == NID_rsassaPss);
      Send s;
      s.transaction_id = "tid-ossl-pss-" + std::to_string(n++);
      auto r = f.exchange(csr, s);
      require_success(r);
      auto certs = reply_certs(r, f.signer, f.pki.client_key);
      BOOST_REQUIRE(certs.size() == 1u);
      BOOST_TEST(certs[0].subject() == "CN=ossl-device,O=Example Org");
    }
  }
  BOOST_TEST(f.uses_left("Ossl-Pss-Secret") == 0);
}

BOOST_AUTO_TEST_CASE(envelopes_made_by_openssl_cms_are_opened_and_their_cipher_mirrored) {
  struct Case {
    const char* flag;
    ContentCipher cipher;
  };
  const Case cases[] = {{"-aes128", ContentCipher::aes128_cbc},
                        {"-aes192", ContentCipher::aes192_cbc},
                        {"-aes256", ContentCipher::aes256_cbc},
                        {"-des3", ContentCipher::des3_cbc}};
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("OSSL-ENV-SECRET", 4);
  write_file(dir.path() / "csr.der", f.csr("OSSL-ENV-SECRET"));
  int n = 0;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("openssl cms -encrypt " << c.flag) {
      dir.run(std::string("cms -encrypt -binary -in csr.der -outform DER -out env.der ") + c.flag + " -recip ca.pem");
      auto r = open_reply(f.send(sign_pkcsreq(f, dir.read("env.der"), "tid-ossl-env-" + std::to_string(n++))));
      require_success(r);
      auto env = crypto::Envelope::parse(r.sd.content);
      BOOST_REQUIRE(env);
      BOOST_TEST((env->cipher() == std::optional(c.cipher)));
      BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_envelope_naming_the_ca_by_subject_key_identifier_is_accepted) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("OSSL-SKI-SECRET");
  write_file(dir.path() / "csr.der", f.csr("OSSL-SKI-SECRET"));
  dir.run("cms -encrypt -binary -keyid -in csr.der -outform DER -out env.der -aes128 -recip ca.pem");
  auto r = open_reply(f.send(sign_pkcsreq(f, dir.read("env.der"), "tid-ossl-ski")));
  require_success(r);
  BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
}

// Regression (fixed in b08c69b): the content cipher was read through d2i_PKCS7, which
// cannot parse a subjectKeyIdentifier recipient, and then assumed to be AES-128, so an
// -aes256 or -des3 request made with `openssl cms -encrypt -keyid` got an AES-128 reply.
BOOST_AUTO_TEST_CASE(an_envelope_naming_the_ca_by_subject_key_identifier_gets_its_cipher_mirrored) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("OSSL-SKI-SECRET", 2);
  write_file(dir.path() / "csr.der", f.csr("OSSL-SKI-SECRET"));
  int n = 0;
  for (auto [flag, cipher] :
       {std::pair{"-aes256", ContentCipher::aes256_cbc}, std::pair{"-des3", ContentCipher::des3_cbc}}) {
    BOOST_TEST_CONTEXT("openssl cms -encrypt -keyid " << flag) {
      dir.run(std::string("cms -encrypt -binary -keyid -in csr.der -outform DER -out env.der ") + flag +
              " -recip ca.pem");
      auto r = open_reply(f.send(sign_pkcsreq(f, dir.read("env.der"), "tid-ossl-ski-" + std::to_string(n++))));
      require_success(r);
      auto env = crypto::Envelope::parse(r.sd.content);
      BOOST_REQUIRE(env);
      BOOST_REQUIRE(env->cipher());
      BOOST_TEST((*env->cipher() == cipher), "reply cipher " << crypto::cipher_name(*env->cipher()));
    }
  }
}

BOOST_AUTO_TEST_CASE(an_rsa_oaep_envelope_made_by_openssl_gets_an_oaep_reply) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("OSSL-OAEP-SECRET");
  write_file(dir.path() / "csr.der", f.csr("OSSL-OAEP-SECRET"));
  dir.run(
      "cms -encrypt -binary -in csr.der -outform DER -out env.der -aes256 -recip ca.pem "
      "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256");
  auto r = open_reply(f.send(sign_pkcsreq(f, dir.read("env.der"), "tid-ossl-oaep")));
  require_success(r);
  auto env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE(env);
  auto kt = env->key_transport(f.signer);
  BOOST_TEST(kt.oaep);
  BOOST_TEST((kt.oaep_digest == DigestAlg::sha256));
  BOOST_TEST((env->cipher() == std::optional(ContentCipher::aes256_cbc)));
  BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_openssl_envelope_for_the_ra_works_in_ra_mode) {
  Fixture f(Fixture::Mode::ra);
  OpensslDir dir(f);
  f.add_secret("OSSL-RA-SECRET");
  write_file(dir.path() / "csr.der", f.csr("OSSL-RA-SECRET"));
  dir.run("cms -encrypt -binary -in csr.der -outform DER -out env.der -aes128 -recip ra.pem");
  auto r = open_reply(f.send(sign_pkcsreq(f, dir.read("env.der"), "tid-ossl-ra")));
  require_success(r);
  BOOST_TEST((*r.sd.signer == f.pki.ra.cert));
}

BOOST_AUTO_TEST_CASE(an_openssl_cms_signed_message_lacks_the_scep_attributes_and_is_malformed) {
  Fixture f;
  OpensslDir dir(f);
  f.add_secret("OSSL-SIGN-SECRET");
  write_file(dir.path() / "csr.der", f.csr("OSSL-SIGN-SECRET"));
  dir.run("cms -encrypt -binary -in csr.der -outform DER -out env.der -aes128 -recip ca.pem");
  dir.run(
      "cms -sign -binary -nodetach -in env.der -signer signer.pem -inkey key.pem -md sha256 -outform DER -out msg.der");
  auto r = f.send(dir.read("msg.der"));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == core::Errc::malformed_request));
  BOOST_TEST(f.uses_left("OSSL-SIGN-SECRET") == 1);
  BOOST_TEST(f.repo.certificates.empty());
}

BOOST_AUTO_TEST_CASE(openssl_cms_verifies_and_decrypts_our_success_reply) {
  for (auto mode : {Fixture::Mode::ca, Fixture::Mode::ra}) {
    BOOST_TEST_CONTEXT((mode == Fixture::Mode::ra ? "RA mode" : "CA mode")) {
      Fixture f(mode);
      OpensslDir dir(f);
      f.add_secret("OSSL-REPLY-SECRET");
      Send s;
      s.transaction_id = "tid-ossl-reply";
      auto reply = f.send(f.build(f.csr("OSSL-REPLY-SECRET"), s));
      BOOST_REQUIRE(reply);
      write_file(dir.path() / "reply.der", *reply);
      // A real chain check: the reply's signer (CA or RA) must lead to the CA certificate.
      dir.run("cms -verify -binary -inform DER -in reply.der -CAfile ca.pem -purpose any -out inner.der");
      dir.run("cms -decrypt -binary -inform DER -in inner.der -recip signer.pem -inkey key.pem -out p7.der");
      dir.run("pkcs7 -inform DER -in p7.der -print_certs -out certs.pem");
      // -print_certs puts "subject=..." lines before each block: keep only the PEM.
      std::string pem = core::to_string(dir.read("certs.pem"));
      pem.erase(0, pem.find("-----BEGIN"));
      auto certs = crypto::Certificate::load_all(core::to_bytes(pem));
      BOOST_REQUIRE_MESSAGE(certs, (certs ? "" : certs.error().detail));
      BOOST_REQUIRE(certs->size() == 1u);
      BOOST_REQUIRE(f.repo.certificates.size() == 1u);
      BOOST_TEST(((*certs)[0] == f.repo.certificates.begin()->second.cert));
    }
  }
}

BOOST_AUTO_TEST_CASE(openssl_cms_verifies_a_failure_reply_without_detached_content) {
  Fixture f;
  OpensslDir dir(f);
  Send s;
  s.transaction_id = "tid-ossl-fail";
  auto reply = f.send(f.build(f.csr("NO-SUCH-SECRET"), s));
  BOOST_REQUIRE(reply);
  require_failure(open_reply(reply), scep::FailInfo::bad_request);
  write_file(dir.path() / "reply.der", *reply);
  // certmonger verifies with no external content: the (empty) content must be embedded.
  dir.run("cms -verify -binary -inform DER -in reply.der -CAfile ca.pem -purpose any -out content.bin");
  BOOST_TEST(dir.read("content.bin").empty());
}

BOOST_AUTO_TEST_SUITE_END()
