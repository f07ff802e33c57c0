#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "audit.hpp"
#include "ca/authority.hpp"
#include "crypto/key_type.hpp"
#include "env.hpp"
#include "show.hpp"
#include "target.hpp"

namespace scepctl {

struct RaCreateOptions {
  std::string ca;
  std::string subject;
  int key_bits = 0;                   ///< --key-bits N: rsa-N
  std::string key_type = "rsa-2048";  ///< --key-type
  int days = 730;
  bool replace = false;
};

core::Result<void> run_ra_create(const RaCreateOptions& given, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto name, target_ca(st, cfg, given.ca));
  RaCreateOptions opt = given;
  opt.ca = name;
  SCEP_TRY_ASSIGN(auto ca, st.load_ca(opt.ca, cfg));
  if (ca.ra && !opt.replace)
    return core::fail(core::Errc::already_exists,
                      fmt::format("CA \"{}\" already has an RA certificate (use --replace)", opt.ca));
  SCEP_TRY_ASSIGN(auto ca_key, st.load_key(opt.ca, scep::KeyRole::ca));
  auto key_type = opt.key_bits ? crypto::rsa_key_type(opt.key_bits) : crypto::parse_key_type(opt.key_type);
  if (!key_type) return core::fail(core::Errc::invalid_argument, "unknown key type");  // the parser checked both
  ca::RaSpec spec{opt.subject.empty() ? ca::default_ra(opt.ca).subject : opt.subject, *key_type, opt.days};
  SCEP_TRY_ASSIGN(auto ra, ca::create_ra(spec, ca.cert, ca_key, env.clock, env.rng));
  auto r = st.set_ra(opt.ca, ra.cert, ra.key, opt.replace ? store::Store::Replace::yes : store::Store::Replace::no);
  if (!r) return r;
  if (env.json) {
    auto j = cert_json(ra.cert);
    j["ca"] = opt.ca;
    env.out << j.dump(2) << "\n";
  } else {
    env.out << fmt::format("RA certificate for CA \"{}\" created; the CA now works in RA mode\n", opt.ca);
    print_cert(env.out, ra.cert, "  ");
  }
  return audit_action(st, cert_action(env, opt.ca, opt.replace && ca.ra ? "ra-replace" : "ra-create",
                                      scep::Outcome::created, ra.cert));
}

void add_ra_command(CLI::App& app, Env& env) {
  auto* ra = app.add_subcommand("ra", "manage RA certificates");
  ra->require_subcommand(1);
  auto opt = std::make_shared<RaCreateOptions>();
  auto* create = ra->add_subcommand("create", "create an RSA RA certificate signed by the CA (switches on RA mode)");
  create->add_option("ca", opt->ca, "store name of the CA (default: the default CA)");
  create->add_option("--subject", opt->subject, "subject DN (default: CN=CA SCEP RA)");
  auto* type = create
                   ->add_option("--key-type", opt->key_type,
                                "rsa-2048 (default), rsa-3072 or rsa-4096; an RA must be RSA")
                   ->check(CLI::IsMember(crypto::key_type_names()));
  create->add_option("--key-bits", opt->key_bits, "RSA key size (the same as --key-type rsa-BITS)")
      ->check(CLI::IsMember({2048, 3072, 4096}))
      ->excludes(type);
  create->add_option("--days", opt->days, "validity in days, capped at the CA's (default 730)")
      ->check(CLI::Range(1, 36500));
  create->add_flag("--replace", opt->replace, "replace an existing RA certificate");
  create->callback([opt, &env] { env.command = [opt, &env] { return run_ra_create(*opt, env); }; });
}

}  // namespace scepctl
