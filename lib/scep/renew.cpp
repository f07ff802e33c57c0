// Renewal: a request signed by a certificate this CA issued, answered under
// the policy of that certificate, without a challenge (RFC 8894 §2.5, §3.3.1.2).
#include <algorithm>

#include <fmt/format.h>

#include "crypto/digest.hpp"
#include "crypto/general_name.hpp"
#include "scep/ca_context.hpp"
#include "scep/service.hpp"

namespace scep {

using core::Errc;

namespace {

/// A subjectAltName to be issued that `old` does not have, displayed. A
/// renewal needs no secret: were it to add names, a certificate bound to one
/// name (secret create --cn) would buy any other at its first renewal.
std::optional<std::string> added_name(const std::vector<crypto::GeneralName>& names, const crypto::Certificate& old) {
  auto had = crypto::subject_alt_names(old);
  for (const auto& n : names)
    if (!had || std::find(had->begin(), had->end(), n) == had->end()) return crypto::to_display(n);
  return std::nullopt;
}

}  // namespace

core::Result<std::optional<IssuedCertificate>> Service::renewal_signer(CaContext& ctx,
                                                                       const crypto::Certificate& signer,
                                                                       SignerProblem& why) {
  using Found = std::optional<IssuedCertificate>;
  auto refuse = [&why](FailInfo info, std::string text) -> core::Result<Found> {
    why.failure = {info, std::move(text)};
    return Found();
  };
  if (!ctx.bundle().cert.issued(signer)) {
    // After a rollover the certificates an earlier generation issued renew
    // too (under the current key): they are in the same store.
    SCEP_TRY_ASSIGN(auto earlier, m_backend.catalog.earlier_cas(ctx.name()));
    if (std::none_of(earlier.begin(), earlier.end(), [&](const EarlierCa& c) { return c.cert.issued(signer); }))
      return refuse(FailInfo::bad_message_check, "a renewal must be signed by a certificate this CA issued");
  }
  why.of_this_ca = true;
  std::string serial = signer.serial_hex();
  SCEP_TRY_ASSIGN(auto found, m_backend.certs.find_certificate(ctx.name(), serial));
  // Signed by the CA key but not in the store: not a certificate this service issued.
  if (!found || !(found->cert == signer))
    return refuse(FailInfo::bad_cert_id, fmt::format("certificate {} is not in this CA's store", serial));
  if (const auto& revoked = found->revocation) {
    using crypto::RevocationReason;
    why.compromised = revoked->reason == RevocationReason::key_compromise ||
                      revoked->reason == RevocationReason::ca_compromise ||
                      revoked->reason == RevocationReason::aa_compromise;
    return refuse(FailInfo::bad_request,
                  fmt::format("certificate {} is revoked ({})", serial, crypto::reason_name(revoked->reason)));
  }
  auto now = m_clock.now();
  if (now < signer.not_before())
    return refuse(FailInfo::bad_time, fmt::format("certificate {} is not valid yet", serial));
  if (now > signer.not_after() + std::chrono::days(ctx.bundle().options.renewal_grace_days))
    return refuse(FailInfo::bad_request, fmt::format("certificate {} has expired", serial));
  return found;
}

core::Result<CertRep> Service::renew(Exchange& x, const crypto::Csr& csr, const IssuedCertificate& old) {
  std::string old_serial = old.cert.serial_hex();
  x.event.detail = "renewal of " + old_serial;
  auto csr_key = csr.public_key();
  core::Bytes kid = crypto::digest(crypto::DigestAlg::sha256, csr_key.spki_der());

  // The transactionID often stays the same across a renewal (clients derive
  // it from a key they keep): a record that issued the very certificate being
  // renewed is the old enrollment, anything else is this renewal answered before.
  SCEP_TRY_ASSIGN(auto tx, m_backend.ledger.find_transaction(x.ca.name(), x.transaction_id));
  bool replaces_old = tx && tx->state == Transaction::State::issued && tx->serial == old_serial;
  if (tx && !replaces_old) return answer_existing(x, *tx, kid);

  // "manual-default" is the built-in policy unless a policy file has that name.
  auto pol = old.policy.empty() ? core::Result<policy::Policy>(policy::builtin_policy())
                                : m_backend.catalog.load_policy(old.policy);
  if (!pol && pol.error().code == Errc::not_found && old.policy == policy::builtin_policy_name)
    pol = policy::builtin_policy();
  if (!pol) {
    if (pol.error().code != Errc::not_found) return std::unexpected(pol.error());
    return CertRep::fail(FailInfo::bad_request,
                         fmt::format("the policy \"{}\" of certificate {} no longer exists", old.policy, old_serial));
  }
  x.event.policy = pol->name;
  if (!pol->renewal_subject_change && csr.subject() != old.cert.subject())
    return CertRep::fail(FailInfo::bad_request,
                         fmt::format("a renewal must keep the subject \"{}\"", old.cert.subject()));
  policy::Decision d = policy::evaluate(*pol, csr, {}, x.ca.bundle().cert, m_clock.now());
  if (!d.issue) return CertRep::fail(to_fail_info(d.refusal), d.detail);
  if (!pol->renewal_subject_change)
    if (auto added = added_name(d.spec.subject_alt_names, old.cert))
      return CertRep::fail(FailInfo::bad_request,
                           fmt::format("a renewal must keep the names of certificate {}: {} is not one of them",
                                       old_serial, *added));

  // Sign first: a certificate that cannot be built must not spend the one
  // renewal. The store claims it in the operation that records the new
  // certificate.
  SCEP_TRY_ASSIGN(auto signed_cert, x.ca.sign(d.spec, csr_key, m_rng));
  Transaction t{.ca = x.ca.name(),
                .transaction_id = x.transaction_id,
                .state = Transaction::State::issued,
                .key_id = kid,
                .policy = pol->name,
                .created = m_clock.now(),
                .renewed_from = old_serial,
                .secret_hash = replaces_old ? tx->secret_hash : core::Bytes()};
  Issuance is{.transaction = std::move(t),
              .certificate = std::move(signed_cert),
              .event = x.event,
              .replaces = replaces_old,
              .renews = old_serial};
  is.event.outcome = Outcome::renewed;
  SCEP_TRY_ASSIGN(auto recorded, x.ca.record(is, d.spec, csr_key, m_rng));
  switch (recorded) {
    case Recorded::recorded: return issued(is, x.event);
    case Recorded::already_renewed:
    case Recorded::transaction_exists: break;
    case Recorded::serial_taken:
    case Recorded::secret_used_up: return core::fail(Errc::internal, "the store refused the certificate");
  }
  SCEP_TRY_ASSIGN(auto now_tx, m_backend.ledger.find_transaction(x.ca.name(), x.transaction_id));
  if (now_tx && now_tx->serial != old_serial) return answer_existing(x, *now_tx, kid);
  return CertRep::fail(FailInfo::bad_request, fmt::format("certificate {} has already been renewed", old_serial));
}

}  // namespace scep
