#pragma once
// The store's invariants, checked: what `scepctl check` reports and what
// `--repair` may change. Repair assumes no writer is running (stop the
// service first, as for fsck): then every leftover below is provably garbage
// or provably restorable.

#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/store.hpp"

namespace store {

struct Finding {
  enum class Fix {
    none,      ///< needs the operator
    remove,    ///< garbage: a temp file, a stale claim, an orphaned token
    restore,   ///< a request a crashed approval took out of the pending set goes back
    write_tx,  ///< a pending request whose transaction record was never written gets it
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
