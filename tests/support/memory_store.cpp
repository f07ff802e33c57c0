#include "support/memory_store.hpp"

#include <algorithm>

namespace testing {

using core::Errc;

void MemoryStore::add_ca(scep::CaBundle bundle, const crypto::PrivateKey& ca_key, const crypto::PrivateKey* ra_key) {
  keys.insert_or_assign(bundle.name + "/ca", ca_key);
  if (ra_key) keys.insert_or_assign(bundle.name + "/ra", *ra_key);
  cas.push_back(std::move(bundle));
}

void MemoryStore::add_secret(const policy::SecretRecord& r) {
  secrets[core::to_hex(r.hash)] = r;
  uses_left[core::to_hex(r.hash)] = r.uses;
}

core::Result<scep::CaBundle> MemoryStore::find_ca(std::string_view name) {
  if (name.empty() && !cas.empty()) return cas.front();
  for (const auto& c : cas)
    if (c.name == name) return c;
  return core::fail(Errc::unknown_ca, "no such CA");
}

core::Result<std::vector<std::string>> MemoryStore::ca_names() {
  std::vector<std::string> out;
  for (const auto& c : cas) out.push_back(c.name);
  return out;
}

core::Result<crypto::PrivateKey> MemoryStore::load_key(std::string_view ca, scep::KeyRole role) {
  auto it = keys.find(std::string(ca) + (role == scep::KeyRole::ca ? "/ca" : "/ra"));
  if (it == keys.end()) return core::fail(Errc::not_found, "no key");
  return it->second;  // copies share the key
}

core::Result<policy::Policy> MemoryStore::load_policy(std::string_view name) {
  auto it = policies.find(std::string(name));
  if (it == policies.end()) return core::fail(Errc::not_found, "no policy");
  return it->second;
}

core::Result<std::optional<policy::SecretRecord>> MemoryStore::find_secret(core::ByteView hash) const {
  auto it = secrets.find(core::to_hex(hash));
  if (it == secrets.end()) return std::optional<policy::SecretRecord>();
  return std::optional<policy::SecretRecord>(it->second);
}

core::Result<int> MemoryStore::secret_uses_left(const policy::SecretRecord& s, std::string_view) const {
  std::lock_guard lock(m_mutex);
  auto it = uses_left.find(core::to_hex(s.hash));
  return it == uses_left.end() ? 0 : it->second;
}

core::Result<scep::LockGuard> MemoryStore::lock_transaction(std::string_view ca, std::string_view tid) const {
  std::shared_ptr<std::mutex> m;
  {
    std::lock_guard lock(m_mutex);
    auto& slot = m_tx_mutexes[std::string(ca) + "/" + std::string(tid)];
    if (!slot) slot = std::make_shared<std::mutex>();
    m = slot;
  }
  m->lock();
  return scep::LockGuard(m.get(), [m](void*) { m->unlock(); });
}

core::Result<std::optional<scep::Transaction>> MemoryStore::find_transaction(std::string_view ca,
                                                                             std::string_view tid) const {
  std::lock_guard lock(m_mutex);
  auto it = transactions.find(std::string(ca) + "/" + std::string(tid));
  if (it == transactions.end()) return std::optional<scep::Transaction>();
  return std::optional<scep::Transaction>(it->second);
}

core::Result<void> MemoryStore::add_transaction(const scep::Transaction& t) {
  std::lock_guard lock(m_mutex);
  if (!transactions.emplace(t.ca + "/" + t.transaction_id, t).second)
    return core::fail(Errc::already_exists, "transaction exists");
  return {};
}

// One decision under one mutex: all of it happens or none.
core::Result<scep::Recorded> MemoryStore::record_issuance(const scep::Issuance& is) {
  std::lock_guard lock(m_mutex);
  const auto& t = is.transaction;
  std::string tx_key = t.ca + "/" + t.transaction_id;
  std::string cert_key = t.ca + "/" + is.certificate.serial_hex();
  if (is.secret && uses_left[core::to_hex(is.secret->hash)] <= 0) return scep::Recorded::secret_used_up;
  if (!is.renews.empty()) {
    auto it = renewals.find(t.ca + "/" + is.renews);
    if (it != renewals.end() && it->second != t.transaction_id) return scep::Recorded::already_renewed;
  }
  if (certificates.count(cert_key)) return scep::Recorded::serial_taken;
  if (!is.replaces && transactions.count(tx_key)) return scep::Recorded::transaction_exists;
  if (is.secret) --uses_left[core::to_hex(is.secret->hash)];
  if (!is.renews.empty()) renewals.emplace(t.ca + "/" + is.renews, t.transaction_id);
  certificates.emplace(cert_key, scep::IssuedCertificate{is.certificate, t.policy, std::nullopt});
  scep::Transaction record = t;
  if (is.secret) record.secret_hash = is.secret->hash;
  transactions.insert_or_assign(tx_key, record);
  audit_log.push_back(is.event);
  return scep::Recorded::recorded;
}

core::Result<void> MemoryStore::record_pending(const scep::PendingRequest& p, const scep::Transaction& t,
                                               const scep::AuditEvent& e) {
  std::lock_guard lock(m_mutex);
  for (const auto& q : pending)
    if (q.ca == p.ca && q.csr_der == p.csr_der && q.transaction_id != p.transaction_id)
      return core::fail(Errc::already_exists, "already pending");
  if (transactions.count(t.ca + "/" + t.transaction_id)) return core::fail(Errc::already_exists, "transaction exists");
  pending.push_back(p);
  transactions.emplace(t.ca + "/" + t.transaction_id, t);
  audit_log.push_back(e);
  return {};
}

core::Result<void> MemoryStore::record_rejection(const scep::Transaction& t, const scep::AuditEvent& e) {
  std::lock_guard lock(m_mutex);
  transactions.insert_or_assign(t.ca + "/" + t.transaction_id, t);
  audit_log.push_back(e);
  return {};
}

core::Result<std::size_t> MemoryStore::count_pending(std::string_view ca) const {
  std::lock_guard lock(m_mutex);
  return static_cast<std::size_t>(std::count_if(pending.begin(), pending.end(), [&](auto& p) { return p.ca == ca; }));
}

core::Result<void> MemoryStore::add_certificate(std::string_view ca, const crypto::Certificate& cert,
                                                std::string_view policy) {
  std::lock_guard lock(m_mutex);
  scep::IssuedCertificate issued{cert, std::string(policy), std::nullopt};
  if (!certificates.emplace(std::string(ca) + "/" + cert.serial_hex(), std::move(issued)).second)
    return core::fail(Errc::already_exists, "serial taken");
  return {};
}

core::Result<crypto::Certificate> MemoryStore::load_certificate(std::string_view ca, std::string_view serial) const {
  std::lock_guard lock(m_mutex);
  auto it = certificates.find(std::string(ca) + "/" + std::string(serial));
  if (it == certificates.end()) return core::fail(Errc::not_found, "no certificate");
  return it->second.cert;
}

core::Result<std::optional<scep::IssuedCertificate>> MemoryStore::find_certificate(std::string_view ca,
                                                                                   std::string_view serial) const {
  std::lock_guard lock(m_mutex);
  auto it = certificates.find(std::string(ca) + "/" + std::string(serial));
  if (it == certificates.end()) return std::optional<scep::IssuedCertificate>();
  return std::optional<scep::IssuedCertificate>(it->second);
}

core::Result<std::vector<crypto::RevokedEntry>> MemoryStore::revoked_certificates(std::string_view ca) const {
  std::lock_guard lock(m_mutex);
  std::vector<crypto::RevokedEntry> out;
  std::string prefix = std::string(ca) + "/";
  for (const auto& [key, issued] : certificates)
    if (key.starts_with(prefix) && issued.revocation) out.push_back(*issued.revocation);
  return out;
}

core::Result<std::vector<scep::PendingRequest>> MemoryStore::list_pending(std::string_view ca) const {
  std::lock_guard lock(m_mutex);
  std::vector<scep::PendingRequest> out;
  for (const auto& p : pending)
    if (p.ca == ca) out.push_back(p);
  return out;
}

static bool same_request(const scep::PendingRequest& a, const scep::PendingRequest& b) {
  return a.ca == b.ca && a.transaction_id == b.transaction_id;
}

core::Result<std::optional<scep::PendingClaim>> MemoryStore::claim_pending(const scep::PendingRequest& p) {
  std::lock_guard lock(m_mutex);
  auto it = std::find_if(pending.begin(), pending.end(), [&](auto& q) { return same_request(p, q); });
  if (it == pending.end()) return std::optional<scep::PendingClaim>();
  m_claimed.push_back(std::move(*it));
  pending.erase(it);
  return std::optional<scep::PendingClaim>(std::in_place, *this, p);
}

core::Result<void> MemoryStore::finish_pending(const scep::PendingRequest& p) {
  std::lock_guard lock(m_mutex);
  std::erase_if(m_claimed, [&](auto& q) { return same_request(p, q); });
  return {};
}

core::Result<void> MemoryStore::release_pending(const scep::PendingRequest& p) {
  std::lock_guard lock(m_mutex);
  auto it = std::find_if(m_claimed.begin(), m_claimed.end(), [&](auto& q) { return same_request(p, q); });
  if (it == m_claimed.end()) return core::fail(Errc::not_found, "not claimed");
  pending.push_back(std::move(*it));
  m_claimed.erase(it);
  return {};
}

core::Result<void> MemoryStore::revoke(std::string_view ca, const crypto::RevokedEntry& entry,
                                       const scep::AuditEvent& e) {
  std::lock_guard lock(m_mutex);
  auto it = certificates.find(std::string(ca) + "/" + entry.serial_hex);
  if (it == certificates.end()) return core::fail(Errc::not_found, "no such certificate");
  if (it->second.revocation) return core::fail(Errc::already_exists, "already revoked");
  it->second.revocation = entry;
  audit_log.push_back(e);
  return {};
}

void MemoryStore::revoke(std::string_view ca, const crypto::RevokedEntry& entry) {
  std::lock_guard lock(m_mutex);
  certificates.at(std::string(ca) + "/" + entry.serial_hex).revocation = entry;
}

core::Result<std::optional<core::Bytes>> MemoryStore::load_crl(std::string_view ca) const {
  std::lock_guard lock(m_mutex);
  if (auto it = crls.find(std::string(ca)); it != crls.end()) return std::optional<core::Bytes>(it->second);
  return std::optional<core::Bytes>();
}

core::Result<core::Bytes> MemoryStore::update_crl(std::string_view ca, const scep::CrlUpdate& update) {
  std::unique_lock lock(m_crl_mutex);  // update() calls back into this repository
  return update_crl_locked(ca, update);
}

core::Result<std::optional<core::Bytes>> MemoryStore::try_update_crl(std::string_view ca,
                                                                     const scep::CrlUpdate& update) {
  std::unique_lock lock(m_crl_mutex, std::try_to_lock);
  if (!lock) return std::optional<core::Bytes>();
  auto crl = update_crl_locked(ca, update);
  if (!crl) return std::unexpected(crl.error());
  return std::optional<core::Bytes>(std::move(*crl));
}

core::Result<core::Bytes> MemoryStore::update_crl_locked(std::string_view ca, const scep::CrlUpdate& update) {
  std::optional<core::Bytes> current;
  {
    std::lock_guard inner(m_mutex);
    if (auto it = crls.find(std::string(ca)); it != crls.end()) current = it->second;
  }
  auto next = update(current);
  if (!next) return std::unexpected(next.error());
  if (!*next) {
    if (!current) return core::fail(Errc::internal, "no CRL was made");
    return *current;
  }
  std::lock_guard inner(m_mutex);
  crls[std::string(ca)] = **next;
  ++crls_stored;
  return **next;
}

void MemoryStore::audit(const scep::AuditEvent& e) {
  std::lock_guard lock(m_mutex);
  audit_log.push_back(e);
}

}  // namespace testing
