#include "web/log_line.hpp"

#include <charconv>
#include <cmath>
#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/names.hpp"

namespace web {

namespace {

/// Longest text a line carries of a field from the network (a transactionID
/// is at most 128 characters when accepted; a refused one may be longer).
constexpr std::size_t max_field = 256;
constexpr std::size_t max_message = 2048;
/// A GET PKIOperation carries the whole message in the target.
constexpr std::size_t max_target = 160;

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::error: return "error";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
  }
  return "info";
}

/// sd-daemon(3): SD_ERR, SD_INFO, SD_DEBUG.
int syslog_priority(LogLevel l) {
  switch (l) {
    case LogLevel::error: return 3;
    case LogLevel::info: return 6;
    case LogLevel::debug: return 7;
  }
  return 6;
}

/// A logfmt value: escaped, "-" when empty, in double quotes when it holds
/// a space or '=' (escaping leaves no '"' or '\\' inside).
void put_text(std::string& out, std::string_view key, std::string_view value, std::size_t max = max_field) {
  out += ' ';
  out += key;
  out += '=';
  if (value.empty()) {
    out += '-';
    return;
  }
  bool quote = value.substr(0, max).find_first_of(" =") != std::string_view::npos;
  if (quote) out += '"';
  core::append_escaped_text(out, value, max);
  if (quote) out += '"';
}

nlohmann::ordered_json json_or_null(std::string_view v) {
  return v.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(std::string(v.substr(0, max_message)));
}

double as_ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

std::string text_line(const LogEntry& e, LogStyle style) {
  std::string out;
  out.reserve(320);
  if (style.journal)
    fmt::format_to(std::back_inserter(out), "<{}>level={}", syslog_priority(e.level), level_name(e.level));
  else fmt::format_to(std::back_inserter(out), "time={} level={}", rfc3339_ms(e.time), level_name(e.level));
  if (const RequestLine* r = e.request) {
    static const RequestFacts none;
    const RequestFacts& f = r->facts ? *r->facts : none;
    put_text(out, "remote", r->remote);
    put_text(out, "method", r->method);
    put_text(out, "target", r->target, max_target);
    put_text(out, "ca", f.ca);
    put_text(out, "operation", f.operation);
    put_text(out, "message_type", f.message_type);
    fmt::format_to(std::back_inserter(out), " status={}", r->status);
    put_text(out, "pki_status", f.pki_status);
    put_text(out, "fail_info", f.fail_info);
    put_text(out, "transaction_id", f.transaction_id);
    fmt::format_to(std::back_inserter(out), " duration_ms={:.3f} bytes={}", as_ms(r->duration), r->bytes);
  }
  if (!e.message.empty()) put_text(out, "msg", e.message, max_message);
  out += '\n';
  return out;
}

std::string json_line(const LogEntry& e) {
  nlohmann::ordered_json j;
  j["time"] = rfc3339_ms(e.time);
  j["level"] = level_name(e.level);
  if (const RequestLine* r = e.request) {
    static const RequestFacts none;
    const RequestFacts& f = r->facts ? *r->facts : none;
    j["remote"] = json_or_null(r->remote);
    j["method"] = json_or_null(r->method);
    j["target"] = r->target.size() > max_target
                      ? nlohmann::ordered_json(std::string(r->target.substr(0, max_target)) + "...")
                      : json_or_null(r->target);
    j["ca"] = json_or_null(f.ca);
    j["operation"] = json_or_null(f.operation);
    j["message_type"] = json_or_null(f.message_type);
    j["status"] = r->status;
    j["pki_status"] = json_or_null(f.pki_status);
    j["fail_info"] = json_or_null(f.fail_info);
    j["transaction_id"] = json_or_null(f.transaction_id);
    j["duration_ms"] = std::round(as_ms(r->duration) * 1000) / 1000;
    j["bytes"] = r->bytes;
  }
  if (!e.message.empty()) j["msg"] = std::string(e.message.substr(0, max_message));
  // Client bytes need not be UTF-8: replace, never throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::error;
  if (text == "info") return LogLevel::info;
  if (text == "debug") return LogLevel::debug;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return std::nullopt;
}

std::string format_log_line(const LogEntry& e, LogStyle style) {
  // journald takes one priority prefix per line; JSON lines carry their level.
  return style.format == LogFormat::json ? json_line(e) : text_line(e, style);
}

std::string rfc3339_ms(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss hms{ms - day};
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

bool journal_stream_matches(std::string_view value, dev_t dev, ino_t ino) {
  auto colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long d = 0, i = 0;
  auto parse = [](std::string_view s, unsigned long long& n) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  return parse(value.substr(0, colon), d) && parse(value.substr(colon + 1), i) &&
         d == static_cast<unsigned long long>(dev) && i == static_cast<unsigned long long>(ino);
}

bool stderr_is_journal(const char* journal_stream) {
  if (!journal_stream) return false;
  struct stat st {};
  return ::fstat(2, &st) == 0 && journal_stream_matches(journal_stream, st.st_dev, st.st_ino);
}

}  // namespace web
