#include "load.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

namespace bench {

core::Result<Url> parse_url(const std::string& text) {
  auto scheme = text.find("://");
  if (scheme == std::string::npos || text.compare(0, scheme, "http") != 0)
    return core::fail(core::Errc::invalid_argument, fmt::format("--url \"{}\": want http://HOST:PORT/PATH", text));
  auto slash = text.find('/', scheme + 3);
  if (slash == std::string::npos) return Url{text, "/"};
  return Url{text.substr(0, slash), text.substr(slash, text.find('?', slash) - slash)};
}

static std::unique_ptr<httplib::Client> connect(const Url& url) {
  auto c = std::make_unique<httplib::Client>(url.origin);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);  // no Nagle delay between a request's header and body writes
  c->set_connection_timeout(10);
  c->set_read_timeout(120);
  c->set_write_timeout(120);
  return c;
}

static Reply send(httplib::Client& client, const Url& url, const Call& call) {
  static const std::string pki_query = "operation=PKIOperation";
  Reply r;
  auto start = std::chrono::steady_clock::now();
  auto res = call.body ? client.Post(url.path + "?" + (call.query.empty() ? pki_query : call.query),
                                     reinterpret_cast<const char*>(call.body->data()), call.body->size(),
                                     "application/x-pki-message")
                       : client.Get(url.path + "?" + call.query);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!res) {
    r.error = httplib::to_string(res.error());
    return r;
  }
  r.status = res->status;
  r.body = std::move(res->body);
  return r;
}

Reply fetch(const Url& url, const Call& call) {
  auto client = connect(url);
  return send(*client, url, call);
}

struct Connections::Impl {
  Url url;
  std::vector<std::unique_ptr<httplib::Client>> clients;
};

Connections::Connections(const Url& url, int workers) : m_impl(std::make_unique<Impl>()) {
  m_impl->url = url;
  for (int w = 0; w < workers; ++w) m_impl->clients.push_back(connect(url));
}
Connections::~Connections() = default;
int Connections::workers() const { return static_cast<int>(m_impl->clients.size()); }

LoadResult run_load(Connections& conns, std::size_t count, const std::function<Call(std::size_t)>& call,
                    double seconds) {
  LoadResult out;
  out.replies.resize(count);
  std::atomic<std::size_t> next{0};
  const Url& url = conns.m_impl->url;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(seconds > 0 ? seconds : 1e9));
  {
    std::vector<std::jthread> threads;
    for (auto& client : conns.m_impl->clients)
      threads.emplace_back([&, c = client.get()] {
        for (std::size_t i; std::chrono::steady_clock::now() < deadline && (i = next.fetch_add(1)) < count;)
          out.replies[i] = send(*c, url, call(i));
      });
  }
  out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.replies.resize(std::min(next.load(), count));
  return out;
}

double latency_quantile(const std::vector<Reply>& replies, double q) {
  if (replies.empty()) return 0;
  std::vector<double> s;
  s.reserve(replies.size());
  for (const auto& r : replies) s.push_back(r.seconds);
  std::sort(s.begin(), s.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(s.size())));
  return s[std::clamp<std::size_t>(rank, 1, s.size()) - 1];
}

}  // namespace bench
