#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "audit.hpp"
#include "ca/authority.hpp"
#include "core/names.hpp"
#include "env.hpp"
#include "show.hpp"

namespace scepctl {

struct CaCreateOptions {
  std::string name;
  std::string subject;
  int key_bits = 2048;
  int days = 3650;
  bool make_default = false;
};

/// Installs a new CA and makes it the default when asked or when it is the first.
core::Result<void> install_ca(Env& env, store::Store& st, const std::string& name, const store::NewCa& ca,
                              bool make_default, std::string_view operation) {
  SCEP_TRY_ASSIGN(auto existing, st.ca_names());
  SCEP_TRY(st.add_ca(name, ca));
  bool is_default = make_default || existing.empty();
  if (is_default) {
    SCEP_TRY(st.set_default_ca(name));
  }
  if (env.json) {
    auto j = cert_json(ca.cert);
    j["name"] = name;
    env.out << j.dump(2) << "\n";
  } else {
    env.out << fmt::format("CA \"{}\" created\n", name);
    print_cert(env.out, ca.cert, "  ");
  }
  return audit_action(st, cert_action(env, name, std::string(operation), scep::Outcome::created, ca.cert,
                                      fmt::format("{}{}",
                                                  ca.chain.empty() ? "" : fmt::format(", chain of {}", ca.chain.size()),
                                                  is_default ? ", the default CA" : "")));
}

core::Result<void> run_ca_create(const CaCreateOptions& opt, Env& env) {
  if (!core::is_valid_name(opt.name))
    return core::fail(core::Errc::invalid_argument,
                      fmt::format("\"{}\" is not a valid CA name ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}})", opt.name));
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::create));
  if (auto names = st.ca_names(); names && std::find(names->begin(), names->end(), opt.name) != names->end())
    return core::fail(core::Errc::already_exists, fmt::format("CA \"{}\" already exists", opt.name));
  ca::RootSpec spec{opt.subject.empty() ? fmt::format("CN={} SCEP CA", opt.name) : opt.subject, opt.key_bits, opt.days};
  SCEP_TRY_ASSIGN(auto root, ca::create_root(spec, env.clock, env.rng));
  return install_ca(env, st, opt.name, store::NewCa{root.cert, std::move(root.key), {}}, opt.make_default, "ca-create");
}

void add_ca_create_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaCreateOptions>();
  auto* cmd = parent.add_subcommand("create", "create a self-signed RSA CA");
  cmd->add_option("name", opt->name, "store name of the CA (what clients use to pick it)")->required();
  cmd->add_option("--subject", opt->subject, "subject DN, e.g. \"CN=Example CA,O=Example\" (default: CN=NAME SCEP CA)");
  cmd->add_option("--key-bits", opt->key_bits, "RSA key size")->check(CLI::IsMember({2048, 3072, 4096}));
  cmd->add_option("--days", opt->days, "validity in days (default 3650)")->check(CLI::Range(1, 36500));
  cmd->add_flag("--default", opt->make_default, "make it the default CA");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_create(*opt, env); }; });
}

}  // namespace scepctl
