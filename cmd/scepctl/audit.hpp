#pragma once
// The operator's side of the audit log: who runs scepctl, one line per
// action that changes the store, and `scepctl audit` to read the log back.

#include <string>

#include "core/error.hpp"
#include "scep/records.hpp"
#include "store/store.hpp"

namespace CLI {
class App;
}

namespace scepctl {

struct Env;

/// Who is running this process: the real uid, its login name, $SUDO_USER.
/// Taken before scepctl becomes the store's owner (privileges.hpp).
scep::Operator current_operator();

/// An operator's action on `ca` (empty: the whole store): the event the
/// command fills in further (serial, secret_id, policy, subject, detail).
scep::AuditEvent operator_action(const Env& env, std::string ca, std::string operation, scep::Outcome outcome,
                                 std::string detail = {});

/// An action that installed `cert` (a CA or RA certificate): its serial,
/// subject, validity and SHA-256 fingerprint, then `extra`.
scep::AuditEvent cert_action(const Env& env, std::string ca, std::string operation, scep::Outcome outcome,
                             const crypto::Certificate& cert, std::string_view extra = {});

/// Appends an action that is done to the audit log. A line that cannot be
/// written is an error that says the action itself took place.
core::Result<void> audit_action(store::Store& st, const scep::AuditEvent& e);

void add_audit_command(CLI::App& app, Env& env);

}  // namespace scepctl
