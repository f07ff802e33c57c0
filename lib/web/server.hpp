#pragma once
// scepctl serve's HTTP/1.1 server (Boost.Asio + Boost.Beast).
//
// One event-loop thread accepts, reads and writes every connection and
// answers the requests that only read loaded CA certificates (GetCACaps,
// GetCACert, refusals) itself. Requests that decrypt, sign or write the store
// run on a pool of worker threads, so an enrollment waiting on fsync never
// holds up a GET and ten thousand idle keep-alive connections cost no threads.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "web/http.hpp"

namespace web {

/// What the access log gets for each answered request.
struct AccessEntry {
  std::string_view remote;
  std::string_view method;
  std::string_view target;
  int status = 0;
  std::size_t bytes = 0;
  /// From the whole request read (or, for a request refused unread, its
  /// refusal) to the response handed to the socket.
  std::chrono::nanoseconds duration{};
};

/// Whose connections count together against the per-client limit: an IPv4
/// address (also one that arrives IPv4-mapped on an IPv6 socket, as
/// "::ffff:192.0.2.1"), or the /64 prefix of an IPv6 address ("2001:db8::/64"),
/// since one IPv6 client commonly holds a whole /64.
std::string client_group(std::string_view address);

class Server {
 public:
  struct Options {
    std::string host;
    std::uint16_t port = 0;   ///< 0: any free port (see port())
    std::size_t workers = 0;  ///< threads for slow requests; 0: max(8, cores)
    /// For a request to arrive and be read whole, and for a reply to be taken.
    std::chrono::seconds io_timeout{60};
    /// Longest request header (request line included): GET PKIOperation
    /// carries the whole message in the query.
    std::size_t max_header_bytes = max_query_bytes + 16 * 1024;
    std::size_t max_body_bytes = web::max_body_bytes;
    /// Header fields in one request at most (beyond: 431).
    std::size_t max_header_fields = 100;
    /// Open connections at most; beyond it a new one gets 503 and is closed.
    /// 0: the descriptor limit (RLIMIT_NOFILE) less room for the store.
    std::size_t max_connections = 0;
    /// Open connections from one client at most (an IPv4 address, an IPv6
    /// /64); beyond it a new one from there gets 503 and is closed, so one
    /// client cannot take every slot. 0: no limit but max_connections;
    /// nullopt: an eighth of the connection limit, at least 32.
    std::optional<std::size_t> max_connections_per_client;
    bool stop_on_signals = false;  ///< SIGINT and SIGTERM end run()
  };
  /// Answers a request; it is the handler's to keep or change.
  using Handler = std::function<Response(Request&&)>;
  /// True when `handler` answers the request without blocking (no signing, no
  /// store writes): it then runs on the event-loop thread.
  using Quick = std::function<bool(const Request&)>;
  /// The log lines for one answered request (access line, errors).
  using Log = std::function<std::string(const AccessEntry&, const Response&)>;
  /// Where log lines go: called on the event-loop thread with the lines of
  /// all requests answered in one turn of the loop (one write, not one per
  /// request), and before run() returns.
  using LogSink = std::function<void(std::string_view)>;

  /// Binds and listens; fails when the address cannot be used.
  static core::Result<std::unique_ptr<Server>> listen(Options options, Handler handler, Quick quick, Log log,
                                                      LogSink sink);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  /// The connection limits in force (as given, or as derived).
  std::size_t max_connections() const;
  std::size_t max_connections_per_client() const;
  /// Serves until SIGINT or SIGTERM (with stop_on_signals); requests being
  /// worked on are finished before it returns.
  void run();
  /// Ends run() as SIGTERM does; callable from any thread.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace web
