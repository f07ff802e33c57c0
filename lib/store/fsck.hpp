#pragma once
// The store's invariants, checked: what `scepctl check` reports and what
// `--repair` may change. Each CA is checked with every one of its
// transaction locks held (enrollments on it wait meanwhile), so a decision
// in flight is never mistaken for one a crash cut short, and --repair is
// safe while the service runs.
//
// The records are the truth: transaction records (tx/), revocation records
// (revoked/), pending requests and secrets. certs/, the spent-use tokens'
// attribution and audit.log are checked against them; whatever a crash or
// an I/O error left half done is finished (from the record) or undone (when
// no record names it).

#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/store.hpp"

namespace store {

struct Finding {
  enum class Fix {
    none,          ///< needs the operator
    remove,        ///< garbage: a temp file, a stale claim, an orphaned token, a certificate no record names
    restore,       ///< a request a crashed approval took out of the pending set goes back
    write_tx,      ///< a pending request whose transaction record was never written gets it
    write_index,   ///< certs/SERIAL.pem is written again from the transaction record
    append_audit,  ///< the audit line a crash lost is appended from the record's event
    return_use,    ///< a secret use no recorded transaction took goes back to the secret
    cut_audit,     ///< a torn last line of audit.log is cut off
  };
  std::string path;  ///< relative to the store root
  std::string problem;
  Fix fix = Fix::none;
  bool repaired = false;
};

/// Every broken invariant of the store's records, one finding each; with
/// `repair`, applies each finding's fix.
core::Result<std::vector<Finding>> check_records(Store& st, bool repair);

}  // namespace store
