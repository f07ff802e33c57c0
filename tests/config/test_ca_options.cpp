#include <boost/test/unit_test.hpp>

#include "config/config.hpp"

BOOST_AUTO_TEST_SUITE(config_ca_options)

BOOST_AUTO_TEST_CASE(per_ca_options_parse_with_defaults_for_the_rest) {
  auto cfg = config::parse_config(R"(format = 1
[ca.main]
legacy_algorithms = true
manual_enrollment = false
max_pending = 5
pending_days = 2
manual_policy = "phones"
[ca."with.dot"]
include_root = false
)");
  BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().detail));
  const auto& main = cfg->options_for("main");
  BOOST_TEST(main.legacy_algorithms);
  BOOST_TEST(!main.manual_enrollment);
  BOOST_TEST(main.max_pending == 5);
  BOOST_TEST(main.pending_days == 2);
  BOOST_TEST(main.manual_policy == "phones");
  BOOST_TEST(main.include_root);
  BOOST_TEST(!cfg->options_for("with.dot").include_root);
  const auto& other = cfg->options_for("absent");
  BOOST_TEST(!other.legacy_algorithms);
  BOOST_TEST(other.manual_enrollment);
  BOOST_TEST(other.max_pending == 10000);
  BOOST_TEST(other.pending_days == 7);
}

BOOST_AUTO_TEST_CASE(out_of_range_options_are_refused) {
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\npending_days = 0\n"));
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\nmax_pending = -1\n"));
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\nmanual_policy = \"../x\"\n"));
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\nlegacy_algorithms = \"yes\"\n"));
}

BOOST_AUTO_TEST_CASE(values_must_have_exactly_the_right_type) {
  // toml++ would convert these; an operator writing 0 for false or 2.0 for 2
  // gets an error instead of a guess.
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\ninclude_root = 0\n"));
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\nmanual_enrollment = 0\n"));
  BOOST_TEST(!config::parse_config("format = 1\n[ca.main]\npending_days = 2.0\n"));
  BOOST_TEST(config::parse_config("format = 1\n[ca.main]\npending_days = 2\ninclude_root = false\n").has_value());
}

BOOST_AUTO_TEST_CASE(set_ca_value_finds_the_table_however_it_is_spelled) {
  std::string text = "format = 1\n[ca.\"main\"]\n# keep me\ninclude_root = true\n";
  std::string updated = config::set_ca_value(text, "main", "legacy_algorithms", "true");
  auto cfg = config::parse_config(updated);
  BOOST_REQUIRE_MESSAGE(cfg, updated);
  BOOST_TEST(cfg->options_for("main").legacy_algorithms);
  BOOST_TEST(updated.find("# keep me") != std::string::npos);
  // A dotted name gets a quoted table, not a nested one.
  updated = config::set_ca_value(updated, "a.b", "include_root", "false");
  cfg = config::parse_config(updated);
  BOOST_REQUIRE_MESSAGE(cfg, updated);
  BOOST_TEST(!cfg->options_for("a.b").include_root);
  BOOST_TEST(config::ca_section("a.b") == "ca.\"a.b\"");
}

BOOST_AUTO_TEST_SUITE_END()
