// scepctl serve's HTTP server (web::Server) over real sockets, with a
// handler that only echoes what it was given: request targets in absolute
// form, request-smuggling shapes, oversized request lines, and the limit on
// connections from one client address.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "live_server.hpp"

namespace server_test {

/// Sends `smuggler` + a second request on one connection: only the first
/// may be answered (with `status`), the second never reaches the handler.
void require_refused(LiveServer& server, std::string_view what, std::string_view smuggler, std::string_view status) {
  BOOST_TEST_CONTEXT(what) {
    std::string reply = round_trip(server, std::string(smuggler) + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(status_line(reply).starts_with("HTTP/1.1 " + std::string(status)), status_line(reply));
    BOOST_TEST(count_of(reply, "HTTP/1.1 ") == 1u, reply);
    BOOST_TEST(reply.find("Connection: close") != std::string::npos);
    for (const auto& p : server.paths()) BOOST_TEST(p != "/smuggled");
  }
}

}  // namespace server_test

using namespace server_test;

BOOST_AUTO_TEST_SUITE(web_request_target)

BOOST_AUTO_TEST_CASE(origin_form_targets_pass_unchanged) {
  BOOST_TEST(*web::origin_form("/scep?operation=GetCACaps") == "/scep?operation=GetCACaps");
  BOOST_TEST(*web::origin_form("/") == "/");
  BOOST_TEST(*web::origin_form("*") == "*");
}

BOOST_AUTO_TEST_CASE(absolute_form_loses_scheme_and_authority) {
  BOOST_TEST(*web::origin_form("http://example.invalid:8080/scep?operation=GetCACaps") == "/scep?operation=GetCACaps");
  BOOST_TEST(*web::origin_form("HTTP://EXAMPLE.INVALID/scep/pkiclient.exe") == "/scep/pkiclient.exe");
  BOOST_TEST(*web::origin_form("hTtPs://192.0.2.1:443/scep") == "/scep");
  BOOST_TEST(*web::origin_form("http://[2001:db8::1]:8080/scep?x=http://y/") == "/scep?x=http://y/");
  BOOST_TEST(*web::origin_form("http://h") == "/");
  BOOST_TEST(*web::origin_form("http://h?operation=GetCACaps") == "/?operation=GetCACaps");
  BOOST_TEST(*web::origin_form("http://h:/scep") == "/scep");  // RFC 3986: port = *DIGIT
  BOOST_TEST(*web::origin_form("http://h%41st/scep") == "/scep");
}

BOOST_AUTO_TEST_CASE(other_forms_and_malformed_absolute_forms_are_refused) {
  for (std::string_view bad : {"",
                               "scep",
                               "scep?operation=GetCACaps",
                               "example.invalid:443",
                               "http:/scep",
                               "http:scep",
                               "http://",
                               "http:///scep",
                               "http://?x",
                               "http://user@h/scep",
                               "http://user:pw@h/scep",
                               "ftp://h/scep",
                               "file:///etc/passwd",
                               "httpx://h/scep",
                               "://h/scep",
                               "http://[::1/scep",
                               "http://[]/scep",
                               "http://[::1]x/scep",
                               "http://h:80x/scep",
                               "http://h:123456/scep",
                               "http://h:8080:1/scep",
                               "http://h/scep#frag",
                               "http://h#frag",
                               "http://h%zz/scep",
                               "http://h%4/scep",
                               "http://h\\x/scep",
                               "http://h{}/scep"})
    BOOST_TEST(!web::origin_form(bad).has_value(), bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_server, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(absolute_form_targets_are_answered_like_origin_form) {
  LiveServer server;
  std::string reply = round_trip(server,
                                 "GET http://example.invalid:8080/scep?operation=GetCACaps HTTP/1.1\r\n"
                                 "Host: example.invalid:8080\r\nConnection: close\r\n\r\n");
  BOOST_TEST(status_line(reply) == "HTTP/1.1 200 OK");
  BOOST_TEST(body_of(reply) == "path=/scep query=operation=GetCACaps body=0\n");
  reply = round_trip(server, "GET HTTPS://H/scep/pkiclient.exe?operation=GetCACert HTTP/1.0\r\n\r\n");
  BOOST_TEST(body_of(reply) == "path=/scep/pkiclient.exe query=operation=GetCACert body=0\n");
  for (std::string_view bad : {"http://user@h/scep", "ftp://h/scep", "http:///scep", "scep"}) {
    reply = round_trip(server, "GET " + std::string(bad) + " HTTP/1.1\r\nHost: h\r\n\r\n");
    BOOST_TEST(status_line(reply) == "HTTP/1.1 400 Bad Request", bad);
    BOOST_TEST(body_of(reply) == "malformed request target\n", bad);
  }
  BOOST_TEST(server.paths().size() == 2u);
}

BOOST_AUTO_TEST_CASE(request_smuggling_shapes_get_400_and_close) {
  LiveServer server;
  const std::string post = "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n";
  const std::string chunked_body = "5\r\nhello\r\n0\r\n\r\n";
  require_refused(server, "TE chunked, identity", post + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunked_body,
                  "400");
  require_refused(server, "TE identity", post + "Transfer-Encoding: identity\r\n\r\n" + chunked_body, "400");
  require_refused(server, "TE gzip", post + "Transfer-Encoding: gzip\r\n\r\n" + chunked_body, "400");
  require_refused(server, "TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n" + chunked_body, "400");
  require_refused(server, "TE empty", post + "Transfer-Encoding: ,\r\n\r\n" + chunked_body, "400");
  require_refused(server, "TE chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked_body,
                  "400");
  require_refused(server, "TE gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked_body, "501");
  require_refused(server, "TE gzip + TE chunked",
                  post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body, "501");
  require_refused(server, "TE chunked + TE identity",
                  post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + chunked_body, "400");
  require_refused(server, "TE chunked + CL",
                  post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked_body, "400");
  require_refused(server, "CL + TE chunked",
                  post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body, "400");
  require_refused(server, "TE identity + CL", post + "Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello",
                  "400");
  require_refused(server, "CL + TE identity", post + "Content-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello",
                  "400");
  require_refused(server, "TE chunked in HTTP/1.0",
                  "POST /scep HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body, "400");
  require_refused(server, "CL twice, equal", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "400");
  require_refused(server, "CL list, equal", post + "Content-Length: 5, 5\r\n\r\nhello", "400");
  require_refused(server, "CL twice, different", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400");
  for (std::string_view cl : {"+5", "-5", "0x5", "5 5", "5;", "", "99999999999999999999999"})
    require_refused(server, "CL " + std::string(cl), post + "Content-Length: " + std::string(cl) + "\r\n\r\nhello",
                    "400");
  require_refused(server, "obs-fold in TE", post + "Transfer-Encoding: identity,\r\n chunked\r\n\r\n" + chunked_body,
                  "400");
  require_refused(server, "obs-fold elsewhere", post + "X-Note: a\r\n\tb\r\nContent-Length: 5\r\n\r\nhello", "400");
  require_refused(server, "whitespace before the first field",
                  "POST /scep HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                  "400");
  require_refused(server, "whitespace before the colon", post + "Transfer-Encoding : chunked\r\n\r\n" + chunked_body,
                  "400");
  require_refused(server, "a bare LF",
                  "POST /scep HTTP/1.1\r\nHost: x\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body, "400");
  static constexpr char nul_field[] = "X-Note: a\0b\r\nContent-Length: 0\r\n\r\n";
  require_refused(server, "a NUL in a value", post + std::string(nul_field, sizeof nul_field - 1), "400");
  require_refused(server, "two Host fields", "GET /scep HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400");
  require_refused(server, "no Host in HTTP/1.1", "GET /scep HTTP/1.1\r\n\r\n", "400");
  require_refused(server, "a bad chunk size", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                  "400");
  BOOST_TEST(server.paths().empty());

  // What is allowed still works: one chunked request, one with a length,
  // HTTP/1.0 without Host, and an empty line before a request line.
  Client c(server.port());
  c.send(post + "Transfer-Encoding: Chunked\r\n\r\n" + chunked_body);
  BOOST_TEST(body_of(c.read_response()) == "path=/scep query=operation=PKIOperation body=5\n");
  c.send("\r\n" + post + "Content-Length: 5\r\n\r\nhello");
  BOOST_TEST(body_of(c.read_response()) == "path=/scep query=operation=PKIOperation body=5\n");
  // A body (sent with its header) may hold any bytes, bare LFs included.
  c.send(post + "Content-Length: 6\r\n\r\n\n\n\r\n\r\n" + "GET /scep HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/scep query=operation=PKIOperation body=6\n");
  BOOST_TEST(body_of(c.read_response()) == "path=/scep query= body=0\n");
  BOOST_TEST(body_of(round_trip(server, "GET /scep?x HTTP/1.0\r\n\r\n")) == "path=/scep query=x body=0\n");
}

BOOST_AUTO_TEST_CASE(too_many_header_fields_get_431) {
  LiveServer server;
  std::string fields;
  for (int i = 0; i < 98; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
  std::string reply = round_trip(server, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields + "\r\n");
  BOOST_TEST(status_line(reply) == "HTTP/1.1 200 OK");  // Host + Connection + 98: 100 fields
  fields += "X-F98: v\r\n";
  reply = round_trip(server, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields + "\r\n");
  BOOST_TEST(status_line(reply) == "HTTP/1.1 431 Request Header Fields Too Large");
}

BOOST_AUTO_TEST_CASE(an_11_MB_url_gets_414_after_the_client_sent_it_all) {
  LiveServer server;
  std::string path = "/scep?operation=PKIOperation&message=" + std::string(11u << 20, 'A');
  Client c(server.port());
  // Like python's http.client: the whole request first, then the answer.
  BOOST_TEST(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string reply = c.read_all();
  BOOST_TEST(status_line(reply) == "HTTP/1.1 414 URI Too Long");
  BOOST_TEST(body_of(reply) == "request target too long\n");
  // A header (not the request line) over the limit stays a 431.
  Client d(server.port());
  BOOST_TEST(d.send("GET /scep HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(1u << 20, 'A') + "\r\n\r\n"));
  BOOST_TEST(status_line(d.read_all()) == "HTTP/1.1 431 Request Header Fields Too Large");
  BOOST_TEST(server.paths().empty());
}

BOOST_AUTO_TEST_CASE(one_client_address_cannot_take_every_connection) {
  web::Server::Options o;
  o.max_connections = 8;
  o.max_connections_per_client = 3;
  LiveServer server(o);
  const std::string caps = "GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n";
  // 127.0.0.2 holds its 3 connections idle; its fourth gets 503 at once.
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<Client>(server.port(), "127.0.0.2"));
  {
    Client over(server.port(), "127.0.0.2");
    std::string reply = over.read_all(3s);
    BOOST_TEST(status_line(reply) == "HTTP/1.1 503 Service Unavailable");
    BOOST_TEST(reply.find("Retry-After: 5\r\n") != std::string::npos);
  }
  // Every other address is served meanwhile, up to its own limit.
  std::vector<std::unique_ptr<Client>> others;
  for (const char* from : {"127.0.0.1", "127.0.0.3", "127.0.0.1"}) {
    others.push_back(std::make_unique<Client>(server.port(), from));
    others.back()->send(caps);
    BOOST_TEST(status_line(others.back()->read_response()) == "HTTP/1.1 200 OK", from);
  }
  // The held connections still work, and once one closes its slot is free.
  held[0]->send(caps);
  BOOST_TEST(status_line(held[0]->read_response()) == "HTTP/1.1 200 OK");
  held.pop_back();
  std::string reply;
  for (int i = 0; i < 50 && !reply.starts_with("HTTP/1.1 200"); ++i) {
    std::this_thread::sleep_for(20ms);
    Client again(server.port(), "127.0.0.2");
    again.send(caps);
    reply = again.read_response(2s);
  }
  BOOST_TEST(status_line(reply) == "HTTP/1.1 200 OK");
  BOOST_TEST(server.log().find(
                 "scepctl serve: too many connections from 127.0.0.2 (at most 3 per client); answered 503") !=
                 std::string::npos,
             server.log());
}

BOOST_AUTO_TEST_CASE(the_per_client_limit_defaults_to_an_eighth_of_the_slots_at_least_32) {
  web::Server::Options o;
  o.max_connections = 800;
  BOOST_TEST(LiveServer(o).server().max_connections_per_client() == 100u);
  o.max_connections = 100;
  BOOST_TEST(LiveServer(o).server().max_connections_per_client() == 32u);
  o.max_connections_per_client = 5;
  BOOST_TEST(LiveServer(o).server().max_connections_per_client() == 5u);
}

BOOST_AUTO_TEST_CASE(the_per_client_limit_can_be_turned_off) {
  web::Server::Options o;
  o.max_connections = 8;
  o.max_connections_per_client = 0;
  LiveServer server(o);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 7; ++i) held.push_back(std::make_unique<Client>(server.port(), "127.0.0.2"));
  Client last(server.port(), "127.0.0.2");
  last.send("GET /scep HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(status_line(last.read_response()) == "HTTP/1.1 200 OK");
  // The server-wide limit still holds.
  Client over(server.port(), "127.0.0.3");
  BOOST_TEST(status_line(over.read_all(3s)) == "HTTP/1.1 503 Service Unavailable");
}

BOOST_AUTO_TEST_CASE(refusals_are_logged_at_most_once_a_second) {
  web::Server::Options o;
  o.max_connections_per_client = 1;
  LiveServer server(o);
  Client held(server.port(), "127.0.0.2");
  for (int i = 0; i < 20; ++i) {
    Client over(server.port(), "127.0.0.2");
    BOOST_TEST(status_line(over.read_all(3s)) == "HTTP/1.1 503 Service Unavailable");
  }
  std::this_thread::sleep_for(1100ms);
  {
    Client over(server.port(), "127.0.0.2");
    over.read_all(3s);
  }
  // Every refusal is in the log, as a line or counted in the next one.
  std::string log;
  std::size_t lines = 0, counted = 0;
  for (int i = 0; i < 100 && lines + counted < 21; ++i) {
    std::this_thread::sleep_for(10ms);
    log = server.log();
    lines = count_of(log, "; answered 503");
    counted = 0;
    static const std::regex more(R"(\((\d+) more refused since the last such line\))");
    for (std::sregex_iterator it(log.begin(), log.end(), more), end; it != end; ++it) counted += std::stoul((*it)[1]);
  }
  BOOST_TEST(lines + counted == 21u, log);
  BOOST_TEST(lines <= 5u, log);
}

BOOST_AUTO_TEST_CASE(clients_are_grouped_by_ipv4_address_and_ipv6_64) {
  BOOST_TEST(web::client_group("192.0.2.7") == "192.0.2.7");
  BOOST_TEST(web::client_group("::ffff:192.0.2.7") == "192.0.2.7");
  BOOST_TEST(web::client_group("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  BOOST_TEST(web::client_group("2001:db8:1:2::1") == web::client_group("2001:db8:1:2:ffff::9"));
  BOOST_TEST(web::client_group("2001:db8:1:3::1") != web::client_group("2001:db8:1:2::1"));
  BOOST_TEST(web::client_group("::1") == "::/64");
}

BOOST_AUTO_TEST_SUITE_END()
