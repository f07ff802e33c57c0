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

namespace scepcgi {

/// Where a log line goes: stderr for CGI, the request's error stream for FastCGI.
using LogSink = std::function<void(std::string_view)>;

/// Keeps one StoreCache per store directory for the life of the process: a
/// FastCGI process serves many requests (on several threads at once), a CGI
/// process one.
class Endpoint {
 public:
  /// `fallback_store`: the store when the request does not name one in
  /// SCEP_STORE (FastCGI: the process environment the manager gave us).
  /// `long_lived` (FastCGI): watch the stores with inotify rather than stat
  /// their files at every request.
  explicit Endpoint(std::string fallback_store, bool long_lived = false)
      : m_fallback_store(std::move(fallback_store)), m_long_lived(long_lived) {}

  /// The bytes to send back: Status, headers, body (never throws).
  std::string respond(const web::EnvLookup& env, std::istream& body, const LogSink& log);

 private:
  web::Response handle(const web::Request& req, const std::string& root, const LogSink& log);
  core::Result<store::StoreCache*> cache_for(const std::string& root);

  std::string m_fallback_store;
  bool m_long_lived = false;
  std::mutex m_mutex;  ///< FastCGI threads share the caches
  std::map<std::string, std::unique_ptr<store::StoreCache>, std::less<>> m_caches;
  core::SystemClock m_clock;
  crypto::SystemRng m_rng;
};

}  // namespace scepcgi
