#pragma once
// The store's records, encoded and decoded in one place: each is one JSON
// line whose "format" member names its version; a version this program
// does not read is refused (Errc::store_io, as is any damaged record).
// Where each record lives: store/layout.hpp.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/crl.hpp"
#include "policy/secret.hpp"
#include "scep/records.hpp"

namespace store {

/// The version of the pending, revocation and secret records.
inline constexpr int record_format = 1;
/// The version of transaction records: 2 since issued ones carry their
/// certificate and audit event; format 1 records are still read.
inline constexpr int transaction_format = 2;

/// A transaction record with what an issued one carries besides.
struct StoredTransaction {
  scep::Transaction transaction;
  std::optional<crypto::Certificate> certificate;  ///< issued records since format 2
  std::optional<scep::AuditEvent> event;           ///< the decision's audit event (format 2)
};

/// ca/NAME/tx/KEY.json
std::string encode_transaction(const scep::Transaction& t, const crypto::Certificate* cert,
                               const scep::AuditEvent* event);
core::Result<StoredTransaction> parse_transaction(std::string_view text);

/// ca/NAME/pending/F.json (and F.claimed)
std::string encode_pending(const scep::PendingRequest& p);
core::Result<scep::PendingRequest> parse_pending(std::string_view text);

/// ca/NAME/revoked/SERIAL.json: the revocation and the audit event of it.
std::string encode_revocation(const crypto::RevokedEntry& entry, const scep::AuditEvent& event);
/// The entry for `serial`, which the record must name.
core::Result<crypto::RevokedEntry> parse_revocation(std::string_view text, std::string_view serial);
/// The audit event a revocation record carries, if any (a damaged record: an error).
core::Result<std::optional<scep::AuditEvent>> revocation_event(std::string_view text);

/// secrets/H.json: a secret's record (its hash, never the secret).
std::string encode_secret(const policy::SecretRecord& r);
core::Result<policy::SecretRecord> parse_secret(std::string_view text);

/// Client-controlled text in a record or an audit line is cut to `max`
/// bytes, with a marker saying how much was cut: one request adds a few KiB
/// at most. (The cut may split a UTF-8 sequence: dump_record replaces it.)
inline constexpr std::size_t max_field_bytes = 1024;
inline constexpr std::size_t max_listed_sans = 32;
std::string capped(std::string_view text, std::size_t max = max_field_bytes);
/// At most max_listed_sans names, each capped, and a note of how many more.
std::vector<std::string> listed_sans(const std::vector<std::string>& sans);
/// One JSON line. Invalid UTF-8 in a client's bytes becomes U+FFFD instead
/// of an exception: nothing a client sends makes a record unwritable.
std::string dump_record(const nlohmann::json& j);

/// An audit event as the audit log writes it, and back (for the event a
/// record carries, which `scepctl check --repair` appends when a crash lost
/// its line).
nlohmann::json event_json(const scep::AuditEvent& e);
scep::AuditEvent event_from_json(const nlohmann::json& j);
/// One line of audit.log; `recovered` marks a line check --repair appended.
std::string encode_audit_line(const scep::AuditEvent& e, bool recovered);

}  // namespace store
