#include <csignal>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "env.hpp"
#include "scep/service.hpp"
#include "store/cache.hpp"
#include "web/dispatch.hpp"
#include "web/log_line.hpp"
#include "web/metrics.hpp"
#include "web/prometheus.hpp"
#include "web/server.hpp"

namespace scepctl {

struct ServeOptions {
  std::string listen;
  std::string path;
  std::size_t workers = 0;
  int io_timeout = 60;                                    ///< seconds
  std::optional<std::size_t> max_connections;             ///< default: server.max_connections
  std::optional<std::size_t> max_connections_per_client;  ///< default: server.max_connections_per_client
  std::string log_level = "info";  ///< error: errors only; info: also one line per request; debug: also notes
  std::string log_format;          ///< text or json; default: server.log_format
  std::string metrics_listen;      ///< HOST:PORT for /metrics and /health; default: server.metrics_listen
};

/// A HOST:PORT to listen on (--listen, --metrics-listen).
struct ListenAddress {
  std::string host;
  int port = 0;
};

static core::Result<ListenAddress> parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return core::fail(core::Errc::invalid_argument, fmt::format("--listen \"{}\" is not HOST:PORT", text));
  ListenAddress ep{text.substr(0, colon), 0};
  if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']')
    ep.host = ep.host.substr(1, ep.host.size() - 2);
  try {
    std::size_t used = 0;
    ep.port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || ep.port < 0 || ep.port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return core::fail(core::Errc::invalid_argument, fmt::format("--listen \"{}\": bad port", text));
  }
  return ep;
}

/// One request, on the event-loop thread or a worker: its own Session and
/// Service over the server's shared cache.
static web::Response handle(const Env& env, store::StoreCache& cache, const std::string& base, web::Request&& req) {
  auto path = web::path_below(req.path, base);
  if (!path) return web::Response::text(404, "not a SCEP endpoint");
  req.path = std::string(*path);
  store::Session repo(cache);
  scep::Service service(repo.backend(), env.clock, env.rng);
  return web::dispatch(req, service);
}

/// The separate listener for /metrics and /health: not on the SCEP port,
/// so a scraper's address, not the world, reaches it.
static web::Response serve_metrics(const Env& env, store::StoreCache& cache, const web::Metrics& metrics,
                                   web::Request&& req) {
  store::Session repo(cache);
  if (req.method != web::Method::get && req.method != web::Method::head)
    return web::Response::text(405, "method not allowed");
  if (req.path == "/metrics") {
    web::Response r;
    r.content_type = std::string(web::prometheus::content_type);
    r.body = core::to_bytes(metrics.render(web::collect_gauges(repo.backend())));
    return r;
  }
  if (req.path == "/health") {
    scep::Service service(repo.backend(), env.clock, env.rng);
    req.path = "/health";
    req.query.clear();
    return web::dispatch(req, service);
  }
  return web::Response::text(404, "only /metrics and /health here");
}

/// What --log-level and --log-format ask for, for each answered request.
struct ServeLog {
  web::LogLevel level = web::LogLevel::info;
  web::LogStyle style;
  web::Metrics* metrics = nullptr;

  std::string lines(const web::AccessEntry& e, const web::Response& r) const {
    if (metrics) metrics->observe(r.facts, e.status, e.duration);
    web::RequestLine req{e.remote, e.method, e.target, e.status, e.bytes, e.duration, &r.facts};
    auto now = std::chrono::system_clock::now();
    std::string out;
    if (!r.log.empty()) out += web::format_log_line({now, web::LogLevel::error, r.log, &req}, style);
    if (level == web::LogLevel::debug && !r.debug.empty())
      out += web::format_log_line({now, web::LogLevel::debug, r.debug, &req}, style);
    if (level != web::LogLevel::error) out += web::format_log_line({now, web::LogLevel::info, {}, &req}, style);
    return out;
  }
};

