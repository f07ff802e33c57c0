#include "endpoint.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "scep/service.hpp"
#include "web/dispatch.hpp"
#include "web/prometheus.hpp"

namespace scepcgi {

namespace {

/// A request's variable, else the process's (the manager's environment), else "".
std::string_view setting(const web::EnvLookup& env, const char* name) {
  const char* v = env(name);
  if (!v || !*v) v = std::getenv(name);
  return v ? std::string_view(v) : std::string_view();
}

std::string_view method_name(const web::EnvLookup& env) {
  const char* m = env("REQUEST_METHOD");
  return m ? std::string_view(m) : std::string_view();
}

/// The request target for the log: REQUEST_URI, else (nginx's snippet sends
/// no REQUEST_URI) SCRIPT_NAME, PATH_INFO and the query.
std::string target(const web::EnvLookup& env) {
  if (const char* uri = env("REQUEST_URI"); uri && *uri) return uri;
  auto get = [&env](const char* name) {
    const char* v = env(name);
    return std::string(v ? v : "");
  };
  std::string out = get("SCRIPT_NAME") + get("PATH_INFO");
  if (std::string q = get("QUERY_STRING"); !q.empty()) out += "?" + q;
  return out;
}

}  // namespace

std::string Endpoint::respond(const web::EnvLookup& env, std::istream& body, const LogSink& log) {
  web::Response response;
  web::Method method = web::Method::get;
  auto started = std::chrono::steady_clock::now();
  try {
    auto req = web::read_cgi_request(env, body);
    started = std::chrono::steady_clock::now();
    if (req) {
      method = req->method;
      const char* root = env("SCEP_STORE");
      response = handle(*req, root && *root ? std::string(root) : m_fallback_store);
    } else {
      response = std::move(req.error());
    }
  } catch (const std::exception& e) {
    response = web::Response::text(500, "internal error");
    response.log = e.what();
  }
  auto took = std::chrono::steady_clock::now() - started;
  if (m_metrics) m_metrics->observe(response.facts, response.status, took);

  web::LogLevel level = web::parse_log_level(setting(env, "SCEP_LOG_LEVEL")).value_or(m_log.default_level);
  web::LogStyle style{web::parse_log_format(setting(env, "SCEP_LOG_FORMAT")).value_or(web::LogFormat::text),
                      m_log.journal};
  const char* remote = env("REMOTE_ADDR");
  std::string uri = target(env);
  web::RequestLine line{remote ? remote : "", method_name(env), uri, response.status, response.body.size(), took,
                        &response.facts};
  auto now = std::chrono::system_clock::now();
  std::string lines;
  if (!response.log.empty()) lines += web::format_log_line({now, web::LogLevel::error, response.log, &line}, style);
  if (level == web::LogLevel::debug && !response.debug.empty())
    lines += web::format_log_line({now, web::LogLevel::debug, response.debug, &line}, style);
  if (level != web::LogLevel::error) lines += web::format_log_line({now, web::LogLevel::info, {}, &line}, style);
  if (!lines.empty()) log(lines);
  return web::cgi_response(response, method);
}

web::Response Endpoint::handle(const web::Request& req, const std::string& root) {
  auto cache = cache_for(root);
  if (!cache) {
    web::Response r = web::Response::text(500, "internal error");
    r.log = cache.error().detail;
    return r;
  }
  store::Session repo(**cache);
  // server.metrics_path: the metrics of this process (FastCGI); none in CGI mode.
  auto cfg = (*cache)->config((*cache)->generation());
  if (cfg && !(*cfg)->server.metrics_path.empty() && req.path == (*cfg)->server.metrics_path) {
    if (!m_metrics) return web::Response::text(404, "no metrics in CGI mode");
    web::Response r;
    r.content_type = std::string(web::prometheus::content_type);
    r.body = core::to_bytes(m_metrics->render(web::collect_gauges(repo.backend())));
    r.facts.operation = "metrics";
    return r;
  }
  scep::Service service(repo.backend(), m_clock, m_rng);
  return web::dispatch(req, service);
}

core::Result<store::StoreCache*> Endpoint::cache_for(const std::string& root) {
  std::lock_guard lock(m_mutex);  // held for a map lookup; a first open happens once per store
  if (auto it = m_caches.find(root); it != m_caches.end()) return it->second.get();
  // Opened once per directory: FORMAT is checked on the first request only.
  SCEP_TRY_ASSIGN(auto st, store::Store::open(root, store::OpenMode::existing));
  // Warnings go to the process's stderr: the web server's error log.
  st.set_warning_sink([](std::string_view m) { fmt::print(stderr, "scep.cgi: {}\n", m); });
  auto [it, added] = m_caches.emplace(root, std::make_unique<store::StoreCache>(std::move(st)));
  if (m_long_lived) it->second->watch_changes();
  return it->second.get();
}

}  // namespace scepcgi
