#include "web/server.hpp"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <algorithm>
#include <csignal>
#include <pthread.h>
#include <sys/resource.h>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "core/names.hpp"

namespace web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

using BytesBody = http::vector_body<std::uint8_t>;

struct Server::Impl {
  Options options;
  Handler handler;
  Quick quick;
  Log log;
  LogSink sink;
  std::string pending_log;  ///< lines not yet given to `sink`
  // Before the io_context: connections still queued in it are destroyed
  // with it and count themselves out.
  std::size_t connections = 0;  ///< open now (loop thread only)
  std::size_t max_connections = 0;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_pause{ioc};
  std::optional<asio::signal_set> signals;
  asio::thread_pool pool;

  Impl(Options o, Handler h, Quick q, Log l, LogSink k, std::size_t workers)
      : options(std::move(o)),
        handler(std::move(h)),
        quick(std::move(q)),
        log(std::move(l)),
        sink(std::move(k)),
        pool(workers) {}

  void accept();
  /// Queues log lines; they are written once the ready handlers have run.
  void add_log(std::string lines) {
    if (lines.empty()) return;
    bool first = pending_log.empty();
    pending_log += lines;
    if (first) asio::post(ioc, [this] { flush_log(); });
  }
  void flush_log() {
    if (pending_log.empty()) return;
    std::string lines = std::move(pending_log);
    pending_log.clear();
    try {
      sink(lines);
    } catch (...) {
      // A log that cannot be written must not stop the server.
    }
  }
  void shutdown() {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_pause.cancel();
    if (signals) {
      // A second SIGINT/SIGTERM now ends the process at once (default
      // action), for a stop that waits on a stuck request.
      signals->clear(ignored);
      signals->cancel(ignored);
    }
    ioc.stop();
  }
};

namespace {

/// Boost 1.74's Beast has its own string_view.
std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

/// The answer to a request Beast could not parse, or none when the
/// connection just ended (closed, reset, timed out).
std::optional<Response> read_error_response(const beast::error_code& ec) {
  if (ec == http::error::body_limit) return Response::text(413, "request body too large");
  if (ec == http::error::header_limit) return Response::text(431, "request header too large");
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == http::error::partial_message || ec == asio::error::broken_pipe)
    return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category())
    return Response::text(400, "malformed HTTP request");
  return std::nullopt;
}

