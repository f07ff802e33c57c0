#include "endpoint.hpp"

#include <fmt/format.h>

#include "scep/service.hpp"
#include "web/dispatch.hpp"

namespace scepcgi {

std::string Endpoint::respond(const web::EnvLookup& env, std::istream& body, const LogSink& log) {
  web::Response response;
  web::Method method = web::Method::get;
  try {
    auto req = web::read_cgi_request(env, body);
    if (req) {
      method = req->method;
      const char* root = env("SCEP_STORE");
      response = handle(*req, root && *root ? std::string(root) : m_fallback_store, log);
      const char* level = env("SCEP_LOG_LEVEL");
      if (!response.debug.empty() && level && std::string_view(level) == "debug") log("debug: " + response.debug);
    } else {
      response = std::move(req.error());
    }
  } catch (const std::exception& e) {
    log(e.what());
    response = web::Response::text(500, "internal error");
  }
  return web::cgi_response(response, method);
}

web::Response Endpoint::handle(const web::Request& req, const std::string& root, const LogSink& log) {
  auto cache = cache_for(root);
  if (!cache) {
    log(cache.error().detail);
    return web::Response::text(500, "internal error");
  }
  store::Repository repo(**cache);
  scep::Service service(repo, m_clock, m_rng);
  web::Response r = web::dispatch(req, service);
  if (!r.log.empty()) log(r.log);
  return r;
}

core::Result<store::StoreCache*> Endpoint::cache_for(const std::string& root) {
  std::lock_guard lock(m_mutex);  // held for a map lookup; a first open happens once per store
  if (auto it = m_caches.find(root); it != m_caches.end()) return it->second.get();
  // Opened once per directory: FORMAT is checked on the first request only.
  auto st = store::Store::open(root, store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto [it, added] = m_caches.emplace(root, std::make_unique<store::StoreCache>(std::move(*st)));
  if (m_long_lived) it->second->watch_changes();
  return it->second.get();
}

}  // namespace scepcgi
