#pragma once
// The HTTP side of scep-bench: N workers, each with its own keep-alive
// connection, take the next request index until all are sent.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace bench {

/// "http://host:port/path" split for cpp-httplib.
struct Url {
  std::string origin;  ///< "http://host:port"
  std::string path;    ///< "/scep" (no query)
};
core::Result<Url> parse_url(const std::string& text);

/// One request: a GET of `query` under the URL's path, or a POST of `body`.
struct Call {
  std::string query;                  ///< "operation=...&message=..."
  const core::Bytes* body = nullptr;  ///< non-null: POST application/x-pki-message
};

struct Reply {
  int status = 0;     ///< 0: no HTTP answer (see error)
  std::string error;  ///< transport error
  std::string body;
  double seconds = 0;  ///< latency: request sent to reply read
};

struct LoadResult {
  std::vector<Reply> replies;  ///< by request index
  double wall_seconds = 0;     ///< first request out to last reply in
};

/// One keep-alive connection per worker, kept from the warm-up into the
/// measured run (a server may still close them: it is then measured
/// reconnecting).
class Connections {
 public:
  Connections(const Url& url, int workers);
  ~Connections();
  int workers() const;

 private:
  friend LoadResult run_load(Connections&, std::size_t, const std::function<Call(std::size_t)>&, double);
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Sends `count` requests, one thread per connection; `call(i)` gives request
/// i. Thread-safe `call` required; it is cheap (requests are prepared before).
/// With `seconds` > 0 no request is sent after that long: the replies are
/// those of the requests sent until then.
LoadResult run_load(Connections& conns, std::size_t count, const std::function<Call(std::size_t)>& call,
                    double seconds = 0);

/// One request on a fresh connection (for setup: GetCACert before the clock).
Reply fetch(const Url& url, const Call& call);

/// The q-quantile (0..1, nearest rank) of the latencies, in seconds.
double latency_quantile(const std::vector<Reply>& replies, double q);

}  // namespace bench
