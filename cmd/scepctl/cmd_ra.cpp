#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "audit.hpp"
#include "ca/authority.hpp"
#include "crypto/key_type.hpp"
#include "env.hpp"
#include "key_uri.hpp"
#include "show.hpp"
#include "target.hpp"

namespace scepctl {

struct RaCreateOptions {
  std::string ca;
  std::string subject;
  int key_bits = 0;      ///< --key-bits N: rsa-N
  std::string key_type;  ///< --key-type; empty: rsa-2048, or a token key's own type
  std::string key_uri;   ///< --key-uri: the RA key on a PKCS#11 token
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
  std::optional<crypto::KeyType> wanted;
  if (opt.key_bits) wanted = crypto::rsa_key_type(opt.key_bits);
  else if (!opt.key_type.empty()) wanted = crypto::parse_key_type(opt.key_type);
  if ((opt.key_bits || !opt.key_type.empty()) && !wanted)
    return core::fail(core::Errc::invalid_argument, "unknown key type");  // the parser checked both
  ca::RaSpec spec{opt.subject.empty() ? ca::default_ra(opt.ca).subject : opt.subject,
                  wanted.value_or(crypto::KeyType::rsa_2048), opt.days};
  std::optional<crypto::Pkcs11Uri> uri;
  bool generated = false;
  if (!opt.key_uri.empty()) {
    if (wanted && !crypto::is_rsa(*wanted))
      return core::fail(core::Errc::invalid_argument,
                        "an RA key must be RSA (SCEP clients encrypt to it with RSA): use --key-type rsa-2048, "
                        "rsa-3072 or rsa-4096");
    SCEP_TRY_ASSIGN(auto parsed, parse_key_uri_option(opt.key_uri));
    uri = parsed;
    // Before the CA's key loads: a key made on the token needs the module to itself.
    SCEP_TRY_ASSIGN(auto token, token_key(st, *uri, MakeKey::if_missing, wanted, crypto::KeyType::rsa_2048));
    generated = token.generated;
    spec.key = std::move(token.key);
  }
  auto made = [&]() -> core::Result<ca::KeyPairCert> {
    SCEP_TRY_ASSIGN(auto ca_key, st.load_key(opt.ca, scep::KeyRole::ca));
    SCEP_TRY_ASSIGN(auto ra, ca::create_ra(spec, ca.cert, ca_key, env.clock, env.rng));
    SCEP_TRY(st.set_ra(opt.ca, ra.cert, ra.key, opt.replace ? store::Store::Replace::yes : store::Store::Replace::no));
    return ra;
  }();
  if (!made && generated) return std::unexpected(note_generated(made.error(), *uri));
  if (!made) return std::unexpected(made.error());
  auto& ra = *made;
  // next/ra.pem certifies the RA key it replaced: `ca activate` refuses
  // until a rollover certifies this one.
  if (st.has_next_ca(opt.ca))
    env.err << fmt::format(
        "scepctl: warning: CA \"{}\" has a next generation whose RA certificate names the old RA "
        "key: run `scepctl ca rollover {} --replace` before `scepctl ca activate {}`\n",
        opt.ca, opt.ca, opt.ca);
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
  create->add_option("--key-uri", opt->key_uri,
                     "keep the RA's key on a PKCS#11 token (RFC 7512 URI, as for ca create; an RSA key there is "
                     "used, else one is made)");
  create->add_option("--days", opt->days, "validity in days, capped at the CA's (default 730)")
      ->check(CLI::Range(1, 36500));
  create->add_flag("--replace", opt->replace, "replace an existing RA certificate");
  create->callback([opt, &env] { env.command = [opt, &env] { return run_ra_create(*opt, env); }; });
}

}  // namespace scepctl
