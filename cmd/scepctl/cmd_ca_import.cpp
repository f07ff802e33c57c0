#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ca/authority.hpp"
#include "env.hpp"
#include "key_uri.hpp"

namespace scepctl {

core::Result<void> install_ca(Env& env, store::Store& st, const std::string& name, store::NewCa ca, bool make_default,
                              std::string_view operation);

struct CaImportOptions {
  std::string name, cert_file, key_file, chain_file, key_uri;
  bool make_default = false;
};

core::Result<void> run_ca_import(const CaImportOptions& opt, Env& env) {
  if (opt.key_file.empty() == opt.key_uri.empty())
    return core::fail(core::Errc::invalid_argument, "give the CA's key: --key FILE or --key-uri URI");
  // Extra certificates after the first in --cert count as chain.
  SCEP_TRY_ASSIGN(auto read, read_cert_and_chain_options(opt.cert_file, opt.chain_file));
  std::optional<crypto::PrivateKey> key;
  if (!opt.key_uri.empty()) {
    // The key is on the token already (the certificate certifies it): never made here.
    SCEP_TRY_ASSIGN(auto uri, parse_key_uri_option(opt.key_uri));
    SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::create));
    SCEP_TRY_ASSIGN(auto token, token_key(st, uri, MakeKey::never, std::nullopt, crypto::KeyType::rsa_2048));
    key = std::move(token.key);
  } else {
    SCEP_TRY_ASSIGN(auto loaded, read_key_option(opt.key_file));
    key = std::move(loaded);
  }
  SCEP_TRY_ASSIGN(auto warnings, ca::check_import(read.cert, *key, read.chain));
  for (const auto& w : warnings) env.err << "scepctl: warning: " << w << "\n";
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::create));
  // install_ca gives an EC CA its RSA RA, as for `ca create`.
  return install_ca(env, st, opt.name, store::NewCa{read.cert, std::move(*key), std::move(read.chain)},
                    opt.make_default, "ca-import");
}

void add_ca_import_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaImportOptions>();
  auto* cmd = parent.add_subcommand(
      "import", "import an existing CA certificate and key (PEM or DER); an EC CA gets an RSA RA with it");
  cmd->add_option("name", opt->name, "store name of the CA")->required();
  cmd->add_option("--cert", opt->cert_file, "CA certificate (PEM may hold the chain after it)")->required();
  auto* key = cmd->add_option("--key", opt->key_file, "the CA's unencrypted private key");
  auto* uri = cmd->add_option("--key-uri", opt->key_uri,
                              "instead of --key: the CA's key on a PKCS#11 token (RFC 7512 URI, as for ca create)");
  key->excludes(uri);
  cmd->add_option("--chain", opt->chain_file, "issuers above the CA, nearest first, up to the root");
  cmd->add_flag("--default", opt->make_default, "make it the default CA");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_import(*opt, env); }; });
}

}  // namespace scepctl
