#include "store/codec.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "crypto/der.hpp"
#include "store/fs_util.hpp"

namespace store {

using core::Errc;
using nlohmann::json;

namespace {

/// The record's "format", when it is one of `accepted`.
core::Result<int> check_format(const json& j, std::initializer_list<int> accepted, std::string_view what) {
  int format = j.at("format").get<int>();
  for (int a : accepted)
    if (format == a) return format;
  return core::fail(Errc::store_io, fmt::format("unsupported {} record format", what));
}

/// The audit event a record carries: the log's fields and the time in seconds.
json carried_event(const scep::AuditEvent& event) {
  json e = event_json(event);
  e["unix_time"] = unix_seconds(event.time);
  return e;
}

std::string_view state_name(scep::Transaction::State s) {
  switch (s) {
    case scep::Transaction::State::issued: return "issued";
    case scep::Transaction::State::pending: return "pending";
    case scep::Transaction::State::rejected: return "rejected";
  }
  return "issued";
}

core::Result<scep::Transaction::State> parse_state(std::string_view name) {
  for (auto s :
       {scep::Transaction::State::issued, scep::Transaction::State::pending, scep::Transaction::State::rejected})
    if (name == state_name(s)) return s;
  return core::fail(Errc::store_io, fmt::format("unknown transaction state \"{}\"", capped(name, 64)));
}

}  // namespace

std::string capped(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  return fmt::format("{}...[{} more bytes]", text.substr(0, max), text.size() - max);
}

std::string dump_record(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

std::vector<std::string> listed_sans(const std::vector<std::string>& sans) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < sans.size() && i < max_listed_sans; ++i) out.push_back(capped(sans[i]));
  if (sans.size() > max_listed_sans) out.push_back(fmt::format("...[{} more]", sans.size() - max_listed_sans));
  return out;
}

// Transactions

std::string encode_transaction(const scep::Transaction& t, const crypto::Certificate* cert,
                               const scep::AuditEvent* event) {
  json j = {{"format", transaction_format},       {"ca", t.ca},
            {"transaction_id", t.transaction_id}, {"state", state_name(t.state)},
            {"key_id", core::to_hex(t.key_id)},   {"serial", t.serial},
            {"secret_id", t.secret_id},           {"policy", t.policy},
            {"reason", capped(t.reason)},         {"renewed_from", t.renewed_from},
            {"created", unix_seconds(t.created)}};
  if (!t.secret_hash.empty()) j["secret_hash"] = core::to_hex(t.secret_hash);
  if (cert) j["certificate"] = crypto::base64_encode(cert->der());
  if (event) j["event"] = carried_event(*event);
  return dump_record(j);
}

core::Result<StoredTransaction> parse_transaction(std::string_view text) {
  try {
    json j = json::parse(text);
    SCEP_TRY(check_format(j, {1, transaction_format}, "transaction"));
    StoredTransaction out;
    scep::Transaction& t = out.transaction;
    t.ca = j.at("ca").get<std::string>();
    t.transaction_id = j.at("transaction_id").get<std::string>();
    SCEP_TRY_ASSIGN(auto state, parse_state(j.at("state").get<std::string>()));
    t.state = state;
    if (!core::from_hex(j.at("key_id").get<std::string>(), t.key_id))
      return core::fail(Errc::store_io, "bad transaction key id");
    t.serial = j.value("serial", "");
    t.secret_id = j.value("secret_id", "");
    t.policy = j.value("policy", "");
    t.reason = j.value("reason", "");
    t.renewed_from = j.value("renewed_from", "");
    t.created = from_unix_seconds(j.value("created", std::int64_t{0}));
    if (j.contains("secret_hash") && !core::from_hex(j["secret_hash"].get<std::string>(), t.secret_hash))
      return core::fail(Errc::store_io, "bad secret hash in transaction record");
    if (j.contains("certificate")) {
      auto der = crypto::base64_decode(j["certificate"].get<std::string>());
      auto cert = der ? crypto::Certificate::from_der(*der) : std::unexpected(der.error());
      if (!cert) return core::fail(Errc::store_io, "bad certificate in transaction record");
      out.certificate = std::move(*cert);
    }
    if (j.contains("event")) out.event = event_from_json(j["event"]);
    return out;
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad transaction record: {}", e.what()));
  }
}

// Pending requests

std::string encode_pending(const scep::PendingRequest& p) {
  json j = {{"format", record_format},
            {"ca", p.ca},
            {"transaction_id", p.transaction_id},
            {"remote", capped(p.remote)},
            {"csr", crypto::base64_encode(p.csr_der)},
            {"created", unix_seconds(p.created)}};
  if (!p.subject.empty()) j["subject"] = capped(p.subject);
  if (!p.key.empty()) j["key"] = capped(p.key);
  if (!p.note.empty()) j["note"] = capped(p.note);
  if (!p.sans.empty()) j["sans"] = listed_sans(p.sans);
  return dump_record(j);
}

core::Result<scep::PendingRequest> parse_pending(std::string_view text) {
  try {
    json j = json::parse(text);
    SCEP_TRY(check_format(j, {record_format}, "pending"));
    auto csr = crypto::base64_decode(j.at("csr").get<std::string>());
    if (!csr) return core::fail(Errc::store_io, "bad CSR in pending record");
    return scep::PendingRequest{j.at("ca").get<std::string>(),
                                j.at("transaction_id").get<std::string>(),
                                j.value("remote", ""),
                                std::move(*csr),
                                core::TimePoint(std::chrono::seconds(j.value("created", std::int64_t{0}))),
                                j.value("subject", ""),
                                j.value("sans", std::vector<std::string>{}),
                                j.value("key", ""),
                                j.value("note", "")};
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad pending record: {}", e.what()));
  }
}

