#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "audit.hpp"
#include "env.hpp"
#include "table.hpp"

namespace scepctl {

struct PolicyOptions {
  std::string name;
  int days = 365;
  std::vector<std::string> key_usage{"digitalSignature", "keyEncipherment"};
  std::vector<std::string> eku{"clientAuth"};
  std::string subject_regex;
  std::vector<std::string> required;
  std::string san = "copy";
  std::string san_regex;
  std::string secret_cn_scope = "names";
  int min_rsa_bits = 2048;
  std::vector<std::string> digests{"SHA-1", "SHA-256", "SHA-384", "SHA-512"};
  std::vector<std::string> copy_ext;
  bool subject_change = false;
  bool replace = false;
};

/// Builds the policy through its own parser, so the CLI and the file accept the same.
static core::Result<policy::Policy> to_policy(const PolicyOptions& o) {
  policy::Policy p;
  p.name = o.name;
  p.validity_days = o.days;
  SCEP_TRY_ASSIGN(auto ku, policy::parse_key_usage(o.key_usage));
  p.key_usage = ku;
  p.extended_key_usage = o.eku;
  p.subject_regex = o.subject_regex;
  p.required_attributes = o.required;
  p.san_mode = o.san == "drop"    ? policy::SanMode::drop
               : o.san == "match" ? policy::SanMode::match
                                  : policy::SanMode::copy;
  p.san_regex = o.san_regex;
  p.secret_cn_scope = o.secret_cn_scope == "cn" ? policy::SecretCnScope::cn : policy::SecretCnScope::names;
  p.min_rsa_bits = o.min_rsa_bits;
  p.allowed_digests.clear();
  for (const auto& d : o.digests) {
    auto alg = crypto::digest_from_name(d);
    if (!alg) return core::fail(core::Errc::invalid_argument, fmt::format("unknown digest \"{}\"", d));
    p.allowed_digests.push_back(*alg);
  }
  p.copy_extensions = o.copy_ext;
  p.renewal_subject_change = o.subject_change;
  auto checked = policy::parse_policy(p.name, policy::render_policy(p));
  if (!checked) return core::fail(core::Errc::invalid_argument, checked.error().detail);
  return checked;
}

static nlohmann::json policy_json(const policy::Policy& p) {
  std::vector<std::string> digests;
  for (auto d : p.allowed_digests) digests.emplace_back(crypto::digest_name(d));
  return {{"name", p.name},
          {"validity_days", p.validity_days},
          {"key_usage", policy::key_usage_names(p.key_usage)},
          {"extended_key_usage", p.extended_key_usage},
          {"subject_regex", p.subject_regex},
          {"required_attributes", p.required_attributes},
          {"san", policy::san_mode_name(p.san_mode)},
          {"san_regex", p.san_regex},
          {"secret_cn_scope", policy::secret_cn_scope_name(p.secret_cn_scope)},
          {"min_rsa_bits", p.min_rsa_bits},
          {"allowed_digests", digests},
          {"copy_extensions", p.copy_extensions},
          {"renewal_subject_change", p.renewal_subject_change}};
}

static void print_policy(Env& env, const policy::Policy& p) {
  if (env.json) {
    env.out << policy_json(p).dump(2) << "\n";
  } else {
    env.out << policy::render_policy(p);
  }
}

core::Result<void> run_policy_create(const PolicyOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto p, to_policy(opt));
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  // A replacement changes what every secret bound to the policy grants:
  // the audit line says which settings changed, from what to what.
  auto old = st.load_policy(p.name);
  SCEP_TRY(st.save_policy(p, opt.replace ? store::Store::Replace::yes : store::Store::Replace::no));
  print_policy(env, p);
  auto dump = [](const nlohmann::json& v) { return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  auto now = policy_json(p);
  auto was = old ? policy_json(*old) : nlohmann::json::object();
  std::vector<std::string> settings;
  for (const auto& [key, value] : now.items()) {
    if (key == "name") continue;
    if (!old) settings.push_back(fmt::format("{}: {}", key, dump(value)));
    else if (auto before = was.value(key, nlohmann::json()); before != value)
      settings.push_back(fmt::format("{}: {} -> {}", key, dump(before), dump(value)));
  }
  if (old && settings.empty()) settings.push_back("no setting changed");
  auto e = operator_action(env, "", old ? "policy-replace" : "policy-create",
                           old ? scep::Outcome::replaced : scep::Outcome::created,
                           fmt::format("{}", fmt::join(settings, "; ")));
  e.policy = p.name;
  return audit_action(st, e);
}

core::Result<void> run_policy_show(const std::string& name, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto p, st.load_policy(name));
  print_policy(env, p);
  return {};
}

