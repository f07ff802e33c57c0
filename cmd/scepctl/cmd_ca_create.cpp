#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "audit.hpp"
#include "ca/authority.hpp"
#include "core/names.hpp"
#include "crypto/key_type.hpp"
#include "env.hpp"
#include "key_uri.hpp"
#include "show.hpp"

namespace scepctl {

struct CaCreateOptions {
  std::string name;
  std::string subject;
  int key_bits = 0;      ///< --key-bits N: rsa-N (kept for scripts)
  std::string key_type;  ///< --key-type; empty: rsa-2048, or a token key's own type
  std::string key_uri;   ///< --key-uri: the key on a PKCS#11 token
  int days = 3650;
  bool make_default = false;
};

/// Installs a new CA and makes it the default when asked or when it is the
/// first. An EC CA cannot decrypt what clients send: its RSA RA is made here
/// and stored with it (one rename), so the store never holds it without one.
core::Result<void> install_ca(Env& env, store::Store& st, const std::string& name, store::NewCa ca, bool make_default,
                              std::string_view operation) {
  if (ca::needs_rsa_ra(ca.cert)) {
    SCEP_TRY_ASSIGN(auto ra, ca::create_ra(ca::default_ra(name), ca.cert, ca.key, env.clock, env.rng));
    ca.ra = store::NewRa{ra.cert, std::move(ra.key)};
  }
  SCEP_TRY_ASSIGN(auto existing, st.ca_names());
  SCEP_TRY(st.add_ca(name, ca));
  bool is_default = make_default || existing.empty();
  if (is_default) {
    SCEP_TRY(st.set_default_ca(name));
  }
  if (env.json) {
    auto j = cert_json(ca.cert);
    j["name"] = name;
    if (ca.ra) j["ra"] = cert_json(ca.ra->cert);
    env.out << j.dump(2) << "\n";
  } else {
    env.out << fmt::format("CA \"{}\" created\n", name);
    print_cert(env.out, ca.cert, "  ");
    if (ca.ra) {
      env.out << fmt::format("and its RSA RA (the CA's key is {}: SCEP clients encrypt to the RA)\n",
                             ca.cert.public_key().description());
      print_cert(env.out, ca.ra->cert, "  ");
    }
  }
  return audit_action(st,
                      cert_action(env, name, std::string(operation), scep::Outcome::created, ca.cert,
                                  fmt::format("{}{}{}",
                                              ca.chain.empty() ? "" : fmt::format(", chain of {}", ca.chain.size()),
                                              ca.ra ? ", with an RSA RA" : "", is_default ? ", the default CA" : "")));
}

core::Result<void> run_ca_create(const CaCreateOptions& opt, Env& env) {
  if (!core::is_valid_name(opt.name))
    return core::fail(core::Errc::invalid_argument,
                      fmt::format("\"{}\" is not a valid CA name ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}})", opt.name));
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::create));
  if (auto names = st.ca_names(); names && std::find(names->begin(), names->end(), opt.name) != names->end())
    return core::fail(core::Errc::already_exists, fmt::format("CA \"{}\" already exists", opt.name));
  std::optional<crypto::KeyType> wanted;
  if (opt.key_bits) wanted = crypto::rsa_key_type(opt.key_bits);
  else if (!opt.key_type.empty()) wanted = crypto::parse_key_type(opt.key_type);
  if ((opt.key_bits || !opt.key_type.empty()) && !wanted)
    return core::fail(core::Errc::invalid_argument, "unknown key type");  // the parser checked both
  ca::RootSpec spec{opt.subject.empty() ? fmt::format("CN={} SCEP CA", opt.name) : opt.subject,
                    wanted.value_or(crypto::KeyType::rsa_2048), opt.days};
  if (opt.key_uri.empty()) {
    SCEP_TRY_ASSIGN(auto root, ca::create_root(spec, env.clock, env.rng));
    return install_ca(env, st, opt.name, store::NewCa{root.cert, std::move(root.key), {}}, opt.make_default,
                      "ca-create");
  }
  // On a token: the key there, or one made there; the CA directory appears
  // only when all of it worked.
  SCEP_TRY_ASSIGN(auto uri, parse_key_uri_option(opt.key_uri));
  SCEP_TRY_ASSIGN(auto token, token_key(st, uri, MakeKey::if_missing, wanted, crypto::KeyType::rsa_2048));
  spec.key = token.key;
  auto installed = [&]() -> core::Result<void> {
    SCEP_TRY_ASSIGN(auto root, ca::create_root(spec, env.clock, env.rng));
    return install_ca(env, st, opt.name, store::NewCa{root.cert, std::move(root.key), {}}, opt.make_default,
                      "ca-create");
  }();
  if (!installed && token.generated) return std::unexpected(note_generated(installed.error(), uri));
  return installed;
}

void add_ca_create_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaCreateOptions>();
  auto* cmd = parent.add_subcommand("create", "create a self-signed CA (an EC CA gets its RSA RA with it)");
  cmd->add_option("name", opt->name, "store name of the CA (what clients use to pick it)")->required();
  cmd->add_option("--subject", opt->subject, "subject DN, e.g. \"CN=Example CA,O=Example\" (default: CN=NAME SCEP CA)");
  auto* type = cmd->add_option("--key-type", opt->key_type,
                               "rsa-2048 (default), rsa-3072, rsa-4096, ec-p256 or ec-p384; an EC CA signs with "
                               "ECDSA and gets an RSA-2048 RA for SCEP's key transport; with --key-uri, the type "
                               "of the key to make on the token (a key already there keeps its own)")
                   ->check(CLI::IsMember(crypto::key_type_names()));
  cmd->add_option("--key-bits", opt->key_bits, "RSA key size (the same as --key-type rsa-BITS)")
      ->check(CLI::IsMember({2048, 3072, 4096}))
      ->excludes(type);
  cmd->add_option("--key-uri", opt->key_uri,
                  "keep the CA's key on a PKCS#11 token: an RFC 7512 URI such as "
                  "\"pkcs11:token=scep;object=corp-ca?pin-source=file:/etc/scep/pin\" (the key with that "
                  "label or id, else one made there; module: [pkcs11] in scep.toml or module-path=)");
  cmd->add_option("--days", opt->days, "validity in days (default 3650)")->check(CLI::Range(1, 36500));
  cmd->add_flag("--default", opt->make_default, "make it the default CA");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_create(*opt, env); }; });
}

}  // namespace scepctl
