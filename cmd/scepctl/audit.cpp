// Operator actions in the audit log, and `scepctl audit`.
#include "audit.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "certs_lookup.hpp"
#include "core/bytes.hpp"
#include "core/names.hpp"
#include "crypto/certificate.hpp"
#include "env.hpp"
#include "policy/secret.hpp"
#include "table.hpp"

namespace scepctl {

scep::Operator current_operator() {
  scep::Operator who;
  uid_t uid = ::getuid();
  who.uid = static_cast<long>(uid);
  // getpwuid_r: no static buffer shared with anything else in the process.
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) who.user = found->pw_name;
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) who.sudo_user = core::escape_text(sudo, 64);
  return who;
}

scep::AuditEvent operator_action(const Env& env, std::string ca, std::string operation, scep::Outcome outcome,
                                 std::string detail) {
  scep::AuditEvent e;
  e.time = env.clock.now();
  e.ca = std::move(ca);
  e.remote = "scepctl";
  e.operation = std::move(operation);
  e.outcome = outcome;
  e.detail = std::move(detail);
  e.by = env.who;
  return e;
}

scep::AuditEvent cert_action(const Env& env, std::string ca, std::string operation, scep::Outcome outcome,
                             const crypto::Certificate& cert, std::string_view extra) {
  auto e = operator_action(env, std::move(ca), std::move(operation), outcome,
                           fmt::format("valid until {}, SHA-256 {}{}", crypto::format_time(cert.not_after()),
                                       core::to_hex(cert.fingerprint(crypto::DigestAlg::sha256)), extra));
  e.serial = cert.serial_hex();
  e.subject = cert.subject();
  return e;
}

core::Result<void> audit_action(store::Store& st, const scep::AuditEvent& e) {
  auto r = st.append_audit(e);
  if (r) return r;
  return core::fail(r.error().code, fmt::format("{} ({}) is done, but its audit line could not be written: {}",
                                                e.operation, e.ca.empty() ? "store" : e.ca, r.error().detail));
}

