// RSASSA-PSS: PKCS#10 requests and pkiMessage signatures signed with it are
// accepted (the digest read from the PSS parameters is the one the policy
// and the reply see); the CertRep is still signed with PKCS#1 v1.5.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "enroll_fixture.hpp"

using namespace enroll_test;
using crypto::DigestAlg;
using crypto::SignaturePadding;
using scep::FailInfo;

namespace {

CsrSpec pss_csr(DigestAlg d = DigestAlg::sha256) {
  CsrSpec spec;
  spec.padding = SignaturePadding::pss;
  spec.digest = d;
  return spec;
}

void require_pkcs1_reply(const Reply& r, DigestAlg digest) {
  BOOST_TEST((r.sd.signature.padding == SignaturePadding::pkcs1));
  BOOST_REQUIRE(r.sd.digest);
  BOOST_TEST((*r.sd.digest == digest));
}

std::filesystem::path strongswan_data() { return std::filesystem::path(__FILE__).parent_path() / "../data/strongswan"; }

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_enroll_pss)

BOOST_AUTO_TEST_CASE(a_pss_pkcs10_in_a_pkcs1_message_is_issued) {
  Fixture f;
  f.add_secret("PSS-CSR", 3);
  int n = 0;
  for (auto d : {DigestAlg::sha256, DigestAlg::sha384, DigestAlg::sha512}) {
    BOOST_TEST_CONTEXT("PKCS#10 RSASSA-PSS " << crypto::digest_name(d)) {
      Send s;
      s.transaction_id = "tid-pss-csr-" + std::to_string(n++);
      auto r = f.exchange(f.csr("PSS-CSR", pss_csr(d)), s);
      require_success(r);
      require_pkcs1_reply(r, DigestAlg::sha256);
      auto certs = reply_certs(r, f.signer, f.pki.client_key);
      BOOST_REQUIRE(certs.size() == 1u);
      BOOST_TEST(f.pki.root.cert.issued(certs[0]));
    }
  }
  BOOST_TEST(f.uses_left("PSS-CSR") == 0);
}