// Revocations

std::string encode_revocation(const crypto::RevokedEntry& entry, const scep::AuditEvent& event) {
  json j = {{"format", record_format},
            {"serial", entry.serial_hex},
            {"time", unix_seconds(entry.time)},
            {"reason", crypto::reason_name(entry.reason)},
            {"event", carried_event(event)}};
  return dump_record(j);
}

core::Result<crypto::RevokedEntry> parse_revocation(std::string_view text, std::string_view serial) {
  try {
    json j = json::parse(text);
    SCEP_TRY(check_format(j, {record_format}, "revocation"));
    auto reason = crypto::parse_reason(j.at("reason").get<std::string>());
    if (!reason || j.at("serial").get<std::string>() != serial)
      return core::fail(Errc::store_io, fmt::format("bad revocation record for {}", serial));
    return crypto::RevokedEntry{std::string(serial), from_unix_seconds(j.at("time").get<std::int64_t>()), *reason};
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad revocation record for {}: {}", serial, e.what()));
  }
}

core::Result<std::optional<scep::AuditEvent>> revocation_event(std::string_view text) {
  try {
    json j = json::parse(text);
    if (!j.contains("event")) return std::optional<scep::AuditEvent>();
    return std::optional<scep::AuditEvent>(event_from_json(j["event"]));
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad revocation record: {}", e.what()));
  }
}

// Secrets

std::string encode_secret(const policy::SecretRecord& r) {
  json j = {{"format", record_format},
            {"id", r.id},
            {"hash", core::to_hex(r.hash)},
            {"ca", r.ca},
            {"policy", r.policy},
            {"uses", r.uses},
            {"created", unix_seconds(r.created)},
            {"expires", unix_seconds(r.expires)},
            {"revoked", r.revoked}};
  if (r.common_name) j["cn"] = *r.common_name;
  if (r.subject_regex) j["subject_regex"] = *r.subject_regex;
  return dump_record(j);
}

core::Result<policy::SecretRecord> parse_secret(std::string_view text) {
  try {
    json j = json::parse(text);
    SCEP_TRY(check_format(j, {record_format}, "secret"));
    policy::SecretRecord r;
    r.id = j.at("id").get<std::string>();
    if (!core::from_hex(j.at("hash").get<std::string>(), r.hash)) return core::fail(Errc::store_io, "bad secret hash");
    r.ca = j.at("ca").get<std::string>();
    r.policy = j.at("policy").get<std::string>();
    r.uses = j.at("uses").get<int>();
    r.created = from_unix_seconds(j.at("created").get<std::int64_t>());
    r.expires = from_unix_seconds(j.at("expires").get<std::int64_t>());
    r.revoked = j.value("revoked", false);
    if (j.contains("cn")) r.common_name = j["cn"].get<std::string>();
    if (j.contains("subject_regex")) r.subject_regex = j["subject_regex"].get<std::string>();
    return r;
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad secret record: {}", e.what()));
  }
}

// Audit events

json event_json(const scep::AuditEvent& e) {
  json j = {{"time", crypto::format_time(e.time)},
            {"ca", e.ca},
            {"remote", capped(e.remote)},
            {"operation", capped(e.operation, 64)},
            {"transaction_id", capped(e.transaction_id, 256)},
            {"subject", capped(e.subject)},
            {"secret_id", capped(e.secret_id, 64)},
            {"policy", capped(e.policy, 128)},
            {"outcome", scep::outcome_name(e.outcome)},
            {"serial", capped(e.serial, 128)},
            {"fail_info", e.fail_info},
            {"detail", capped(e.detail)}};
  if (!e.sans.empty()) j["sans"] = listed_sans(e.sans);
  if (e.by) {
    json by = {{"uid", e.by->uid}, {"user", capped(e.by->user, 64)}};
    if (!e.by->sudo_user.empty()) by["sudo_user"] = capped(e.by->sudo_user, 64);
    j["operator"] = std::move(by);
  }
  return j;
}

scep::AuditEvent event_from_json(const json& j) {
  scep::AuditEvent e;
  e.time = from_unix_seconds(j.value("unix_time", std::int64_t{0}));
  e.ca = j.value("ca", "");
  e.remote = j.value("remote", "");
  e.operation = j.value("operation", "");
  e.transaction_id = j.value("transaction_id", "");
  e.subject = j.value("subject", "");
  e.secret_id = j.value("secret_id", "");
  e.policy = j.value("policy", "");
  // An event written without one (none is) decided nothing; a name this
  // version does not know makes the record unreadable, as a JSON error does.
  if (auto name = j.value("outcome", ""); !name.empty()) {
    auto o = scep::outcome_from_name(name);
    if (!o) throw json::other_error::create(501, fmt::format("unknown outcome \"{}\"", name), &j);
    e.outcome = *o;
  }
  e.serial = j.value("serial", "");
  e.fail_info = j.value("fail_info", "");
  e.detail = j.value("detail", "");
  e.sans = j.value("sans", std::vector<std::string>{});
  if (auto by = j.find("operator"); by != j.end() && by->is_object())
    e.by = scep::Operator{by->value("uid", -1L), by->value("user", ""), by->value("sudo_user", "")};
  return e;
}

std::string encode_audit_line(const scep::AuditEvent& e, bool recovered) {
  json j = event_json(e);
  if (recovered) j["recovered"] = true;
  return dump_record(j);
}

}  // namespace store
