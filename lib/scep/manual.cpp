#include "scep/manual.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "crypto/csr.hpp"
#include "scep/ca_context.hpp"
#include "scep/crl.hpp"
#include "scep/service.hpp"

namespace scep {

using core::Errc;

crypto::Fingerprints pending_fingerprints(const PendingRequest& p) { return crypto::fingerprints(p.csr_der); }

core::Result<std::vector<const PendingRequest*>> match_fingerprint(const std::vector<PendingRequest>& pending,
                                                                   std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == ' ' || c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a hex fingerprint", text));
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() < 8) return core::fail(Errc::invalid_argument, "give at least 8 hex digits of the fingerprint");
  std::vector<const PendingRequest*> out;
  for (const auto& p : pending) {
    auto fp = pending_fingerprints(p);
    for (const auto* digest : {&fp.md5, &fp.sha1, &fp.sha256}) {
      std::string full = core::to_hex(*digest);
      if (full.compare(0, hex.size(), hex) == 0 && hex.size() <= full.size()) {
        out.push_back(&p);
        break;
      }
    }
  }
  return out;
}

bool pending_expired(core::TimePoint created, const config::CaOptions& options, core::TimePoint now) {
  return now > created + std::chrono::days(options.pending_days);
}

core::Result<policy::Policy> approval_policy(Catalog& catalog, const CaBundle& ca, std::string_view name) {
  std::string chosen(!name.empty() ? name : std::string_view(ca.options.manual_policy));
  if (chosen.empty()) return policy::builtin_policy();
  return catalog.load_policy(chosen);
}

namespace {

/// A request is decided once: a record that says otherwise (an approval
/// whose result was taken for a failure, then put back) is not overwritten.
core::Result<void> still_pending(Ledger& ledger, const PendingRequest& p) {
  SCEP_TRY_ASSIGN(auto tx, ledger.find_transaction(p.ca, p.transaction_id));
  if (tx && tx->state != Transaction::State::pending)
    return core::fail(Errc::already_exists, "the request has already been decided (scepctl check --repair clears it)");
  return {};
}

/// The transaction of a request an operator decides.
Transaction decided(const PendingRequest& p, Transaction::State state, const crypto::PublicKey& key) {
  return {.ca = p.ca,
          .transaction_id = p.transaction_id,
          .state = state,
          .key_id = crypto::digest(crypto::DigestAlg::sha256, key.spki_der()),
          .created = p.created};
}

/// The audit event of an operator's decision on a request.
AuditEvent decision_event(const core::Clock& clock, const PendingRequest& p, std::string_view operation,
                          Outcome outcome, std::string_view detail, const std::optional<Operator>& by) {
  return {.time = clock.now(),
          .ca = p.ca,
          .remote = p.remote,
          .operation = std::string(operation),
          .transaction_id = p.transaction_id,
          .outcome = outcome,
          .detail = std::string(detail),
          .sans = p.sans,
          .by = by};
}

/// Issues and records the certificate of a claimed request.
core::Result<crypto::Certificate> issue_claimed(Backend backend, const core::Clock& clock, core::Rng& rng,
                                                const PendingRequest& p, const CaBundle& ca, const policy::Policy& pol,
                                                const std::optional<Operator>& by) {
  SCEP_TRY_ASSIGN(auto csr, crypto::Csr::from_der(p.csr_der));
  CaContext ctx(backend, ca);
  policy::Decision d = policy::evaluate(pol, csr, {}, ctx.bundle().cert, clock.now());
  if (!d.issue)
    return core::fail(Errc::policy_rejected, fmt::format("policy \"{}\" refuses this request: {}", pol.name, d.detail));
  auto key = csr.public_key();
  SCEP_TRY(still_pending(backend.ledger, p));
  SCEP_TRY_ASSIGN(auto cert, ctx.sign(d.spec, key, rng));
  Transaction t = decided(p, Transaction::State::issued, key);
  t.policy = pol.name;
  AuditEvent e = decision_event(clock, p, "approve", Outcome::issued, "approved by the operator", by);
  e.policy = pol.name;
  Issuance is{.transaction = std::move(t), .certificate = std::move(cert), .event = std::move(e), .replaces = true};
  SCEP_TRY_ASSIGN(auto recorded, ctx.record(is, d.spec, key, rng));
  if (recorded != Recorded::recorded) return core::fail(Errc::internal, "the store refused the certificate");
  return std::move(is.certificate);
}

/// Holds the request's transaction and claims the request: a poll, a second
/// operator and check --repair see it before or after, never half decided.
struct Held {
  LockGuard lock;
  PendingClaim claim;
};
core::Result<Held> hold(Ledger& ledger, const PendingRequest& p) {
  SCEP_TRY_ASSIGN(auto lock, ledger.lock_transaction(p.ca, p.transaction_id));
  SCEP_TRY_ASSIGN(auto claim, ledger.claim_pending(p));
  if (!claim) return core::fail(Errc::not_found, "the request is no longer pending (approved or rejected meanwhile)");
  return Held{std::move(lock), std::move(*claim)};
}

}  // namespace

