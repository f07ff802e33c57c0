#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "env.hpp"
#include "scep/service.hpp"
#include "store/cache.hpp"
#include "web/dispatch.hpp"
#include "web/server.hpp"

namespace scepctl {

struct ServeOptions {
  std::string listen;
  std::string path;
  std::size_t workers = 0;
  int io_timeout = 60;  ///< seconds
  std::optional<std::size_t> max_connections;             ///< default: server.max_connections
  std::optional<std::size_t> max_connections_per_client;  ///< default: server.max_connections_per_client
  std::string log_level = "info";  ///< error: errors only; info: also one line per request; debug: also notes
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

/// One request, on the event-loop thread or a worker: its own Repository and
/// Service over the server's shared cache.
static web::Response handle(const Env& env, store::StoreCache& cache, const std::string& base, web::Request&& req) {
  auto path = web::path_below(req.path, base);
  if (!path) return web::Response::text(404, "not a SCEP endpoint");
  req.path = std::string(*path);
  store::Repository repo(cache);
  scep::Service service(repo, env.clock, env.rng);
  return web::dispatch(req, service);
}

core::Result<void> run_serve(const ServeOptions& opt, Env& env) {
  auto st = env.open_store(store::OpenMode::existing);
  if (!st) return std::unexpected(st.error());
  auto cfg = st->load_config();
  if (!cfg) return std::unexpected(cfg.error());
  auto ep = parse_listen(opt.listen.empty() ? cfg->server.listen : opt.listen);
  if (!ep) return std::unexpected(ep.error());
  std::string base = opt.path.empty() ? cfg->server.path : opt.path;
  if (base.empty() || base.front() != '/') return core::fail(core::Errc::invalid_argument, "--path must start with '/'");

  // Config, CA certificates and keys stay loaded for the server's lifetime,
  // re-checked (stat) at each request: `scepctl ca set` needs no restart.
  store::StoreCache cache(*st);
  cache.watch_changes();
  web::Server::Options so;
  so.host = ep->host;
  so.port = static_cast<std::uint16_t>(ep->port);
  so.workers = opt.workers;
  so.io_timeout = std::chrono::seconds(opt.io_timeout);
  so.max_connections = opt.max_connections.value_or(static_cast<std::size_t>(cfg->server.max_connections));
  so.max_connections_per_client = opt.max_connections_per_client;
  if (!so.max_connections_per_client && cfg->server.max_connections_per_client)
    so.max_connections_per_client = static_cast<std::size_t>(*cfg->server.max_connections_per_client);
  so.stop_on_signals = true;
  auto handler = [&env, &cache, base](web::Request&& req) { return handle(env, cache, base, std::move(req)); };
  auto quick = [base](const web::Request& req) { return web::is_quick(req, base); };
  bool debug = opt.log_level == "debug", access = debug || opt.log_level == "info";
  auto log = [debug, access](const web::AccessEntry& e, const web::Response& r) {
    std::string lines = r.log.empty() ? std::string() : fmt::format("scepctl serve: {}\n", r.log);
    if (debug && !r.debug.empty()) fmt::format_to(std::back_inserter(lines), "scepctl serve: debug: {}\n", r.debug);
    if (!access) return lines;
    std::string_view target = e.target;
    if (target.size() > 160) target = target.substr(0, 160);
    fmt::format_to(std::back_inserter(lines), "{} \"{} {}{}\" {} {}\n", e.remote, e.method, target,
                   target.size() < e.target.size() ? "..." : "", e.status, e.bytes);
    return lines;
  };
  auto sink = [&env](std::string_view lines) {
    env.err.write(lines.data(), static_cast<std::streamsize>(lines.size()));
    env.err.flush();
    // A write cut short (a signal, a full pipe) loses these lines, not all later ones.
    env.err.clear();
  };
  auto server = web::Server::listen(so, handler, quick, log, sink);
  if (!server) return std::unexpected(server.error());
  std::size_t cap = (*server)->max_connections_per_client();
  std::string per_client = cap ? std::to_string(cap) : "no limit";
  env.err << fmt::format("scepctl serve: listening on http://{}:{}{} (store {}; connections: {}, per client: {})\n",
                         ep->host, (*server)->port(), base, st->root().string(), (*server)->max_connections(), per_client);
  env.err.flush();
  (*server)->run();
  env.err << "scepctl serve: stopped\n";
  return {};
}

void add_serve_command(CLI::App& app, Env& env) {
  auto opt = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "serve SCEP over HTTP (built-in server)");
  cmd->add_option("--listen", opt->listen, "HOST:PORT (default: server.listen in scep.toml, 0.0.0.0:8080)");
  cmd->add_option("--path", opt->path, "URL path of the endpoint (default: server.path, /scep)");
  cmd->add_option("--workers", opt->workers, "threads for enrollments and other signing requests (default: max(8, CPUs))")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--io-timeout", opt->io_timeout,
                  "seconds for a request to arrive whole, for a reply to be taken, and for an idle "
                  "keep-alive connection to stay open (default: 60)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--max-connections", opt->max_connections,
                  "open connections at most; beyond it a new one gets 503 (default: server.max_connections, 0: the "
                  "descriptor limit less room for the store)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--max-conns-per-client", opt->max_connections_per_client,
                  "open connections from one client address (IPv6: one /64) at most; beyond it a new one from there "
                  "gets 503 (default: server.max_connections_per_client, else an eighth of --max-connections, at least 32; 0: "
                  "no limit)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--log-level", opt->log_level,
                  "error: errors only; info: also a line per request (default); debug: also notes such as a "
                  "CA identifier that fell back to the default CA")
      ->check(CLI::IsMember({"error", "info", "debug"}));
  cmd->callback([opt, &env] { env.command = [opt, &env] { return run_serve(*opt, env); }; });
}

}  // namespace scepctl
