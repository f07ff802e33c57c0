#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "web/log_line.hpp"

namespace {

using namespace std::chrono_literals;

/// 2026-12-07T15:20:13.042Z
std::chrono::system_clock::time_point log_time() {
  return std::chrono::sys_days{std::chrono::year{2026} / 12 / 7} + 15h + 20min + 13s + 42ms + 999us;
}

struct FailureLine {
  web::RequestFacts facts{"PKIOperation", "demo", "PKCSReq", "FAILURE", "badRequest", "tx \"1\"\n=2", "failure"};
  web::RequestLine req{"192.0.2.7", "POST", "/scep?operation=PKIOperation", 200, 1234, 12345678ns, &facts};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(log_line)

BOOST_AUTO_TEST_CASE(rfc3339_is_utc_with_milliseconds) {
  BOOST_TEST(web::rfc3339_ms(log_time()) == "2026-12-07T15:20:13.042Z");
  BOOST_TEST(web::rfc3339_ms(std::chrono::system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(text_request_line_has_every_field_and_escapes_client_text) {
  FailureLine f;
  std::string line = web::format_log_line({log_time(), web::LogLevel::info, {}, &f.req}, {});
  BOOST_TEST(line ==
             "time=2026-12-07T15:20:13.042Z level=info remote=192.0.2.7 method=POST "
             "target=\"/scep?operation=PKIOperation\" ca=demo operation=PKIOperation message_type=PKCSReq status=200 "
             "pki_status=FAILURE fail_info=badRequest transaction_id=\"tx \\x221\\x22\\x0a=2\" duration_ms=12.346 "
             "bytes=1234\n");
}

BOOST_AUTO_TEST_CASE(text_unknowns_are_dashes_and_a_message_is_quoted) {
  web::RequestFacts facts;
  web::RequestLine req{"::1", "GET", "/x", 400, 0, 0ns, &facts};
  std::string line = web::format_log_line({log_time(), web::LogLevel::error, "no such\tthing", &req}, {});
  BOOST_TEST(line.starts_with("time=2026-12-07T15:20:13.042Z level=error remote=::1 method=GET target=/x ca=- "));
  BOOST_TEST(line.ends_with(" bytes=0 msg=\"no such\\x09thing\"\n"));
  BOOST_TEST(line.find('\n') == line.size() - 1);
}

BOOST_AUTO_TEST_CASE(journal_lines_have_a_priority_and_no_time) {
  FailureLine f;
  web::LogStyle journal{web::LogFormat::text, true};
  BOOST_TEST(web::format_log_line({log_time(), web::LogLevel::error, "x", nullptr}, journal) ==
             "<3>level=error msg=x\n");
  BOOST_TEST(web::format_log_line({log_time(), web::LogLevel::info, {}, &f.req}, journal)
                 .starts_with("<6>level=info remote="));
  BOOST_TEST(web::format_log_line({log_time(), web::LogLevel::debug, "d", nullptr}, journal) ==
             "<7>level=debug msg=d\n");
}

BOOST_AUTO_TEST_CASE(json_line_parses_and_keeps_the_raw_values) {
  FailureLine f;
  web::LogStyle json{web::LogFormat::json, false};
  std::string line = web::format_log_line({log_time(), web::LogLevel::info, {}, &f.req}, json);
  BOOST_TEST(line.find('\n') == line.size() - 1);
  auto j = nlohmann::json::parse(line);
  BOOST_TEST(j["time"] == "2026-12-07T15:20:13.042Z");
  BOOST_TEST(j["level"] == "info");
  BOOST_TEST(j["pki_status"] == "FAILURE");
  BOOST_TEST(j["fail_info"] == "badRequest");
  BOOST_TEST(j["transaction_id"] == "tx \"1\"\n=2");
  BOOST_TEST(j["status"] == 200);
  BOOST_TEST(j["bytes"] == 1234);
  BOOST_TEST(j["duration_ms"].get<double>() == 12.346);
  for (const char* key : {"remote", "method", "target", "ca", "operation", "message_type"}) BOOST_TEST(j.contains(key));
}

BOOST_AUTO_TEST_CASE(json_replaces_invalid_utf8_instead_of_throwing) {
  web::RequestFacts facts;
  facts.transaction_id = "a\xff\xfe";
  web::RequestLine req{"", "GET", "", 200, 0, 0ns, &facts};
  std::string line = web::format_log_line({log_time(), web::LogLevel::info, {}, &req}, {web::LogFormat::json, false});
  auto j = nlohmann::json::parse(line);
  BOOST_TEST(j["transaction_id"] == "a\xef\xbf\xbd\xef\xbf\xbd");
  BOOST_TEST(j["remote"].is_null());
}

BOOST_AUTO_TEST_CASE(journal_stream_must_name_the_same_file) {
  BOOST_TEST(web::journal_stream_matches("8:12345", 8, 12345));
  BOOST_TEST(!web::journal_stream_matches("8:12345", 8, 12346));
  BOOST_TEST(!web::journal_stream_matches("8:", 8, 0));
  BOOST_TEST(!web::journal_stream_matches("x8:12345", 8, 12345));
  BOOST_TEST(!web::journal_stream_matches("", 0, 0));
  BOOST_TEST(!web::stderr_is_journal(nullptr));
}

BOOST_AUTO_TEST_CASE(levels_and_formats_parse) {
  BOOST_TEST((web::parse_log_level("debug") == web::LogLevel::debug));
  BOOST_TEST(!web::parse_log_level("warn"));
  BOOST_TEST((web::parse_log_format("json") == web::LogFormat::json));
  BOOST_TEST(!web::parse_log_format("JSON"));
}

BOOST_AUTO_TEST_SUITE_END()
