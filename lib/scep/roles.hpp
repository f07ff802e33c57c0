#pragma once
// What the protocol needs from persistent state, as five narrow roles. The
// flat-file store implements the four that hold records (store::Store) and a
// per-request view implements the catalogue (store::Session); tests have an
// in-memory twin of all five, and tests/store/test_contract.cpp runs the same
// cases against every implementation.

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "crypto/keys.hpp"
#include "policy/policy.hpp"
#include "scep/records.hpp"

namespace scep {

/// What a request reads before it decides anything: its CA, the CA's keys,
/// the issuance policies. An implementation may keep them between requests;
/// one request sees one version of the configuration.
class Catalog {
 public:
  virtual ~Catalog() = default;
  /// The CA a client asked for by store name; empty `name` means the default CA.
  /// Errc::unknown_ca when there is no such CA.
  virtual core::Result<CaBundle> find_ca(std::string_view name) = 0;
  /// The store name of the CA find_ca would return, without loading its
  /// certificates (GetCACaps needs nothing more). Same errors as find_ca.
  virtual core::Result<std::string> resolve_ca(std::string_view name) {
    SCEP_TRY_ASSIGN(auto ca, find_ca(name));
    return ca.name;
  }
  /// Whether a CA identifier that names no CA (the `message=` of GetCACaps,
  /// GetCACert, GetCACertChain) is refused rather than answered for the
  /// default CA.
  virtual bool strict_ca_names() { return false; }
  virtual core::Result<std::vector<std::string>> ca_names() = 0;
  virtual core::Result<crypto::PrivateKey> load_key(std::string_view ca, KeyRole role) = 0;
  virtual core::Result<policy::Policy> load_policy(std::string_view name) = 0;

  /// The CA's next generation, made by a rollover and not yet activated
  /// (GetNextCACert); nullopt when there is none. `name` is a store name.
  virtual core::Result<std::optional<CaBundle>> next_ca(std::string_view name) {
    (void)name;
    return std::optional<CaBundle>();
  }
  /// Whether next_ca would find one, as cheaply as can be (GetCACaps).
  virtual bool has_next_ca(std::string_view name) {
    auto next = next_ca(name);
    return next && next->has_value();
  }
  /// The CA's earlier (retired) generations, oldest first: what they issued
  /// still renews, revokes, and is listed by the generation's own CRL.
  virtual core::Result<std::vector<EarlierCa>> earlier_cas(std::string_view name) {
    (void)name;
    return std::vector<EarlierCa>();
  }
  /// The next generation's CA key (it decrypts what a client that
  /// fetched GetNextCACert encrypts to the next CA).
  virtual core::Result<crypto::PrivateKey> load_next_key(std::string_view name) {
    (void)name;
    return core::fail(core::Errc::not_found, "no next CA key");
  }
  /// The key of an earlier generation (it signs that generation's CRL).
  virtual core::Result<crypto::PrivateKey> load_earlier_key(std::string_view name, std::string_view id) {
    (void)name;
    return core::fail(core::Errc::not_found, fmt::format("no generation \"{}\"", id));
  }

  /// The memo kept for the CA's CRL by keep_crl, if neither the stored CRL
  /// nor the revocations can have changed since; nullptr otherwise, and
  /// always where changes cannot be watched (one process per request). A
  /// null result also arms the watch, so that a memo made from what this
  /// request reads next may be kept.
  virtual std::shared_ptr<const CrlMemo> recall_crl(std::string_view ca) {
    (void)ca;
    return nullptr;
  }
  /// Keeps a memo made from what this request read after recall_crl().
  virtual void keep_crl(std::string_view ca, std::shared_ptr<const CrlMemo> memo) {
    (void)ca;
    (void)memo;
  }
};

class PendingClaim;

/// The record of decisions: secrets' uses, transactions, pending requests.
/// Each record_* is ONE operation with one commit point: after an error or
/// a crash at any step, either nothing of it is stored (and nothing spent),
/// or all of it is, or what is left is completed by the client's retry of
/// the same transactionID and by `scepctl check --repair`. The caller holds
/// lock_transaction for the transaction.
class Ledger {
 public:
  virtual ~Ledger() = default;
  /// The secret with this hash, if any (whatever its state).
  virtual core::Result<std::optional<policy::SecretRecord>> find_secret(core::ByteView hash) const = 0;
  /// How many uses of a secret transaction `transaction_id` may take: the
  /// uses left, and the one an earlier try of the same transaction spent
  /// before it was cut short (a crash), which its retry takes over.
  virtual core::Result<int> secret_uses_left(const policy::SecretRecord& secret,
                                             std::string_view transaction_id) const = 0;

  /// Serialises the decisions on one transactionID (across processes for
  /// the store): a client's retry sent while its first try is being decided
  /// waits, then finds the first try's record and gets the same answer.
  virtual core::Result<LockGuard> lock_transaction(std::string_view ca, std::string_view transaction_id) const = 0;
  virtual core::Result<std::optional<Transaction>> find_transaction(std::string_view ca,
                                                                    std::string_view transaction_id) const = 0;

  /// Records an issued certificate: one use of the secret (if any), or the
  /// one renewal of the certificate it renews, the certificate under its
  /// serial, the transaction record, the audit event.
  virtual core::Result<Recorded> record_issuance(const Issuance& issuance) = 0;
  /// Parks a request for an operator: the pending request, its transaction
  /// record (state pending), the audit event. already_exists when the same
  /// PKCS#10 waits under another transactionID.
  virtual core::Result<void> record_pending(const PendingRequest& p, const Transaction& t, const AuditEvent& event) = 0;
  /// Replaces a transaction's record with a refusal (state rejected) and
  /// logs the event.
  virtual core::Result<void> record_rejection(const Transaction& t, const AuditEvent& event) = 0;

