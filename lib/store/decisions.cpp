// Transactions and the decisions on them, each with one commit point: the
// write of the transaction record (tx/KEY.json, fsynced, then linked or
// renamed into place, then its directory fsynced).
//
// An issuance, step by step:
//   1. a use of the secret moves to secrets/H.spent-KEY (rename): spent and
//      attributed to this transaction at once;
//   2. the certificate's index entry certs/SERIAL.pem is linked into place,
//      which claims the serial (not synced: check rebuilds it from 3);
//   3. tx/KEY.json, carrying the certificate and the audit event, is
//      written: the COMMIT POINT;
//   4. the audit line is appended (check appends it again if it is lost).
// An error before 3 undoes 2 and 1, so nothing is spent; a crash before 3
// leaves a spent use and maybe a certificate that no record names, which the
// client's retry of the same transactionID takes over (1 finds its use) and
// `scepctl check --repair` gives back and removes. After 3 the decision
// stands: a retry gets the same certificate.
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/der.hpp"
#include "store/atomic_file.hpp"
#include "store/file_lock.hpp"
#include "store/file_ops.hpp"
#include "store/fs_util.hpp"
#include "store/store.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;

namespace {

std::uint64_t lock_offset(std::string_view key) {
  // The first 16 hex digits of the key: the same byte for the same transactionID.
  return std::stoull(std::string(key.substr(0, 16)), nullptr, 16);
}

}  // namespace

fs::path Store::transaction_path(std::string_view ca, std::string_view key) const {
  return m_layout.transaction(ca, key);
}

core::Result<scep::LockGuard> Store::lock_transaction(std::string_view ca, std::string_view tid) const {
  return lock_transaction_key(ca, transaction_key(tid));
}

core::Result<scep::LockGuard> Store::lock_transaction_key(std::string_view ca, std::string_view key) const {
  SCEP_TRY(check_ca_name(ca));
  if (!is_hex_key(key)) return core::fail(Errc::invalid_argument, "not a transaction key");
  SCEP_TRY_ASSIGN(auto lock, FileLock::byte(m_layout.tx_lock(ca), lock_offset(key)));
  return std::make_shared<FileLock>(std::move(lock));
}

core::Result<std::optional<StoredTransaction>> Store::load_transaction(std::string_view ca,
                                                                       std::string_view key) const {
  SCEP_TRY(check_ca_name(ca));
  auto text = read_file(transaction_path(ca, key), 1u << 20);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::optional<StoredTransaction>();
    return std::unexpected(text.error());
  }
  auto t = parse_transaction(core::to_string(*text));
  if (!t)
    return core::fail(Errc::store_io, fmt::format("{}: {}", transaction_path(ca, key).string(), t.error().detail));
  return std::optional<StoredTransaction>(std::move(*t));
}

core::Result<std::optional<scep::Transaction>> Store::find_transaction(std::string_view ca,
                                                                       std::string_view tid) const {
  SCEP_TRY_ASSIGN(auto t, load_transaction(ca, transaction_key(tid)));
  // A different transactionID under the same hash: a collision, however unlikely.
  if (!t || t->transaction.transaction_id != tid) return std::optional<scep::Transaction>();
  return std::optional<scep::Transaction>(std::move(t->transaction));
}

core::Result<void> Store::add_transaction(const scep::Transaction& t) {
  return write_transaction(t, nullptr, nullptr, AtomicReplace::no);
}
core::Result<void> Store::update_transaction(const scep::Transaction& t) {
  return write_transaction(t, nullptr, nullptr, AtomicReplace::yes);
}

core::Result<void> Store::write_transaction(const scep::Transaction& t, const crypto::Certificate* cert,
                                            const scep::AuditEvent* event, AtomicReplace replace, bool* visible) {
  if (visible) *visible = false;
  SCEP_TRY(check_ca_name(t.ca));
  fs::path dir = m_layout.tx_dir(t.ca);
  SCEP_TRY(ensure_dir(dir));
  SCEP_TRY_ASSIGN(auto file, AtomicFile::create(transaction_path(t.ca, transaction_key(t.transaction_id)), 0640));
  SCEP_TRY(file.write(encode_transaction(t, cert, event)));
  auto r = file.commit(replace == AtomicReplace::yes ? AtomicFile::Replace::yes : AtomicFile::Replace::no,
                       AtomicFile::Durable::file);
  if (!r) return r;
  // From here on the record is what everyone reads: the decision is made,
  // whether or not the directory's sync below succeeds. Its audit line is
  // an index of the records (check --repair appends it should it be lost).
  if (visible) *visible = true;
  if (event) log_decision(*event);
  return sync_directory(dir);
}

