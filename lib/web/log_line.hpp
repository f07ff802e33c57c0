#pragma once
// The one formatter of the front ends' log lines (scepctl serve, scep.cgi in
// CGI and FastCGI mode): a request line with what dispatch() decided, and
// error and debug lines, as logfmt text or as JSON, one line each.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "web/http.hpp"

namespace web {

enum class LogLevel { error, info, debug };
enum class LogFormat { text, json };

/// "error", "info", "debug" (as --log-level and SCEP_LOG_LEVEL spell them).
std::optional<LogLevel> parse_log_level(std::string_view text);
/// "text", "json".
std::optional<LogFormat> parse_log_format(std::string_view text);

struct LogStyle {
  LogFormat format = LogFormat::text;
  /// stderr is journald's stream: text lines start with a syslog priority
  /// ("<3>", sd-daemon(3)) instead of a time stamp; the journal has the time.
  bool journal = false;
};

/// One answered request, as the front end saw it.
struct RequestLine {
  std::string_view remote;
  std::string_view method;
  std::string_view target;  ///< as sent ("/scep?operation=..."); cut to 160 bytes in a line
  int status = 0;
  std::size_t bytes = 0;                ///< response body bytes
  std::chrono::nanoseconds duration{};  ///< from the whole request read to the response handed over
  const RequestFacts* facts = nullptr;  ///< what dispatch() decided; nullptr: not dispatched
};

struct LogEntry {
  std::chrono::system_clock::time_point time;
  LogLevel level = LogLevel::info;
  std::string_view message;              ///< error/debug text; empty for a request line
  const RequestLine* request = nullptr;  ///< the request the line is about, if any
};

/// One line, '\n' included. Text is logfmt (key=value, values with spaces,
/// quotes or '=' in double quotes); everything from the network, and
/// every message, is escaped (core::escape_text), so a line is one line of
/// printable ASCII. JSON strings hold the text as received (invalid UTF-8
/// replaced by U+FFFD), escaped by JSON's rules.
std::string format_log_line(const LogEntry& e, LogStyle style);

/// RFC 3339, UTC, milliseconds: "2026-12-07T15:20:13.042Z".
std::string rfc3339_ms(std::chrono::system_clock::time_point t);

/// Whether JOURNAL_STREAM ("DEVICE:INODE", decimal) names the file whose
/// stat(2) gave `dev` and `ino`: then that file is journald's stream
/// (sd-daemon(3): compare, since the variable is inherited by children whose
/// stderr went elsewhere).
bool journal_stream_matches(std::string_view journal_stream, dev_t dev, ino_t ino);
/// journal_stream_matches() for standard error (fd 2); false when the
/// variable is unset (nullptr) or fstat fails.
bool stderr_is_journal(const char* journal_stream);

}  // namespace web
