// web::Server over real sockets: body and header size limits, persistent
// connections (keep-alive, pipelining, Connection: close, HTTP/1.0),
// malformed request lines, and stop() with a request still being worked on.
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <future>
#include <string>
#include <thread>

#include "live_server.hpp"

namespace server_connections_test {

using namespace server_test;

/// Whether a TCP connection to 127.0.0.1:port is accepted.
bool accepts_connections(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0;
  ::close(fd);
  return ok;
}

std::string post_of(std::size_t body_bytes, std::string_view extra = {}) {
  return "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(body_bytes) + "\r\n\r\n" + std::string(body_bytes, 'b');
}

std::string chunked_post_of(std::size_t chunks, std::size_t chunk_bytes) {
  std::string req = "POST /scep HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk_bytes);
  for (std::size_t i = 0; i < chunks; ++i) req += size + std::string(chunk_bytes, 'c') + "\r\n";
  return req + "0\r\n\r\n";
}

/// The reply to one request line sent alone; the handler must not have seen it.
void require_bad_request_line(LiveServer& server, std::string_view line) {
  BOOST_TEST_CONTEXT("request line \"" << line << "\"") {
    std::string reply = round_trip(server, std::string(line) + "\r\nHost: x\r\n\r\n");
    BOOST_TEST(status_line(reply).starts_with("HTTP/1.1 4"), status_line(reply));
    BOOST_TEST(reply.find("Connection: close") != std::string::npos, reply);
  }
}

}  // namespace server_connections_test

using namespace server_connections_test;

