// PKCSReq with a one-time challenge secret bound to an issuance policy.
#include <fmt/format.h>

#include "crypto/csr.hpp"
#include "crypto/digest.hpp"
#include "scep/ca_context.hpp"
#include "scep/service.hpp"

namespace scep {

using core::Errc;

namespace {

/// Why a secret cannot be used now, or empty when it can.
std::string secret_problem(const policy::SecretRecord& s, std::string_view ca, core::TimePoint now, int uses_left) {
  if (s.ca != ca) return "the challenge password is not valid for this CA";
  if (s.revoked) return "the challenge password has been revoked";
  if (now >= s.expires) return "the challenge password has expired";
  if (uses_left <= 0) return "the challenge password has already been used";
  return {};
}

/// The requested subjectAltNames for the audit log and `scepctl pending`, escaped.
std::vector<std::string> shown_sans(const crypto::Csr& csr) {
  auto sans = csr.subject_alt_names();
  if (!sans) return {"(the subjectAltName extension is malformed)"};
  return crypto::to_display(*sans);
}

}  // namespace

core::Result<CertRep> Service::enroll(Exchange& x) {
  auto csr = crypto::Csr::from_der(x.in.message_data);
  if (!csr) return CertRep::fail(FailInfo::bad_request, "the message does not hold a valid PKCS#10 request");
  x.event.subject = csr->subject();
  x.event.sans = shown_sans(*csr);
  // A client's retry sent while this request is being decided (same
  // transactionID) waits here, then is answered from this request's record.
  SCEP_TRY_ASSIGN(auto held, m_backend.ledger.lock_transaction(x.ca.name(), x.transaction_id));
  const crypto::Certificate& signer = *x.in.signed_data.signer;
  // RenewalReq, and a PKCSReq signed by a certificate this CA issued (sscep,
  // certmonger, macOS), are renewals. A PKCSReq whose signer cannot renew
  // enrolls as any other, and says why in the audit log and the pending
  // record; one whose signer was revoked as compromised is refused.
  bool renewal_req = x.in.header.type == MessageType::renewal_req;
  std::string signer_note;
  if (renewal_req || !signer.is_self_issued()) {
    SignerProblem why;
    SCEP_TRY_ASSIGN(auto old, renewal_signer(x.ca, signer, why));
    if (old) return renew(x, *csr, *old);
    if (renewal_req) return CertRep::fail(why.failure.info, why.failure.text);
    if (why.compromised)
      return CertRep::fail(FailInfo::bad_request,
                           fmt::format("signed by a compromised certificate: {}", why.failure.text));
    if (why.of_this_ca) {
      signer_note = fmt::format("signed by {}", why.failure.text);
      x.event.detail = signer_note;
    }
  }
  // Proof of possession: a request that is not a renewal is signed with the
  // key it asks a certificate for, whatever certificate carries that key.
  auto csr_key = csr->public_key();
  if (!(signer.public_key() == csr_key))
    return CertRep::fail(FailInfo::bad_message_check, "the message is not signed with the key of the PKCS#10 request");
  core::Bytes kid = crypto::digest(crypto::DigestAlg::sha256, csr_key.spki_der());

  SCEP_TRY_ASSIGN(auto tx, m_backend.ledger.find_transaction(x.ca.name(), x.transaction_id));
  if (tx) return answer_existing(x, *tx, kid);

  auto challenge = csr->challenge_password();
  if (!challenge || challenge->empty()) return park(x, *csr, kid, signer_note);
  SCEP_TRY_ASSIGN(auto secret, m_backend.ledger.find_secret(policy::secret_hash(*challenge)));
  if (!secret) return CertRep::fail(FailInfo::bad_request, "unknown challenge password");
  const policy::SecretRecord& s = *secret;
  x.event.secret_id = s.id;
  x.event.policy = s.policy;
  SCEP_TRY_ASSIGN(auto uses_left, m_backend.ledger.secret_uses_left(s, x.transaction_id));
  if (auto problem = secret_problem(s, x.ca.name(), m_clock.now(), uses_left); !problem.empty())
    return CertRep::fail(FailInfo::bad_request, problem);

  SCEP_TRY_ASSIGN(auto pol, m_backend.catalog.load_policy(s.policy));
  policy::Decision d = policy::evaluate(pol, *csr, {s.common_name, s.subject_regex}, x.ca.bundle().cert, m_clock.now());
  if (!d.issue) return CertRep::fail(to_fail_info(d.refusal), d.detail);

  // Only a request that passed every check, and whose certificate could be
  // built, spends a use: the store spends it in the same operation that
  // records the certificate.
  SCEP_TRY_ASSIGN(auto signed_cert, x.ca.sign(d.spec, csr_key, m_rng));
  Issuance is{.transaction = {.ca = x.ca.name(),
                              .transaction_id = x.transaction_id,
                              .state = Transaction::State::issued,
                              .key_id = kid,
                              .secret_id = s.id,
                              .policy = s.policy,
                              .created = m_clock.now()},
              .certificate = std::move(signed_cert),
              .secret = &s,
              .event = x.event};
  is.event.outcome = Outcome::issued;
  SCEP_TRY_ASSIGN(auto recorded, x.ca.record(is, d.spec, csr_key, m_rng));
  switch (recorded) {
    case Recorded::recorded: return issued(is, x.event);
    case Recorded::secret_used_up: break;
    case Recorded::transaction_exists: break;
    case Recorded::serial_taken:
    case Recorded::already_renewed: return core::fail(Errc::internal, "the store refused the certificate");
  }
  // Twins wait for each other (lock_transaction); should one get here all
  // the same, answer it as the first was answered.
  SCEP_TRY_ASSIGN(auto twin, m_backend.ledger.find_transaction(x.ca.name(), x.transaction_id));
  if (twin) return answer_existing(x, *twin, kid);
  return CertRep::fail(FailInfo::bad_request, "the challenge password has already been used");
}

CertRep Service::issued(const Issuance& is, AuditEvent& ev) {
  ev = is.event;
  ev.recorded = true;
  return CertRep::success({is.certificate});
}

/// Manual authentication: the request waits for an operator, who compares its
/// fingerprint with the one the device owner reads out. A wrong secret never
/// gets here: only a request without one.
core::Result<CertRep> Service::park(Exchange& x, const crypto::Csr& csr, core::ByteView kid, std::string_view note) {
  const auto& opt = x.ca.bundle().options;
  if (!opt.manual_enrollment) return CertRep::fail(FailInfo::bad_request, "a challenge password is required");
  // The request is kept whole (its hash is the fingerprint read out): a
  // bound on it bounds what one request can add to the store.
  if (csr.der().size() > max_parked_request)
    return CertRep::fail(FailInfo::bad_request,
                         fmt::format("a PKCS#10 request over {} bytes is not parked", max_parked_request));
  SCEP_TRY_ASSIGN(auto waiting, m_backend.ledger.count_pending(x.ca.name()));
  if (waiting >= static_cast<std::size_t>(opt.max_pending))
    return CertRep::fail(FailInfo::bad_request, "too many pending requests");
  PendingRequest p{.ca = x.ca.name(),
                   .transaction_id = x.transaction_id,
                   .remote = x.in.remote,
                   .csr_der = csr.der(),
                   .created = m_clock.now(),
                   .subject = csr.subject(),
                   .sans = x.event.sans,
                   .key = csr.public_key().description(),
                   .note = std::string(note)};
  Transaction t{.ca = x.ca.name(),
                .transaction_id = x.transaction_id,
                .state = Transaction::State::pending,
                .key_id = core::Bytes(kid.begin(), kid.end()),
                .created = m_clock.now()};
  AuditEvent parked = x.event;
  parked.outcome = Outcome::pending;
  if (auto r = m_backend.ledger.record_pending(p, t, parked); !r) {
    if (r.error().code != Errc::already_exists) return std::unexpected(r.error());
    auto twin = m_backend.ledger.find_transaction(x.ca.name(), x.transaction_id);
    if (twin && *twin) return answer_existing(x, **twin, kid);
    return CertRep::fail(FailInfo::bad_request, "this PKCS#10 request is already pending under another transactionID");
  }
  x.event = parked;
  x.event.recorded = true;
  return CertRep::pending();
}

}  // namespace scep
