// The certificate lifecycle on the operator's side: list, revoke, CRLs.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit.hpp"
#include "certs_lookup.hpp"
#include "crypto/crl.hpp"
#include "env.hpp"
#include "scep/crl.hpp"
#include "scep/manual.hpp"
#include "show.hpp"
#include "store/atomic_file.hpp"
#include "target.hpp"

namespace scepctl {

using core::Errc;

namespace {

struct RevokeOptions {
  std::string serial;
  std::string ca;
  std::string reason = "unspecified";
};

struct CrlOptions {
  std::string ca;
  std::string ca_option;  ///< --ca: the same as the positional NAME
  std::string out;
  std::string generation;  ///< --generation ID: an earlier generation's CRL
  int days = 0;
};

/// The audit line of a CRL an operator's command signed.
static scep::AuditEvent crl_signed(const Env& env, const std::string& ca, const crypto::Crl& crl,
                                   std::string_view why) {
  return operator_action(env, ca, "crl-sign", scep::Outcome::signed_crl,
                         fmt::format("CRL number {} ({}): {} revoked, next update {}", crl.number(), why,
                                     crl.revoked().size(), crypto::format_time(crl.next_update())));
}

core::Result<void> run_revoke(const RevokeOptions& opt, Env& env) {
  auto reason = crypto::parse_reason(opt.reason);
  if (!reason)
    return core::fail(Errc::invalid_argument, fmt::format("unknown reason \"{}\" (one of: {})", opt.reason,
                                                          fmt::join(crypto::reason_names(), ", ")));
  SCEP_TRY_ASSIGN(auto serial, canonical_serial(opt.serial));
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto ca, issuing_ca(st, opt.ca, serial));
  store::Session session(st);
  SCEP_TRY_ASSIGN(auto revoked, scep::revoke(session.backend(), env.clock, ca, serial, *reason, "scepctl", env.who));
  // The revocation is on record; a CRL that fails now is re-signed on the next request for it.
  auto& crl_der = revoked.crl;
  if (!crl_der)
    return core::fail(crl_der.error().code, fmt::format("{} is revoked, but the CRL could not be signed: {}", serial,
                                                        crl_der.error().detail));
  SCEP_TRY_ASSIGN(auto crl, crypto::Crl::parse(*crl_der));
  if (env.json) {
    nlohmann::json j{{"ca", ca},
                     {"serial", serial},
                     {"reason", crypto::reason_name(*reason)},
                     {"crl_number", crl.number()}};
    if (!revoked.generation.empty()) j["generation"] = revoked.generation;
    env.out << j.dump() << "\n";
  } else {
    env.out << fmt::format("revoked: {} at CA \"{}\" ({}); CRL number {} published{}\n", serial, ca,
                           crypto::reason_name(*reason), crl.number(),
                           revoked.generation.empty() ? ""
                                                      : fmt::format(" (generation {}, /{}/crl/{})", revoked.generation,
                                                                    ca, revoked.generation));
  }
  return audit_action(st, crl_signed(env, ca, crl, fmt::format("after revoking {}", serial)));
}

core::Result<void> run_crl(const CrlOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  if (!opt.ca.empty() && !opt.ca_option.empty() && opt.ca != opt.ca_option)
    return core::fail(Errc::invalid_argument,
                      fmt::format("two CAs named: \"{}\" and --ca \"{}\"", opt.ca, opt.ca_option));
  SCEP_TRY_ASSIGN(auto name, target_ca(st, cfg, opt.ca.empty() ? opt.ca_option : opt.ca));
  store::Session repo(st);
  auto bundle = repo.find_ca(name);
  if (!bundle) {
    if (bundle.error().code == Errc::unknown_ca) return core::fail(Errc::not_found, bundle.error().detail);
    return std::unexpected(bundle.error());
  }
  auto sign = [&]() -> core::Result<core::Bytes> {
    if (opt.generation.empty())
      return scep::ca_crl(repo.backend(), *bundle, env.clock, scep::CrlRefresh::now, opt.days);
    SCEP_TRY_ASSIGN(auto earlier, st.retired_cas(name));
    auto gen = std::find_if(earlier.begin(), earlier.end(), [&](const auto& g) { return g.id == opt.generation; });
    if (gen == earlier.end())
      return core::fail(Errc::not_found,
                        fmt::format("CA \"{}\" has no retired generation \"{}\" (see `scepctl ca show {}`)", name,
                                    opt.generation, name));
    return scep::earlier_crl(repo.backend(), *bundle, *gen, env.clock, scep::CrlRefresh::now, opt.days);
  };
  SCEP_TRY_ASSIGN(auto der, sign());
  SCEP_TRY_ASSIGN(auto crl, crypto::Crl::parse(der));
  if (!opt.out.empty()) SCEP_TRY(store::write_file_atomic(opt.out, crl.pem(), 0644));
  if (env.json) {
    nlohmann::json j{{"ca", bundle->name},
                     {"number", crl.number()},
                     {"revoked", crl.revoked().size()},
                     {"next_update", crypto::format_time(crl.next_update())}};
    // Without --out the CRL itself is part of the answer.
    if (opt.out.empty()) j["pem"] = crl.pem();
    else j["file"] = opt.out;
    env.out << j.dump() << "\n";
  } else if (opt.out.empty()) {
    env.out << crl.pem();
  } else {
    env.out << fmt::format("CRL number {} of CA \"{}\": {} revoked, next update {}, written to {}\n", crl.number(),
                           bundle->name, crl.revoked().size(), crypto::format_time(crl.next_update()), opt.out);
  }
  return audit_action(st,
                      crl_signed(env, bundle->name, crl,
                                 opt.generation.empty() ? "scepctl crl" : "scepctl crl, generation " + opt.generation));
}

}  // namespace

void add_crl_show_command(CLI::App& crl, Env& env);

void add_certs_command(CLI::App& app, Env& env) {
  auto ropt = std::make_shared<RevokeOptions>();
  auto* revoke = app.add_subcommand("revoke", "revoke an issued certificate and publish a new CRL");
  revoke->add_option("serial", ropt->serial, "serial number in hex (colons and case do not matter)")->required();
  revoke->add_option("--ca", ropt->ca, "the issuing CA (needed only if several CAs have the serial)");
  revoke->add_option("--reason", ropt->reason, fmt::format("CRL reason: {}", fmt::join(crypto::reason_names(), ", ")))
      ->default_str("unspecified");
  revoke->callback([ropt, &env] { env.command = [ropt, &env] { return run_revoke(*ropt, env); }; });

  auto lopt = std::make_shared<CrlOptions>();
  auto* crl = app.add_subcommand("crl", "sign and publish a new CRL now; print it (PEM) or write it to a file");
  crl->add_option("ca", lopt->ca, "CA store name (default: the default CA)");
  crl->add_option("--out", lopt->out, "write the PEM CRL to this file instead of standard output");
  crl->add_option("--days", lopt->days, "validity of this CRL in days (default: the CA's crl_days)")
      ->check(CLI::Range(1, 3650));
  crl->add_option("--ca", lopt->ca_option, "the same as CA (for a CA called \"show\")");
  crl->add_option("--generation", lopt->generation,
                  "the CRL of a retired generation ID (after `ca activate`; IDs in `scepctl ca show`)");
  crl->callback([lopt, crl, &env] {
    if (crl->get_subcommands().empty()) env.command = [lopt, &env] { return run_crl(*lopt, env); };  // not `crl show`
  });
  add_crl_show_command(*crl, env);
}

}  // namespace scepctl
