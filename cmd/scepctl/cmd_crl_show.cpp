// `scepctl crl show`: the CRL a CA serves now, read and never signed.
#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/crl.hpp"
#include "env.hpp"
#include "table.hpp"
#include "target.hpp"

namespace scepctl {

namespace {

struct CrlShowOptions {
  std::string name;
  std::string ca;
  bool pem = false;
};

/// NAME or --ca (one of them, or both alike), else the default CA.
core::Result<std::string> crl_ca(const store::Store& st, const config::Config& cfg, const CrlShowOptions& opt) {
  if (!opt.name.empty() && !opt.ca.empty() && opt.name != opt.ca)
    return core::fail(core::Errc::invalid_argument,
                      fmt::format("two CAs named: \"{}\" and --ca \"{}\"", opt.name, opt.ca));
  std::string name = opt.name.empty() ? opt.ca : opt.name;
  if (name.empty()) {
    // `crl show` reads as the subcommand; with a CA called "show" the
    // operator may have meant to sign its CRL. Make them say which.
    SCEP_TRY_ASSIGN(auto names, st.ca_names());
    if (std::find(names.begin(), names.end(), "show") != names.end())
      return core::fail(core::Errc::invalid_argument,
                        "a CA is called \"show\": name the CA ('scepctl crl show show' shows its CRL, "
                        "'scepctl crl --ca show' signs one)");
  }
  return target_ca(st, cfg, name);
}

nlohmann::json crl_json(const std::string& ca, const crypto::Crl& crl, bool verified, core::TimePoint now) {
  auto revoked = crl.revoked();
  std::stable_sort(revoked.begin(), revoked.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& r : revoked)
    entries.push_back({{"serial", r.serial_hex},
                       {"revoked_at", crypto::format_time(r.time)},
                       {"reason", crypto::reason_name(r.reason)}});
  return {{"ca", ca},
          {"issuer", crl.issuer()},
          {"number", crl.number()},
          {"this_update", crypto::format_time(crl.this_update())},
          {"next_update", crypto::format_time(crl.next_update())},
          {"current", now < crl.next_update()},
          {"verified", verified},
          {"revoked", entries},
          {"pem", crl.pem()}};
}

void print_crl(Env& env, const nlohmann::json& j) {
  auto line = [&](std::string_view label, const std::string& value) {
    env.out << fmt::format("  {:<13}{}\n", fmt::format("{}:", label), value);
  };
  env.out << fmt::format("CRL of CA \"{}\"\n", j["ca"].get<std::string>());
  line("issuer", j["issuer"]);
  line("number", std::to_string(j["number"].get<std::uint64_t>()));
  line("this_update", j["this_update"]);
  line("next_update", fmt::format("{} ({})", j["next_update"].get<std::string>(), j["current"] ? "current" : "stale"));
  line("signature", j["verified"] ? "verified with the CA certificate" : "DOES NOT VERIFY with the CA certificate");
  line("revoked", std::to_string(j["revoked"].size()));
  if (j["revoked"].empty()) return;
  Table table({"SERIAL", "REVOKED_AT", "REASON"});
  for (const auto& r : j["revoked"]) table.add({r["serial"], r["revoked_at"], r["reason"]});
  table.print(env.out);
}

core::Result<void> run_crl_show(const CrlShowOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto ca, crl_ca(st, cfg, opt));
  SCEP_TRY_ASSIGN(auto bundle, st.load_ca(ca, cfg));
  SCEP_TRY_ASSIGN(auto der, st.load_crl(ca));
  if (!der)
    return core::fail(core::Errc::not_found,
                      fmt::format("CA \"{}\" has no CRL yet (the first request for it signs one, or 'scepctl crl {}')",
                                  ca, ca));
  auto crl = crypto::Crl::parse(*der);
  if (!crl)
    return core::fail(core::Errc::store_io,
                      fmt::format("{}: {}", store::Layout().crl(ca).string(), crl.error().detail));
  auto j = crl_json(ca, *crl, crl->verify(bundle.cert), env.clock.now());
  if (env.json) {
    env.out << j.dump(2) << "\n";
    return {};
  }
  print_crl(env, j);
  if (opt.pem) env.out << crl->pem();
  return {};
}

}  // namespace

void add_crl_show_command(CLI::App& crl, Env& env) {
  auto opt = std::make_shared<CrlShowOptions>();
  auto* show = crl.add_subcommand("show",
                                  "print the CA's current CRL (issuer, updates, number, entries) without signing");
  show->add_option("name", opt->name, "CA store name (default: the default CA)");
  show->add_option("--ca", opt->ca, "the same as NAME");
  show->add_flag("--pem", opt->pem, "print the CRL as PEM after the details");
  show->callback([opt, &env] { env.command = [opt, &env] { return run_crl_show(*opt, env); }; });
}

}  // namespace scepctl
