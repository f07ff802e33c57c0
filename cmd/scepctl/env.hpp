#pragma once
// What every scepctl subcommand is given (Env) and the add_*_command
// registrations main.cpp calls, one per cmd_<name>.cpp.

#include <functional>
#include <ostream>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace CLI {
class App;
}

namespace scepctl {

/// Whose ids a command runs with. Only the real program switches: the
/// in-process tests call run() as root and must stay root.
enum class RunAs {
  caller,       ///< as started
  store_owner,  ///< root becomes the owner of an existing store (privileges.hpp)
};

/// What every subcommand gets: streams, the store location, output mode,
/// clock and randomness. Tests build one over string streams.
struct Env {
  std::ostream& out;
  std::ostream& err;
  const core::Clock& clock;
  core::Rng& rng;
  std::string store_path;  ///< --store, else $SCEP_STORE, else /var/lib/scep
  bool json = false;
  /// The chosen subcommand, run after the whole command line is parsed.
  std::function<core::Result<void>()> command;
  RunAs run_as = RunAs::caller;
  /// Who runs the command, for the audit log (audit.hpp: current_operator).
  scep::Operator who{};

  core::Result<store::Store> open_store(store::OpenMode mode) const {
    auto st = store::Store::open(store_path, mode);
    if (st) st->set_warning_sink([&err = err](std::string_view m) { err << "scepctl: " << m << std::endl; });
    return st;
  }
};

void add_init_command(CLI::App& app, Env& env);
void add_ca_command(CLI::App& app, Env& env);
void add_ra_command(CLI::App& app, Env& env);
void add_export_command(CLI::App& app, Env& env);
void add_serve_command(CLI::App& app, Env& env);
void add_policy_command(CLI::App& app, Env& env);
void add_secret_command(CLI::App& app, Env& env);
void add_pending_command(CLI::App& app, Env& env);
void add_approve_command(CLI::App& app, Env& env);
void add_certs_command(CLI::App& app, Env& env);
void add_cert_command(CLI::App& app, Env& env);
void add_check_command(CLI::App& app, Env& env);
void add_audit_command(CLI::App& app, Env& env);

/// Runs scepctl with `args` (without argv[0]); returns the exit status.
int run(std::vector<std::string> args, Env& env);

/// Exit status for an error (never 100-127, which CLI11 uses).
int exit_code(core::Errc code);

}  // namespace scepctl