BOOST_AUTO_TEST_SUITE(web_server_limits, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(a_body_at_the_limit_is_read_and_one_over_gets_413) {
  web::Server::Options o;
  o.max_body_bytes = 4096;
  LiveServer server(o);
  std::string reply = round_trip(server, post_of(4096, "Connection: close\r\n"));
  BOOST_TEST(status_line(reply) == "HTTP/1.1 200 OK");
  BOOST_TEST(body_of(reply) == "path=/scep query=operation=PKIOperation body=4096\n");
  reply = round_trip(server, post_of(4097));
  BOOST_TEST(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
  BOOST_TEST(body_of(reply) == "request body too large\n");
  BOOST_TEST(reply.find("Connection: close") != std::string::npos, reply);
  BOOST_TEST(server.paths().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_declared_length_over_the_limit_is_refused_before_the_body) {
  web::Server::Options o;
  o.max_body_bytes = 4096;
  LiveServer server(o);
  Client c(server.port());
  // Only the header: the refusal must not wait for 1 GiB that never comes.
  c.send("POST /scep HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n");
  BOOST_TEST(status_line(c.read_all()) == "HTTP/1.1 413 Payload Too Large");
  BOOST_TEST(server.paths().empty());
}

BOOST_AUTO_TEST_CASE(a_chunked_body_growing_over_the_limit_gets_413) {
  web::Server::Options o;
  o.max_body_bytes = 4096;
  LiveServer server(o);
  std::string reply = round_trip(server, chunked_post_of(4, 1024));
  BOOST_TEST(body_of(reply) == "path=/scep query= body=4096\n");
  reply = round_trip(server, chunked_post_of(5, 1024));
  BOOST_TEST(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
  BOOST_TEST(server.paths().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_header_over_a_configured_limit_gets_431) {
  web::Server::Options o;
  o.max_header_bytes = 2048;
  LiveServer server(o);
  std::string reply = round_trip(server, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: " +
                                             std::string(1024, 'p') + "\r\n\r\n");
  BOOST_TEST(status_line(reply) == "HTTP/1.1 200 OK");
  reply = round_trip(server, "GET /ok HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4096, 'p') + "\r\n\r\n");
  BOOST_TEST(status_line(reply) == "HTTP/1.1 431 Request Header Fields Too Large");
  BOOST_TEST(server.paths().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_server_keep_alive, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(http_1_1_connections_stay_open_for_the_next_request) {
  LiveServer server;
  Client c(server.port());
  for (int i = 0; i < 3; ++i) {
    c.send("GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string reply = c.read_response();
    BOOST_TEST(status_line(reply) == "HTTP/1.1 200 OK");
    BOOST_TEST(body_of(reply) == "path=/n" + std::to_string(i) + " query= body=0\n");
    BOOST_TEST(reply.find("Connection: close") == std::string::npos, reply);
  }
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order_slow_or_quick) {
  LiveServer server;
  Client c(server.port());
  // A quick GET, a slow POST (worker thread), another quick GET, in one write.
  c.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n" + post_of(10) + "GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/first query= body=0\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/scep query=operation=PKIOperation body=10\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/third query= body=0\n");
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured) {
  LiveServer server;
  Client c(server.port());
  c.send("GET /only HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string all = c.read_all();  // returns when the server closes
  BOOST_TEST(count_of(all, "HTTP/1.1 ") == 1u, all);
  BOOST_TEST(all.find("Connection: close") != std::string::npos, all);
  BOOST_TEST(body_of(all) == "path=/only query= body=0\n");
  for (const auto& p : server.paths()) BOOST_TEST(p != "/never");
}

BOOST_AUTO_TEST_CASE(http_1_0_closes_unless_asked_to_keep_alive) {
  LiveServer server;
  std::string all = round_trip(server, "GET /old HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n");
  BOOST_TEST(count_of(all, "HTTP/1.0 ") == 1u, all);
  BOOST_TEST(body_of(all) == "path=/old query= body=0\n");

  Client c(server.port());
  c.send("GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/kept query= body=0\n");
  c.send("GET /again HTTP/1.0\r\n\r\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/again query= body=0\n");
  for (const auto& p : server.paths()) BOOST_TEST(p != "/never");
}

BOOST_AUTO_TEST_CASE(a_refused_request_ends_its_connection) {
  web::Server::Options o;
  o.max_body_bytes = 16;
  LiveServer server(o);
  Client c(server.port());
  c.send("GET /before HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/before query= body=0\n");
  c.send(post_of(17) + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string rest = c.read_all();
  BOOST_TEST(status_line(rest) == "HTTP/1.1 413 Payload Too Large");
  BOOST_TEST(count_of(rest, "HTTP/1.1 ") == 1u, rest);
  for (const auto& p : server.paths()) BOOST_TEST(p != "/after");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_server_request_line, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(a_malformed_request_line_gets_4xx_and_never_reaches_the_handler) {
  LiveServer server;
  for (std::string_view line :
       {"GARBAGE", "GET", "GET /scep", "GET /scep HTTP/1.1 extra", "GET  /scep HTTP/1.1", "GET /scep  HTTP/1.1",
        " GET /scep HTTP/1.1", "GET /scep HTTPS/1.1", "GET /scep HTTP/x.y", "GET /scep http/1.1", "G(T /scep HTTP/1.1",
        "GET /sc ep HTTP/1.1"})
    require_bad_request_line(server, line);
  static constexpr char with_nul[] = "GET /sc\0ep HTTP/1.1";
  require_bad_request_line(server, std::string_view(with_nul, sizeof with_nul - 1));
  require_bad_request_line(server, "GET /scep\x01 HTTP/1.1");
  BOOST_TEST(server.paths().empty());
  // The server is still there for a good one.
  BOOST_TEST(status_line(round_trip(server, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) ==
             "HTTP/1.1 200 OK");
}

BOOST_AUTO_TEST_CASE(binary_junk_instead_of_a_request_gets_400_or_a_close) {
  LiveServer server;
  for (int seed = 1; seed <= 8; ++seed) {
    std::string junk(512, '\0');
    unsigned x = static_cast<unsigned>(seed) * 2654435761u;
    for (auto& ch : junk) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      ch = static_cast<char>(x);
    }
    junk += "\r\n\r\n";
    std::string reply = round_trip(server, junk);
    BOOST_TEST((reply.empty() || status_line(reply).starts_with("HTTP/1.1 4")),
               "seed " << seed << ": " << status_line(reply));
  }
  BOOST_TEST(server.paths().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_server_shutdown, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(stop_finishes_a_request_being_worked_on_and_refuses_new_connections) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  bool entered_once = false;
  auto on_slow = [&](const web::Request&) {
    if (!entered_once) {
      entered_once = true;
      entered.set_value();
    }
    released.wait();
  };
  LiveServer server({}, on_slow);
  std::uint16_t port = server.port();
  Client c(port);
  c.send(post_of(10));
  entered.get_future().wait();  // the request is on a worker now
  BOOST_TEST(server.slow_in_flight() == 1);

  std::thread stopper([&] { BOOST_TEST(server.stop(), "run() returned before the request finished"); });
  // Only once stop() has closed the listening socket is the request let go.
  while (accepts_connections(port)) std::this_thread::yield();
  release.set_value();
  stopper.join();
  BOOST_TEST(server.slow_in_flight() == 0);
  BOOST_TEST(!accepts_connections(port));
  // The request was worked through (its reply is not sent: the retry gets it).
  BOOST_TEST(server.paths() == std::vector<std::string>{"/scep"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stop_with_only_idle_connections_returns_and_closes_the_port) {
  LiveServer server;
  std::uint16_t port = server.port();
  BOOST_TEST(status_line(round_trip(server, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) ==
             "HTTP/1.1 200 OK");
  Client idle(port);  // an idle keep-alive connection does not hold the stop up
  BOOST_TEST(server.stop());
  BOOST_TEST(!accepts_connections(port));
}

BOOST_AUTO_TEST_CASE(a_taken_port_is_an_error_not_a_crash) {
  LiveServer first;
  web::Server::Options o;
  o.host = "127.0.0.1";
  o.port = first.port();
  auto second = web::Server::listen(
      o, [](web::Request&&) { return web::Response::text(200, "x"); }, [](const web::Request&) { return true; },
      [](const web::AccessEntry&, const web::Response&) { return std::string(); }, [](std::string_view) {});
  BOOST_TEST(!second);
}

BOOST_AUTO_TEST_SUITE_END()
