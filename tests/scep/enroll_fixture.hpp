#pragma once
// Shared by the PKIOperation test files: a Service over a MemoryStore
// with one CA, the request builder's names (support/requests.hpp), a CertRep
// reader, and a small runner for the openssl CLI.

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <openssl/cms.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crypto/cms.hpp"
#include "crypto/pkcs7.hpp"
#include "policy/secret.hpp"
#include "scep/message.hpp"
#include "scep/service.hpp"
#include "support/memory_store.hpp"
#include "support/requests.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace enroll_test {

using testing::Attr;
using testing::cms_sign;
using testing::corrupt_last_byte;
using testing::CsrSpec;
using testing::make_csr;
using testing::nonce_of;
using testing::octets;
using testing::printable;
using testing::scep_attrs;
using testing::self_signed;
using testing::SignerSpec;
using testing::SignOptions;
using testing::small_rsa_key;

/// DER SEQUENCE around already-encoded elements.
inline core::Bytes der_sequence(const core::Bytes& body) {
  core::Bytes out{0x30};
  std::size_t n = body.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    core::Bytes len;
    for (; n; n >>= 8) len.insert(len.begin(), static_cast<std::uint8_t>(n));
    out.push_back(static_cast<std::uint8_t>(0x80 | len.size()));
    out.insert(out.end(), len.begin(), len.end());
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline core::Bytes name_der(const X509_NAME* name) {
  unsigned char* buf = nullptr;
  int n = i2d_X509_NAME(name, &buf);
  BOOST_REQUIRE(n > 0);
  core::Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

/// CertPoll messageData: IssuerAndSubject{issuer = the CA, subject = the request's}.
inline core::Bytes issuer_and_subject(const crypto::Certificate& ca, const core::Bytes& csr_der) {
  auto csr = crypto::Csr::from_der(csr_der);
  BOOST_REQUIRE(csr);
  core::Bytes body = name_der(X509_get_subject_name(ca.native()));
  core::Bytes subject = csr->subject_der();
  body.insert(body.end(), subject.begin(), subject.end());
  return der_sequence(body);
}

// --- reading a CertRep ---------------------------------------------------------

struct Reply {
  crypto::SignedDataInfo sd;

  const crypto::SignedAttribute* attr(std::string_view oid) const { return sd.attribute(oid); }
  std::string text(std::string_view oid) const {
    auto* a = attr(oid);
    return a ? core::to_string(a->value) : std::string("<absent>");
  }
  std::string status() const { return text(scep::oid::pki_status); }
  std::string fail_info() const { return text(scep::oid::fail_info); }
  std::string fail_text() const { return text(scep::oid::fail_info_text); }
};

inline Reply open_reply(const core::Result<core::Bytes>& der) {
  BOOST_REQUIRE_MESSAGE(der, "pki_operation failed: " << (der ? "" : der.error().detail));
  auto sd = crypto::parse_signed_data(*der);
  BOOST_REQUIRE_MESSAGE(sd, "the reply is not a SignedData: " << (sd ? "" : sd.error().detail));
  return Reply{std::move(*sd)};
}

/// The certificates of a SUCCESS reply, decrypted with the requester's key.
inline std::vector<crypto::Certificate> reply_certs(const Reply& r, const crypto::Certificate& recipient,
                                                    const crypto::PrivateKey& key) {
  auto env = crypto::Envelope::parse(r.sd.content);
  BOOST_REQUIRE_MESSAGE(env, "reply content is not an EnvelopedData: " << (env ? "" : env.error().detail));
  auto plain = env->decrypt(recipient, key);
  BOOST_REQUIRE_MESSAGE(plain, "reply envelope does not decrypt: " << (plain ? "" : plain.error().detail));
  auto certs = crypto::certificates_of_pkcs7(*plain);
  BOOST_REQUIRE_MESSAGE(certs, "reply is not a degenerate PKCS#7: " << (certs ? "" : certs.error().detail));
  return *certs;
}

inline void require_failure(const Reply& r, scep::FailInfo info, std::string_view text_part = {}) {
  BOOST_TEST(r.sd.signature_valid);
  BOOST_TEST(r.text(scep::oid::message_type) == "3");
  BOOST_TEST(r.status() == "2");
  BOOST_TEST(r.fail_info() == std::to_string(static_cast<int>(info)),
             "failInfo " << r.fail_info() << " text: " << r.fail_text());
  if (!text_part.empty())
    BOOST_TEST(r.fail_text().find(text_part) != std::string::npos,
               "failInfoText \"" << r.fail_text() << "\" lacks \"" << text_part << "\"");
  BOOST_TEST(r.sd.content.empty(), "a FAILURE carries no envelope");
}

inline void require_success(const Reply& r) {
  BOOST_REQUIRE_MESSAGE(r.status() == "0",
                        "pkiStatus " << r.status() << " failInfo " << r.fail_info() << ": " << r.fail_text());
  BOOST_TEST(r.sd.signature_valid);
}

// --- certificate details the library does not expose -------------------------

inline std::uint32_t eku_flags(const crypto::Certificate& c) { return X509_get_extended_key_usage(c.native()); }

inline std::vector<std::string> cert_sans(const crypto::Certificate& c) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c.native(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    auto* s = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(gn, &type));
    const unsigned char* d = ASN1_STRING_get0_data(s);
    std::string v(reinterpret_cast<const char*>(d), static_cast<std::size_t>(ASN1_STRING_length(s)));
    if (type == GEN_IPADD && v.size() == 4)
      v = std::to_string(d[0]) + "." + std::to_string(d[1]) + "." + std::to_string(d[2]) + "." + std::to_string(d[3]);
    out.push_back((type == GEN_DNS     ? "DNS:"
                   : type == GEN_EMAIL ? "email:"
                   : type == GEN_URI   ? "URI:"
                   : type == GEN_IPADD ? "IP:"
                                       : "other:") +
                  v);
  }
  GENERAL_NAMES_free(names);
  return out;
}