BOOST_AUTO_TEST_CASE(a_pss_message_gets_a_pkcs1_reply_with_its_digest) {
  for (auto mode : {Fixture::Mode::ca, Fixture::Mode::ra}) {
    Fixture f(mode);
    f.add_secret("PSS-CMS", 2);
    int n = 0;
    for (auto d : {DigestAlg::sha256, DigestAlg::sha384}) {
      BOOST_TEST_CONTEXT((mode == Fixture::Mode::ra ? "RA" : "CA")
                         << ", SignerInfo RSASSA-PSS " << crypto::digest_name(d)) {
        Send s;
        s.transaction_id = "tid-pss-cms-" + std::to_string(n++);
        s.digest = d;
        s.padding = SignaturePadding::pss;
        auto r = f.exchange(f.csr("PSS-CMS", pss_csr(d)), s);
        require_success(r);
        require_pkcs1_reply(r, d);
        BOOST_REQUIRE(r.sd.signer);
        BOOST_TEST((*r.sd.signer == (mode == Fixture::Mode::ra ? f.pki.ra.cert : f.pki.root.cert)));
        BOOST_TEST(reply_certs(r, f.signer, f.pki.client_key).size() == 1u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_pss_pkcs10_is_held_to_the_policy_digests) {
  Fixture f;
  f.add_secret("PSS-SHA224");
  auto r = f.exchange(f.csr("PSS-SHA224", pss_csr(DigestAlg::sha224)));
  require_failure(r, FailInfo::bad_alg, "the PKCS#10 signature digest SHA-224 is not allowed by the policy");
  BOOST_TEST(f.uses_left("PSS-SHA224") == 1);
}

BOOST_AUTO_TEST_CASE(a_pss_pkcs10_with_another_mgf1_digest_is_bad_alg) {
  Fixture f;
  f.add_secret("PSS-MGF1");
  CsrSpec spec = pss_csr(DigestAlg::sha256);
  spec.mgf1_digest = DigestAlg::sha1;
  auto r = f.exchange(f.csr("PSS-MGF1", spec));
  require_failure(r, FailInfo::bad_alg, "the PKCS#10 signature algorithm is not supported");
  BOOST_TEST(f.uses_left("PSS-MGF1") == 1);
}

BOOST_AUTO_TEST_CASE(a_pss_signer_info_with_another_mgf1_digest_is_bad_alg_not_a_bad_signature) {
  Fixture f;
  f.add_secret("PSS-MGF1-CMS");
  auto env = crypto::make_envelope(f.csr("PSS-MGF1-CMS"), f.pki.root.cert, crypto::ContentCipher::aes128_cbc);
  BOOST_REQUIRE(env);
  SignerSpec signer{&f.signer, &f.pki.client_key, DigestAlg::sha256, scep_attrs("19", "tid-pss-mgf1", nonce_of(16))};
  signer.pss_mgf1 = DigestAlg::sha1;
  auto r = open_reply(f.send(cms_sign(*env, {signer})));
  require_failure(r, FailInfo::bad_alg, "RSASSA-PSS");
  BOOST_TEST(r.text(scep::oid::transaction_id) == "tid-pss-mgf1");
  BOOST_TEST(f.uses_left("PSS-MGF1-CMS") == 1);
}

BOOST_AUTO_TEST_CASE(strongswan_pki_scep_messages_are_issued) {
  // tests/data/strongswan/README.md: pki --scep 5.9.8, default options and
  // --rsa-padding pss (SignerInfo, PKCS#10 and signer certificate PSS).
  auto ca_certs = crypto::Certificate::load_all(read_file(strongswan_data() / "ca.pem"));
  auto ca_key = crypto::PrivateKey::load(read_file(strongswan_data() / "ca.key"));
  BOOST_REQUIRE(ca_certs);
  BOOST_REQUIRE(ca_certs->size() == 1u);
  BOOST_REQUIRE(ca_key);
  const crypto::Certificate& ca_cert = ca_certs->front();
  for (std::string name : {"pkcsreq", "pkcsreq-pss"}) {
    BOOST_TEST_CONTEXT(name) {
      testing::MemoryStore repo;
      repo.add_ca(scep::CaBundle{"wire", ca_cert, {}, std::nullopt, config::CaOptions{}}, *ca_key);
      policy::Policy p;
      p.name = "wire";
      repo.policies["wire"] = p;
      core::FixedClock clock{std::chrono::system_clock::now()};
      testing::CountingRng rng{7};
      scep::Service svc{repo.backend(), clock, rng};
      auto challenge = core::to_string(read_file(strongswan_data() / (name + "-challenge.txt")));
      while (!challenge.empty() && challenge.back() == '\n') challenge.pop_back();
      policy::SecretRecord secret;
      secret.id = "s-0000000000ss";
      secret.hash = policy::secret_hash(challenge);
      secret.ca = "wire";
      secret.policy = "wire";
      secret.uses = 1;
      secret.created = clock.now();
      secret.expires = clock.now() + std::chrono::hours(1);
      repo.add_secret(secret);

      auto request = read_file(strongswan_data() / (name + ".der"));
      auto sd = crypto::parse_signed_data(request);
      BOOST_REQUIRE(sd);
      BOOST_TEST((sd->signature.padding == (name == "pkcsreq" ? SignaturePadding::pkcs1 : SignaturePadding::pss)));
      auto r = open_reply(svc.pki_operation("wire", request, "192.0.2.9"));
      require_success(r);
      require_pkcs1_reply(r, DigestAlg::sha256);  // all strongSwan 5.9.8 verifies
      BOOST_REQUIRE(sd->signer);
      auto client_key = crypto::PrivateKey::load(read_file(strongswan_data() / (name + "-key.pem")));
      BOOST_REQUIRE(client_key);
      auto certs = reply_certs(r, *sd->signer, *client_key);
      BOOST_REQUIRE(certs.size() == 1u);
      BOOST_TEST(certs[0].subject() == "CN=strongswan-" + name);
      BOOST_TEST((certs[0].public_key() == client_key->public_key()));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_signer_with_an_rsassa_pss_key_is_refused_before_anything_is_decided) {
  // An id-RSASSA-PSS key signs but must not encrypt (RFC 4055 §1.2), and the
  // reply is encrypted to the signer. Before: GetCRL got HTTP 500 (OpenSSL
  // refused the envelope after the decision), a PKCSReq without a secret
  // was parked although nothing could ever be sent to it.
  Fixture f;
  crypto::EvpPkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
  EVP_PKEY* raw = nullptr;
  BOOST_REQUIRE(kctx);
  BOOST_REQUIRE(EVP_PKEY_keygen_init(kctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(kctx.get(), 2048) == 1);
  BOOST_REQUIRE(EVP_PKEY_keygen(kctx.get(), &raw) == 1);
  crypto::PrivateKey key{crypto::EvpPkeyPtr(raw)};
  auto signer = self_signed(key);
  auto ias = crypto::encode_issuer_and_serial(f.pki.root.cert, "01");
  BOOST_REQUIRE(ias);
  int n = 0;
  for (auto type : {scep::MessageType::get_crl, scep::MessageType::pkcs_req}) {
    BOOST_TEST_CONTEXT(scep::message_type_name(type)) {
      Send s;
      s.type = type;
      s.transaction_id = "tid-pss-key-" + std::to_string(n++);
      s.signer = &signer;
      s.key = &key;
      s.padding = SignaturePadding::pss;
      auto r = open_reply(f.send(f.build(type == scep::MessageType::get_crl ? *ias : f.csr("", {}, &key), s)));
      require_failure(r, FailInfo::bad_alg, "cannot receive an encrypted reply");
    }
  }
  BOOST_TEST(f.repo.pending.empty());
  BOOST_TEST(f.repo.transactions.empty());
}

BOOST_AUTO_TEST_CASE(an_ec_signer_still_gets_its_crl) {
  Fixture f;
  crypto::PrivateKey key{crypto::EvpPkeyPtr(EVP_EC_gen("P-256"))};
  BOOST_REQUIRE(key.native());
  auto signer = self_signed(key);
  auto ias = crypto::encode_issuer_and_serial(f.pki.root.cert, "01");
  BOOST_REQUIRE(ias);
  Send s;
  s.type = scep::MessageType::get_crl;
  s.signer = &signer;
  s.key = &key;
  require_success(open_reply(f.send(f.build(*ias, s))));
}

BOOST_AUTO_TEST_SUITE_END()
