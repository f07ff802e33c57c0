#include <algorithm>
#include <charconv>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "audit.hpp"
#include "core/names.hpp"
#include "env.hpp"
#include "show.hpp"
#include "target.hpp"

namespace scepctl {

namespace {

using Info = config::CaOptionInfo;
using Type = Info::Type;
std::span<const Info> ca_keys() { return config::ca_option_table(); }

std::string option_name(const Info& k) {
  std::string name = "--" + std::string(k.key);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string help(const Info& k) {
  switch (k.type()) {
    case Type::boolean: return fmt::format("{}: on|off", k.help);
    case Type::integer: return fmt::format("{} ({}..{})", k.help, k.min, k.max);
    case Type::policy_name: return std::string(k.help);
  }
  return std::string(k.help);
}

/// The TOML literal for a value typed on the command line, or why it is not one.
core::Result<std::string> to_literal(const Info& k, std::string_view v) {
  auto bad = [&](std::string_view want) {
    return core::fail(core::Errc::invalid_argument, fmt::format("\"{}\" is not {}", v, want));
  };
  switch (k.type()) {
    case Type::boolean:
      if (v == "on" || v == "true") return std::string("true");
      if (v == "off" || v == "false") return std::string("false");
      return bad("on or off");
    case Type::integer: {
      int n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < k.min || n > k.max)
        return bad(fmt::format("a whole number from {} to {}", k.min, k.max));
      return std::to_string(n);
    }
    case Type::policy_name:
      if (!v.empty() && !core::is_valid_name(v)) return bad("a policy name");
      return config::quote(v);
  }
  return bad("valid");
}

struct CaSetOptions {
  std::string name;
  std::vector<std::optional<std::string>> values = std::vector<std::optional<std::string>>(ca_keys().size());
};

core::Result<void> run_ca_set(const CaSetOptions& opt, Env& env) {
  std::vector<std::pair<std::string, std::string>> changes;
  for (std::size_t i = 0; i < ca_keys().size(); ++i) {
    if (!opt.values[i]) continue;
    auto literal = to_literal(ca_keys()[i], *opt.values[i]);
    if (!literal)
      return core::fail(literal.error().code, fmt::format("{}: {}", option_name(ca_keys()[i]), literal.error().detail));
    changes.emplace_back(ca_keys()[i].key, *literal);
  }
  if (changes.empty()) return core::fail(core::Errc::invalid_argument, "nothing to set");
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto name, target_ca(st, cfg, opt.name));
  SCEP_TRY(st.load_ca(name, cfg));
  for (std::size_t i = 0; i < ca_keys().size(); ++i)  // a policy approve cannot load is refused now, not then
    if (opt.values[i] && ca_keys()[i].type() == Type::policy_name && !opt.values[i]->empty())
      SCEP_TRY(st.load_policy(*opt.values[i]));
  SCEP_TRY(st.set_ca_options(name, changes));
  SCEP_TRY_ASSIGN(auto updated, st.load_config());
  const auto& o = updated.options_for(name);
  nlohmann::json changed = nlohmann::json::array();
  for (const auto& [key, literal] : changes) changed.push_back(key);
  nlohmann::json values = options_json(o);
  // The audit line: each key set, its value before and after.
  std::vector<std::string> audited;
  const auto& before = cfg.options_for(name);
  for (const auto& k : ca_keys())
    if (std::find(changed.begin(), changed.end(), k.key) != changed.end())
      audited.push_back(fmt::format("{}: {} -> {}", k.key, option_json(k, before).dump(), option_json(k, o).dump()));
  auto event = operator_action(env, name, "ca-set", scep::Outcome::changed,
                               fmt::format("{}", fmt::join(audited, ", ")));
  if (env.json) {
    env.out << nlohmann::json{{"ca", name}, {"changed", changed}, {"options", values}}.dump(2) << "\n";
    return audit_action(st, event);
  }
  env.out << fmt::format("CA \"{}\" (scep.toml [{}]):\n", name, config::ca_section(name));
  print_options(env.out, o, [&](std::string_view key) -> std::string_view {
    return std::find(changed.begin(), changed.end(), key) != changed.end() ? "  (set)" : "";
  });
  return audit_action(st, event);
}

}  // namespace

void add_ca_set_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaSetOptions>();
  auto* cmd = parent.add_subcommand("set", "change a CA's options in scep.toml");
  cmd->add_option("name", opt->name, "store name of the CA (default: the default CA)");
  for (std::size_t i = 0; i < ca_keys().size(); ++i) {
    const Info& k = ca_keys()[i];
    CLI::Validator valid(
        [&k](std::string& v) {
          auto r = to_literal(k, v);
          return r ? std::string() : r.error().detail;
        },
        "");
    cmd->add_option(option_name(k), opt->values[i], help(k))->check(valid);
  }
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_set(*opt, env); }; });
}

}  // namespace scepctl
