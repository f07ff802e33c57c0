#pragma once
// The records the protocol decides about and the persistence roles store:
// CAs, transactions, pending requests, issued certificates, audit events.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/crl.hpp"
#include "policy/secret.hpp"
#include "scep/outcome.hpp"

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

/// An earlier generation of a CA, retired by a rollover's activation.
struct EarlierCa {
  std::string id;  ///< its store ID (ca/NAME/retired/ID): the CA certificate's serial, hex
  crypto::Certificate cert;
  std::optional<crypto::Certificate> ra;  ///< its RA certificate (the RA key is the current RA's)
};

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
  std::string key;                ///< e.g. "RSA 2048"
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
  /// What was decided; `error` until a step decides.
  Outcome outcome = Outcome::error;
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

}  // namespace scep
