// The certificate lifecycle on the operator's side: list, revoke, CRLs.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/crl.hpp"
#include "audit.hpp"
#include "env.hpp"
#include "scep/crl.hpp"
#include "show.hpp"
#include "store/atomic_file.hpp"

namespace scepctl {

using core::Errc;

namespace {

struct CertsOptions {
  std::string ca;
  bool revoked = false;
};

struct RevokeOptions {
  std::string serial;
  std::string ca;
  std::string reason = "unspecified";
};

struct CrlOptions {
  std::string ca;
  std::string out;
  int days = 0;
};

/// The CA names an option selects: one, or all of them.
core::Result<std::vector<std::string>> selected_cas(const store::Store& st, const std::string& ca) {
  if (!ca.empty()) {
    auto names = st.ca_names();
    if (!names) return std::unexpected(names.error());
    if (std::find(names->begin(), names->end(), ca) == names->end())
      return core::fail(Errc::not_found, fmt::format("no CA called \"{}\"", ca));
    return std::vector<std::string>{ca};
  }
  return st.ca_names();
}

std::string_view status_of(const scep::IssuedCertificate& c, core::TimePoint now) {
  if (c.revocation) return "revoked";
  if (now > c.cert.not_after()) return "expired";
  return "valid";
}

/// A serial as typed (colons, spaces, any case, leading zeros) in the store's spelling.
core::Result<std::string> canonical_serial(std::string_view text) {
  std::string hex;
  for (char c : text)
    if (c != ':' && c != ' ') hex += c;
  auto integer = crypto::integer_from_hex(hex);
  if (!integer) return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a hex serial number", text));
  return crypto::integer_to_hex(integer.get());
}

core::Result<void> run_certs(const CertsOptions& opt, Env& env) {
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto cas = selected_cas(*st, opt.ca);
  if (!cas) return std::unexpected(cas.error());
  auto now = env.clock.now();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& ca : *cas) {
    auto certs = st->list_certificates(ca);
    if (!certs) return std::unexpected(certs.error());
    for (const auto& c : *certs) {
      if (opt.revoked && !c.revocation) continue;
      std::string_view status = status_of(c, now);
      if (env.json) {
        auto j = cert_json(c.cert);
        j["ca"] = ca;
        j["status"] = status;
        j["policy"] = c.policy;
        if (c.revocation) {
          j["revoked_at"] = crypto::format_time(c.revocation->time);
          j["reason"] = crypto::reason_name(c.revocation->reason);
        }
        list.push_back(std::move(j));
        continue;
      }
      auto sans = cert_sans(c.cert);
      env.out << fmt::format("{}  {:<7}  {}  {}  {}{}\n", c.cert.serial_hex(), status,
                             crypto::format_time(c.cert.not_after()), ca, c.cert.subject(),
                             sans.empty() ? "" : "  sans=" + san_list(sans));
    }
  }
  if (env.json) env.out << list.dump(2) << "\n";
  return {};
}

/// The CA that issued `serial`: the one named, else the only one that has it.
core::Result<std::string> issuing_ca(const store::Store& st, const std::string& ca, const std::string& serial) {
  auto cas = selected_cas(st, ca);
  if (!cas) return std::unexpected(cas.error());
  std::vector<std::string> holders;
  for (const auto& name : *cas) {
    auto found = st.find_certificate(name, serial);
    if (!found) return std::unexpected(found.error());
    if (*found) holders.push_back(name);
  }
  if (holders.empty()) return core::fail(Errc::not_found, fmt::format("no certificate with serial {}", serial));
  if (holders.size() > 1)
    return core::fail(Errc::invalid_argument, fmt::format("serial {} exists at CAs {}: add --ca", serial, fmt::join(holders, ", ")));
  return holders.front();
}

/// The audit line of a CRL an operator's command signed.
static scep::AuditEvent crl_signed(const Env& env, const std::string& ca, const crypto::Crl& crl, std::string_view why) {
  return operator_action(env, ca, "crl-sign", "signed",
                         fmt::format("CRL number {} ({}): {} revoked, next update {}", crl.number(), why,
                                     crl.revoked().size(), crypto::format_time(crl.next_update())));
}

core::Result<void> run_revoke(const RevokeOptions& opt, Env& env) {
  auto reason = crypto::parse_reason(opt.reason);
  if (!reason)
    return core::fail(Errc::invalid_argument, fmt::format("unknown reason \"{}\" (one of: {})", opt.reason,
                                                          fmt::join(crypto::reason_names(), ", ")));
  auto serial = canonical_serial(opt.serial);
  if (!serial) return std::unexpected(serial.error());
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto ca = issuing_ca(*st, opt.ca, *serial);
  if (!ca) return std::unexpected(ca.error());
  auto now = std::chrono::floor<std::chrono::seconds>(env.clock.now());
  scep::AuditEvent event{now, *ca, "scepctl", "revoke", {}, {}, {}, {}, "revoked", *serial, {},
                         std::string(crypto::reason_name(*reason)), false, {}, env.who};
  if (auto r = st->revoke(*ca, {*serial, now, *reason}, event); !r) return r;
  store::Repository repo(*st);
  // The revocation is on record; a CRL that fails now is re-signed on the next request for it.
  auto bundle = repo.find_ca(*ca);
  if (!bundle) return std::unexpected(bundle.error());
  auto crl_der = scep::ca_crl(repo, *bundle, env.clock, scep::CrlRefresh::now);
  if (!crl_der) return core::fail(crl_der.error().code, fmt::format("{} is revoked, but the CRL could not be signed: {}", *serial, crl_der.error().detail));
  auto crl = crypto::Crl::parse(*crl_der);
  if (!crl) return std::unexpected(crl.error());
  if (env.json) {
    env.out << nlohmann::json{{"ca", *ca}, {"serial", *serial}, {"reason", crypto::reason_name(*reason)},
                              {"crl_number", crl->number()}}.dump() << "\n";
  } else {
    env.out << fmt::format("revoked: {} at CA \"{}\" ({}); CRL number {} published\n", *serial, *ca,
                           crypto::reason_name(*reason), crl->number());
  }
  return audit_action(*st, crl_signed(env, *ca, *crl, fmt::format("after revoking {}", *serial)));
}

core::Result<void> run_crl(const CrlOptions& opt, Env& env) {
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  store::Repository repo(*st);
  auto bundle = repo.find_ca(opt.ca);
  if (!bundle) {
    if (bundle.error().code == Errc::unknown_ca) return core::fail(Errc::not_found, bundle.error().detail);
    return std::unexpected(bundle.error());
  }
  auto der = scep::ca_crl(repo, *bundle, env.clock, scep::CrlRefresh::now, opt.days);
  if (!der) return std::unexpected(der.error());
  auto crl = crypto::Crl::parse(*der);
  if (!crl) return std::unexpected(crl.error());
  if (!opt.out.empty())
    if (auto r = store::write_file_atomic(opt.out, crl->pem(), 0644); !r) return r;
  if (env.json) {
    nlohmann::json j{{"ca", bundle->name}, {"number", crl->number()}, {"revoked", crl->revoked().size()},
                     {"next_update", crypto::format_time(crl->next_update())}};
    // Without --out the CRL itself is part of the answer.
    if (opt.out.empty()) j["pem"] = crl->pem();
    else j["file"] = opt.out;
    env.out << j.dump() << "\n";
  } else if (opt.out.empty()) {
    env.out << crl->pem();
  } else {
    env.out << fmt::format("CRL number {} of CA \"{}\": {} revoked, next update {}, written to {}\n", crl->number(),
                           bundle->name, crl->revoked().size(), crypto::format_time(crl->next_update()), opt.out);
  }
  return audit_action(*st, crl_signed(env, bundle->name, *crl, "scepctl crl"));
}

}  // namespace

