#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "env.hpp"
#include "privileges.hpp"

namespace scepctl {

int exit_code(core::Errc code) {
  switch (code) {
    case core::Errc::invalid_argument: return 2;
    case core::Errc::malformed_request: return 2;
    case core::Errc::not_found: return 3;
    case core::Errc::unknown_ca: return 3;
    case core::Errc::unknown_certificate: return 3;
    case core::Errc::already_exists: return 4;
    case core::Errc::store_io: return 5;
    case core::Errc::store_busy: return 5;
    case core::Errc::config_invalid: return 6;
    case core::Errc::decrypt_failed: return 1;
    case core::Errc::too_large: return 1;
    case core::Errc::unsupported_algorithm: return 1;
    case core::Errc::bad_message_check: return 1;
    case core::Errc::bad_time: return 1;
    case core::Errc::policy_rejected: return 1;
    case core::Errc::challenge_invalid: return 1;
    case core::Errc::internal: return 1;
  }
  return 1;
}

int run(std::vector<std::string> args, Env& env) {
  CLI::App app{"scepctl - operate a SCEP (RFC 8894) certificate service"};
  app.name("scepctl");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "scepctl 0.1.0");
  app.add_option("--store", env.store_path, "store directory (default: $SCEP_STORE, else /var/lib/scep)");
  app.add_flag("--json", env.json, "print machine-readable JSON");
  add_init_command(app, env);
  add_ca_command(app, env);
  add_ra_command(app, env);
  add_export_command(app, env);
  add_policy_command(app, env);
  add_secret_command(app, env);
  add_pending_command(app, env);
  add_approve_command(app, env);
  add_certs_command(app, env);
  add_check_command(app, env);
  add_audit_command(app, env);
  add_serve_command(app, env);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, env.out, env.err);
  }
  if (!env.command) return 0;
  // Once the store is known and before the command touches it.
  core::Result<void> r = env.run_as == RunAs::store_owner ? become_store_owner(env.store_path) : core::Result<void>{};
  if (r) r = env.command();
  if (r) return 0;
  env.err << "scepctl: error: " << r.error().detail << "\n";
  return exit_code(r.error().code);
}

}  // namespace scepctl

