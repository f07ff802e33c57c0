#pragma once
// Shared by test_renewal.cpp and test_retrieve.cpp: certificates put straight
// into the MemoryStore as if issued under a policy, and requests signed
// by them (RenewalReq, PKCSReq, CertPoll, GetCert, GetCRL).

#include "enroll_fixture.hpp"

namespace renewal_test {

using namespace enroll_test;

/// The key a renewal asks a certificate for, made once per process.
inline const crypto::PrivateKey& next_key() { return testing::rsa_key_once<2048>(); }

inline constexpr std::string_view device_subject = "CN=device1,O=Example";

struct RenewalFixture : Fixture {
  explicit RenewalFixture(config::CaOptions options = {}) : Fixture(Mode::ca, options) {
    policy::Policy p;
    p.name = "P";
    p.validity_days = 20;
    repo.policies["P"] = p;
  }

  /// A certificate for `key`, valid from an hour ago for `days` days, signed
  /// by `issuer` (the fixture's CA unless given); not stored.
  crypto::Certificate make_cert(const crypto::PrivateKey& key, std::string_view subject = device_subject, int days = 10,
                                const ca::KeyPairCert* issuer = nullptr) {
    const ca::KeyPairCert& by = issuer ? *issuer : pki.root;
    crypto::CertSpec spec;
    auto der = crypto::subject_der_from_text(subject);
    BOOST_REQUIRE(der);
    spec.subject = *der;
    spec.serial = crypto::random_serial(rng);
    spec.not_before = clock.now() - std::chrono::hours(1);
    spec.not_after = clock.now() + std::chrono::days(days);
    spec.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
    auto cert = crypto::build_certificate(spec, key.public_key(), &by.cert, by.key);
    BOOST_REQUIRE_MESSAGE(cert, (cert ? "" : cert.error().detail));
    return *cert;
  }

  /// A certificate of this CA for `key`, in the store under `policy`.
  crypto::Certificate issued(const crypto::PrivateKey& key, std::string_view policy = "P", int days = 10,
                             std::string_view subject = device_subject) {
    auto cert = make_cert(key, subject, days);
    BOOST_REQUIRE(repo.add_certificate("main", cert, policy));
    return cert;
  }

  void revoke(const crypto::Certificate& cert,
              crypto::RevocationReason reason = crypto::RevocationReason::key_compromise) {
    repo.revoke("main", {cert.serial_hex(), clock.now(), reason});
  }

  /// A request of `type` signed by `cert` and `key`.
  Reply signed_by(const crypto::Certificate& cert, const crypto::PrivateKey& key, const core::Bytes& message_data,
                  scep::MessageType type, const std::string& tid) {
    Send s;
    s.type = type;
    s.transaction_id = tid;
    s.signer = &cert;
    s.key = &key;
    return exchange(message_data, s);
  }

  /// A renewal request (no challenge) for `new_key`, signed by `old` and `old_key`.
  Reply renew(const crypto::Certificate& old, const crypto::PrivateKey& old_key, const crypto::PrivateKey& new_key,
              const std::string& tid, scep::MessageType type = scep::MessageType::renewal_req,
              std::string_view subject = device_subject) {
    CsrSpec spec;
    spec.subject = std::string(subject);
    return signed_by(old, old_key, make_csr(spec, new_key), type, tid);
  }

  /// A renewal that must succeed; returns the new certificate.
  crypto::Certificate renew_ok(const crypto::Certificate& old, const crypto::PrivateKey& old_key,
                               const crypto::PrivateKey& new_key, const std::string& tid,
                               scep::MessageType type = scep::MessageType::renewal_req) {
    auto r = renew(old, old_key, new_key, tid, type);
    require_success(r);
    auto certs = reply_certs(r, old, old_key);
    BOOST_REQUIRE(!certs.empty());
    return certs.front();
  }

  const scep::AuditEvent& last_audit() const {
    BOOST_REQUIRE(!repo.audit_log.empty());
    return repo.audit_log.back();
  }
};

}  // namespace renewal_test
