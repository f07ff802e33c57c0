#include "scep/crl.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace scep {

namespace {

std::set<std::string> serials(const std::vector<crypto::RevokedEntry>& entries) {
  std::set<std::string> out;
  for (const auto& e : entries) out.insert(e.serial_hex);
  return out;
}

/// Whether the stored CRL still serves: it verifies, is within the first half
/// of its life, and lists exactly the revocations in the store.
bool still_good(const crypto::Crl& crl, const CaBundle& ca, const std::vector<crypto::RevokedEntry>& revoked,
                core::TimePoint now) {
  if (!crl.verify(ca.cert)) return false;
  auto half = crl.this_update() + (crl.next_update() - crl.this_update()) / 2;
  if (now < crl.this_update() || now >= half) return false;
  return serials(crl.revoked()) == serials(revoked);
}

}  // namespace

core::Result<core::Bytes> ca_crl(Repository& repo, const CaBundle& ca, const core::Clock& clock, CrlRefresh mode,
                                 int days) {
  if (days <= 0) days = ca.options.crl_days;
  return repo.update_crl(ca.name, [&](const std::optional<core::Bytes>& current)
                                      -> core::Result<std::optional<core::Bytes>> {
    auto revoked = repo.revoked_certificates(ca.name);
    if (!revoked) return std::unexpected(revoked.error());
    std::uint64_t number = 1;
    if (current) {
      auto crl = crypto::Crl::parse(*current);
      if (crl) {
        if (mode == CrlRefresh::when_due && still_good(*crl, ca, *revoked, clock.now())) return std::nullopt;
        number = crl->number() + 1;
      } else {
        // A damaged CRL hides its number, and CRL numbers must only grow
        // (RFC 5280 §5.2.3): the Unix time is beyond any count kept so far.
        number = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count());
      }
    }
    auto key = repo.load_key(ca.name, KeyRole::ca);
    if (!key) return std::unexpected(key.error());
    crypto::CrlSpec spec;
    spec.number = number;
    spec.this_update = std::chrono::floor<std::chrono::seconds>(clock.now());
    spec.next_update = spec.this_update + std::chrono::days(days);
    spec.revoked = std::move(*revoked);
    auto der = crypto::build_crl(spec, ca.cert, *key);
    if (!der) return std::unexpected(der.error());
    return std::optional<core::Bytes>(std::move(*der));
  });
}

}  // namespace scep
