#pragma once
// What the protocol service needs from persistent state. `store::Repository`
// implements it over the flat-file store; tests can use an in-memory twin.

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/crl.hpp"
#include "crypto/keys.hpp"
#include "policy/policy.hpp"
#include "policy/secret.hpp"

namespace scep {

/// A CA's public side, enough for GetCACaps/GetCACert. Keys are loaded only
/// when an operation needs them.
struct CaBundle {
  std::string name;
  crypto::Certificate cert;
  std::vector<crypto::Certificate> chain;  ///< issuers above `cert`, nearest first, root last
  std::optional<crypto::Certificate> ra;
  config::CaOptions options;
};

enum class KeyRole { ca, ra };

/// One enrollment transaction: (CA, transactionID) -> its outcome.
struct Transaction {
  enum class State { issued, pending, rejected };
  std::string ca;
  std::string transaction_id;
  State state = State::issued;
  core::Bytes key_id;  ///< SHA-256 of the requested public key (SPKI DER)
  std::string serial;  ///< issued: the certificate's serial (hex)
  std::string secret_id;
  std::string policy;
  std::string reason;  ///< rejected: why
  core::TimePoint created{};
  std::string renewed_from;  ///< a renewal: the serial of the certificate it replaced
  /// The secret (its hash) one use of which paid for this transaction's
  /// first certificate; kept when a renewal on the same transactionID
  /// replaces the record, so the use stays attributed.
  core::Bytes secret_hash;
};

/// A request waiting for an operator (manual authentication).
struct PendingRequest {
  std::string ca;
  std::string transaction_id;
  std::string remote;
  core::Bytes csr_der;  ///< the whole PKCS#10: its hashes are the fingerprints read over the phone
  core::TimePoint created{};
  /// What the service read from the PKCS#10 when it parked it, so that
  /// listing thousands of requests parses none (OpenSSL 3.0 spends ~0.1 ms
  /// decoding each request's public key). Empty in records made before.
  std::string subject;
  std::vector<std::string> sans;  ///< crypto::to_display: escaped
  std::string key;  ///< e.g. "RSA 2048"
  /// What the operator should know before approving, e.g. "signed by
  /// certificate 1A2B: revoked (superseded)"; empty when nothing.
  std::string note;
};

/// An issued certificate with what the store knows about it.
struct IssuedCertificate {
  crypto::Certificate cert;
  std::string policy;  ///< the policy it was issued under; empty: unknown (renewals use the built-in policy)
  std::optional<crypto::RevokedEntry> revocation;
};

/// Decides the CA's next CRL from the current one (DER, if any): a new CRL,
/// or nullopt to keep the current one.
using CrlUpdate = std::function<core::Result<std::optional<core::Bytes>>(const std::optional<core::Bytes>& current)>;

/// A CA's CRL as a long-lived process keeps it between requests, so that
/// GetCRL neither reads nor parses anything while nothing changed.
struct CrlMemo {
  core::Bytes der;
  crypto::Certificate issuer;  ///< the CA certificate it was verified with
  core::TimePoint this_update{}, next_update{};
};

/// Who ran an operator's command: the user scepctl was started as (before
/// it became the store's owner, privileges.hpp) and, under sudo, the user
/// who invoked sudo. uid -1: not an operator's action (a device's request).
struct Operator {
  long uid = -1;
  std::string user;       ///< the uid's login name; empty when it has none
  std::string sudo_user;  ///< $SUDO_USER; empty when unset
};

/// One line of the audit log: one decision, or one operator's action
/// (operation "secret-create", "ca-set", ...; `by` says who).
struct AuditEvent {
  core::TimePoint time{};
  std::string ca, remote, operation, transaction_id, subject, secret_id, policy;
  std::string outcome;   ///< "issued", "reissued", "pending", "rejected", "failure"
  std::string serial;
  std::string fail_info;
  std::string detail;
  /// Set once a record_* operation stored this event with its decision, so
  /// the caller does not log it again.
  bool recorded = false;
  /// The request's subjectAltNames as crypto::to_display writes them (escaped).
  std::vector<std::string> sans;
  /// The operator whose command made this decision or change; unset for a
  /// device's request.
  std::optional<Operator> by{};
};

/// A certificate to record for a transaction: record_issuance stores all of
/// it as one decision.
struct Issuance {
  Transaction transaction;  ///< state issued; `serial` is the certificate's
  crypto::Certificate certificate;
  /// The secret one use of which pays for the certificate; null when none
  /// does (renewal, approval).
  const policy::SecretRecord* secret = nullptr;
  AuditEvent event;
  /// The transaction's record exists and is replaced (an approval of a
  /// pending request, a renewal on the transactionID it enrolled with).
  bool replaces = false;
  /// A renewal: the serial of the certificate it renews, whose one renewal
  /// this claims for the transaction.
  std::string renews;
};

/// What record_issuance did. Everything but `recorded` stored nothing.
enum class Recorded {
  recorded,
  serial_taken,        ///< another certificate has this serial: sign again under a new one
  secret_used_up,      ///< the secret had no use left
  transaction_exists,  ///< a twin recorded this transactionID first
  already_renewed,     ///< another transaction renewed `renews`
};

/// A held lock; released when the last copy is destroyed.
using LockGuard = std::shared_ptr<void>;

class Repository {
 public:
  virtual ~Repository() = default;
  /// The CA a client asked for by store name; empty `name` means the default CA.
  /// Errc::unknown_ca when there is no such CA.
  virtual core::Result<CaBundle> find_ca(std::string_view name) = 0;
  /// The store name of the CA find_ca would return, without loading its
  /// certificates (GetCACaps needs nothing more). Same errors as find_ca.
  virtual core::Result<std::string> resolve_ca(std::string_view name) {
    auto ca = find_ca(name);
    if (!ca) return std::unexpected(ca.error());
    return ca->name;
  }
  /// Whether a CA identifier that names no CA (the `message=` of GetCACaps,
  /// GetCACert, GetCACertChain) is refused rather than answered for the
  /// default CA.
  virtual bool strict_ca_names() { return false; }
  virtual core::Result<std::vector<std::string>> ca_names() = 0;
  virtual core::Result<crypto::PrivateKey> load_key(std::string_view ca, KeyRole role) = 0;

