// `scepctl check`: read the whole store back and say what is wrong with it.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/crl.hpp"
#include "env.hpp"
#include "key_uri.hpp"
#include "scep/manual.hpp"
#include "scep/service.hpp"
#include "store/atomic_file.hpp"
#include "store/fsck.hpp"

namespace scepctl {

using core::Errc;

namespace {

struct CheckOptions {
  bool purge_expired = false;
  bool repair = false;
  bool strict = false;  ///< warnings fail the check too
};

std::string_view fix_name(store::Finding::Fix fix) {
  switch (fix) {
    case store::Finding::Fix::none: return "";
    case store::Finding::Fix::remove: return "removed";
    case store::Finding::Fix::restore: return "put back into the pending set";
    case store::Finding::Fix::write_tx: return "transaction record written";
    case store::Finding::Fix::write_index: return "certificate written again from its record";
    case store::Finding::Fix::append_audit: return "audit line appended from the record";
    case store::Finding::Fix::return_use: return "use given back to the secret";
    case store::Finding::Fix::cut_audit: return "torn line cut off";
  }
  return "";
}

/// What one CA looks like on disk; `problems` empty when all is well.
struct CaReport {
  std::string name;
  std::size_t certificates = 0, revoked = 0, pending = 0, expired_pending = 0, purged = 0;
  std::string crl;  ///< "none", "current until ...", "stale since ..."
  std::vector<std::string> problems;
  std::vector<std::string> warnings;     ///< reported, but not problems (exit 0)
  std::vector<std::string> keys;         ///< "CA key: WHERE (RSA 2048, matches certificate)"
  bool unavailable = false;              ///< a key's token cannot be reached
  std::vector<std::string> generations;  ///< "next ...", "retired ID ...": the other generations, described
};

/// A CA or RA certificate that expires within 30 days: devices stop trusting
/// its replies when it does, so the operator is told in time.
void check_expiry(const scep::CaBundle& bundle, core::TimePoint now, CaReport& rep) {
  auto warn = [&](const crypto::Certificate& c, std::string_view what) {
    auto left = std::chrono::floor<std::chrono::days>(c.not_after() - now);
    if (c.not_after() <= now)
      rep.problems.push_back(fmt::format("the {} certificate expired on {}", what, crypto::format_time(c.not_after())));
    else if (left < std::chrono::days(30))
      rep.warnings.push_back(fmt::format("the {} certificate expires in {} day(s), on {}", what, left.count(),
                                         crypto::format_time(c.not_after())));
  };
  warn(bundle.cert, "CA");
  if (bundle.ra) warn(*bundle.ra, "RA");
}

void check_key_file(const std::filesystem::path& path, CaReport& rep) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return;
  // 0600, or 0640 for a web server's group; never more.
  if ((sb.st_mode & 0137) != 0)
    rep.problems.push_back(fmt::format("{} has mode {:o}; want 0600 (or 0640 for the web server's group)",
                                       path.string(), sb.st_mode & 0777));
}

void check_keys(store::Store& st, const scep::CaBundle& bundle, CaReport& rep) {
  auto one = [&](scep::KeyRole role, const crypto::Certificate& cert, std::string_view what) {
    bool ca = role == scep::KeyRole::ca;
    auto k = describe_key(st, bundle.name, role, cert);
    rep.keys.push_back(fmt::format("{} key: {} ({})", what, k.location, k.summary));
    if (!k.ok) {
      rep.problems.push_back(fmt::format("{} key: {}", what,
                                         k.summary.ends_with("does NOT match the certificate")
                                             ? fmt::format("it does not match {}", ca ? "cert.pem" : "ra.pem")
                                             : k.summary));
      rep.unavailable = rep.unavailable || k.unavailable;
    }
    // A missing key, or both key.pem and key.uri, is a load_key error above.
    check_key_file(ca ? st.layout().ca_key(bundle.name) : st.layout().ra_key(bundle.name), rep);
  };
  one(scep::KeyRole::ca, bundle.cert, "CA");
  if (bundle.ra) one(scep::KeyRole::ra, *bundle.ra, "RA");
}

void check_crl(const store::Store& st, const scep::CaBundle& bundle, core::TimePoint now, CaReport& rep) {
  auto der = st.load_crl(bundle.name);
  if (!der) return rep.problems.push_back("CRL: " + der.error().detail);
  if (!*der) {
    rep.crl = "none yet (made on first request)";
    return;
  }
  auto crl = crypto::Crl::parse(**der);
  if (!crl || !crl->verify(bundle.cert)) return rep.problems.push_back("crl.der is damaged or not signed by the CA");
  rep.crl = fmt::format("number {}, {} {}", crl->number(), now < crl->next_update() ? "current until" : "stale since",
                        crypto::format_time(crl->next_update()));
}

/// The next and retired generations: keys match, the next one follows the
/// current one (same subject, RA certified by it), retired CRLs verify.
void check_generations(store::Store& st, const config::Config& cfg, const scep::CaBundle& bundle, core::TimePoint now,
                       CaReport& rep) {
  auto next = st.load_next_ca(bundle.name, cfg);
  if (!next) {
    rep.problems.push_back("next certificate: " + next.error().detail);
  } else if (*next) {
    const auto& n = **next;
    auto key = st.load_next_key(bundle.name);
    if (!key) rep.problems.push_back("next CA key: " + key.error().detail);
    else if (!n.cert.matches(*key)) rep.problems.push_back("the next CA key does not match next/cert.pem");
    check_key_file(st.layout().next_dir(bundle.name) / store::on_disk::ca_key, rep);
    if (n.cert.subject_der() != bundle.cert.subject_der())
      rep.problems.push_back(fmt::format("the next certificate's subject \"{}\" is not the CA's", n.cert.subject()));
    if (bundle.ra && !n.ra) rep.problems.push_back("the CA has an RA but next/ has no RA certificate");
    if (n.ra && !n.cert.issued(*n.ra)) rep.problems.push_back("next/ra.pem is not issued by the next CA");
    if (n.ra && bundle.ra && !(n.ra->public_key() == bundle.ra->public_key()))
      rep.problems.push_back("next/ra.pem certifies another key than ra.pem");
    rep.generations.push_back(fmt::format("next {} (not activated), valid {} to {}", n.cert.serial_hex(),
                                          crypto::format_time(n.cert.not_before()),
                                          crypto::format_time(n.cert.not_after())));
  }
  auto retired = st.retired_cas(bundle.name);
  if (!retired) return rep.problems.push_back("retired generations: " + retired.error().detail);
  for (const auto& r : *retired) {
    auto key = st.load_retired_key(bundle.name, r.id);
    if (!key) rep.problems.push_back(fmt::format("retired {} key: {}", r.id, key.error().detail));
    else if (!r.cert.matches(*key)) rep.problems.push_back(fmt::format("retired {}: the key does not match", r.id));
    std::string crl_state = "no CRL yet";
    auto der = store::read_file(st.layout().retired(bundle.name, r.id) / store::on_disk::crl);
    if (der) {
      auto crl = crypto::Crl::parse(*der);
      if (!crl || !crl->verify(r.cert)) rep.problems.push_back(fmt::format("retired {}: crl.der is damaged", r.id));
      else
        crl_state = fmt::format("CRL number {}, {} {}", crl->number(),
                                now < crl->next_update() ? "current until" : "stale since (re-signed on request)",
                                crypto::format_time(crl->next_update()));
    } else if (der.error().code != Errc::not_found) {
      rep.problems.push_back(fmt::format("retired {}: {}", r.id, der.error().detail));
    }
    rep.generations.push_back(
        fmt::format("retired {}, valid to {}, {}", r.id, crypto::format_time(r.cert.not_after()), crl_state));
  }
}

/// Expired pending requests: counted, and with `purge` rejected so their devices learn it.
core::Result<void> check_pending(store::Store& st, const scep::CaBundle& bundle, bool purge, Env& env, CaReport& rep) {
  SCEP_TRY_ASSIGN(auto pending, st.list_pending(bundle.name));
  rep.pending = pending.size();
  store::Session session(st);
  auto now = env.clock.now();
  for (const auto& p : pending) {
    if (!scep::pending_expired(p.created, bundle.options, now)) continue;
    ++rep.expired_pending;
    if (!purge) continue;
    auto r = scep::reject(session.backend(), env.clock, p, "expired without approval", env.who);
    if (!r && r.error().code == core::Errc::not_found) continue;  // decided meanwhile
    if (!r) return r;
    ++rep.purged;
  }
  return {};
}

core::Result<CaReport> check_ca(store::Store& st, const config::Config& cfg, const std::string& name,
                                const CheckOptions& opt, Env& env) {
  CaReport rep{name, 0, 0, 0, 0, 0, {}, {}, {}, {}};
  if (st.activation_pending(name)) {
    // An activation passed its commit point (next/ renamed to activating/)
    // and stopped: only its moves are left, which are safe to run again.
    if (!opt.repair) {
      rep.problems.push_back(
          fmt::format("an activation stopped after its commit point: `scepctl check --repair` "
                      "(or `scepctl ca activate {}`) completes it",
                      name));
      return rep;
    }
    auto done = st.finish_activation(name);
    if (!done) {
      rep.problems.push_back("completing the activation: " + done.error().detail);
      return rep;
    }
    rep.warnings.push_back("an interrupted activation was completed (--repair)");
  }
  auto bundle = st.load_ca(name, cfg);
  if (!bundle) {
    rep.problems.push_back(bundle.error().detail);
    return rep;
  }
  check_keys(st, *bundle, rep);
  if (auto ok = scep::check_servable(*bundle); !ok) rep.problems.push_back(ok.error().detail);
  check_expiry(*bundle, env.clock.now(), rep);
  auto certs = st.list_certificates(name);
  if (!certs) rep.problems.push_back("certificates: " + certs.error().detail);
  else rep.certificates = certs->size();
  auto revoked = st.revoked_certificates(name);
  if (!revoked) rep.problems.push_back("revocations: " + revoked.error().detail);
  else rep.revoked = revoked->size();
  check_crl(st, *bundle, env.clock.now(), rep);
  check_generations(st, cfg, *bundle, env.clock.now(), rep);
  if (auto r = check_pending(st, *bundle, opt.purge_expired, env, rep); !r)
    rep.problems.push_back("pending requests: " + r.error().detail);
  return rep;
}

core::Result<void> run_check(const CheckOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto names, st.ca_names());
  std::size_t problems = 0, warnings = 0;
  bool unavailable = false;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& name : names) {
    SCEP_TRY_ASSIGN(auto rep, check_ca(st, cfg, name, opt, env));
    problems += rep.problems.size();
    unavailable = unavailable || rep.unavailable;
    warnings += rep.warnings.size();
    if (env.json) {
      list.push_back({{"ca", name},
                      {"certificates", rep.certificates},
                      {"revoked", rep.revoked},
                      {"pending", rep.pending},
                      {"expired_pending", rep.expired_pending},
                      {"purged", rep.purged},
                      {"crl", rep.crl},
                      {"keys", rep.keys},
                      {"problems", rep.problems},
                      {"warnings", rep.warnings},
                      {"generations", rep.generations}});
      continue;
    }
    env.out << fmt::format("ca {}: {} certificates, {} revoked, {} pending ({} expired{}), CRL {}\n", name,
                           rep.certificates, rep.revoked, rep.pending, rep.expired_pending,
                           opt.purge_expired ? fmt::format(", {} purged", rep.purged) : std::string(), rep.crl);
    for (const auto& k : rep.keys) env.out << "  " << k << "\n";
    for (const auto& g : rep.generations) env.out << "  " << g << "\n";
    for (const auto& p : rep.problems) env.out << "  problem: " << p << "\n";
    for (const auto& w : rep.warnings) env.out << "  warning: " << w << "\n";
  }
  SCEP_TRY_ASSIGN(auto findings, store::check_records(st, opt.repair));
  nlohmann::json records = nlohmann::json::array();
  for (const auto& f : findings) {
    if (!f.repaired) ++problems;
    std::string fix(fix_name(f.fix));
    std::string state = f.repaired ? "repaired: " + fix : fix.empty() ? "needs the operator" : "--repair: " + fix;
    if (env.json) records.push_back({{"path", f.path}, {"problem", f.problem}, {"repaired", f.repaired}, {"fix", fix}});
    else env.out << fmt::format("{}: {} ({})\n", f.path, f.problem, state);
  }
  if (env.json) env.out << nlohmann::json{{"cas", list}, {"records", records}}.dump(2) << "\n";
  // A token that cannot be reached is the service's outage (exit 6, as its 503).
  if (problems && unavailable)
    return core::fail(Errc::unavailable, fmt::format("{} problem(s) found; a key's token cannot be reached", problems));
  if (problems) return core::fail(Errc::store_io, fmt::format("{} problem(s) found", problems));
  if (opt.strict && warnings)
    return core::fail(Errc::store_io, fmt::format("{} warning(s) found (--strict)", warnings));
  if (!env.json) env.out << "store ok\n";
  return {};
}

}  // namespace

void add_check_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand("check", "read the whole store back and report problems (exit 5 if any)");
  cmd->add_flag("--purge-expired", opt->purge_expired,
                "reject pending requests that have expired, so polling devices are told so");
  cmd->add_flag("--repair", opt->repair,
                "finish or undo what a crash or a failed write left (safe while the service runs)");
  cmd->add_flag("--strict", opt->strict,
                "exit 5 for warnings too (a CA or RA certificate that expires within 30 days)");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_check(*opt, env); }; });
}

}  // namespace scepctl
