#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "audit.hpp"
#include "env.hpp"

namespace scepctl {

struct CaSetOptions {
  std::string name;
  std::optional<std::string> legacy_algorithms;
  std::optional<std::string> include_root;
};

core::Result<void> run_ca_set(const CaSetOptions& opt, Env& env) {
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto cfg = st->load_config();
  if (!cfg) return std::unexpected(cfg.error());
  if (auto ca = st->load_ca(opt.name, *cfg); !ca) return std::unexpected(ca.error());
  if (!opt.legacy_algorithms && !opt.include_root) return core::fail(core::Errc::invalid_argument, "nothing to set");
  auto literal = [](const std::string& v) { return v == "on" ? "true" : "false"; };
  if (opt.legacy_algorithms)
    if (auto r = st->set_ca_option(opt.name, "legacy_algorithms", literal(*opt.legacy_algorithms)); !r) return r;
  if (opt.include_root)
    if (auto r = st->set_ca_option(opt.name, "include_root", literal(*opt.include_root)); !r) return r;
  auto updated = st->load_config();
  if (!updated) return std::unexpected(updated.error());
  const auto& o = updated->options_for(opt.name);
  const auto& before = cfg->options_for(opt.name);
  env.out << fmt::format("CA \"{}\": legacy_algorithms = {}, include_root = {}\n", opt.name, o.legacy_algorithms, o.include_root);
  std::vector<std::string> changes;
  auto change = [&](const char* key, bool from, bool to) { changes.push_back(fmt::format("{}: {} -> {}", key, from, to)); };
  if (opt.legacy_algorithms) change("legacy_algorithms", before.legacy_algorithms, o.legacy_algorithms);
  if (opt.include_root) change("include_root", before.include_root, o.include_root);
  return audit_action(*st, operator_action(env, opt.name, "ca-set", "changed", fmt::format("{}", fmt::join(changes, ", "))));
}

void add_ca_set_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaSetOptions>();
  auto* cmd = parent.add_subcommand("set", "change a CA's options in scep.toml");
  cmd->add_option("name", opt->name, "store name of the CA")->required();
  cmd->add_option("--legacy-algorithms", opt->legacy_algorithms, "accept DES-CBC and MD5 requests: on|off")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--include-root", opt->include_root, "send the root above an intermediate CA in GetCACert: on|off")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_set(*opt, env); }; });
}

}  // namespace scepctl
