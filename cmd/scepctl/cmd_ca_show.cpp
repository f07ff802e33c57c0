#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "env.hpp"
#include "key_uri.hpp"
#include "show.hpp"
#include "table.hpp"
#include "target.hpp"

namespace scepctl {

void add_ca_create_command(CLI::App& parent, Env& env);
void add_ca_import_command(CLI::App& parent, Env& env);
void add_ca_set_command(CLI::App& parent, Env& env);
void add_ca_rollover_commands(CLI::App& parent, Env& env);

namespace {

nlohmann::json ca_json(const scep::CaBundle& ca, bool is_default) {
  nlohmann::json j = cert_json(ca.cert);
  j["name"] = ca.name;
  j["default"] = is_default;
  j["ra"] = ca.ra ? cert_json(*ca.ra) : nlohmann::json(nullptr);
  j["chain"] = nlohmann::json::array();
  for (const auto& c : ca.chain) j["chain"].push_back(cert_json(c));
  j["options"] = options_json(ca.options);
  return j;
}

/// The CA's next and retired generations, added to its JSON.
core::Result<void> add_generations(nlohmann::json& j, const store::Store& st, const std::string& name,
                                   const config::Config& cfg) {
  SCEP_TRY_ASSIGN(auto next, st.load_next_ca(name, cfg));
  SCEP_TRY_ASSIGN(auto retired, st.retired_cas(name));
  j["next"] = next ? cert_json(next->cert) : nlohmann::json(nullptr);
  if (next) j["next"]["ra"] = next->ra ? cert_json(*next->ra) : nlohmann::json(nullptr);
  j["retired"] = nlohmann::json::array();
  for (const auto& r : retired) {
    auto rj = cert_json(r.cert);
    rj["id"] = r.id;
    j["retired"].push_back(std::move(rj));
  }
  return {};
}

struct Loaded {
  store::Store store;
  config::Config cfg;
  std::string default_ca;
};

core::Result<Loaded> load(Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  auto def = st.default_ca(cfg);
  return Loaded{std::move(st), std::move(cfg), def ? *def : std::string()};
}

/// Every CA, oldest certificate (notBefore) first.
core::Result<void> run_ca_list(Env& env) {
  SCEP_TRY_ASSIGN(auto l, load(env));
  SCEP_TRY_ASSIGN(auto names, l.store.ca_names());
  std::vector<scep::CaBundle> cas;
  for (const auto& name : names) {
    SCEP_TRY_ASSIGN(auto ca, l.store.load_ca(name, l.cfg));
    cas.push_back(std::move(ca));
  }
  std::stable_sort(cas.begin(), cas.end(),
                   [](const auto& a, const auto& b) { return a.cert.not_before() < b.cert.not_before(); });
  nlohmann::json all = nlohmann::json::array();
  Table table({"NAME", "DEFAULT", "RA", "NOT_BEFORE", "NOT_AFTER", "SUBJECT"});
  for (const auto& ca : cas) {
    bool is_default = ca.name == l.default_ca;
    auto j = ca_json(ca, is_default);
    SCEP_TRY(add_generations(j, l.store, ca.name, l.cfg));
    all.push_back(std::move(j));
    table.add({ca.name, is_default ? "yes" : "no", ca.ra ? "yes" : "no", crypto::format_time(ca.cert.not_before()),
               crypto::format_time(ca.cert.not_after()), ca.cert.subject()});
  }
  if (env.json) env.out << all.dump(2) << "\n";
  else print_listing(env, table, "no CAs");
  return {};
}

core::Result<void> run_ca_show(const std::string& name, Env& env) {
  SCEP_TRY_ASSIGN(auto l, load(env));
  SCEP_TRY_ASSIGN(auto target, target_ca(l.store, l.cfg, name));
  SCEP_TRY_ASSIGN(auto ca, l.store.load_ca(target, l.cfg));
  bool is_default = target == l.default_ca;
  auto ca_key = describe_key(l.store, target, scep::KeyRole::ca, ca.cert);
  std::optional<KeyReport> ra_key;
  if (ca.ra) ra_key = describe_key(l.store, target, scep::KeyRole::ra, *ca.ra);
  SCEP_TRY_ASSIGN(auto next, l.store.load_next_ca(target, l.cfg));
  SCEP_TRY_ASSIGN(auto retired, l.store.retired_cas(target));
  if (env.json) {
    auto j = ca_json(ca, is_default);
    auto key_json = [](const KeyReport& k) {
      return nlohmann::json{{"location", k.location}, {"ok", k.ok}, {"summary", k.summary}};
    };
    j["private_key"] = key_json(ca_key);
    if (ra_key) j["ra"]["private_key"] = key_json(*ra_key);
    SCEP_TRY(add_generations(j, l.store, target, l.cfg));
    env.out << j.dump(2) << "\n";
    return {};
  }
  env.out << fmt::format("CA \"{}\"{}\n", target, is_default ? " (default)" : "");
  print_cert(env.out, ca.cert, "  ");
  env.out << fmt::format("  private key: {} ({})\n", ca_key.location, ca_key.summary);
  if (ca.ra) {
    env.out << "RA certificate\n";
    print_cert(env.out, *ca.ra, "  ");
    env.out << fmt::format("  private key: {} ({})\n", ra_key->location, ra_key->summary);
  }
  for (const auto& c : ca.chain) {
    env.out << "chain certificate\n";
    print_cert(env.out, c, "  ");
  }
  if (next) {
    env.out << "next certificate (GetNextCACert; `scepctl ca activate` makes it current)\n";
    print_cert(env.out, next->cert, "  ");
    if (next->ra) {
      env.out << "next RA certificate\n";
      print_cert(env.out, *next->ra, "  ");
    }
  }
  for (const auto& r : retired) {
    env.out << fmt::format("retired generation {} (CRL: /{}/crl/{})\n", r.id, target, r.id);
    print_cert(env.out, r.cert, "  ");
  }
  env.out << fmt::format("options (scep.toml [{}])\n", config::ca_section(target));
  print_options(env.out, ca.options);
  return {};
}

}  // namespace

void add_ca_command(CLI::App& app, Env& env) {
  auto* ca = app.add_subcommand("ca", "create, import, list and show CAs");
  ca->require_subcommand(1);
  add_ca_create_command(*ca, env);
  add_ca_import_command(*ca, env);
  add_ca_set_command(*ca, env);
  add_ca_rollover_commands(*ca, env);
  ca->add_subcommand("list", "list the CAs of the store")->callback([&env] {
    env.command = [&env] { return run_ca_list(env); };
  });
  auto name = std::make_shared<std::string>();
  auto* show = ca->add_subcommand("show", "show a CA with the fingerprints of its certificates");
  show->add_option("name", *name, "store name of the CA (default: the default CA)");
  show->callback([name, &env] { env.command = [name, &env] { return run_ca_show(*name, env); }; });
}

}  // namespace scepctl