  virtual core::Result<policy::Policy> load_policy(std::string_view name) = 0;
  /// The secret with this hash, if any (whatever its state).
  virtual core::Result<std::optional<policy::SecretRecord>> find_secret(core::ByteView hash) = 0;
  /// How many uses of a secret transaction `transaction_id` may take: the
  /// uses left, and the one an earlier try of the same transaction spent
  /// before it was cut short (a crash), which its retry takes over.
  virtual core::Result<int> secret_uses_left(const policy::SecretRecord& secret, std::string_view transaction_id) = 0;

  /// Serialises the decisions on one transactionID (across processes for
  /// the store): a client's retry sent while its first try is being decided
  /// waits, then finds the first try's record and gets the same answer.
  virtual core::Result<LockGuard> lock_transaction(std::string_view ca, std::string_view transaction_id) = 0;
  virtual core::Result<std::optional<Transaction>> find_transaction(std::string_view ca, std::string_view transaction_id) = 0;

  // Decisions. Each is ONE operation with one commit point: after an error
  // or a crash at any step, either nothing of it is stored (and nothing
  // spent), or all of it is, or what is left is completed by the client's
  // retry of the same transactionID and by `scepctl check --repair`. The
  // caller holds lock_transaction for the transaction.

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
  virtual core::Result<std::size_t> count_pending(std::string_view ca) = 0;

  virtual core::Result<crypto::Certificate> load_certificate(std::string_view ca, std::string_view serial_hex) = 0;
  /// The certificate with this serial (upper-case hex) and its state; nullopt when unknown.
  virtual core::Result<std::optional<IssuedCertificate>> find_certificate(std::string_view ca,
                                                                          std::string_view serial_hex) = 0;
  virtual core::Result<std::vector<crypto::RevokedEntry>> revoked_certificates(std::string_view ca) = 0;
  /// The serials (upper-case hex) of the CA's revocations, sorted: what its
  /// CRL must list. Reads the names only, not the records; a listing that
  /// fails is an error, as in revoked_certificates.
  virtual core::Result<std::vector<std::string>> revoked_serials(std::string_view ca) {
    auto revoked = revoked_certificates(ca);
    if (!revoked) return std::unexpected(revoked.error());
    std::vector<std::string> out;
    for (auto& e : *revoked) out.push_back(std::move(e.serial_hex));
    std::sort(out.begin(), out.end());
    return out;
  }
  /// The CA's stored CRL (DER), read without waiting for its writers (a
  /// reader sees the old file or the new one whole); nullopt when none was made.
  virtual core::Result<std::optional<core::Bytes>> load_crl(std::string_view ca) = 0;
  /// Runs `update` on the CA's current CRL with the CA's CRL lock held, so
  /// two writers never sign the same CRL number; stores what it returns.
  /// The result is the CRL in force afterwards.
  virtual core::Result<core::Bytes> update_crl(std::string_view ca, const CrlUpdate& update) = 0;
  /// update_crl, unless another writer holds the lock: then nullopt at once,
  /// and `update` is not run.
  virtual core::Result<std::optional<core::Bytes>> try_update_crl(std::string_view ca, const CrlUpdate& update) = 0;
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

  virtual void audit(const AuditEvent& event) = 0;
};

}  // namespace scep
