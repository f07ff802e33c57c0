#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit.hpp"
#include "core/names.hpp"
#include "crypto/certificate.hpp"
#include "env.hpp"
#include "table.hpp"
#include "target.hpp"

namespace scepctl {

struct SecretOptions {
  std::string ca, policy, cn, subject_regex, expires = "7d";
  int uses = 1;
};

core::Result<void> run_secret_create(const SecretOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto lifetime, policy::parse_duration(opt.expires));
  if (!opt.subject_regex.empty())
    if (auto err = policy::regex_error(opt.subject_regex))
      return core::fail(core::Errc::invalid_argument, fmt::format("bad --subject-regex: {}", *err));
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto ca_name, target_ca(st, cfg, opt.ca));
  SCEP_TRY(st.load_ca(ca_name, cfg));
  SCEP_TRY(st.load_policy(opt.policy));

  std::string secret = policy::generate_secret(env.rng);
  policy::SecretRecord r;
  r.id = policy::generate_secret_id(env.rng);
  r.hash = policy::secret_hash(secret);
  r.ca = ca_name;
  r.policy = opt.policy;
  if (!opt.cn.empty()) r.common_name = opt.cn;
  if (!opt.subject_regex.empty()) r.subject_regex = opt.subject_regex;
  r.uses = opt.uses;
  r.created = env.clock.now();
  r.expires = r.created + lifetime;
  SCEP_TRY(st.add_secret(r));
  std::string expires = crypto::format_time(r.expires);
  if (env.json) {
    env.out << nlohmann::json{{"id", r.id},         {"secret", secret},   {"ca", r.ca},
                              {"policy", r.policy}, {"expires", expires}, {"uses", r.uses}}
                   .dump()
            << "\n";
  } else {
    env.out << fmt::format("secret:  {}\nid:      {}\nca:      {}\npolicy:  {}\nuses:    {}\nexpires: {}\n", secret,
                           r.id, r.ca, r.policy, r.uses, expires);
  }
  // What it grants, never the secret.
  std::string binding = r.common_name     ? fmt::format(", bound to CN {}", core::escape_text(*r.common_name))
                        : r.subject_regex ? fmt::format(", subject must match {}", core::escape_text(*r.subject_regex))
                                          : "";
  auto e = operator_action(env, r.ca, "secret-create", scep::Outcome::created,
                           fmt::format("{} use(s), expires {}{}", r.uses, expires, binding));
  e.secret_id = r.id;
  e.policy = r.policy;
  return audit_action(st, e);
}

static std::string state_of(const policy::SecretRecord& r, int left, core::TimePoint now) {
  if (r.revoked) return "revoked";
  if (left == 0) return "used";
  if (now >= r.expires) return "expired";
  return "active";
}

/// Every secret, oldest (creation time) first.
core::Result<void> run_secret_list(Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto all, st.list_secrets());
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  nlohmann::json list = nlohmann::json::array();
  Table table({"ID", "STATE", "USES", "CA", "POLICY", "CREATED", "EXPIRES", "CN"});
  for (const auto& r : all) {
    int left = st.secret_uses_left(r);
    std::string state = state_of(r, left, env.clock.now());
    list.push_back({{"id", r.id},
                    {"ca", r.ca},
                    {"policy", r.policy},
                    {"uses", r.uses},
                    {"uses_left", left},
                    {"created", crypto::format_time(r.created)},
                    {"expires", crypto::format_time(r.expires)},
                    {"state", state},
                    {"cn", r.common_name.value_or("")},
                    {"subject_regex", r.subject_regex.value_or("")}});
    table.add({r.id, state, fmt::format("{}/{}", left, r.uses), r.ca, r.policy, crypto::format_time(r.created),
               crypto::format_time(r.expires), r.common_name.value_or("-")});
  }
  if (env.json) env.out << list.dump(2) << "\n";
  else print_listing(env, table, "no secrets");
  return {};
}

core::Result<void> run_secret_revoke(const std::string& id, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto revoked, st.revoke_secret(id));
  if (!env.json) env.out << fmt::format("secret {} revoked\n", id);
  else env.out << nlohmann::json{{"id", id}, {"state", "revoked"}}.dump() << "\n";
  auto e = operator_action(env, "", "secret-revoke", scep::Outcome::revoked);
  e.secret_id = id;
  e.ca = revoked.ca;
  e.policy = revoked.policy;
  return audit_action(st, e);
}

void add_secret_command(CLI::App& app, Env& env) {
  auto* cmd = app.add_subcommand("secret", "one-time challenge secrets for enrollment");
  cmd->require_subcommand(1);
  auto opt = std::make_shared<SecretOptions>();
  auto* create = cmd->add_subcommand("create", "create a secret and print it once");
  create->add_option("--ca", opt->ca, "the CA the secret enrolls with (default: the default CA)");
  create->add_option("--policy", opt->policy, "the issuance policy it grants")->required();
  auto* cn = create->add_option(
      "--cn", opt->cn,
      "bind the secret to this name: the only CN, and the only name the policy does not allow explicitly");
  create->add_option("--subject-regex", opt->subject_regex, "a regex the requested subject must match")->excludes(cn);
  create->add_option("--uses", opt->uses, "how many enrollments it allows (default 1)")->check(CLI::Range(1, 1000));
  create->add_option("--expires", opt->expires, "lifetime: 30d, 12h, 90m, 3600s (default 7d)");
  create->callback([opt, &env] { env.command = [opt, &env] { return run_secret_create(*opt, env); }; });
  cmd->add_subcommand("list", "list secrets (never the secrets themselves)")->callback([&env] {
    env.command = [&env] { return run_secret_list(env); };
  });
  auto id = std::make_shared<std::string>();
  auto* revoke = cmd->add_subcommand("revoke", "revoke a secret by id");
  revoke->add_option("id", *id, "the secret's id (from `secret list`)")->required();
  revoke->callback([id, &env] { env.command = [id, &env] { return run_secret_revoke(*id, env); }; });
}

}  // namespace scepctl
