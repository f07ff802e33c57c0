#pragma once
// The operator's side of manual authentication: find a pending request by the
// fingerprint the device owner reads out, then approve or reject it.

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "scep/roles.hpp"

namespace scep {

/// MD5, SHA-1 and SHA-256 of the whole PKCS#10 DER.
crypto::Fingerprints pending_fingerprints(const PendingRequest& p);

/// Pending requests whose MD5, SHA-1 or SHA-256 fingerprint equals `text`, or
/// starts with it when it has at least 8 hex digits. Colons, spaces and case
/// are ignored. Fewer than 8 digits or non-hex text is invalid_argument.
core::Result<std::vector<const PendingRequest*>> match_fingerprint(const std::vector<PendingRequest>& pending,
                                                                   std::string_view text);

/// Whether a request parked at `created` has expired unapproved under the
/// CA's options: its device has been told so, and it is rejected, never issued.
bool pending_expired(core::TimePoint created, const config::CaOptions& options, core::TimePoint now);

/// The policy an approval issues under: `name`, else the CA's
/// manual_policy, else the built-in defaults.
core::Result<policy::Policy> approval_policy(Catalog& catalog, const CaBundle& ca, std::string_view name);

/// What an approval issued.
struct Approval {
  crypto::Certificate certificate;
  std::string policy;
};

/// Approves a pending request: refused when it expired; otherwise, with its
/// transaction locked and the request claimed, issues the certificate under
/// approval_policy(`policy`) and records it, so that the device's next poll
/// gets it. not_found when another operator decided it meanwhile.
core::Result<Approval> approve(Backend backend, const core::Clock& clock, core::Rng& rng, const PendingRequest& p,
                               std::string_view policy = {}, const std::optional<Operator>& by = std::nullopt);

/// Rejects a pending request with the operator's reason, under the same
/// lock and claim as approve; not_found when another decided it meanwhile.
core::Result<void> reject(Backend backend, const core::Clock& clock, const PendingRequest& p, std::string_view reason,
                          const std::optional<Operator>& by = std::nullopt);

/// Revokes a certificate the CA issued (one record with its audit event)
/// and signs the CA's next CRL, which is returned. A CRL that cannot be
/// signed leaves the revocation on record: the next request for the CRL
/// signs it.
struct Revocation {
  crypto::RevokedEntry entry;
  core::Result<core::Bytes> crl;  ///< the CRL of the generation that issued it
  std::string generation;         ///< that generation's ID when it is an earlier one, else empty
};
/// `remote` is where the request came from, for the audit line (scepctl
/// writes "scepctl").
core::Result<Revocation> revoke(Backend backend, const core::Clock& clock, std::string_view ca,
                                std::string_view serial_hex, crypto::RevocationReason reason, std::string_view remote,
                                const std::optional<Operator>& by = std::nullopt);

}  // namespace scep
