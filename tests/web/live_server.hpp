#pragma once
// A live web::Server on a loopback port and a blocking socket client, shared
// by test_server*.cpp.

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "web/server.hpp"

namespace server_test {

using namespace std::chrono_literals;

/// A web::Server on 127.0.0.1 (any free port), run on its own thread. The
/// handler answers 200 "path=P query=Q body=N" and records each path;
/// requests with a body are slow ones (run on a worker thread).
class LiveServer {
 public:
  /// `on_slow`: called in the handler (on a worker thread) for each request with a body.
  explicit LiveServer(web::Server::Options o = {}, std::function<void(const web::Request&)> on_slow = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.workers = 2;
    o.io_timeout = 5s;
    auto handler = [this, on_slow](web::Request&& r) {
      if (on_slow && !r.body.empty()) {
        ++m_in_flight;
        on_slow(r);
        --m_in_flight;
      }
      {
        std::lock_guard lock(m_mutex);
        m_paths.push_back(r.path);
      }
      return web::Response::text(200,
                                 "path=" + r.path + " query=" + r.query + " body=" + std::to_string(r.body.size()));
    };
    auto quick = [](const web::Request& r) { return r.body.empty(); };
    auto log = [](const web::AccessEntry&, const web::Response& r) { return r.log; };
    auto sink = [this](std::string_view lines) {
      std::lock_guard lock(m_mutex);
      m_log += lines;
    };
    auto s = web::Server::listen(o, handler, quick, log, sink);
    BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().detail));
    m_server = std::move(*s);
    m_port = m_server->port();
    m_thread = std::thread([this] {
      m_server->run();
      m_idle_at_return = m_in_flight == 0;
    });
  }
  ~LiveServer() { stop(); }
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;

  /// Stops the server and waits for run() to return; true when every slow
  /// request had finished by then.
  bool stop() {
    if (!m_thread.joinable()) return m_idle_at_return;
    m_server->stop();
    m_thread.join();
    return m_idle_at_return;
  }
  /// Slow requests begun and not yet finished.
  int slow_in_flight() const { return m_in_flight; }

  std::uint16_t port() const { return m_port; }
  const web::Server& server() const { return *m_server; }
  std::vector<std::string> paths() {
    std::lock_guard lock(m_mutex);
    return m_paths;
  }
  std::string log() {
    std::lock_guard lock(m_mutex);
    return m_log;
  }

 private:
  std::mutex m_mutex;
  std::vector<std::string> m_paths;
  std::string m_log;
  std::atomic<int> m_in_flight{0};
  bool m_idle_at_return = false;
  std::uint16_t m_port = 0;
  std::unique_ptr<web::Server> m_server;
  std::thread m_thread;
};

/// A blocking TCP client bound to a chosen loopback address, so that one
/// test can be several clients (127.0.0.1, 127.0.0.2, ...).
class Client {
 public:
  Client(std::uint16_t port, const char* from = "127.0.0.1") {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(m_fd >= 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    BOOST_REQUIRE_MESSAGE(::bind(m_fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0, "bind " << from);
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    BOOST_REQUIRE(::connect(m_fd, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0);
  }
  ~Client() { ::close(m_fd); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// False when the server reset or closed the connection before all was sent.
  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Everything until the server closes (or resets, or `timeout` passes).
  std::string read_all(std::chrono::milliseconds timeout = 5s) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{m_fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      char buf[16384];
      auto n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  /// Reads until one whole response (with a Content-Length body) is in.
  std::string read_response(std::chrono::milliseconds timeout = 5s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto end = m_in.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = m_in.find("Content-Length: ");
        std::size_t length = cl < end ? std::stoul(m_in.substr(cl + 16)) : 0;
        if (m_in.size() >= end + 4 + length) {
          std::string r = m_in.substr(0, end + 4 + length);
          m_in.erase(0, r.size());
          return r;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{m_fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::exchange(m_in, {});
      char buf[16384];
      auto n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n <= 0) return std::exchange(m_in, {});
      m_in.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int m_fd = -1;
  std::string m_in;
};

inline std::string status_line(std::string_view reply) { return std::string(reply.substr(0, reply.find("\r\n"))); }
inline std::string body_of(std::string_view reply) {
  auto end = reply.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string() : std::string(reply.substr(end + 4));
}
inline std::size_t count_of(std::string_view s, std::string_view part) {
  std::size_t n = 0;
  for (auto at = s.find(part); at != std::string_view::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

/// One exchange on a fresh connection: all the server sends until it closes.
inline std::string round_trip(LiveServer& server, std::string_view request, const char* from = "127.0.0.1") {
  Client c(server.port(), from);
  c.send(request);
  return c.read_all();
}

}  // namespace server_test
