#pragma once
// What scep.cgi does with one request, whichever way it came in (CGI or
// FastCGI): meta-variables + body in, the CGI response bytes out. Both modes
// go through here so they answer byte for byte alike.

#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "crypto/rng.hpp"
#include "store/cache.hpp"
#include "web/cgi.hpp"
#include "web/log_line.hpp"
#include "web/metrics.hpp"

namespace scepcgi {

/// Where log lines go (whole lines, '\n' included): standard error, which
/// is the web server's error log for CGI and the process's own (the journal
/// under scep-fastcgi.service) for FastCGI.
using LogSink = std::function<void(std::string_view)>;

/// How one process logs (scep.cgi(8), ENVIRONMENT).
struct LogSettings {
  /// Without SCEP_LOG_LEVEL: error for CGI (the web server writes the access
  /// log), info for FastCGI.
  web::LogLevel default_level = web::LogLevel::error;
  bool journal = false;  ///< standard error is journald's (JOURNAL_STREAM)
};

/// Keeps one StoreCache per store directory for the life of the process: a
/// FastCGI process serves many requests (on several threads at once), a CGI
/// process one.
class Endpoint {
 public:
  /// `fallback_store`: the store when the request does not name one in
  /// SCEP_STORE (FastCGI: the process environment the manager gave us).
  /// `long_lived` (FastCGI): watch the stores with inotify rather than stat
  /// their files at every request.
  /// `metrics` (FastCGI): counts every request and answers
  /// server.metrics_path; nullptr (CGI): no metrics.
  explicit Endpoint(std::string fallback_store, bool long_lived = false, LogSettings log = {},
                    web::Metrics* metrics = nullptr)
      : m_fallback_store(std::move(fallback_store)), m_long_lived(long_lived), m_log(log), m_metrics(metrics) {}

  /// The bytes to send back: Status, headers, body (never throws).
  std::string respond(const web::EnvLookup& env, std::istream& body, const LogSink& log);

 private:
  web::Response handle(const web::Request& req, const std::string& root);
  core::Result<store::StoreCache*> cache_for(const std::string& root);

  std::string m_fallback_store;
  bool m_long_lived = false;
  LogSettings m_log;
  web::Metrics* m_metrics = nullptr;
  std::mutex m_mutex;  ///< FastCGI threads share the caches
  std::map<std::string, std::unique_ptr<store::StoreCache>, std::less<>> m_caches;
  core::SystemClock m_clock;
  crypto::SystemRng m_rng;
};

}  // namespace scepcgi
