#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/names.hpp"
#include "crypto/csr.hpp"
#include "env.hpp"
#include "scep/manual.hpp"
#include "show.hpp"
#include "store/atomic_file.hpp"
#include "table.hpp"

namespace scepctl {

struct PendingOptions {
  std::string ca;
  bool expired = false;
};

static bool is_expired(const scep::PendingRequest& p, const config::Config& cfg, core::TimePoint now) {
  return scep::pending_expired(p.created, cfg.options_for(p.ca), now);
}

static std::string age(core::TimePoint created, core::TimePoint now) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now - created).count();
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

static nlohmann::json pending_json(const scep::PendingRequest& p, bool expired, core::TimePoint now) {
  auto fp = scep::pending_fingerprints(p);
  nlohmann::json j = {{"ca", p.ca},
                      {"md5", crypto::colon_hex(fp.md5)},
                      {"sha1", crypto::colon_hex(fp.sha1)},
                      {"sha256", crypto::colon_hex(fp.sha256)},
                      {"transaction_id", p.transaction_id},
                      {"remote", p.remote},
                      {"created", crypto::format_time(p.created)},
                      {"age", age(p.created, now)},
                      {"expired", expired}};
  if (!p.subject.empty() && !p.key.empty()) {  // read when the request was parked
    j["subject"] = p.subject;
    j["sans"] = printable_sans(p.sans);
    j["key"] = p.key;
  } else if (auto csr = crypto::Csr::from_der(p.csr_der)) {
    j["subject"] = csr->subject();
    auto sans = csr->subject_alt_names();
    j["sans"] = sans ? crypto::to_display(*sans)
                     : std::vector<std::string>{"(the subjectAltName extension is malformed)"};
    j["key"] = csr->public_key().description();
  }
  if (!p.note.empty()) j["note"] = p.note;
  return j;
}

/// SubjectAltNames and the note, for the last column of the table.
static std::string details(const nlohmann::json& j, const scep::PendingRequest& p) {
  std::vector<std::string> parts;
  if (j.contains("sans") && !j["sans"].empty()) parts.push_back("sans=" + san_list(j["sans"]));
  if (!p.note.empty()) parts.push_back("note: " + core::escape_text(p.note));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, "  "));
}

/// The waiting (or expired) requests, oldest arrival first.
core::Result<void> run_pending(const PendingOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto all, st.list_pending(opt.ca));
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  auto now = env.clock.now();
  // --json streams the array element by element, in the layout of
  // json::dump(2): with 10,000 requests a whole-array document cost a
  // third of the command's time in allocations.
  bool first = true;
  if (env.json) env.out << "[";
  Table table({"MD5", "CA", "RECEIVED", "AGE", "FROM", "KEY", "SUBJECT", "DETAILS"});
  for (const auto& p : all) {
    bool expired = is_expired(p, cfg, now);
    if (expired != opt.expired) continue;
    auto j = pending_json(p, expired, now);
    if (env.json) {
      std::string item = j.dump(2);
      std::string indented;
      indented.reserve(item.size() + 64);
      for (char c : item) {
        indented += c;
        if (c == '\n') indented += "  ";
      }
      env.out << (first ? "\n  " : ",\n  ") << indented;
      first = false;
      continue;
    }
    table.add({j["md5"].get<std::string>(), p.ca, j["created"].get<std::string>(), j["age"].get<std::string>(),
               p.remote.empty() ? "-" : p.remote, j.value("key", "?"), j.value("subject", "?"), details(j, p)});
  }
  if (env.json) env.out << (first ? "]\n" : "\n]\n");
  else print_listing(env, table, opt.expired ? "no expired pending requests" : "no pending requests");
  return {};
}

core::Result<void> run_fingerprint(const std::string& file, Env& env) {
  auto bytes = store::read_file(file, 1u << 20);
  if (!bytes) return core::fail(core::Errc::invalid_argument, bytes.error().detail);
  auto csr = crypto::Csr::load(*bytes);
  if (!csr) return core::fail(core::Errc::invalid_argument, fmt::format("{}: {}", file, csr.error().detail));
  auto fp = crypto::fingerprints(csr->der());
  if (env.json) {
    env.out << nlohmann::json{{"md5", crypto::colon_hex(fp.md5)},
                              {"sha1", crypto::colon_hex(fp.sha1)},
                              {"sha256", crypto::colon_hex(fp.sha256)},
                              {"subject", csr->subject()}}
                   .dump(2)
            << "\n";
  } else {
    env.out << fmt::format("MD5     {}\nSHA-1   {}\nSHA-256 {}\n", crypto::colon_hex(fp.md5),
                           crypto::colon_hex(fp.sha1), crypto::colon_hex(fp.sha256));
  }
  return {};
}

void add_pending_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<PendingOptions>();
  auto* cmd = app.add_subcommand("pending", "list requests waiting for approval, with their fingerprints");
  cmd->add_option("--ca", opt->ca, "only this CA");
  cmd->add_flag("--expired", opt->expired, "list the expired ones instead");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_pending(*opt, env); }; });
  auto file = std::make_shared<std::string>();
  auto* fp = app.add_subcommand("fingerprint", "print the MD5/SHA-1/SHA-256 fingerprints of a PKCS#10 file");
  fp->add_option("file", *file, "CSR, PEM or DER")->required();
  fp->callback([file, &env] { env.command = [file, &env] { return run_fingerprint(*file, env); }; });
}

}  // namespace scepctl
