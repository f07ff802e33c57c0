#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ca/authority.hpp"
#include "env.hpp"
#include "store/atomic_file.hpp"

namespace scepctl {

core::Result<void> install_ca(Env& env, store::Store& st, const std::string& name, store::NewCa ca, bool make_default,
                              std::string_view operation);

struct CaImportOptions {
  std::string name, cert_file, key_file, chain_file;
  bool make_default = false;
};

static core::Result<std::vector<crypto::Certificate>> read_cert_file(const std::string& path) {
  auto bytes = store::read_file(path, 4u << 20);
  if (!bytes) return core::fail(core::Errc::invalid_argument, bytes.error().detail);
  auto certs = crypto::Certificate::load_all(*bytes);
  if (!certs) return core::fail(core::Errc::invalid_argument, fmt::format("{}: {}", path, certs.error().detail));
  return certs;
}

core::Result<void> run_ca_import(const CaImportOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto certs, read_cert_file(opt.cert_file));
  auto key_bytes = store::read_file(opt.key_file, 1u << 20);
  if (!key_bytes) return core::fail(core::Errc::invalid_argument, key_bytes.error().detail);
  auto key = crypto::PrivateKey::load(*key_bytes);
  if (!key) return core::fail(core::Errc::invalid_argument, fmt::format("{}: {}", opt.key_file, key.error().detail));
  // Extra certificates after the first in --cert count as chain.
  std::vector<crypto::Certificate> chain(certs.begin() + 1, certs.end());
  if (!opt.chain_file.empty()) {
    SCEP_TRY_ASSIGN(auto more, read_cert_file(opt.chain_file));
    chain.insert(chain.end(), more.begin(), more.end());
  }
  SCEP_TRY_ASSIGN(auto warnings, ca::check_import(certs.front(), *key, chain));
  for (const auto& w : warnings) env.err << "scepctl: warning: " << w << "\n";
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::create));
  // install_ca gives an EC CA its RSA RA, as for `ca create`.
  return install_ca(env, st, opt.name, store::NewCa{certs.front(), std::move(*key), std::move(chain)}, opt.make_default,
                    "ca-import");
}

void add_ca_import_command(CLI::App& parent, Env& env) {
  auto opt = std::make_shared<CaImportOptions>();
  auto* cmd = parent.add_subcommand(
      "import", "import an existing CA certificate and key (PEM or DER); an EC CA gets an RSA RA with it");
  cmd->add_option("name", opt->name, "store name of the CA")->required();
  cmd->add_option("--cert", opt->cert_file, "CA certificate (PEM may hold the chain after it)")->required();
  cmd->add_option("--key", opt->key_file, "the CA's unencrypted private key")->required();
  cmd->add_option("--chain", opt->chain_file, "issuers above the CA, nearest first, up to the root");
  cmd->add_flag("--default", opt->make_default, "make it the default CA");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_ca_import(*opt, env); }; });
}

}  // namespace scepctl
