#include "scep/crl.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "crypto/key_type.hpp"

namespace scep {

namespace {

/// What the stored CRL is good for now.
enum class Standing {
  fresh,     ///< lists every revocation, in the first half of its life: serve it
  due,       ///< lists every revocation, valid, past half its life: one process re-signs, the others serve it meanwhile
  unusable,  ///< none, damaged, not this CA's, misses a revocation, not (or no longer) valid: wait for a new one
};

Standing by_time(core::TimePoint this_update, core::TimePoint next_update, core::TimePoint now) {
  if (now < this_update || now >= next_update) return Standing::unusable;
  auto half = this_update + (next_update - this_update) / 2;
  return now < half ? Standing::fresh : Standing::due;
}

/// A serial as a number's digits: "0A1B" and "A1B" are one serial.
std::string_view digits(std::string_view hex) {
  while (hex.size() > 1 && hex.front() == '0') hex.remove_prefix(1);
  return hex;
}

/// Upper-case hex digits in numeric order: shorter first, then by text.
bool numerically_less(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

/// The serials as digits in numeric order. A CRL lists its entries in that
/// order (X509_CRL_sort) and the store's serials are names of one length,
/// sorted: the sort is then a check.
std::vector<std::string_view> in_order(const std::vector<std::string>& serials) {
  std::vector<std::string_view> out;
  out.reserve(serials.size());
  for (const auto& s : serials) out.push_back(digits(s));
  if (!std::is_sorted(out.begin(), out.end(), numerically_less)) std::sort(out.begin(), out.end(), numerically_less);
  return out;
}

/// Whether the CRL lists exactly the serials of `revoked`.
bool lists_exactly(const crypto::Crl& crl, const std::vector<std::string>& revoked) {
  auto listed = crl.revoked_serials();
  return listed.size() == revoked.size() && in_order(listed) == in_order(revoked);
}

/// The stored CRL (DER), judged against the CA and its revocations on record.
struct Judgement {
  Standing standing = Standing::unusable;
  std::shared_ptr<const CrlMemo> memo;  ///< when not unusable
};

Judgement judge(const std::optional<core::Bytes>& der, const CaBundle& ca, const std::vector<std::string>& revoked,
                core::TimePoint now) {
  if (!der) return {};
  // A torn or damaged file fails to parse or to verify: it is made again,
  // never served.
  auto crl = crypto::Crl::parse(*der);
  if (!crl || !crl->verify(ca.cert) || !lists_exactly(*crl, revoked)) return {};
  Judgement j{by_time(crl->this_update(), crl->next_update(), now), nullptr};
  if (j.standing != Standing::unusable)
    j.memo = std::make_shared<const CrlMemo>(CrlMemo{*der, ca.cert, crl->this_update(), crl->next_update()});
  return j;
}

/// The stored CRL judged from what the store says now.
core::Result<Judgement> judge_stored(Backend backend, const std::optional<core::Bytes>& der, const CaBundle& ca,
                                     core::TimePoint now) {
  SCEP_TRY_ASSIGN(auto revoked, backend.certs.revoked_serials(ca.name));
  return judge(der, ca, revoked, now);
}

/// The number of the CRL that follows `current`.
std::uint64_t next_number(const std::optional<core::Bytes>& current, const crypto::Certificate& issuer,
                          core::TimePoint now) {
  if (!current) return 1;
  auto crl = crypto::Crl::parse(*current);
  if (crl && crl->verify(issuer)) return crl->number() + 1;
  // A damaged CRL (or another issuer's) hides the number this CA reached,
  // and CRL numbers must only grow (RFC 5280 §5.2.3): the Unix time in
  // milliseconds is beyond any count kept so far, also the count since a
  // damaged CRL was replaced a second ago.
  auto ms = static_cast<std::uint64_t>(std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch().count());
  return crl ? std::max(ms, crl->number() + 1) : ms;
}

/// The CRL that follows `current`, signed by `issuer` (the CA or one of
/// its retired generations) and listing `revoked`.
core::Result<std::optional<core::Bytes>> sign_crl(const crypto::Certificate& issuer, const crypto::PrivateKey& key,
                                                  std::vector<crypto::RevokedEntry> revoked,
                                                  const std::optional<core::Bytes>& current, core::TimePoint now,
                                                  int days) {
  crypto::CrlSpec spec;
  spec.number = next_number(current, issuer, now);
  spec.this_update = std::chrono::floor<std::chrono::seconds>(now);
  spec.next_update = spec.this_update + std::chrono::days(days);
  spec.revoked = std::move(revoked);
  spec.digest = crypto::signing_digest(key);  // ecdsa-with-SHA384 for a P-384 CA
  SCEP_TRY_ASSIGN(auto der, crypto::build_crl(spec, issuer, key));
  return std::optional<core::Bytes>(std::move(der));
}

/// The update that signs the CA's next CRL, with the CRL lock held. With
/// CrlRefresh::when_due it first looks again: another process may have
/// signed one while this one waited for the lock.
CrlUpdate sign_next(Backend backend, const CaBundle& ca, const core::Clock& clock, CrlRefresh mode, int days) {
  // `backend` is a handful of references: copied, as the update outlives this call.
  return [backend, &ca, &clock, mode,
          days](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
    if (mode == CrlRefresh::when_due) {
      SCEP_TRY_ASSIGN(auto j, judge_stored(backend, current, ca, clock.now()));
      if (j.standing == Standing::fresh) return std::nullopt;
    }
    SCEP_TRY_ASSIGN(auto revoked, backend.certs.revoked_certificates(ca.name));
    SCEP_TRY_ASSIGN(auto key, backend.catalog.load_key(ca.name, KeyRole::ca));
    return sign_crl(ca.cert, key, std::move(revoked), current, clock.now(), days);
  };
}

/// The revocations of certificates `gen` issued.
core::Result<std::vector<crypto::RevokedEntry>> revoked_by(Backend backend, const CaBundle& ca, const EarlierCa& gen) {
  SCEP_TRY_ASSIGN(auto all, backend.certs.revoked_certificates(ca.name));
  std::vector<crypto::RevokedEntry> out;
  for (auto& e : all) {
    SCEP_TRY_ASSIGN(auto found, backend.certs.find_certificate(ca.name, e.serial_hex));
    if (found && gen.cert.issued(found->cert)) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

core::Result<core::Bytes> earlier_crl(Backend backend, const CaBundle& ca, const EarlierCa& gen,
                                      const core::Clock& clock, CrlRefresh mode, int days) {
  if (days <= 0) days = ca.options.crl_days;
  auto update = [backend, &ca, &gen, &clock, mode,
                 days](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
    SCEP_TRY_ASSIGN(auto revoked, revoked_by(backend, ca, gen));
    std::optional<crypto::Crl> crl;
    if (current) {
      if (auto parsed = crypto::Crl::parse(*current); parsed && parsed->verify(gen.cert)) crl = std::move(*parsed);
    }
    if (mode == CrlRefresh::when_due && crl) {
      std::vector<std::string> serials;
      for (const auto& e : revoked) serials.push_back(e.serial_hex);
      std::sort(serials.begin(), serials.end());
      if (lists_exactly(*crl, serials) &&
          by_time(crl->this_update(), crl->next_update(), clock.now()) == Standing::fresh)
        return std::nullopt;
    }
    SCEP_TRY_ASSIGN(auto key, backend.catalog.load_earlier_key(ca.name, gen.id));
    return sign_crl(gen.cert, key, std::move(revoked), current, clock.now(), days);
  };
  return backend.crls.update_earlier_crl(ca.name, gen.id, update);
}

core::Result<std::optional<EarlierCa>> earlier_issuer(Catalog& catalog, std::string_view ca,
                                                      const crypto::Certificate& cert) {
  SCEP_TRY_ASSIGN(auto earlier, catalog.earlier_cas(ca));
  for (auto& gen : earlier)
    if (gen.cert.issued(cert)) return std::optional<EarlierCa>(std::move(gen));
  return std::optional<EarlierCa>();
}

core::Result<core::Bytes> ca_crl(Backend backend, const CaBundle& ca, const core::Clock& clock, CrlRefresh mode,
                                 int days) {
  if (days <= 0) days = ca.options.crl_days;
  if (mode == CrlRefresh::when_due) {
    const core::TimePoint now = clock.now();
    // A long-lived server: nothing changed since a request found this CRL fresh.
    if (auto memo = backend.catalog.recall_crl(ca.name);
        memo && memo->issuer == ca.cert && by_time(memo->this_update, memo->next_update, now) == Standing::fresh)
      return memo->der;
    // Otherwise read, without the lock: crl.der and the names in revoked/.
    SCEP_TRY_ASSIGN(auto current, backend.crls.load_crl(ca.name));
    SCEP_TRY_ASSIGN(auto j, judge_stored(backend, current, ca, now));
    if (j.standing == Standing::fresh) {
      backend.catalog.keep_crl(ca.name, j.memo);
      return std::move(*current);
    }
    if (j.standing == Standing::due) {
      // One signer; whoever finds the lock taken serves this CRL, still valid.
      SCEP_TRY_ASSIGN(auto next, backend.crls.try_update_crl(ca.name, sign_next(backend, ca, clock, mode, days)));
      if (next) return std::move(*next);
      return std::move(*current);
    }
  }
  return backend.crls.update_crl(ca.name, sign_next(backend, ca, clock, mode, days));
}

}  // namespace scep
