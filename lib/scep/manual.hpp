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
#include "scep/repository.hpp"

namespace scep {

/// MD5, SHA-1 and SHA-256 of the whole PKCS#10 DER.
crypto::Fingerprints pending_fingerprints(const PendingRequest& p);

/// Pending requests whose MD5, SHA-1 or SHA-256 fingerprint equals `text`, or
/// starts with it when it has at least 8 hex digits. Colons, spaces and case
/// are ignored. Fewer than 8 digits or non-hex text is invalid_argument.
core::Result<std::vector<const PendingRequest*>> match_fingerprint(const std::vector<PendingRequest>& pending,
                                                                   std::string_view text);

/// Issues the certificate for a request the caller has claimed from the
/// pending set, under `policy`, and marks its transaction issued. The caller
/// holds lock_transaction for it from before the claim to after the claim is
/// cleared; a transaction decided already is refused (already_exists).
core::Result<crypto::Certificate> approve_pending(Repository& repo, const core::Clock& clock, core::Rng& rng,
                                                  const PendingRequest& p, const policy::Policy& policy,
                                                  const std::optional<Operator>& by = std::nullopt);

/// Marks a claimed request's transaction rejected with the operator's
/// reason; the same lock and refusal as approve_pending.
core::Result<void> reject_pending(Repository& repo, const core::Clock& clock, const PendingRequest& p,
                                  std::string_view reason, const std::optional<Operator>& by = std::nullopt);

}  // namespace scep