/// One client connection. Everything but the handler call of a slow request
/// runs on the event-loop thread, so nothing here needs a lock.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Server::Impl& server)
      // Bounded: Beast 1.74 reads chunk-size lines and trailers without a
      // limit of its own, so an endless chunk extension would grow it for
      // the whole I/O timeout. Beyond the limit the read fails (400).
      : m_stream(std::move(socket)), m_server(server), m_buffer(server.options.max_header_bytes + 16 * 1024) {
    ++m_server.connections;
  }
  ~Connection() { --m_server.connections; }

  void start() {
    beast::error_code ec;
    // A reply is written as one gather-write, but a client's delayed ACK
    // must never hold a keep-alive reply back.
    m_stream.socket().set_option(tcp::no_delay(true), ec);
    auto peer = m_stream.socket().remote_endpoint(ec);
    if (!ec) m_remote = peer.address().to_string();
    read_header();
  }

 private:
  void read_header() {
    // An idle connection keeps no large buffer from an earlier request.
    if (m_buffer.size() == 0 && m_buffer.capacity() > 16 * 1024) m_buffer.shrink_to_fit();
    m_parser.emplace();
    m_parser->header_limit(static_cast<std::uint32_t>(m_server.options.max_header_bytes));
    m_parser->body_limit(m_server.options.max_body_bytes);
    m_stream.expires_after(m_server.options.io_timeout);
    http::async_read_header(m_stream, m_buffer, *m_parser,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& req = m_parser->get();
    // (HTTP/1.0 clients must not be sent a 1xx.)
    if (req.version() < 11 || !core::iequals_ascii(view(req[http::field::expect]), "100-continue")) return read_body();
    // curl and libcurl-based clients wait up to a second for this before
    // sending a body over 1 KiB.
    m_continue.emplace(http::status::continue_, req.version());
    http::async_write(m_stream, *m_continue, [self = shared_from_this()](beast::error_code wec, std::size_t) {
      self->m_continue.reset();
      if (wec) return self->close();
      self->read_body();
    });
  }

  void read_body() {
    http::async_read(m_stream, m_buffer, *m_parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_read_error(const beast::error_code& ec) {
    auto reply = read_error_response(ec);
    if (!reply) return close();
    m_method = "-";
    m_target = "-";
    m_head = false;
    // The stream may be mid-message: answer, then read and drop what the
    // client still sends before closing (closing on unread data resets the
    // connection, and the client may never see the answer).
    m_linger = true;
    send(std::move(*reply), 11, false);
  }

  void on_request(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto msg = m_parser->release();
    m_method = std::string(view(msg.method_string()));
    m_target = std::string(view(msg.target()));
    m_head = msg.method() == http::verb::head;
    unsigned version = msg.version();
    bool keep_alive = msg.keep_alive();

    auto req = std::make_shared<Request>();
    req->method = parse_method(m_method);
    auto q = m_target.find('?');
    req->path = m_target.substr(0, q);
    if (q != std::string::npos) req->query = m_target.substr(q + 1);
    req->body = std::move(msg.body());
    req->remote_addr = m_remote;

    m_stream.expires_never();
    bool quick = false;
    try {
      quick = m_server.quick(*req);
    } catch (...) {
    }
    if (quick) return send(call_handler(m_server, std::move(*req)), version, keep_alive);
    asio::post(m_server.pool, [self = shared_from_this(), req, version, keep_alive]() mutable {
      Response r = call_handler(self->m_server, std::move(*req));
      auto executor = self->m_stream.get_executor();
      // The connection is handed back whole: it is never destroyed on a worker.
      asio::post(executor, [self = std::move(self), r = std::move(r), version, keep_alive]() mutable {
        self->send(std::move(r), version, keep_alive);
      });
    });
  }

  static Response call_handler(Server::Impl& server, Request&& req) {
    std::string why;
    try {
      return server.handler(std::move(req));
    } catch (const std::exception& e) {
      why = fmt::format("request handler failed: {}", e.what());
    } catch (...) {
      why = "request handler failed";
    }
    Response r = Response::text(500, "internal error");
    r.log = std::move(why);
    return r;
  }

  void send(Response r, unsigned version, bool keep_alive) {
    try {
      m_server.add_log(m_server.log(AccessEntry{m_remote, m_method, m_target, r.status, r.body.size()}, r));
    } catch (...) {
    }
    m_response.emplace(static_cast<http::status>(r.status), version);
    auto& res = *m_response;
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    if (!r.allow.empty()) res.set(http::field::allow, r.allow);
    if (r.retry_after > 0) res.set(http::field::retry_after, std::to_string(r.retry_after));
    res.keep_alive(keep_alive);
    res.content_length(r.body.size());
    if (!m_head) res.body() = std::move(r.body);
    m_stream.expires_after(m_server.options.io_timeout);
    http::async_write(m_stream, res, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      self->m_response.reset();
      if (!ec && self->m_linger) return self->linger();
      if (ec || !keep_alive) return self->close();
      self->read_header();
    });
  }

  /// After an answer to a request that was not read whole: stop sending,
  /// then drop what arrives until the client closes (at most 5 s, 1 MiB).
  void linger() {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    m_stream.expires_after(std::chrono::seconds(5));
    m_drain.resize(16 * 1024);
    m_stream.async_read_some(asio::buffer(m_drain), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->m_drained += n;
      if (ec || self->m_drained > (1u << 20)) return self->m_stream.close();
      self->linger();
    });
  }

  void close() {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    m_stream.close();
  }

  beast::tcp_stream m_stream;
  Server::Impl& m_server;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<BytesBody>> m_parser;
  std::optional<http::response<http::empty_body>> m_continue;
  std::optional<http::response<BytesBody>> m_response;
  std::string m_remote;
  std::string m_method;
  std::string m_target;
  bool m_head = false;
  bool m_linger = false;
  std::vector<std::uint8_t> m_drain;
  std::size_t m_drained = 0;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors and the like: wait a little instead of
      // spinning; the connection waits in the listen queue meanwhile.
      accept_pause.expires_after(std::chrono::milliseconds(100));
      accept_pause.async_wait([this](beast::error_code wec) {
        if (!wec) accept();
      });
      return;
    }
    if (connections >= max_connections) {
      // Over the limit: a short 503 and close, rather than holding another
      // descriptor for a client that may never send anything.
      static const std::string busy = [] {
        Response r = Response::text(503, "service busy, retry later");
        return fmt::format("HTTP/1.1 503 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
                           "Retry-After: 5\r\n\r\n{}",
                           status_text(503), r.content_type, r.body.size(), std::string(r.body.begin(), r.body.end()));
      }();
      beast::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(busy), ignored);
      socket.close(ignored);
      add_log("scepctl serve: too many connections; answered 503\n");
    } else {
      std::make_shared<Connection>(std::move(socket), *this)->start();
    }
    accept();
  });
}

