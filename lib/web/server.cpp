#include "web/server.hpp"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <algorithm>
#include <csignal>
#include <optional>
#include <pthread.h>
#include <sys/resource.h>
#include <thread>
#include <unordered_map>
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
  std::size_t max_per_client = 0;  ///< 0: none
  /// Open connections per client_key() (loop thread only); no zero entries.
  std::unordered_map<std::string, std::size_t> per_client;
  /// Connections refused since the last log line about it (at most one a second).
  std::size_t refusals_unlogged = 0;
  std::chrono::steady_clock::time_point last_refusal_log{};
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
  void refuse(tcp::socket& socket, std::string_view why);
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

/// See client_group().
std::string client_key(const asio::ip::address& a) {
  if (!a.is_v6()) return a.to_string();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

/// What Beast 1.74 accepts in a header but RFC 9112 lets a server refuse, or
/// that would cost memory: line folding (obs-fold, 5.2) and whitespace before
/// the first field (2.2), which front ends disagree on; more fields than
/// `max_fields` (each is an allocation). `head` runs from the request line
/// to the empty line, both CRLFs included.
std::optional<Response> raw_header_error(std::string_view head, std::size_t max_fields) {
  std::size_t lines = 0;
  for (auto at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
    ++lines;
    if (at + 2 < head.size() && (head[at + 2] == ' ' || head[at + 2] == '\t'))
      return Response::text(400, "folded header line (obs-fold)");
  }
  // The request line and the empty line are no fields.
  if (lines > max_fields + 2) return Response::text(431, "too many header fields");
  return std::nullopt;
}

/// A request whose end cannot be agreed on by every HTTP hop is refused, never
/// guessed at (request smuggling; RFC 9112 6.1, 6.3, 3.2). Beast 1.74 takes
/// "Transfer-Encoding: chunked, identity" (and any coding list not ending in
/// chunked) as a request without a body, whose body then reads as the next
/// request; and it takes such a Transfer-Encoding beside a Content-Length,
/// and repeated equal Content-Lengths ("5, 5").
std::optional<Response> framing_error(const http::fields& f, unsigned version) {
  auto count = [&f](http::field name) {
    auto r = f.equal_range(name);
    return static_cast<std::size_t>(std::distance(r.first, r.second));
  };
  std::size_t hosts = count(http::field::host);
  if (hosts > 1 || (hosts == 0 && version >= 11)) return Response::text(400, "a request needs exactly one Host header");
  std::size_t lengths = count(http::field::content_length);
  if (lengths > 1) return Response::text(400, "more than one Content-Length header");
  if (lengths == 1 && view(f[http::field::content_length]).find_first_not_of("0123456789") != std::string_view::npos)
    return Response::text(400, "malformed Content-Length");
  if (count(http::field::transfer_encoding) == 0) return std::nullopt;
  if (version < 11) return Response::text(400, "Transfer-Encoding in an HTTP/1.0 request");
  if (lengths) return Response::text(400, "both Transfer-Encoding and Content-Length");
  std::vector<std::string_view> codings;
  auto range = f.equal_range(http::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view list = view(it->value());
    while (!list.empty()) {
      auto comma = list.find(',');
      auto item = list.substr(0, comma);
      auto b = item.find_first_not_of(" \t");
      if (b != std::string_view::npos) codings.push_back(item.substr(b, item.find_last_not_of(" \t") - b + 1));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  auto is_chunked = [](std::string_view c) { return core::iequals_ascii(c, "chunked"); };
  if (codings.empty() || !is_chunked(codings.back()))
    return Response::text(400, "Transfer-Encoding does not end in chunked");
  if (std::count_if(codings.begin(), codings.end(), is_chunked) > 1)
    return Response::text(400, "chunked applied twice");
  if (codings.size() > 1) return Response::text(501, "transfer coding not supported (only chunked)");
  return std::nullopt;
}

/// One client connection. Everything but the handler call of a slow request
/// runs on the event-loop thread, so nothing here needs a lock.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Server::Impl& server, std::string client)
      // Bounded: Beast 1.74 reads chunk-size lines and trailers without a
      // limit of its own, so an endless chunk extension would grow it for
      // the whole I/O timeout. Beyond the limit the read fails (400).
      : m_stream(std::move(socket)),
        m_server(server),
        m_buffer(server.options.max_header_bytes + 16 * 1024),
        m_client(std::move(client)) {
    ++m_server.connections;
    ++m_server.per_client[m_client];
  }
  ~Connection() {
    --m_server.connections;
    auto it = m_server.per_client.find(m_client);
    if (it != m_server.per_client.end() && --it->second == 0) m_server.per_client.erase(it);
  }

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
    m_scanned = 0;
    m_stream.expires_after(m_server.options.io_timeout);
    read_more_header();
  }

  std::string_view buffered() const {
    auto data = m_buffer.data();
    return {static_cast<const char*>(data.data()), data.size()};
  }

  /// Reads until the buffer holds a whole header (to its empty line), then
  /// checks it raw and parses it in one go: Beast alone would parse the
  /// request line first and leave no raw header to check.
  void read_more_header() {
    // RFC 9112 2.2: empty lines before a request line are ignored (some
    // clients send one after a POST body).
    while (buffered().starts_with("\r\n")) {
      m_buffer.consume(2);
      m_scanned = 0;
    }
    std::size_t limit = m_server.options.max_header_bytes;
    std::string_view head = buffered().substr(0, limit);
    auto end = head.find("\r\n\r\n", m_scanned);
    // Beast wants CRLF; a bare LF would leave the header waiting for its end.
    // (What follows the header is a body or the next request.)
    std::size_t header_end = end == std::string_view::npos ? head.size() : end + 4;
    for (auto lf = head.find('\n', m_scanned); lf < header_end; lf = head.find('\n', lf + 1))
      if (lf == 0 || head[lf - 1] != '\r') return reject(Response::text(400, "line not ended by CRLF"));
    if (end != std::string_view::npos) return on_header_bytes(end + 4);
    if (head.size() >= limit) {
      // A request line that does not end within the limit is a long URL.
      bool long_target = head.find("\r\n") == std::string_view::npos;
      return reject(long_target ? Response::text(414, "request target too long")
                                : Response::text(431, "request header too large"));
    }
    m_scanned = head.size() >= 3 ? head.size() - 3 : 0;
    std::size_t want = std::min<std::size_t>(16 * 1024, m_buffer.max_size() - m_buffer.size());
    m_stream.async_read_some(m_buffer.prepare(want), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->on_read_error(ec);
      self->m_buffer.commit(n);
      self->read_more_header();
    });
  }

  void on_header_bytes(std::size_t size) {
    std::string_view head = buffered().substr(0, size);
    if (auto refusal = raw_header_error(head, m_server.options.max_header_fields)) return reject(std::move(*refusal));
    beast::error_code ec;
    std::size_t used = m_parser->put(asio::buffer(head.data(), head.size()), ec);
    if (ec) return on_read_error(ec);
    if (used != size || !m_parser->is_header_done()) return reject(Response::text(400, "malformed HTTP request"));
    m_buffer.consume(used);
    // A large header's buffer need not stay while a slow body arrives.
    if (m_buffer.size() <= 16 * 1024 && m_buffer.capacity() > 64 * 1024) m_buffer.shrink_to_fit();
    const auto& req = m_parser->get();
    if (auto refusal = framing_error(req.base(), req.version())) {
      m_method = std::string(view(req.method_string()));
      m_target = std::string(view(req.target()));
      return reject(std::move(*refusal), false);
    }
    on_header();
  }

  void on_header() {
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
    reject(std::move(*reply));
  }

  /// Answers a request that is not read whole (or not to be trusted) and
  /// ends the connection. `unknown`: its method and target are not known.
  void reject(Response reply, bool unknown = true) {
    if (unknown) {
      m_method = "-";
      m_target = "-";
    }
    m_head = false;
    m_started = std::chrono::steady_clock::now();
    // The stream may be mid-message: answer, then read and drop what the
    // client still sends before closing (closing on unread data resets the
    // connection, and the client may never see the answer).
    m_linger = true;
    send(std::move(reply), 11, false);
  }

  void on_request(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    m_started = std::chrono::steady_clock::now();
    auto msg = m_parser->release();
    m_method = std::string(view(msg.method_string()));
    m_target = std::string(view(msg.target()));
    m_head = msg.method() == http::verb::head;
    unsigned version = msg.version();
    bool keep_alive = msg.keep_alive();

    auto target = origin_form(m_target);
    if (!target) return reject(Response::text(400, "malformed request target"), false);
    auto req = std::make_shared<Request>();
    req->method = parse_method(m_method);
    auto q = target->find('?');
    req->path = target->substr(0, q);
    if (q != std::string::npos) req->query = target->substr(q + 1);
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
      auto took = std::chrono::steady_clock::now() - m_started;
      m_server.add_log(m_server.log(AccessEntry{m_remote, m_method, m_target, r.status, r.body.size(), took}, r));
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
  /// then drop what arrives until the client closes, at most for the I/O
  /// timeout and 64 MiB. A client that sends an 11 MB URL before it reads
  /// anything so still gets its 414, not a reset.
  void linger() {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    m_parser.reset();
    m_buffer.clear();
    m_buffer.shrink_to_fit();
    m_stream.expires_after(m_server.options.io_timeout);
    m_drain.resize(16 * 1024);
    drain();
  }

  void drain() {
    m_stream.async_read_some(asio::buffer(m_drain), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->m_drained += n;
      if (ec || self->m_drained > (64u << 20)) return self->m_stream.close();
      self->drain();
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
  std::size_t m_scanned = 0;  ///< buffered header bytes known to hold no end of header
  std::string m_client;       ///< client_key()
  std::optional<http::request_parser<BytesBody>> m_parser;
  std::optional<http::response<http::empty_body>> m_continue;
  std::optional<http::response<BytesBody>> m_response;
  std::string m_remote;
  std::string m_method;
  std::string m_target;
  bool m_head = false;
  bool m_linger = false;
  std::chrono::steady_clock::time_point m_started{};  ///< of the request being answered
  std::vector<std::uint8_t> m_drain;
  std::size_t m_drained = 0;
};

}  // namespace

std::string client_group(std::string_view address) {
  beast::error_code ec;
  auto a = asio::ip::make_address(address, ec);
  return ec ? std::string(address) : client_key(a);
}

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
    beast::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    std::string client = peer_ec ? std::string() : client_key(peer.address());
    std::size_t cap = max_per_client;
    if (connections >= max_connections) {
      refuse(socket, "too many connections");
    } else if (cap != 0 && !client.empty() && per_client.contains(client) && per_client[client] >= cap) {
      refuse(socket, fmt::format("too many connections from {} (at most {} per client)", client, cap));
    } else {
      std::make_shared<Connection>(std::move(socket), *this, std::move(client))->start();
    }
    accept();
  });
}

