#include <algorithm>

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
    case core::Errc::already_exists: return 4;
    case core::Errc::store_io: return 5;
    case core::Errc::store_busy: return 5;
    case core::Errc::config_invalid: return 6;
    case core::Errc::unavailable: return 6;
    case core::Errc::decrypt_failed: return 1;
    case core::Errc::too_large: return 1;
    case core::Errc::unsupported_algorithm: return 1;
    case core::Errc::bad_message_check: return 1;
    case core::Errc::policy_rejected: return 1;
    case core::Errc::internal: return 1;
  }
  return 1;
}

namespace {

/// Edit distance (insertions, deletions, substitutions, transpositions).
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The known name `typed` most likely meant: a prefix either way, else one
/// within an edit distance of 2 (1 for short words); empty when none is close.
std::string closest(std::string_view typed, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = typed.size() <= 3 ? 2 : 3;
  for (const auto& name : known) {
    std::size_t d = name.starts_with(typed) || typed.starts_with(name) ? 1 : distance(typed, name);
    if (d < best_d) best_d = d, best = name;
  }
  return best;
}

const CLI::Option* find_option(CLI::App* app, const std::string& arg) {
  std::string name = arg.substr(0, arg.find('='));
  for (; app; app = app->get_parent())
    if (const CLI::Option* o = app->get_option_no_throw(name)) return o;
  return nullptr;
}

std::vector<std::string> command_names(CLI::App& app) {
  std::vector<std::string> names;
  for (auto* s : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(s->get_name());
  return names;
}

/// "unknown command 'certz' (did you mean 'certs'?)" when a word in a
/// command's place is none, and with `missing_is_an_error` "'ca' needs a
/// command (commands: ...)" when the line ends where a command must
/// follow; empty otherwise, so CLI11's own message stands.
std::string unknown_command(CLI::App& app, const std::vector<std::string>& args, bool missing_is_an_error) {
  CLI::App* cur = &app;
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() > 1 && a.front() == '-') {
      const CLI::Option* o = find_option(cur, a);
      if (o && o->get_items_expected_min() > 0 && a.find('=') == std::string::npos) ++i;
      continue;
    }
    auto subs = cur->get_subcommands([](CLI::App*) { return true; });
    auto it = std::find_if(subs.begin(), subs.end(), [&](CLI::App* s) { return s->check_name(a); });
    if (it != subs.end()) {
      cur = *it;
      path += (*it)->get_name() + " ";
      continue;
    }
    if (subs.empty() || cur->get_require_subcommand_min() == 0) return {};
    auto names = command_names(*cur);
    std::string guess = closest(a, names);
    if (!guess.empty()) return fmt::format("unknown command '{}{}' (did you mean '{}{}'?)", path, a, path, guess);
    return fmt::format("unknown command '{}{}' (commands: {})", path, a, fmt::join(names, ", "));
  }
  // All words were commands, but the last one needs one more.
  if (missing_is_an_error && cur->get_require_subcommand_min() > 0 && cur->get_subcommands().empty()) {
    std::string what = path.empty() ? "a command is required"
                                    : fmt::format("'{}' needs a command", path.substr(0, path.size() - 1));
    return fmt::format("{} (commands: {})", what, fmt::join(command_names(*cur), ", "));
  }
  return {};
}

}  // namespace

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
  add_cert_command(app, env);
  add_certs_command(app, env);
  add_check_command(app, env);
  add_audit_command(app, env);
  add_serve_command(app, env);
  const std::vector<std::string> given = args;
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, env.out, env.err);  // --help, --version
    // A usage error like any other: one line, exit 2 (CLI11's own codes,
    // 105-114, said nothing a script could use).
    bool required = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
    std::string unknown = unknown_command(app, given, required);
    env.err << "scepctl: error: " << (unknown.empty() ? e.what() : unknown) << "\n";
    return 2;
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