/// When the policy file was last written (create, --replace); the epoch when unknown.
static core::TimePoint changed_at(const store::Store& st, const std::string& name) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(st.policy_path(name), ec);
  if (ec) return {};
  return std::chrono::time_point_cast<core::TimePoint::duration>(std::chrono::file_clock::to_sys(t));
}

/// Every policy, least recently written first.
core::Result<void> run_policy_list(Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto names, st.policy_names());
  std::vector<std::pair<core::TimePoint, policy::Policy>> all;
  for (const auto& n : names) {
    SCEP_TRY_ASSIGN(auto p, st.load_policy(n));
    all.emplace_back(changed_at(st, n), std::move(p));
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json list = nlohmann::json::array();
  Table table({"NAME", "CHANGED", "DAYS", "EKU", "KEY_USAGE"});
  for (const auto& [changed, p] : all) {
    auto j = policy_json(p);
    j["changed"] = crypto::format_time(std::chrono::floor<std::chrono::seconds>(changed));
    list.push_back(std::move(j));
    table.add({p.name, crypto::format_time(std::chrono::floor<std::chrono::seconds>(changed)),
               std::to_string(p.validity_days),
               p.extended_key_usage.empty() ? "-" : fmt::format("{}", fmt::join(p.extended_key_usage, ",")),
               fmt::format("{}", fmt::join(policy::key_usage_names(p.key_usage), ","))});
  }
  if (env.json) env.out << list.dump(2) << "\n";
  else print_listing(env, table, "no policies");
  return {};
}

void add_policy_command(CLI::App& app, Env& env) {
  auto* cmd = app.add_subcommand("policy", "manage issuance policies");
  cmd->require_subcommand(1);
  auto opt = std::make_shared<PolicyOptions>();
  auto* create = cmd->add_subcommand("create", "create (or with --replace, change) an issuance policy");
  create->add_option("name", opt->name, "policy name")->required();
  create->add_option("--days", opt->days, "validity of issued certificates in days (capped at the CA's)")
      ->check(CLI::Range(1, 36500));
  create->add_option("--key-usage", opt->key_usage, "key usages, comma-separated")->delimiter(',');
  create->add_option("--eku", opt->eku, "extended key usages (serverAuth, clientAuth, ... or OIDs)")->delimiter(',');
  create->add_option("--subject-regex", opt->subject_regex,
                     "regex the whole requested subject (\"CN=x,O=y\") must match");
  create->add_option("--require-attr", opt->required, "subject attributes that must be present, e.g. CN")
      ->delimiter(',');
  create->add_option("--san", opt->san, "subjectAltNames: copy, match (keep those matching --san-regex) or drop")
      ->check(CLI::IsMember({"copy", "match", "drop"}));
  create->add_option("--san-regex", opt->san_regex, "regex for --san match, on \"DNS:name\", \"IP:addr\", ...");
  create
      ->add_option("--secret-cn-scope", opt->secret_cn_scope,
                   "what a secret's --cn limits: names (every name of the certificate, default) or cn (only the CN)")
      ->check(CLI::IsMember({"names", "cn"}));
  create->add_option("--min-rsa-bits", opt->min_rsa_bits, "smallest RSA key accepted (default 2048)");
  create->add_option("--digests", opt->digests, "PKCS#10 signature digests accepted")->delimiter(',');
  create->add_option("--copy-ext", opt->copy_ext, "dotted OIDs of request extensions copied verbatim")->delimiter(',');
  create->add_flag("--renewal-subject-change", opt->subject_change,
                   "let a renewal ask for another subject than the certificate it renews");
  create->add_flag("--replace", opt->replace, "replace an existing policy");
  create->callback([opt, &env] { env.command = [opt, &env] { return run_policy_create(*opt, env); }; });
  cmd->add_subcommand("list", "list policies")->callback([&env] {
    env.command = [&env] { return run_policy_list(env); };
  });
  auto name = std::make_shared<std::string>();
  auto* show = cmd->add_subcommand("show", "show a policy");
  show->add_option("name", *name, "policy name")->required();
  show->callback([name, &env] { env.command = [name, &env] { return run_policy_show(*name, env); }; });
}

}  // namespace scepctl