/// Over a limit: a short 503 and close, rather than holding another
/// descriptor for a client that may never send anything. One log line a
/// second at most, so a client that keeps trying cannot flood the log.
void Server::Impl::refuse(tcp::socket& socket, std::string_view why) {
  static const std::string busy = [] {
    Response r = Response::text(503, "service busy, retry later");
    return fmt::format(
        "HTTP/1.1 503 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
        "Retry-After: 5\r\n\r\n{}",
        status_text(503), r.content_type, r.body.size(), std::string(r.body.begin(), r.body.end()));
  }();
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(busy), ignored);
  socket.close(ignored);
  auto now = std::chrono::steady_clock::now();
  if (last_refusal_log != std::chrono::steady_clock::time_point{} && now - last_refusal_log < std::chrono::seconds(1)) {
    ++refusals_unlogged;
    return;
  }
  std::string more = refusals_unlogged ? fmt::format(" ({} more refused since the last such line)", refusals_unlogged)
                                       : "";
  add_log(fmt::format("scepctl serve: {}; answered 503{}\n", why, more));
  refusals_unlogged = 0;
  last_refusal_log = now;
}

core::Result<std::unique_ptr<Server>> Server::listen(Options options, Handler handler, Quick quick, Log log,
                                                     LogSink sink) {
  std::size_t workers = options.workers ? options.workers
                                        : std::max<std::size_t>(8, std::thread::hardware_concurrency());
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
  impl->max_per_client = impl->options.max_connections_per_client.value_or(
      std::max<std::size_t>(32, impl->max_connections / 8));
  const Options& o = impl->options;
  auto where = fmt::format("{}:{}", o.host, o.port);
  beast::error_code ec;
  tcp::resolver resolver(impl->ioc);
  auto endpoints = resolver.resolve(o.host, std::to_string(o.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return core::fail(core::Errc::invalid_argument,
                      fmt::format("cannot listen on {}: {}", where, ec ? ec.message() : "no address"));
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

Server::~Server() { m_impl->pool.join(); }

std::size_t Server::max_connections() const { return m_impl->max_connections; }
std::size_t Server::max_connections_per_client() const { return m_impl->max_per_client; }

void Server::stop() {
  asio::post(m_impl->ioc, [impl = m_impl.get()] { impl->shutdown(); });
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
