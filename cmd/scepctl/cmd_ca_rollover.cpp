// `scepctl ca rollover` (the next CA generation, offered by GetNextCACert)
// and `scepctl ca activate` (it becomes the current one).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "audit.hpp"
#include "ca/authority.hpp"
#include "crypto/key_type.hpp"
#include "env.hpp"
#include "key_uri.hpp"
#include "show.hpp"

namespace scepctl {

namespace {

struct RolloverOptions {
  std::string name;
  int days = 0;          ///< 0: the current certificate's lifetime
  std::string key_type;  ///< empty: the current key's type
  std::string cert_file, key_file, chain_file;
  std::string key_uri;  ///< --key-uri: the next key on a PKCS#11 token
  bool replace = false;
};

/// The type of the current CA key, for a rollover that does not name one.
std::optional<crypto::KeyType> same_key_type(const crypto::PublicKey& key) {
  if (key.is_rsa()) return crypto::rsa_key_type(key.bits());
  if (key.bits() == 256) return crypto::KeyType::ec_p256;
  if (key.bits() == 384) return crypto::KeyType::ec_p384;
  return std::nullopt;
}

/// The next CA certificate and key: made here for a self-signed CA, read
/// from --cert/--key (or --key-uri) for an imported one. `token` is the
/// --key-uri key, if any (made on the token when a self-signed CA's new key
/// is not there yet).
core::Result<store::NewCa> next_generation(const RolloverOptions& opt, Env& env, const scep::CaBundle& current,
                                           std::optional<crypto::PrivateKey> token) {
  bool imported_ca = !current.chain.empty() || !current.cert.is_self_issued();
  if (opt.cert_file.empty()) {
    if (imported_ca)
      return core::fail(core::Errc::invalid_argument,
                        fmt::format("CA \"{}\" was imported (it has an issuer above it): give its next certificate "
                                    "and key with --cert and --key",
                                    current.name));
    auto type = opt.key_type.empty() ? same_key_type(current.cert.public_key()) : crypto::parse_key_type(opt.key_type);
    if (!type)
      return core::fail(core::Errc::invalid_argument,
                        fmt::format("the CA key is {}, which `ca create` does not make: choose --key-type",
                                    current.cert.public_key().description()));
    int days = opt.days;
    if (days == 0) {
      auto lifetime = current.cert.not_after() - current.cert.not_before();
      days = std::max<int>(1, static_cast<int>(std::chrono::duration_cast<std::chrono::days>(lifetime).count()));
    }
    SCEP_TRY_ASSIGN(auto root, ca::create_next_root(current.cert, *type, days, env.clock, env.rng, std::move(token)));
    return store::NewCa{root.cert, std::move(root.key), {}};
  }
  if (!opt.key_type.empty() || opt.days != 0)
    return core::fail(core::Errc::invalid_argument, "--key-type and --days make a new certificate: not with --cert");
  SCEP_TRY_ASSIGN(auto read, read_cert_and_chain_options(opt.cert_file, opt.chain_file));
  std::optional<crypto::PrivateKey> key = std::move(token);
  if (!key) {
    SCEP_TRY_ASSIGN(auto loaded, read_key_option(opt.key_file));
    key = std::move(loaded);
  }
  // The same issuer signs the next intermediate, as a rule: its chain stays.
  if (read.chain.empty() && opt.chain_file.empty() && !read.cert.is_self_issued()) read.chain = current.chain;
  // As `ca import` checks a CA: the key matches, a CA certificate, the chain links.
  SCEP_TRY_ASSIGN(auto warnings, ca::check_import(read.cert, *key, read.chain));
  for (const auto& w : warnings) env.err << "scepctl: warning: " << w << "\n";
  if (auto why = ca::next_mismatch(current.cert, read.cert)) return core::fail(core::Errc::invalid_argument, *why);
  return store::NewCa{read.cert, std::move(*key), std::move(read.chain)};
}

/// Certifies the RA again under `next` and stores the generation as next/.
core::Result<void> store_next(const RolloverOptions& opt, Env& env, store::Store& st, const scep::CaBundle& current,
                              store::NewCa next) {
  if (current.ra) {
    // The RA keeps its key: certified again by the next CA, so that what
    // clients encrypt to it now still decrypts after the activation.
    SCEP_TRY_ASSIGN(auto ra_key, st.load_key(opt.name, scep::KeyRole::ra));
    SCEP_TRY_ASSIGN(auto ra_cert,
                    ca::recertify_ra(*current.ra, ra_key.public_key(), next.cert, next.key, env.clock, env.rng));
    next.ra = store::NewRa{std::move(ra_cert), std::move(ra_key)};
  } else if (ca::needs_rsa_ra(next.cert)) {
    return core::fail(core::Errc::invalid_argument,
                      "the next CA key is not RSA and the CA has no RA to decrypt requests: create one first "
                      "(scepctl ra create)");
  }
  SCEP_TRY(st.add_next_ca(opt.name, next, opt.replace ? store::Store::Replace::yes : store::Store::Replace::no));
  if (env.json) {
    auto j = cert_json(next.cert);
    j["name"] = opt.name;
    j["ra"] = next.ra ? cert_json(next.ra->cert) : nlohmann::json(nullptr);
    env.out << j.dump(2) << "\n";
  } else {
    env.out << fmt::format(
        "CA \"{}\": next certificate stored; GetNextCACert offers it until `scepctl ca activate {}`\n", opt.name,
        opt.name);
    print_cert(env.out, next.cert, "  ");
    if (next.ra) {
      env.out << "and the RA's key certified by it\n";
      print_cert(env.out, next.ra->cert, "  ");
    }
  }
  return audit_action(st, cert_action(env, opt.name, "ca-rollover",
                                      opt.replace ? scep::Outcome::replaced : scep::Outcome::created, next.cert,
                                      next.ra ? ", with the RA certified again" : ""));
}

core::Result<void> run_ca_rollover(const RolloverOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto current, st.load_ca(opt.name, cfg));
  if (!opt.replace && st.has_next_ca(opt.name))
    return core::fail(core::Errc::already_exists,
                      fmt::format("CA \"{}\" has a next certificate already (activate it, or use --replace)",
                                  opt.name));
  std::optional<crypto::Pkcs11Uri> uri;
  std::optional<TokenKey> token;
  if (!opt.key_uri.empty()) {
    SCEP_TRY_ASSIGN(auto parsed, parse_key_uri_option(opt.key_uri));
    uri = std::move(parsed);
    // An imported next certificate certifies a key on the token already; a
    // self-signed CA's next key is made there when it is not.
    std::optional<crypto::KeyType> wanted;
    if (!opt.key_type.empty()) wanted = crypto::parse_key_type(opt.key_type);
    auto fallback = same_key_type(current.cert.public_key()).value_or(crypto::KeyType::rsa_2048);
    SCEP_TRY_ASSIGN(auto t, token_key(st, *uri, opt.cert_file.empty() ? MakeKey::if_missing : MakeKey::never, wanted,
                                      fallback));
    token = std::move(t);
  } else if (!opt.cert_file.empty() && opt.key_file.empty()) {
    return core::fail(core::Errc::invalid_argument, "give the next certificate's key: --key FILE or --key-uri URI");
  }
  auto made = [&]() -> core::Result<void> {
    SCEP_TRY_ASSIGN(auto next, next_generation(opt, env, current,
                                               token ? std::optional<crypto::PrivateKey>(token->key) : std::nullopt));
    return store_next(opt, env, st, current, std::move(next));
  }();
  if (!made && token && token->generated) return std::unexpected(note_generated(made.error(), *uri));
  return made;
}

struct ActivateOptions {
  std::string name;
  bool force = false;
};

core::Result<void> run_ca_activate(const ActivateOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  if (!st.activation_pending(opt.name)) {
    SCEP_TRY_ASSIGN(auto next, st.load_next_ca(opt.name, cfg));
    if (!next)
      return core::fail(core::Errc::not_found, fmt::format("CA \"{}\" has no next certificate (make one with "
                                                           "`scepctl ca rollover {}`)",
                                                           opt.name, opt.name));
    // A certificate issued by a CA that is not valid yet would not verify.
    if (env.clock.now() < next->cert.not_before() && !opt.force)
      return core::fail(core::Errc::invalid_argument,
                        fmt::format("the next certificate is not valid before {} (--force activates it anyway)",
                                    crypto::format_time(next->cert.not_before())));
  }
  SCEP_TRY_ASSIGN(auto id, st.activate_next(opt.name));
  SCEP_TRY_ASSIGN(auto now_current, st.load_ca(opt.name, cfg));
  if (env.json) {
    auto j = cert_json(now_current.cert);
    j["name"] = opt.name;
    j["retired"] = id;
    env.out << j.dump(2) << "\n";
  } else {
    env.out << fmt::format(
        "CA \"{}\": the next certificate is current; the previous generation is retired as {}\n"
        "  (its certificates still renew and revoke; its CRL: /{}/crl/{} until its last certificate expires)\n",
        opt.name, id, opt.name, id);
    print_cert(env.out, now_current.cert, "  ");
  }
  return audit_action(st, cert_action(env, opt.name, "ca-activate", scep::Outcome::changed, now_current.cert,
                                      fmt::format(", retired {}", id)));
}

}  // namespace

