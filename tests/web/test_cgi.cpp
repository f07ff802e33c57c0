#include <boost/test/unit_test.hpp>

#include <map>
#include <sstream>
#include <string>

#include "web/cgi.hpp"
#include "web/dispatch.hpp"

namespace {

/// A CGI environment from a map; unset variables are nullptr.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  web::EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

web::Request must_read(const FakeEnv& env, std::string body = "") {
  std::istringstream in(body);
  auto req = web::read_cgi_request(env.lookup(), in);
  BOOST_REQUIRE_MESSAGE(req, (req ? "" : core::to_string(req.error().body)));
  return std::move(*req);
}

int refused_status(const FakeEnv& env, std::string body = "") {
  std::istringstream in(body);
  auto req = web::read_cgi_request(env.lookup(), in);
  BOOST_REQUIRE_MESSAGE(!req, "accepted");
  BOOST_TEST(req.error().content_type == "text/plain");
  return req.error().status;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web_cgi_request)

BOOST_AUTO_TEST_CASE(meta_variables_map_to_the_request) {
  FakeEnv env{{{"REQUEST_METHOD", "GET"},
               {"PATH_INFO", "/main/pkiclient.exe"},
               {"QUERY_STRING", "operation=GetCACert&message=x%20y"},
               {"REMOTE_ADDR", "198.51.100.7"},
               {"SCRIPT_NAME", "/cgi-bin/scep"}}};
  auto req = must_read(env);
  BOOST_TEST((req.method == web::Method::get));
  BOOST_TEST(req.path == "/main/pkiclient.exe");
  BOOST_TEST(req.query == "operation=GetCACert&message=x%20y");  // still raw
  BOOST_TEST(req.remote_addr == "198.51.100.7");
  BOOST_TEST(req.body.empty());
}

// The web server has decoded PATH_INFO once already: the CA name the client
// wrote as "%2561lpha" is "%61lpha" here, and must not be decoded to "alpha"
// a second time (serve answers 404 for it; so must every CGI front end).
BOOST_AUTO_TEST_CASE(path_info_is_decoded_only_once) {
  FakeEnv env{{{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/%61lpha/pkiclient.exe"}}};
  auto req = must_read(env);
  BOOST_TEST(web::ca_from_path(req.path) == "%61lpha");
  FakeEnv plain{{{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/corp ca/pkiclient.exe"}}};
  BOOST_TEST(web::ca_from_path(must_read(plain).path) == "corp ca");
}

BOOST_AUTO_TEST_CASE(methods_are_mapped_case_sensitively) {
  for (auto [text, method] : std::vector<std::pair<std::string, web::Method>>{{"GET", web::Method::get},
                                                                              {"HEAD", web::Method::head},
                                                                              {"POST", web::Method::post},
                                                                              {"PUT", web::Method::other},
                                                                              {"DELETE", web::Method::other},
                                                                              {"get", web::Method::other}}) {
    FakeEnv env{{{"REQUEST_METHOD", text}}};
    BOOST_TEST((must_read(env).method == method), text);
  }
  BOOST_TEST((must_read(FakeEnv{}).method == web::Method::other));
}

BOOST_AUTO_TEST_CASE(missing_variables_are_empty) {
  auto req = must_read(FakeEnv{{{"REQUEST_METHOD", "GET"}}});
  BOOST_TEST(req.path == "");
  BOOST_TEST(req.query == "");
  BOOST_TEST(req.remote_addr == "");
}

BOOST_AUTO_TEST_CASE(without_content_length_no_body_is_read) {
  auto req = must_read(FakeEnv{{{"REQUEST_METHOD", "POST"}}}, "unexpected");
  BOOST_TEST(req.body.empty());
  auto empty = must_read(FakeEnv{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", ""}}}, "unexpected");
  BOOST_TEST(empty.body.empty());
}

BOOST_AUTO_TEST_CASE(content_length_bytes_are_read_exactly) {
  std::string body("a\0b\xff\r\nc", 7);
  auto req = must_read(FakeEnv{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "7"}}}, body + "EXTRA");
  BOOST_TEST(core::to_string(req.body) == body);
  auto zero = must_read(FakeEnv{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "0"}}}, "ignored");
  BOOST_TEST(zero.body.empty());
}

BOOST_AUTO_TEST_CASE(a_body_of_exactly_the_limit_is_read) {
  std::string body(web::max_body_bytes, 'z');
  auto req = must_read(FakeEnv{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", std::to_string(body.size())}}}, body);
  BOOST_TEST(req.body.size() == web::max_body_bytes);
}

BOOST_AUTO_TEST_CASE(garbage_content_length_is_400) {
  for (std::string bad : {"abc", "12abc", "-1", "+5", " 5", "5 ", "0x10", "1.5"}) {
    FakeEnv env{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", bad}}};
    BOOST_TEST(refused_status(env, "hello world") == 400, "\"" << bad << "\"");
  }
}

BOOST_AUTO_TEST_CASE(too_large_content_length_is_413) {
  for (std::string big : {std::to_string(web::max_body_bytes + 1), std::string("99999999999999999999999999")}) {
    FakeEnv env{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", big}}};
    BOOST_TEST(refused_status(env, "small") == 413, big);
  }
}

BOOST_AUTO_TEST_CASE(a_body_shorter_than_content_length_is_400) {
  FakeEnv env{{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "10"}}};
  BOOST_TEST(refused_status(env, "short") == 400);
  BOOST_TEST(refused_status(env, "") == 400);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_cgi_response)

BOOST_AUTO_TEST_CASE(status_headers_blank_line_and_body) {
  web::Response r;
  r.content_type = "application/x-x509-ca-cert";
  r.body = {0x30, 0x00, 0x0a, 0xff};
  std::string want = std::string(
                         "Status: 200 OK\r\nContent-Type: application/x-x509-ca-cert\r\nContent-Length: 4\r\n\r\n") +
                     std::string("\x30\x00\x0a\xff", 4);
  BOOST_TEST(web::cgi_response(r, web::Method::get) == want);
}

BOOST_AUTO_TEST_CASE(text_responses) {
  auto r = web::Response::text(404, "no CA called \"x\"");
  BOOST_TEST(web::cgi_response(r, web::Method::get) ==
             "Status: 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nno CA called \"x\"\n");
}

BOOST_AUTO_TEST_CASE(head_keeps_the_headers_and_drops_the_body) {
  web::Response r = web::Response::text(200, "hello");
  BOOST_TEST(web::cgi_response(r, web::Method::head) ==
             "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(allow_is_sent_with_a_405) {
  web::Response r = web::Response::text(405, "method not allowed");
  r.allow = "GET, HEAD, POST";
  std::string out = web::cgi_response(r, web::Method::other);
  BOOST_TEST(out.starts_with("Status: 405 Method Not Allowed\r\n"));
  BOOST_TEST(out.find("\r\nAllow: GET, HEAD, POST\r\n") != std::string::npos);
  BOOST_TEST(out.find("Allow:") < out.find("\r\n\r\n"));
  BOOST_TEST(out.ends_with("\r\n\r\nmethod not allowed\n"));
}

BOOST_AUTO_TEST_CASE(no_allow_header_unless_set) {
  std::string out = web::cgi_response(web::Response::text(400, "bad"), web::Method::get);
  BOOST_TEST(out.find("Allow") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_log_is_never_sent) {
  web::Response r = web::Response::text(500, "internal error");
  r.log = "/var/lib/scep/ca/main/key.pem: permission denied";
  std::string out = web::cgi_response(r, web::Method::get);
  BOOST_TEST(out.starts_with("Status: 500 Internal Server Error\r\n"));
  BOOST_TEST(out.find("key.pem") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_lines_use_the_standard_reason_phrases) {
  for (auto [status, line] : std::vector<std::pair<int, std::string>>{{400, "Status: 400 Bad Request\r\n"},
                                                                      {403, "Status: 403 Forbidden\r\n"},
                                                                      {413, "Status: 413 Payload Too Large\r\n"},
                                                                      {414, "Status: 414 URI Too Long\r\n"},
                                                                      {501, "Status: 501 Not Implemented\r\n"},
                                                                      {503, "Status: 503 Service Unavailable\r\n"}}) {
    BOOST_TEST(web::cgi_response(web::Response::text(status, "x"), web::Method::get).starts_with(line), status);
  }
}

BOOST_AUTO_TEST_SUITE_END()
