#include "scep/manual.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "crypto/csr.hpp"
#include "scep/ca_context.hpp"

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

namespace {

/// A request is decided once: a record that says otherwise (an approval
/// whose result was taken for a failure, then put back) is not overwritten.
core::Result<void> still_pending(Repository& repo, const PendingRequest& p) {
  auto tx = repo.find_transaction(p.ca, p.transaction_id);
  if (!tx) return std::unexpected(tx.error());
  if (*tx && (*tx)->state != Transaction::State::pending)
    return core::fail(Errc::already_exists, "the request has already been decided (scepctl check --repair clears it)");
  return {};
}

}  // namespace

core::Result<crypto::Certificate> approve_pending(Repository& repo, const core::Clock& clock, core::Rng& rng,
                                                  const PendingRequest& p, const policy::Policy& pol,
                                                  const std::optional<Operator>& by) {
  auto csr = crypto::Csr::from_der(p.csr_der);
  if (!csr) return std::unexpected(csr.error());
  auto bundle = repo.find_ca(p.ca);
  if (!bundle) return std::unexpected(bundle.error());
  CaContext ctx(repo, std::move(*bundle));
  policy::Decision d = policy::evaluate(pol, *csr, {}, ctx.bundle().cert, clock.now());
  if (!d.issue) return core::fail(Errc::policy_rejected, fmt::format("policy \"{}\" refuses this request: {}", pol.name, d.detail));
  auto key = csr->public_key();
  if (auto open = still_pending(repo, p); !open) return std::unexpected(open.error());
  auto cert = ctx.sign(d.spec, key, rng);
  if (!cert) return std::unexpected(cert.error());
  Issuance is{Transaction{p.ca, p.transaction_id, Transaction::State::issued,
                          crypto::digest(crypto::DigestAlg::sha256, key.spki_der()), {}, {}, pol.name, {}, p.created, {}, {}},
              std::move(*cert), nullptr,
              AuditEvent{clock.now(), p.ca, p.remote, "approve", p.transaction_id, {}, {}, pol.name, "issued", {}, {},
                         "approved by the operator", false, p.sans, by},
              true, {}};
  auto recorded = ctx.record(is, d.spec, key, rng);
  if (!recorded) return std::unexpected(recorded.error());
  if (*recorded != Recorded::recorded) return core::fail(Errc::internal, "the store refused the certificate");
  return std::move(is.certificate);
}

core::Result<void> reject_pending(Repository& repo, const core::Clock& clock, const PendingRequest& p,
                                  std::string_view reason, const std::optional<Operator>& by) {
  auto csr = crypto::Csr::from_der(p.csr_der);
  if (!csr) return std::unexpected(csr.error());
  if (auto open = still_pending(repo, p); !open) return open;
  Transaction t{p.ca, p.transaction_id, Transaction::State::rejected,
                crypto::digest(crypto::DigestAlg::sha256, csr->public_key().spki_der()), {}, {}, {}, std::string(reason),
                p.created, {}, {}};
  return repo.record_rejection(t, {clock.now(), p.ca, p.remote, "reject", p.transaction_id, csr->subject(), {}, {},
                                   "rejected", {}, {}, std::string(reason), false, p.sans, by});
}

}  // namespace scep