namespace {

struct AuditFilter {
  std::string ca, serial, transaction_id, operation, outcome, by, since, until, file;
};

/// Operation and outcome names match in any case: PKCSReq, pkcsreq.
bool same_word(std::string_view a, std::string_view b) { return core::iequals_ascii(a, b); }

/// "2026-12-07", "2026-12-07T15:04:05Z" (the log's own spelling), or a
/// duration back from now ("90m", "24h", "7d").
core::Result<core::TimePoint> parse_when(std::string_view text, const core::Clock& clock) {
  if (auto ago = policy::parse_duration(text)) return clock.now() - *ago;
  if (auto t = crypto::parse_time(text)) return *t;
  if (text.size() == 10)  // a date: its midnight, UTC
    if (auto t = crypto::parse_time(fmt::format("{}T00:00:00Z", text))) return *t;
  return core::fail(core::Errc::invalid_argument,
                    fmt::format("\"{}\" is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ) or a duration (90m, 24h, 7d)",
                                core::escape_text(text, 64)));
}

std::optional<core::TimePoint> line_time(const nlohmann::json& j) { return crypto::parse_time(j.value("time", "")); }

/// A field for a terminal: control characters as \xNN (a transactionID
/// or subject comes from the network), quotes as they are; at most `max`
/// bytes of it, then "...".
std::string shown(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max) return out + "...";
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

/// Who did it: the operator (with the sudo user), else the device's address.
std::string actor(const nlohmann::json& j) {
  auto by = j.find("operator");
  if (by == j.end() || !by->is_object()) return j.value("remote", "");
  std::string user = by->value("user", "");
  if (user.empty()) user = fmt::format("uid {}", by->value("uid", -1L));
  std::string sudo = by->value("sudo_user", "");
  return sudo.empty() ? user : fmt::format("{} (sudo {})", user, sudo);
}

/// What the line is about: a serial, a secret id, else the transactionID.
std::string object(const nlohmann::json& j) {
  for (const char* key : {"serial", "secret_id", "transaction_id", "policy"})
    if (auto v = j.value(key, ""); !v.empty()) return v;
  return "-";
}

core::Result<void> run_audit(const AuditFilter& f, Env& env) {
  std::optional<core::TimePoint> since, until;
  if (!f.since.empty()) {
    SCEP_TRY_ASSIGN(auto t, parse_when(f.since, env.clock));
    since = t;
  }
  if (!f.until.empty()) {
    SCEP_TRY_ASSIGN(auto t, parse_when(f.until, env.clock));
    until = t;
  }
  std::string path = f.file;
  if (path.empty()) {
    SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
    path = st.layout().audit_log().string();
  }
  std::ifstream file;
  if (path != "-") file.open(path, std::ios::binary);
  std::istream& in = path == "-" ? std::cin : file;
  if (!in) {
    if (f.file.empty() && ::access(path.c_str(), F_OK) != 0) {  // a store that decided nothing yet
      if (env.json) env.out << "[]\n";
      else env.err << "no audit lines (the store has no audit.log yet)\n";
      return {};
    }
    return core::fail(core::Errc::store_io, fmt::format("cannot read {}", path));
  }
  // The log spells serials as the store does: compare in that spelling.
  std::string want_serial;
  if (!f.serial.empty()) {
    SCEP_TRY_ASSIGN(auto serial, canonical_serial(f.serial));
    want_serial = serial;
  }
  nlohmann::json matched = nlohmann::json::array();
  std::string line;
  std::size_t line_no = 0, unreadable = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      ++unreadable;
      continue;
    }
    if (!j.is_object()) {
      ++unreadable;
      continue;
    }
    auto field = [&](const char* key) { return j.value(key, ""); };
    if (!f.ca.empty() && field("ca") != f.ca) continue;
    if (!f.transaction_id.empty() && field("transaction_id") != f.transaction_id) continue;
    if (!f.operation.empty() && !same_word(field("operation"), f.operation)) continue;
    if (!f.outcome.empty() && !same_word(field("outcome"), f.outcome)) continue;
    if (!want_serial.empty() && field("serial") != want_serial) continue;
    if (!f.by.empty()) {
      auto by = j.find("operator");
      if (by == j.end() || !by->is_object() || (by->value("user", "") != f.by && by->value("sudo_user", "") != f.by))
        continue;
    }
    if (since || until) {
      auto t = line_time(j);
      if (!t || (since && *t < *since) || (until && *t > *until)) continue;
    }
    matched.push_back(std::move(j));
  }
  if (unreadable)
    env.err << fmt::format("scepctl: warning: {} of {} lines in {} are not JSON audit events (see scepctl check)\n",
                           unreadable, line_no, path);
  if (env.json) {
    env.out << matched.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return {};
  }
  // The detail, free text, last.
  Table table({"TIME", "CA", "OPERATION", "OUTCOME", "OBJECT", "BY", "DETAIL"});
  for (const auto& j : matched) {
    auto text = [](const std::string& s) {
      return s.empty() ? std::string("-") : shown(s, 120);
    };  // "-": empty, as in every listing
    std::string detail = j.value("detail", "");
    if (auto fi = j.value("fail_info", ""); !fi.empty()) detail = fi + (detail.empty() ? "" : ": " + detail);
    table.add({text(j.value("time", "")), text(j.value("ca", "")), text(j.value("operation", "")),
               text(j.value("outcome", "")), text(object(j)), text(actor(j)), text(detail)});
  }
  print_listing(env, table, "no audit lines match");
  return {};
}

}  // namespace

void add_audit_command(CLI::App& app, Env& env) {
  auto f = std::make_shared<AuditFilter>();
  auto* cmd = app.add_subcommand("audit", "show audit log lines: decisions and operator actions, filtered");
  cmd->add_option("--ca", f->ca, "only this CA's lines");
  cmd->add_option("--serial", f->serial,
                  "only lines about this certificate (hex; colons, case, leading zeros ignored)");
  cmd->add_option("--transaction-id", f->transaction_id, "only lines of this transactionID");
  cmd->add_option("--operation", f->operation,
                  "only this operation, any case (PKCSReq, CertPoll, approve, revoke, secret-create, ca-set, ...)");
  std::vector<std::string_view> outcomes;
  for (scep::Outcome o : scep::all_outcomes()) outcomes.push_back(scep::outcome_name(o));
  cmd->add_option("--outcome", f->outcome, fmt::format("only this outcome, any case: {}", fmt::join(outcomes, ", ")))
      ->check([](const std::string& name) {
        return scep::outcome_from_name(name) ? std::string() : fmt::format("no outcome is called \"{}\"", name);
      });
  cmd->add_option("--by", f->by, "only actions of this operator (login name or SUDO_USER)");
  cmd->add_option("--since", f->since,
                  "from this time on: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or a duration ago (24h, 7d)");
  cmd->add_option("--until", f->until, "up to this time, spelled as --since");
  cmd->add_option("--file", f->file,
                  "read this log instead of STORE/audit.log: a rotated one, or - for standard input (zcat "
                  "audit.log.2.gz | scepctl audit --file -)");
  cmd->callback([f, &env] { env.command = [f, &env] { return run_audit(*f, env); }; });
}

}  // namespace scepctl