core::Result<Approval> approve(Backend backend, const core::Clock& clock, core::Rng& rng, const PendingRequest& p,
                               std::string_view policy_name, const std::optional<Operator>& by) {
  SCEP_TRY_ASSIGN(auto ca, backend.catalog.find_ca(p.ca));
  // A CA that cannot answer the device's poll (an EC CA without its RSA RA)
  // must not issue a certificate nobody can collect.
  SCEP_TRY(check_servable(ca));
  // The device has already been told the request expired: issuing now would
  // hand out a certificate it will never poll for.
  if (pending_expired(p.created, ca.options, clock.now()))
    return core::fail(Errc::invalid_argument, "the request has expired; reject it and let the device enroll again");
  SCEP_TRY_ASSIGN(auto pol, approval_policy(backend.catalog, ca, policy_name));
  SCEP_TRY_ASSIGN(auto held, hold(backend.ledger, p));
  SCEP_TRY_ASSIGN(auto cert, issue_claimed(backend, clock, rng, p, ca, pol, by));  // the claim puts the request back
  SCEP_TRY(held.claim.commit());
  return Approval{std::move(cert), pol.name};
}

core::Result<void> reject(Backend backend, const core::Clock& clock, const PendingRequest& p, std::string_view reason,
                          const std::optional<Operator>& by) {
  SCEP_TRY_ASSIGN(auto csr, crypto::Csr::from_der(p.csr_der));
  SCEP_TRY_ASSIGN(auto held, hold(backend.ledger, p));
  SCEP_TRY(still_pending(backend.ledger, p));
  Transaction t = decided(p, Transaction::State::rejected, csr.public_key());
  t.reason = reason;
  AuditEvent e = decision_event(clock, p, "reject", Outcome::rejected, reason, by);
  e.subject = csr.subject();
  SCEP_TRY(backend.ledger.record_rejection(t, e));
  return held.claim.commit();
}

core::Result<Revocation> revoke(Backend backend, const core::Clock& clock, std::string_view ca,
                                std::string_view serial_hex, crypto::RevocationReason reason, std::string_view remote,
                                const std::optional<Operator>& by) {
  SCEP_TRY_ASSIGN(auto bundle, backend.catalog.find_ca(ca));
  crypto::RevokedEntry entry{std::string(serial_hex), std::chrono::floor<std::chrono::seconds>(clock.now()), reason};
  AuditEvent e{.time = entry.time,
               .ca = bundle.name,
               .remote = std::string(remote),
               .operation = "revoke",
               .outcome = Outcome::revoked,
               .serial = entry.serial_hex,
               .detail = std::string(crypto::reason_name(reason)),
               .by = by};
  SCEP_TRY(backend.certs.revoke(bundle.name, entry, e));
  // The current CRL lists every revocation of the store; a certificate an
  // earlier generation issued is listed by that generation's CRL too, which
  // is the one its relying parties fetch (and the one reported).
  auto current = ca_crl(backend, bundle, clock, CrlRefresh::now);
  auto found = backend.certs.find_certificate(bundle.name, entry.serial_hex);
  if (found && *found && !bundle.cert.issued((*found)->cert)) {
    auto gen = earlier_issuer(backend.catalog, bundle.name, (*found)->cert);
    if (!gen) return Revocation{std::move(entry), std::unexpected(gen.error())};
    if (*gen) {
      auto earlier = earlier_crl(backend, bundle, **gen, clock, CrlRefresh::now);
      if (!current) return Revocation{std::move(entry), std::move(current)};
      return Revocation{std::move(entry), std::move(earlier), (*gen)->id};
    }
  }
  return Revocation{std::move(entry), std::move(current)};
}

}  // namespace scep
