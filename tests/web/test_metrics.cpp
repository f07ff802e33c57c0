#include <boost/test/unit_test.hpp>

#include <array>
#include <sstream>
#include <thread>
#include <vector>

#include "web/metrics.hpp"
#include "web/prometheus.hpp"

namespace {

using namespace std::chrono_literals;

/// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_with(const std::string& text, std::string_view prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line);
  return out;
}

web::RequestFacts pki(std::string outcome, std::string pki_status, std::string fail_info = {}) {
  return web::RequestFacts{"PKIOperation",       "demo", "PKCSReq",         std::move(pki_status),
                           std::move(fail_info), "t1",   std::move(outcome)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(prometheus_text)

BOOST_AUTO_TEST_CASE(label_values_escape_backslash_quote_and_newline) {
  BOOST_TEST(web::prometheus::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  BOOST_TEST(web::prometheus::escape_help("say \"x\"\\\n") == "say \"x\"\\\\\\n");
  web::prometheus::Writer w;
  w.family("m_total", "counter", "Help.");
  w.sample("m_total", {{"ca", "we\"ird\n"}, {"x", "1"}}, 3);
  BOOST_TEST(w.text() == "# HELP m_total Help.\n# TYPE m_total counter\nm_total{ca=\"we\\\"ird\\n\",x=\"1\"} 3\n");
}

BOOST_AUTO_TEST_CASE(values_are_integers_floats_or_infinities) {
  using web::prometheus::format_value;
  BOOST_TEST(format_value(1796000000) == "1796000000");
  BOOST_TEST(format_value(0.25) == "0.25");
  BOOST_TEST(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  BOOST_TEST(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative_and_end_in_inf) {
  web::prometheus::Writer w;
  std::array<double, 3> bounds{0.1, 1, 10};
  std::array<std::uint64_t, 4> counts{2, 0, 3, 1};
  w.histogram("d_seconds", {{"class", "pki"}}, bounds, counts, 42.5);
  BOOST_TEST(w.text() ==
             "d_seconds_bucket{class=\"pki\",le=\"0.1\"} 2\n"
             "d_seconds_bucket{class=\"pki\",le=\"1\"} 2\n"
             "d_seconds_bucket{class=\"pki\",le=\"10\"} 5\n"
             "d_seconds_bucket{class=\"pki\",le=\"+Inf\"} 6\n"
             "d_seconds_sum{class=\"pki\"} 42.5\n"
             "d_seconds_count{class=\"pki\"} 6\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(requests_count_by_operation_and_status) {
  web::Metrics m;
  web::RequestFacts caps{"GetCACaps", "demo", "", "", "", "", ""};
  m.observe(caps, 200, 1ms);
  m.observe(caps, 200, 1ms);
  m.observe(web::RequestFacts{}, 400, 1ms);
  std::string text = m.render({});
  BOOST_TEST(lines_with(text, "scep_requests_total{operation=\"GetCACaps\",status=\"200\"} 2").size() == 1);
  BOOST_TEST(lines_with(text, "scep_requests_total{operation=\"other\",status=\"400\"} 1").size() == 1);
  BOOST_TEST(lines_with(text, "scep_requests_total{").size() == 2);
  BOOST_TEST(lines_with(text, "# TYPE scep_requests_total counter").size() == 1);
  BOOST_TEST(lines_with(text, "scep_build_info{version=\"").size() == 1);
}

BOOST_AUTO_TEST_CASE(enrollments_count_by_outcome_with_fail_info) {
  web::Metrics m;
  m.observe(pki("issued", "SUCCESS"), 200, 20ms);
  m.observe(pki("failure", "FAILURE", "badRequest"), 200, 20ms);
  m.observe(pki("failure", "FAILURE", "badRequest"), 200, 20ms);
  m.observe(pki("pending", "PENDING"), 200, 20ms);
  auto get_cert = pki("sent", "SUCCESS");
  get_cert.message_type = "GetCert";
  m.observe(get_cert, 200, 20ms);  // not an enrollment
  auto error = pki("error", "");
  m.observe(error, 500, 20ms);  // no CertRep: not counted as an enrollment
  std::string text = m.render({});
  auto enrollments = lines_with(text, "scep_enrollments_total{");
  BOOST_TEST(enrollments.size() == 3);
  BOOST_TEST(lines_with(text,
                        "scep_enrollments_total{ca=\"demo\",message_type=\"PKCSReq\",outcome=\"failure\","
                        "fail_info=\"badRequest\"} 2")
                 .size() == 1);
  BOOST_TEST(
      lines_with(text, "scep_enrollments_total{ca=\"demo\",message_type=\"PKCSReq\",outcome=\"issued\"} 1").size() ==
      1);
  BOOST_TEST(lines_with(text, "scep_requests_total{operation=\"PKIOperation\",status=\"200\"} 5").size() == 1);
}

BOOST_AUTO_TEST_CASE(durations_fall_into_cumulative_buckets_per_class) {
  web::Metrics m;
  web::RequestFacts p{"PKIOperation", "", "", "", "", "", ""};
  m.observe(p, 200, 3ms);    // <= 0.005
  m.observe(p, 200, 300ms);  // <= 0.5
  m.observe(p, 200, 20s);    // above every bound
  std::string text = m.render({});
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_bucket{class=\"pki\",le=\"0.0025\"} 0").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_bucket{class=\"pki\",le=\"0.005\"} 1").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_bucket{class=\"pki\",le=\"0.5\"} 2").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_bucket{class=\"pki\",le=\"10\"} 2").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_bucket{class=\"pki\",le=\"+Inf\"} 3").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_count{class=\"pki\"} 3").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_sum{class=\"pki\"} 20.303").size() == 1);
  BOOST_TEST(lines_with(text, "scep_request_duration_seconds_count{class=\"certificates\"} 0").size() == 1);
}

BOOST_AUTO_TEST_CASE(gauges_show_pending_and_not_after) {
  web::Metrics m;
  core::TimePoint na{std::chrono::seconds(1796000000)};
  std::vector<web::CaGauges> g{{"demo", na, std::nullopt, 4}, {"lab", na, na + std::chrono::seconds(1), std::nullopt}};
  std::string text = m.render(g);
  BOOST_TEST(lines_with(text, "scep_pending_requests{ca=\"demo\"} 4").size() == 1);
  BOOST_TEST(lines_with(text, "scep_pending_requests{").size() == 1);
  BOOST_TEST(lines_with(text, "scep_certificate_not_after_seconds{ca=\"demo\",role=\"ca\"} 1796000000").size() == 1);
  BOOST_TEST(lines_with(text, "scep_certificate_not_after_seconds{ca=\"lab\",role=\"ra\"} 1796000001").size() == 1);
  BOOST_TEST(lines_with(text, "scep_certificate_not_after_seconds{ca=\"demo\",role=\"ra\"}").empty());
}

BOOST_AUTO_TEST_CASE(counting_from_many_threads_loses_nothing) {
  web::Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m] {
      for (int i = 0; i < 5000; ++i) m.observe(pki("issued", "SUCCESS"), 200, 1ms);
    });
  for (auto& t : threads) t.join();
  std::string text = m.render({});
  BOOST_TEST(lines_with(text, "scep_requests_total{operation=\"PKIOperation\",status=\"200\"} 20000").size() == 1);
  BOOST_TEST(lines_with(text, "scep_enrollments_total{ca=\"demo\",message_type=\"PKCSReq\",outcome=\"issued\"} 20000")
                 .size() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
