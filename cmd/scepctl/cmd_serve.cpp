#include <csignal>
#include <iostream>
#include <thread>

#include <pthread.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>

#include "env.hpp"
#include "scep/service.hpp"
#include "store/cache.hpp"
#include "web/dispatch.hpp"

namespace scepctl {

struct ServeOptions {
  std::string listen;
  std::string path;
};

struct Endpoint {
  std::string host;
  int port = 0;
};

static core::Result<Endpoint> parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return core::fail(core::Errc::invalid_argument, fmt::format("--listen \"{}\" is not HOST:PORT", text));
  Endpoint ep{text.substr(0, colon), 0};
  if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']') ep.host = ep.host.substr(1, ep.host.size() - 2);
  try {
    std::size_t used = 0;
    ep.port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || ep.port < 0 || ep.port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return core::fail(core::Errc::invalid_argument, fmt::format("--listen \"{}\": bad port", text));
  }
  return ep;
}

/// The part of `path` below the mount point `base`, or nullopt when outside it.
static std::optional<std::string> below(std::string_view path, std::string_view base) {
  while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
  if (path.size() < base.size() || !std::equal(base.begin(), base.end(), path.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      }))
    return std::nullopt;
  std::string_view rest = path.substr(base.size());
  if (!rest.empty() && rest.front() != '/' && base != "/") return std::nullopt;
  return std::string(rest);
}

static web::Request to_web_request(const httplib::Request& h, std::string path) {
  web::Request r;
  r.method = web::parse_method(h.method);
  r.path = std::move(path);
  auto q = h.target.find('?');
  if (q != std::string::npos) r.query = h.target.substr(q + 1);
  r.body.assign(h.body.begin(), h.body.end());
  r.remote_addr = h.remote_addr;
  return r;
}

/// One request, on one of the server's threads: its own Repository and
/// Service over the server's shared cache.
static web::Response handle(const Env& env, store::StoreCache& cache, const std::string& base,
                            const httplib::Request& h) {
  auto path = below(h.target.substr(0, h.target.find('?')), base);
  if (!path) return web::Response::text(404, "not a SCEP endpoint");
  store::Repository repo(cache);
  scep::Service service(repo, env.clock, env.rng);
  return web::dispatch(to_web_request(h, std::move(*path)), service);
}

/// Blocks SIGINT/SIGTERM in every thread and stops the server from one thread
/// that waits for them, so the stop happens outside a signal handler.
class SignalStopper {
 public:
  explicit SignalStopper(httplib::Server& svr) {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGINT);
    sigaddset(&m_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m_set, nullptr);
    m_thread = std::thread([this, &svr] {
      int sig = 0;
      sigwait(&m_set, &sig);
      svr.stop();
    });
  }
  ~SignalStopper() {
    if (m_thread.joinable()) {
      pthread_kill(m_thread.native_handle(), SIGTERM);
      m_thread.join();
    }
  }

 private:
  sigset_t m_set;
  std::thread m_thread;
};

core::Result<void> run_serve(const ServeOptions& opt, Env& env) {
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto cfg = st->load_config();
  if (!cfg) return std::unexpected(cfg.error());
  auto ep = parse_listen(opt.listen.empty() ? cfg->server.listen : opt.listen);
  if (!ep) return std::unexpected(ep.error());
  std::string base = opt.path.empty() ? cfg->server.path : opt.path;
  if (base.empty() || base.front() != '/') return core::fail(core::Errc::invalid_argument, "--path must start with '/'");

  httplib::Server svr;
  svr.set_payload_max_length(web::max_body_bytes);
  // A reply goes out as two writes (header, body). With Nagle's algorithm the
  // body waits for the client's delayed ACK: 40 ms per keep-alive request.
  svr.set_tcp_nodelay(true);
  // cpp-httplib closes a keep-alive connection after 5 requests by default;
  // a device polling or a proxy in front sends many more.
  svr.set_keep_alive_max_count(1000);
  // cpp-httplib's default adds SO_REUSEPORT, which lets a second server bind
  // the same port silently; keep only SO_REUSEADDR.
  socket_t listening = INVALID_SOCKET;
  svr.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  // Config, CA certificates and keys stay loaded for the server's lifetime,
  // re-checked (stat) at each request: `scepctl ca set` needs no restart.
  store::StoreCache cache(*st);
  auto handler = [&env, &cache, base](const httplib::Request& h, httplib::Response& res) {
    web::Response r = handle(env, cache, base, h);
    if (!r.log.empty()) env.err << fmt::format("scepctl serve: {}\n", r.log);
    res.status = r.status;
    if (!r.allow.empty()) res.set_header("Allow", r.allow);
    res.set_content(std::string(r.body.begin(), r.body.end()), r.content_type.c_str());
  };
  svr.Get(".*", handler).Post(".*", handler).Put(".*", handler).Delete(".*", handler);
  svr.Patch(".*", handler).Options(".*", handler);
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(fmt::format("{}\n", web::status_text(res.status)), "text/plain");
  });
  svr.set_logger([&env](const httplib::Request& h, const httplib::Response& res) {
    std::string target = h.target.size() > 160 ? h.target.substr(0, 160) + "..." : h.target;
    env.err << fmt::format("{} \"{} {}\" {} {}\n", h.remote_addr, h.method, target, res.status, res.body.size());
  });
  int port = ep->port;
  bool bound = port == 0 ? (port = svr.bind_to_any_port(ep->host)) > 0 : svr.bind_to_port(ep->host, port);
  if (!bound) return core::fail(core::Errc::invalid_argument, fmt::format("cannot listen on {}:{}", ep->host, ep->port));
  // Debian's cpp-httplib is built with a listen backlog of 5: connections
  // beyond it are dropped and retried a second later. Listening again
  // raises it (Linux updates the backlog of a listening socket).
  if (listening != INVALID_SOCKET) ::listen(listening, SOMAXCONN);
  env.err << fmt::format("scepctl serve: listening on http://{}:{}{} (store {})\n", ep->host, port, base, st->root().string());
  env.err.flush();
  SignalStopper stopper(svr);
  svr.listen_after_bind();
  env.err << "scepctl serve: stopped\n";
  return {};
}

void add_serve_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "serve SCEP over HTTP (built-in server)");
  cmd->add_option("--listen", opt->listen, "HOST:PORT (default: server.listen in scep.toml, 0.0.0.0:8080)");
  cmd->add_option("--path", opt->path, "URL path of the endpoint (default: server.path, /scep)");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_serve(*opt, env); }; });
}

}  // namespace scepctl
