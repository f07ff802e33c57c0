#include <array>
#include <charconv>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/names.hpp"
#include "audit.hpp"
#include "env.hpp"
#include "target.hpp"

namespace scepctl {

namespace {

/// One per-CA key of scep.toml's [ca.NAME] table, as `ca set` changes it.
/// Adding a key to config::CaOptions means adding a row here, nothing else.
struct CaKey {
  enum class Type { on_off, integer, policy_name };
  std::string_view key;  ///< in scep.toml; the option is --key with '-' for '_'
  Type type;
  int min, max;  ///< Type::integer
  std::string_view help;
  nlohmann::json (*get)(const config::CaOptions&);
};

using CaKeyType = CaKey::Type;
const std::array<CaKey, 8> ca_keys{{
    {"legacy_algorithms", CaKeyType::on_off, 0, 0, "accept DES-CBC and MD5 requests: on|off",
     [](const config::CaOptions& o) -> nlohmann::json { return o.legacy_algorithms; }},
    {"include_root", CaKeyType::on_off, 0, 0, "send the root above an intermediate CA in GetCACert: on|off",
     [](const config::CaOptions& o) -> nlohmann::json { return o.include_root; }},
    {"manual_enrollment", CaKeyType::on_off, 0, 0, "park requests without a challenge password for approval: on|off",
     [](const config::CaOptions& o) -> nlohmann::json { return o.manual_enrollment; }},
    {"max_pending", CaKeyType::integer, 0, 10'000'000, "refuse new pending requests past this many",
     [](const config::CaOptions& o) -> nlohmann::json { return o.max_pending; }},
    {"pending_days", CaKeyType::integer, 1, 3650, "unapproved requests expire after this many days",
     [](const config::CaOptions& o) -> nlohmann::json { return o.pending_days; }},
    {"manual_policy", CaKeyType::policy_name, 0, 0, "policy of `approve` without --policy (\"\": built-in defaults)",
     [](const config::CaOptions& o) -> nlohmann::json { return o.manual_policy; }},
    {"crl_days", CaKeyType::integer, 1, 3650, "days a CRL is valid (nextUpdate - thisUpdate)",
     [](const config::CaOptions& o) -> nlohmann::json { return o.crl_days; }},
    {"renewal_grace_days", CaKeyType::integer, 0, 3650, "days after expiry a certificate may still renew",
     [](const config::CaOptions& o) -> nlohmann::json { return o.renewal_grace_days; }},
}};

std::string option_name(const CaKey& k) {
  std::string name = "--" + std::string(k.key);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

/// The TOML literal for a value typed on the command line, or why it is not one.
core::Result<std::string> to_literal(const CaKey& k, std::string_view v) {
  auto bad = [&](std::string_view want) {
    return core::fail(core::Errc::invalid_argument, fmt::format("\"{}\" is not {}", v, want));
  };
  switch (k.type) {
    case CaKeyType::on_off:
      if (v == "on" || v == "true") return std::string("true");
      if (v == "off" || v == "false") return std::string("false");
      return bad("on or off");
    case CaKeyType::integer: {
      int n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < k.min || n > k.max)
        return bad(fmt::format("a whole number from {} to {}", k.min, k.max));
      return std::to_string(n);
    }
    case CaKeyType::policy_name:
      if (!v.empty() && !core::is_valid_name(v)) return bad("a policy name");
      return config::quote(v);
  }
  return bad("valid");
}

struct CaSetOptions {
  std::string name;
  std::array<std::optional<std::string>, ca_keys.size()> values;
};

core::Result<void> run_ca_set(const CaSetOptions& opt, Env& env) {
  std::vector<std::pair<std::string, std::string>> changes;
  for (std::size_t i = 0; i < ca_keys.size(); ++i) {
    if (!opt.values[i]) continue;
    auto literal = to_literal(ca_keys[i], *opt.values[i]);
    if (!literal)
      return core::fail(literal.error().code, fmt::format("{}: {}", option_name(ca_keys[i]), literal.error().detail));
    changes.emplace_back(ca_keys[i].key, *literal);
  }
  if (changes.empty()) return core::fail(core::Errc::invalid_argument, "nothing to set");
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto cfg = st->load_config();
  if (!cfg) return std::unexpected(cfg.error());
  auto name = target_ca(*st, *cfg, opt.name);
  if (!name) return std::unexpected(name.error());
  if (auto ca = st->load_ca(*name, *cfg); !ca) return std::unexpected(ca.error());
  for (std::size_t i = 0; i < ca_keys.size(); ++i)  // a policy approve cannot load is refused now, not then
    if (opt.values[i] && ca_keys[i].type == CaKeyType::policy_name && !opt.values[i]->empty())
      if (auto p = st->load_policy(*opt.values[i]); !p) return std::unexpected(p.error());
  if (auto r = st->set_ca_options(*name, changes); !r) return r;
  auto updated = st->load_config();
  if (!updated) return std::unexpected(updated.error());
  const auto& o = updated->options_for(*name);
  nlohmann::json values = nlohmann::json::object(), changed = nlohmann::json::array();
  for (const auto& [key, literal] : changes) changed.push_back(key);
  for (const auto& k : ca_keys) values[std::string(k.key)] = k.get(o);
  // The audit line: each key set, its value before and after.
  std::vector<std::string> audited;
  const auto& before = cfg->options_for(*name);
  for (const auto& k : ca_keys)
    if (std::find(changed.begin(), changed.end(), k.key) != changed.end())
      audited.push_back(fmt::format("{}: {} -> {}", k.key, k.get(before).dump(), k.get(o).dump()));
  auto event = operator_action(env, *name, "ca-set", "changed", fmt::format("{}", fmt::join(audited, ", ")));
  if (env.json) {
    env.out << nlohmann::json{{"ca", *name}, {"changed", changed}, {"options", values}}.dump(2) << "\n";
    return audit_action(*st, event);
  }
  env.out << fmt::format("CA \"{}\" (scep.toml [{}]):\n", *name, config::ca_section(*name));
  for (const auto& k : ca_keys) {
    bool was_set = std::find(changed.begin(), changed.end(), k.key) != changed.end();
    env.out << fmt::format("  {:<19} = {}{}\n", k.key, k.get(o).dump(), was_set ? "  (set)" : "");
  }
  return audit_action(*st, event);
}

}  // namespace

void add_ca_set_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaSetOptions>();
  auto* cmd = parent.add_subcommand("set", "change a CA's options in scep.toml");
  cmd->add_option("name", opt->name, "store name of the CA (default: the default CA)");
  for (std::size_t i = 0; i < ca_keys.size(); ++i) {
    const CaKey& k = ca_keys[i];
    CLI::Validator valid(
        [&k](std::string& v) {
          auto r = to_literal(k, v);
          return r ? std::string() : r.error().detail;
        },
        "");
    cmd->add_option(option_name(k), opt->values[i], std::string(k.help))->check(valid);
  }
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_set(*opt, env); }; });
}

}  // namespace scepctl
