#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "crypto/der.hpp"
#include "crypto/pkcs7.hpp"
#include "env.hpp"
#include "show.hpp"
#include "store/atomic_file.hpp"
#include "target.hpp"

namespace scepctl {

struct ExportOptions {
  std::string ca;
  bool ra = false;
  bool chain = false;
  std::string format = "pem";
  std::string out_file;
};

/// The certificates to export: the RA or the CA; with --chain, everything above it.
static core::Result<std::vector<crypto::Certificate>> select(const scep::CaBundle& ca, const ExportOptions& opt) {
  std::vector<crypto::Certificate> certs;
  if (opt.ra) {
    if (!ca.ra) return core::fail(core::Errc::not_found, fmt::format("CA \"{}\" has no RA certificate", ca.name));
    certs.push_back(*ca.ra);
    if (opt.chain) certs.push_back(ca.cert);
  } else {
    certs.push_back(ca.cert);
  }
  if (opt.chain) certs.insert(certs.end(), ca.chain.begin(), ca.chain.end());
  return certs;
}

static core::Result<core::Bytes> encode(const std::vector<crypto::Certificate>& certs, const std::string& format) {
  if (format == "der") {
    if (certs.size() != 1)
      return core::fail(core::Errc::invalid_argument, "DER holds one certificate; use --format pem or p7b for a chain");
    return certs.front().der();
  }
  if (format == "p7b") return crypto::degenerate_pkcs7(certs);
  std::string pem;
  for (const auto& c : certs) pem += c.pem();
  return core::to_bytes(pem);
}

core::Result<void> run_export(const ExportOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto name, target_ca(st, cfg, opt.ca));
  SCEP_TRY_ASSIGN(auto ca, st.load_ca(name, cfg));
  SCEP_TRY_ASSIGN(auto certs, select(ca, opt));
  SCEP_TRY_ASSIGN(auto data, encode(certs, opt.format));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : certs) list.push_back(cert_json(c));
  nlohmann::json meta{{"ca", ca.name}, {"format", opt.format}, {"certificates", list}};
  if (opt.out_file.empty() && env.json) {
    // The data itself is part of the answer: PEM as text, DER and PKCS#7 in base64.
    if (opt.format == "pem") meta["pem"] = core::to_string(data);
    else meta["base64"] = crypto::base64_encode(data);
    env.out << meta.dump(2) << "\n";
    return {};
  }
  if (opt.out_file.empty()) {
    env.out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return {};
  }
  if (auto r = store::write_file_atomic(opt.out_file, data, 0644); !r)
    return core::fail(core::Errc::invalid_argument, r.error().detail);
  if (env.json) {
    meta["file"] = opt.out_file;
    env.out << meta.dump(2) << "\n";
  } else {
    env.out << fmt::format("wrote {} certificate(s) to {}\n", certs.size(), opt.out_file);
    for (const auto& c : certs) print_cert(env.out, c, "  ");
  }
  return {};
}

void add_export_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "export CA/RA certificates (PEM, DER or PKCS#7)");
  cmd->add_option("ca", opt->ca, "store name of the CA (default: the default CA)");
  cmd->add_flag("--ra", opt->ra, "export the RA certificate instead of the CA's");
  cmd->add_flag("--chain", opt->chain, "add the certificates above it, up to the root");
  cmd->add_option("--format", opt->format, "pem, der or p7b (default pem)")
      ->check(CLI::IsMember({"pem", "der", "p7b"}));
  cmd->add_option("--out", opt->out_file, "write to FILE and print fingerprints (default: standard output)");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_export(*opt, env); }; });
}

}  // namespace scepctl