void add_certs_command(CLI::App& app, Env& env) {
  auto copt = std::make_shared<CertsOptions>();
  auto* certs = app.add_subcommand("certs", "list issued certificates: serial, status, expiry, CA, subject");
  certs->add_option("--ca", copt->ca, "only this CA");
  certs->add_flag("--revoked", copt->revoked, "only revoked certificates");
  certs->callback([copt, &env] { env.command = [copt, &env] { return run_certs(*copt, env); }; });

  auto ropt = std::make_shared<RevokeOptions>();
  auto* revoke = app.add_subcommand("revoke", "revoke an issued certificate and publish a new CRL");
  revoke->add_option("serial", ropt->serial, "serial number in hex (colons and case do not matter)")->required();
  revoke->add_option("--ca", ropt->ca, "the issuing CA (needed only if several CAs have the serial)");
  revoke->add_option("--reason", ropt->reason,
                     fmt::format("CRL reason: {}", fmt::join(crypto::reason_names(), ", ")))
      ->default_str("unspecified");
  revoke->callback([ropt, &env] { env.command = [ropt, &env] { return run_revoke(*ropt, env); }; });

  auto lopt = std::make_shared<CrlOptions>();
  auto* crl = app.add_subcommand("crl", "sign and publish a new CRL now; print it (PEM) or write it to a file");
  crl->add_option("ca", lopt->ca, "CA store name (default: the default CA)");
  crl->add_option("--out", lopt->out, "write the PEM CRL to this file instead of standard output");
  crl->add_option("--days", lopt->days, "validity of this CRL in days (default: the CA's crl_days)")
      ->check(CLI::Range(1, 3650));
  crl->callback([lopt, &env] { env.command = [lopt, &env] { return run_crl(*lopt, env); }; });
}

}  // namespace scepctl