core::Result<std::unique_ptr<Server>> Server::listen(Options options, Handler handler, Quick quick, Log log,
                                                     LogSink sink) {
  std::size_t workers = options.workers ? options.workers : std::max<std::size_t>(8, std::thread::hardware_concurrency());
  // The workers start with SIGINT and SIGTERM blocked, so the signals reach
  // the event-loop thread (Asio's handler) and never interrupt a worker's
  // lock wait or write with EINTR (Asio installs its handler without
  // SA_RESTART).
  struct BlockStopSignals {
    sigset_t old_mask;
    BlockStopSignals() {
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGINT);
      sigaddset(&stop_signals, SIGTERM);
      ::pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    }
    ~BlockStopSignals() { ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr); }
  };
  std::unique_ptr<Impl> impl;
  {
    BlockStopSignals blocked;
    impl = std::make_unique<Impl>(std::move(options), std::move(handler), std::move(quick), std::move(log),
                                  std::move(sink), workers);
  }
  impl->max_connections = impl->options.max_connections;
  if (impl->max_connections == 0) {
    // Room below the descriptor limit for the store's files and the log.
    struct rlimit rl {};
    std::size_t fds = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
    std::size_t reserved = 64 + 2 * workers;
    impl->max_connections = std::clamp<std::size_t>(fds > reserved ? fds - reserved : 0, 32, 65536);
  }
  const Options& o = impl->options;
  auto where = fmt::format("{}:{}", o.host, o.port);
  beast::error_code ec;
  tcp::resolver resolver(impl->ioc);
  auto endpoints = resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return core::fail(core::Errc::invalid_argument, fmt::format("cannot listen on {}: {}", where, ec ? ec.message() : "no address"));
  tcp::endpoint ep = endpoints.begin()->endpoint();
  auto& acc = impl->acceptor;
  acc.open(ep.protocol(), ec);
  // SO_REUSEADDR only (no SO_REUSEPORT): a second server on the same port
  // must fail to start, not share it silently.
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::fail(core::Errc::invalid_argument, fmt::format("cannot listen on {}: {}", where, ec.message()));
  if (o.stop_on_signals) {
    impl->signals.emplace(impl->ioc, SIGINT, SIGTERM);
    impl->signals->async_wait([raw = impl.get()](beast::error_code sec, int) {
      if (!sec) raw->shutdown();
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Server::~Server() {
  m_impl->pool.join();
}

std::uint16_t Server::port() const {
  beast::error_code ec;
  auto ep = m_impl->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Server::run() {
  m_impl->accept();
  m_impl->ioc.run();
  m_impl->flush_log();
  // Enrollments already handed to a worker finish and are stored; their
  // replies are not sent (the client's retry gets the same answer).
  m_impl->pool.join();
}

}  // namespace web
