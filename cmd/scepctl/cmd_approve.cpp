#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "env.hpp"
#include "scep/manual.hpp"
#include "show.hpp"

namespace scepctl {

struct DecideOptions {
  std::string fingerprint;
  std::string ca;
  std::string policy;
  std::string reason;
};

/// The one pending request a fingerprint names; ambiguity lists candidates.
static core::Result<scep::PendingRequest> find_one(store::Store& st, const DecideOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto all, st.list_pending(opt.ca));
  SCEP_TRY_ASSIGN(auto matches, scep::match_fingerprint(all, opt.fingerprint));
  if (matches.empty())
    return core::fail(core::Errc::not_found, fmt::format("no pending request has fingerprint {}", opt.fingerprint));
  if (matches.size() > 1) {
    bool same_request = std::all_of(matches.begin(), matches.end(),
                                    [&](const auto* p) { return p->csr_der == matches.front()->csr_der; });
    for (const auto* p : matches)
      env.err << fmt::format("  {} ca={} transactionID={}\n", crypto::colon_hex(scep::pending_fingerprints(*p).sha256),
                             p->ca, p->transaction_id);
    return core::fail(core::Errc::invalid_argument,
                      fmt::format("{} pending requests match {}; {}", matches.size(), opt.fingerprint,
                                  same_request ? "it is pending at several CAs: add --ca" : "give more digits"));
  }
  return *matches.front();
}

core::Result<void> run_approve(const DecideOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto p, find_one(st, opt, env));
  store::Session session(st);
  SCEP_TRY_ASSIGN(auto approved, scep::approve(session.backend(), env.clock, env.rng, p, opt.policy, env.who));
  if (env.json) {
    auto j = cert_json(approved.certificate);
    j["ca"] = p.ca;
    j["transaction_id"] = p.transaction_id;
    j["policy"] = approved.policy;
    env.out << j.dump(2) << "\n";
  } else {
    env.out << fmt::format("approved: certificate {} issued under policy \"{}\"; the device gets it on its next poll\n",
                           approved.certificate.serial_hex(), approved.policy);
  }
  return {};
}

core::Result<void> run_reject(const DecideOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto p, find_one(st, opt, env));
  store::Session session(st);
  SCEP_TRY(scep::reject(session.backend(), env.clock, p, opt.reason, env.who));
  if (env.json)
    env.out << nlohmann::json{{"ca", p.ca}, {"transaction_id", p.transaction_id}, {"state", "rejected"}}.dump() << "\n";
  else env.out << fmt::format("rejected: transactionID {}\n", p.transaction_id);
  return {};
}

void add_approve_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<DecideOptions>();
  auto* approve = app.add_subcommand("approve", "issue the certificate for a pending request");
  approve
      ->add_option("fingerprint", opt->fingerprint,
                   "MD5, SHA-1 or SHA-256 of the PKCS#10 (colons optional), or >= 8 leading hex digits")
      ->required();
  approve->add_option("--ca", opt->ca, "only look at this CA's requests");
  approve->add_option("--policy", opt->policy,
                      "issuance policy (default: the CA's manual_policy, else built-in defaults)");
  approve->callback([opt, &env] { env.command = [opt, &env] { return run_approve(*opt, env); }; });
  auto ropt = std::make_shared<DecideOptions>();
  auto* reject = app.add_subcommand("reject", "refuse a pending request");
  reject->add_option("fingerprint", ropt->fingerprint, "as for approve")->required();
  reject->add_option("--ca", ropt->ca, "only look at this CA's requests");
  reject->add_option("--reason", ropt->reason, "told to the device in the failure text");
  reject->callback([ropt, &env] { env.command = [ropt, &env] { return run_reject(*ropt, env); }; });
}

}  // namespace scepctl