void add_ca_rollover_commands(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<RolloverOptions>();
  auto* cmd = parent.add_subcommand(
      "rollover", "make the CA's next certificate (new key), offered by GetNextCACert until `ca activate`");
  cmd->add_option("name", opt->name, "store name of the CA")->required();
  cmd->add_option("--days", opt->days, "validity in days (default: the current certificate's lifetime)")
      ->check(CLI::Range(1, 36500));
  cmd->add_option("--key-type", opt->key_type,
                  "rsa-2048, rsa-3072, rsa-4096, ec-p256 or ec-p384 (default: the "
                  "current key's type)")
      ->check(CLI::IsMember(crypto::key_type_names()));
  auto* cert = cmd->add_option("--cert", opt->cert_file,
                               "an imported CA: its next certificate (same subject, new key; PEM may hold the chain)");
  auto* key = cmd->add_option("--key", opt->key_file, "the next certificate's unencrypted private key");
  cmd->add_option("--key-uri", opt->key_uri,
                  "keep the next key on a PKCS#11 token (RFC 7512 URI, as for `ca create`): the key with that label "
                  "or id, else one made there; with --cert, the key it certifies")
      ->excludes(key);
  cmd->add_option("--chain", opt->chain_file, "issuers above the next certificate (default: the current chain)")
      ->needs(cert);
  key->needs(cert);
  cmd->add_flag("--replace", opt->replace, "replace a next certificate not yet activated");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_rollover(*opt, env); }; });

  auto act = std::make_shared<ActivateOptions>();
  auto* activate = parent.add_subcommand(
      "activate", "make the next certificate current; the previous generation is retired (renews, revokes, CRL)");
  activate->add_option("name", act->name, "store name of the CA")->required();
  activate->add_flag("--force", act->force, "activate before the next certificate's notBefore");
  activate->callback([act, &env] { env.command = [act, &env] { return run_ca_activate(*act, env); }; });
}

}  // namespace scepctl