  virtual core::Result<std::size_t> count_pending(std::string_view ca) const = 0;
  /// The requests waiting at a CA, oldest first.
  virtual core::Result<std::vector<PendingRequest>> list_pending(std::string_view ca) const = 0;
  /// Takes a pending request out of the waiting set, so that exactly one
  /// operator decides it; nullopt when another took it first. The claim
  /// puts it back unless committed once the decision is on record.
  virtual core::Result<std::optional<PendingClaim>> claim_pending(const PendingRequest& p) = 0;

 protected:
  friend class PendingClaim;
  /// A claimed request is decided: it leaves the pending set for good.
  virtual core::Result<void> finish_pending(const PendingRequest& p) = 0;
  /// A claimed request was not decided: it waits again.
  virtual core::Result<void> release_pending(const PendingRequest& p) = 0;
};

/// A pending request one operator holds while deciding it. Move-only; a
/// claim that is destroyed uncommitted puts the request back (a release
/// that fails, or a crash, leaves it to `scepctl check --repair`).
/// Like a lock guard it refers to its ledger: the ledger must outlive the
/// claim and must not be moved while the claim is held (the workflows in
/// manual.hpp take and drop it within one call).
class PendingClaim {
 public:
  PendingClaim(Ledger& ledger, PendingRequest request) : m_ledger(&ledger), m_request(std::move(request)) {}
  PendingClaim(PendingClaim&& other) noexcept
      : m_ledger(std::exchange(other.m_ledger, nullptr)), m_request(std::move(other.m_request)) {}
  PendingClaim& operator=(PendingClaim&&) = delete;
  PendingClaim(const PendingClaim&) = delete;
  ~PendingClaim() {
    if (m_ledger) (void)m_ledger->release_pending(m_request);
  }
  const PendingRequest& request() const { return m_request; }
  /// The decision is on record: the request leaves the pending set.
  core::Result<void> commit() {
    auto* ledger = std::exchange(m_ledger, nullptr);
    return ledger ? ledger->finish_pending(m_request) : core::Result<void>{};
  }

 private:
  Ledger* m_ledger;
  PendingRequest m_request;
};

/// Issued certificates and their revocations.
class CertificateRegistry {
 public:
  virtual ~CertificateRegistry() = default;
  virtual core::Result<crypto::Certificate> load_certificate(std::string_view ca,
                                                             std::string_view serial_hex) const = 0;
  /// The certificate with this serial (upper-case hex) and its state; nullopt when unknown.
  virtual core::Result<std::optional<IssuedCertificate>> find_certificate(std::string_view ca,
                                                                          std::string_view serial_hex) const = 0;
  virtual core::Result<std::vector<crypto::RevokedEntry>> revoked_certificates(std::string_view ca) const = 0;
  /// The serials (upper-case hex) of the CA's revocations, sorted: what its
  /// CRL must list. A listing that fails is an error.
  virtual core::Result<std::vector<std::string>> revoked_serials(std::string_view ca) const {
    SCEP_TRY_ASSIGN(auto revoked, revoked_certificates(ca));
    std::vector<std::string> out;
    for (auto& e : revoked) out.push_back(std::move(e.serial_hex));
    std::sort(out.begin(), out.end());
    return out;
  }
  /// Revokes a certificate with its audit event (one commit point);
  /// not_found for a serial the CA never issued, already_exists when it is
  /// revoked already.
  virtual core::Result<void> revoke(std::string_view ca, const crypto::RevokedEntry& entry,
                                    const AuditEvent& event) = 0;
};

/// Each CA's current CRL.
class CrlStore {
 public:
  virtual ~CrlStore() = default;
  /// The CA's stored CRL (DER), read without waiting for its writers (a
  /// reader sees the old one or the new one whole); nullopt when none was made.
  virtual core::Result<std::optional<core::Bytes>> load_crl(std::string_view ca) const = 0;
  /// Runs `update` on the CA's current CRL with the CA's CRL lock held, so
  /// two writers never sign the same CRL number; stores what it returns.
  /// The result is the CRL in force afterwards.
  virtual core::Result<core::Bytes> update_crl(std::string_view ca, const CrlUpdate& update) = 0;
  /// update_crl, unless another writer holds the lock: then nullopt at once,
  /// and `update` is not run.
  virtual core::Result<std::optional<core::Bytes>> try_update_crl(std::string_view ca, const CrlUpdate& update) = 0;
  /// update_crl for the CRL of the CA's earlier generation `id` (its own
  /// file and lock); not_found where generations are not kept.
  virtual core::Result<core::Bytes> update_earlier_crl(std::string_view ca, std::string_view id,
                                                       const CrlUpdate& update) {
    (void)ca;
    (void)update;
    return core::fail(core::Errc::not_found, fmt::format("no generation \"{}\"", id));
  }
};

/// Where events that are not part of a decision's record go (a decision's
/// own event is stored by its record_* operation).
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  /// Logs an event; one that cannot be written is reported, and what it
  /// reports on stands.
  virtual void audit(const AuditEvent& event) = 0;
};

/// The five roles a request works with, by reference; cheap to copy.
struct Backend {
  Catalog& catalog;
  Ledger& ledger;
  CertificateRegistry& certs;
  CrlStore& crls;
  AuditSink& audit;
};

}  // namespace scep