core::Result<scep::Recorded> Store::record_issuance(const scep::Issuance& is) {
  const scep::Transaction& t = is.transaction;
  SCEP_TRY(check_ca_name(t.ca));
  std::string key = transaction_key(t.transaction_id);
  if (is.secret) {
    SCEP_TRY_ASSIGN(auto spent, spend_use(*is.secret, key));
    if (!spent) return scep::Recorded::secret_used_up;
  }
  // A renewal claims the one renewal of the certificate it renews. A claim
  // this transaction holds already is its own earlier try, cut short: twins
  // wait for each other on the transaction lock, so none is running.
  bool claimed_now = false;
  // Nothing recorded: the use goes back and the claim is let go. Should that
  // fail too, they stay with this transaction, for its retry or for check --repair.
  auto give_back = [&] {
    if (is.secret) (void)return_use(*is.secret, key);
    if (claimed_now) (void)sys::unlink(m_layout.renewal(t.ca, is.renews).c_str());
  };
  if (!is.renews.empty()) {
    auto holder = claim_renewal(t.ca, is.renews, t.transaction_id);
    if (!holder) {
      give_back();
      return std::unexpected(holder.error());
    }
    if (*holder && **holder != t.transaction_id) {
      give_back();
      return scep::Recorded::already_renewed;
    }
    claimed_now = !*holder;
  }
  fs::path index = certificate_path(t.ca, is.certificate.serial_hex());
  if (auto r = write_certificate_index(t.ca, is.certificate, t.policy, key); !r) {
    give_back();
    if (r.error().code == Errc::already_exists) return scep::Recorded::serial_taken;
    return std::unexpected(r.error());
  }
  scep::Transaction record = t;
  if (is.secret) record.secret_hash = is.secret->hash;
  bool visible = false;
  auto committed = write_transaction(record, &is.certificate, &is.event,
                                     is.replaces ? AtomicReplace::yes : AtomicReplace::no, &visible);
  if (!committed && !visible) {
    (void)sys::unlink(index.c_str());
    give_back();
    if (committed.error().code == Errc::already_exists) return scep::Recorded::transaction_exists;
    return std::unexpected(committed.error());
  }
  // Recorded (if not yet durably: the client is told it failed, and its
  // retry gets this certificate).
  if (!committed) return std::unexpected(committed.error());
  return scep::Recorded::recorded;
}

core::Result<void> Store::record_pending(const scep::PendingRequest& p, const scep::Transaction& t,
                                         const scep::AuditEvent& event) {
  // The pending request first (its name claims the PKCS#10), then the
  // transaction record: the commit point. A crash between them leaves a
  // request that the client's retry (it finds its own request) and check
  // --repair (it writes the record) complete.
  bool parked_now = true;
  if (auto r = add_pending(p); !r) {
    if (r.error().code != Errc::already_exists) return r;
    auto text = read_file(pending_path(p), 1u << 20);
    auto waiting = text ? parse_pending(core::to_string(*text)) : std::unexpected(text.error());
    if (!waiting || waiting->transaction_id != p.transaction_id) return r;
    parked_now = false;  // this transaction's own earlier try
  }
  bool visible = false;
  auto committed = write_transaction(t, nullptr, &event, AtomicReplace::no, &visible);
  if (!committed && !visible && parked_now) (void)sys::unlink(pending_path(p).c_str());
  return committed;
}

core::Result<void> Store::record_rejection(const scep::Transaction& t, const scep::AuditEvent& event) {
  return write_transaction(t, nullptr, &event, AtomicReplace::yes);
}

}  // namespace store