// --- the service under test ----------------------------------------------------

/// How a request is built (defaults: what a modern client sends), and by whom.
struct Send : testing::MessageSpec {
  const crypto::Certificate* recipient = nullptr;  ///< null: the CA certificate
  const crypto::Certificate* signer = nullptr;     ///< null: the fixture's self-signed client cert
  const crypto::PrivateKey* key = nullptr;         ///< null: the test PKI's client key
};

struct Fixture {
  const testing::TestPki& pki = testing::test_pki();
  testing::MemoryStore repo;
  core::FixedClock clock{testing::test_pki().root.cert.not_before() + std::chrono::hours(1)};
  testing::CountingRng rng{1234};
  scep::Service svc{repo.backend(), clock, rng};
  crypto::Certificate signer = self_signed(testing::test_pki().client_key);
  int secrets_made = 0;

  /// ec_ra: "main" is the EC P-256 CA with its RSA RA (send to pki.ec_ra.cert).
  enum class Mode { ca, ra, ec_ra };
  explicit Fixture(Mode mode = Mode::ca, config::CaOptions options = {}) {
    const bool ec = mode == Mode::ec_ra;
    scep::CaBundle ca{"main", ec ? pki.ec_root.cert : pki.root.cert, {}, std::nullopt, options};
    if (mode == Mode::ra) ca.ra = pki.ra.cert;
    if (ec) ca.ra = pki.ec_ra.cert;
    const crypto::PrivateKey* ra_key = mode == Mode::ra ? &pki.ra.key : ec ? &pki.ec_ra.key : nullptr;
    repo.add_ca(ca, ec ? pki.ec_root.key : pki.root.key, ra_key);
    policy::Policy p;
    p.name = "default";
    p.validity_days = 30;
    repo.policies["default"] = p;
  }

  policy::SecretRecord& add_secret(const std::string& secret, int uses = 1, const std::string& ca = "main",
                                   const std::string& pol = "default") {
    policy::SecretRecord r;
    r.id = "s-00000000000" + std::to_string(++secrets_made);
    r.hash = policy::secret_hash(secret);
    r.ca = ca;
    r.policy = pol;
    r.uses = uses;
    r.created = clock.now();
    r.expires = clock.now() + std::chrono::hours(24);
    repo.add_secret(r);
    return repo.secrets[core::to_hex(r.hash)];
  }
  int uses_left(const std::string& secret) { return repo.uses_left.at(core::to_hex(policy::secret_hash(secret))); }

  /// A PKCS#10 from the client key (or `key`) carrying `challenge`.
  core::Bytes csr(const std::string& challenge, CsrSpec spec = {}, const crypto::PrivateKey* key = nullptr) {
    spec.challenge = challenge;
    return make_csr(spec, key ? *key : pki.client_key);
  }

  core::Bytes build(const core::Bytes& message_data, const Send& s = {}) {
    return testing::make_message(message_data, s, s.recipient ? *s.recipient : pki.root.cert,
                                 s.signer ? *s.signer : signer, s.key ? *s.key : pki.client_key);
  }

  core::Result<core::Bytes> send(core::ByteView der, std::string_view ca = "main") {
    return svc.pki_operation(ca, der, "192.0.2.7");
  }
  Reply exchange(const core::Bytes& message_data, const Send& s = {}, std::string_view ca = "main") {
    return open_reply(send(build(message_data, s), ca));
  }
  /// Enrolls the client key with `secret`; returns the issued certificate.
  crypto::Certificate enroll_ok(const std::string& secret, const std::string& tid, CsrSpec spec = {}) {
    Send s;
    s.transaction_id = tid;
    auto r = exchange(csr(secret, spec), s);
    require_success(r);
    auto certs = reply_certs(r, signer, pki.client_key);
    BOOST_REQUIRE(!certs.empty());
    return certs.front();
  }

  /// No failInfoText and no audit field anywhere holds the secret.
  void require_secret_never_shown(const std::string& secret) {
    for (const auto& e : repo.audit_log)
      for (const std::string* f : {&e.ca, &e.remote, &e.operation, &e.transaction_id, &e.subject, &e.secret_id,
                                   &e.policy, &e.serial, &e.fail_info, &e.detail})
        BOOST_TEST(f->find(secret) == std::string::npos, "audit field \"" << *f << "\" shows the secret");
  }
};

// --- the openssl command-line tool ---------------------------------------------

inline void write_file(const std::filesystem::path& p, core::ByteView data) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  BOOST_REQUIRE(out.good());
}
inline void write_file(const std::filesystem::path& p, std::string_view text) { write_file(p, core::to_bytes(text)); }

inline core::Bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << p);
  return core::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Runs `openssl <args>` inside `dir`; fails the test with its output when it fails.
inline void openssl(const std::filesystem::path& dir, const std::string& args) {
  std::string cmd = "cd '" + dir.string() + "' && openssl " + args + " > openssl.log 2>&1";
  int rc = std::system(cmd.c_str());
  auto log = read_file(dir / "openssl.log");
  BOOST_REQUIRE_MESSAGE(rc == 0, "openssl " << args << " failed:\n" << core::to_string(log));
}

}  // namespace enroll_test