core::Result<void> run_serve(const ServeOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  SCEP_TRY_ASSIGN(auto ep, parse_listen(opt.listen.empty() ? cfg.server.listen : opt.listen));
  std::string base = opt.path.empty() ? cfg.server.path : opt.path;
  if (base.empty() || base.front() != '/')
    return core::fail(core::Errc::invalid_argument, "--path must start with '/'");
  std::string metrics_at = opt.metrics_listen.empty() ? cfg.server.metrics_listen : opt.metrics_listen;
  std::optional<ListenAddress> metrics_ep;
  if (!metrics_at.empty()) {
    SCEP_TRY_ASSIGN(auto parsed, parse_listen(metrics_at));
    metrics_ep = parsed;
  }
  ServeLog serve_log;
  serve_log.level = web::parse_log_level(opt.log_level).value_or(web::LogLevel::info);
  serve_log.style.format = web::parse_log_format(opt.log_format.empty() ? cfg.server.log_format : opt.log_format)
                               .value_or(web::LogFormat::text);
  serve_log.style.journal = web::stderr_is_journal(std::getenv("JOURNAL_STREAM"));

  // Config, CA certificates and keys stay loaded for the server's lifetime,
  // re-checked (stat) at each request: `scepctl ca set` needs no restart.
  store::StoreCache cache(st);
  cache.watch_changes();
  web::Metrics metrics;
  if (metrics_ep) serve_log.metrics = &metrics;
  web::Server::Options so;
  so.host = ep.host;
  so.port = static_cast<std::uint16_t>(ep.port);
  so.workers = opt.workers;
  so.io_timeout = std::chrono::seconds(opt.io_timeout);
  so.max_connections = opt.max_connections.value_or(static_cast<std::size_t>(cfg.server.max_connections));
  so.max_connections_per_client = opt.max_connections_per_client;
  if (!so.max_connections_per_client && cfg.server.max_connections_per_client)
    so.max_connections_per_client = static_cast<std::size_t>(*cfg.server.max_connections_per_client);
  so.stop_on_signals = true;
  auto handler = [&env, &cache, base](web::Request&& req) { return handle(env, cache, base, std::move(req)); };
  auto quick = [base](const web::Request& req) { return web::is_quick(req, base); };
  auto log = [&serve_log](const web::AccessEntry& e, const web::Response& r) { return serve_log.lines(e, r); };
  // Both listeners' loop threads may write (the metrics one only its refusals).
  std::mutex sink_mutex;
  auto sink = [&env, &sink_mutex](std::string_view lines) {
    std::lock_guard lock(sink_mutex);
    env.err.write(lines.data(), static_cast<std::streamsize>(lines.size()));
    env.err.flush();
    // A write cut short (a signal, a full pipe) loses these lines, not all later ones.
    env.err.clear();
  };
  SCEP_TRY_ASSIGN(auto server, web::Server::listen(so, handler, quick, log, sink));
  std::unique_ptr<web::Server> metrics_server;
  if (metrics_ep) {
    web::Server::Options mo;
    mo.host = metrics_ep->host;
    mo.port = static_cast<std::uint16_t>(metrics_ep->port);
    mo.workers = 1;
    mo.io_timeout = std::chrono::seconds(opt.io_timeout);
    mo.max_connections = 64;
    mo.max_connections_per_client = 0;
    auto mhandler = [&env, &cache, &metrics](web::Request&& req) {
      return serve_metrics(env, cache, metrics, std::move(req));
    };
    SCEP_TRY_ASSIGN(auto listened,
                    web::Server::listen(
                        mo, mhandler, [](const web::Request&) { return false; },
                        [](const web::AccessEntry&, const web::Response&) { return std::string(); }, sink));
    metrics_server = std::move(listened);
  }
  std::size_t cap = server->max_connections_per_client();
  std::string per_client = cap ? std::to_string(cap) : "no limit";
  env.err << fmt::format("scepctl serve: listening on http://{}:{}{} (store {}; connections: {}, per client: {})\n",
                         ep.host, server->port(), base, st.root().string(), server->max_connections(), per_client);
  if (metrics_server)
    env.err << fmt::format("scepctl serve: metrics on http://{}:{}/metrics, health on /health\n", metrics_ep->host,
                           metrics_server->port());
  env.err.flush();
  std::thread metrics_thread;
  if (metrics_server)
    metrics_thread = std::thread([&metrics_server] {
      // SIGINT and SIGTERM are the main loop's to take.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGINT);
      sigaddset(&stop_signals, SIGTERM);
      ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
      metrics_server->run();
    });
  server->run();
  if (metrics_server) {
    metrics_server->stop();
    metrics_thread.join();
  }
  env.err << "scepctl serve: stopped\n";
  return {};
}

void add_serve_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "serve SCEP over HTTP (built-in server)");
  cmd->add_option("--listen", opt->listen, "HOST:PORT (default: server.listen in scep.toml, 0.0.0.0:8080)");
  cmd->add_option("--path", opt->path, "URL path of the endpoint (default: server.path, /scep)");
  cmd->add_option("--workers", opt->workers,
                  "threads for enrollments and other signing requests (default: max(8, CPUs))")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--io-timeout", opt->io_timeout,
                  "seconds for a request to arrive whole, for a reply to be taken, and for an idle "
                  "keep-alive connection to stay open (default: 60)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--max-connections", opt->max_connections,
                  "open connections at most; beyond it a new one gets 503 (default: server.max_connections, 0: the "
                  "descriptor limit less room for the store)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option(
         "--max-conns-per-client", opt->max_connections_per_client,
         "open connections from one client address (IPv6: one /64) at most; beyond it a new one from there "
         "gets 503 (default: server.max_connections_per_client, else an eighth of --max-connections, at least 32; 0: "
         "no limit)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--log-level", opt->log_level,
                  "error: errors only; info: also a line per request (default); debug: also notes such as a "
                  "CA identifier that fell back to the default CA")
      ->check(CLI::IsMember({"error", "info", "debug"}));
  cmd->add_option("--log-format", opt->log_format,
                  "text: key=value lines (default: server.log_format, text); json: one JSON object a line")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--metrics-listen", opt->metrics_listen,
                  "HOST:PORT of a separate listener for /metrics (Prometheus) and /health (default: "
                  "server.metrics_listen; none). Keep it on loopback or a management network");
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_serve(*opt, env); }; });
}

}  // namespace scepctl
