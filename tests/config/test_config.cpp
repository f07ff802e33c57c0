#include <boost/test/unit_test.hpp>

#include <string>

#include "config/config.hpp"

namespace {

/// Parses `text`, which must fail with config_invalid; returns the detail.
std::string refused(std::string_view text) {
  auto cfg = config::parse_config(text);
  BOOST_REQUIRE_MESSAGE(!cfg, "accepted: " << text);
  BOOST_TEST(cfg.error().code == core::Errc::config_invalid);
  return cfg.error().detail;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(config_parse)

BOOST_AUTO_TEST_CASE(default_text_parses_to_defaults) {
  auto cfg = config::parse_config(config::default_config_text());
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.listen == "0.0.0.0:8080");
  BOOST_TEST(cfg->server.path == "/scep");
  BOOST_TEST(cfg->server.default_ca == "");
  BOOST_TEST(cfg->options_for("any").include_root);
}

BOOST_AUTO_TEST_CASE(set_value_keeps_comments_and_replaces_in_place) {
  std::string text = config::default_config_text();
  std::string updated = config::set_value(text, "server", "default_ca", config::quote("main"));
  auto cfg = config::parse_config(updated);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.default_ca == "main");
  BOOST_TEST(updated.find("# Address and port") != std::string::npos);
  BOOST_TEST(updated.size() == text.size() + 4);  // "" -> "main", nothing else changed
}

BOOST_AUTO_TEST_CASE(an_empty_file_gives_the_defaults) {
  auto cfg = config::parse_config("");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.path == "/scep");
  BOOST_TEST(cfg->server.listen == "0.0.0.0:8080");
  BOOST_TEST(cfg->cas.empty());
}

BOOST_AUTO_TEST_CASE(values_are_read) {
  auto cfg = config::parse_config(
      "format = 1\n[server]\nlisten = \"127.0.0.1:9000\"\npath = \"/cgi-bin/pkiclient.exe\"\ndefault_ca = \"main\"\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.listen == "127.0.0.1:9000");
  BOOST_TEST(cfg->server.path == "/cgi-bin/pkiclient.exe");
  BOOST_TEST(cfg->server.default_ca == "main");
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_refused_with_their_name) {
  BOOST_TEST(contains(refused("format = 1\ncolour = \"blue\"\n"), "colour"));
  BOOST_TEST(contains(refused("[server]\nlisten = \"x:1\"\nport = 80\n"), "server.port"));
  BOOST_TEST(contains(refused("[ca.main]\ninclude_root = true\ninclude_roots = false\n"), "include_roots"));
  BOOST_TEST(contains(refused("[serve]\nlisten = \"x:1\"\n"), "serve"));
}

BOOST_AUTO_TEST_CASE(wrong_value_types_are_refused_with_the_key_name) {
  BOOST_TEST(contains(refused("[server]\nlisten = 8080\n"), "server.listen"));
  BOOST_TEST(contains(refused("[server]\npath = true\n"), "server.path"));
  BOOST_TEST(contains(refused("[server]\ndefault_ca = 1\n"), "server.default_ca"));
  BOOST_TEST(contains(refused("[ca.main]\ninclude_root = \"no\"\n"), "include_root"));
  BOOST_TEST(contains(refused("[ca]\nmain = 1\n"), "ca.main"));
}

// Regression (was a bug): parse_config only looks at [server] and [ca] when they are tables;
// `server = "x"` or `ca = 5` (wrong type for a known key) is silently ignored
// instead of being refused as config_invalid.
BOOST_AUTO_TEST_CASE(known_sections_of_the_wrong_type_are_refused) {
  refused("server = \"/scep\"\n");
  refused("ca = 5\n");
}

BOOST_AUTO_TEST_CASE(other_format_versions_are_refused) {
  BOOST_TEST(contains(refused("format = 2\n"), "format 2"));
  refused("format = 0\n");
  BOOST_TEST(config::parse_config("format = 1\n").has_value());
}

// Regression (was a bug): `format = "2"` (a string) is accepted: parse_config only checks the
// version when `format` is an integer, so a wrong type slips through.
BOOST_AUTO_TEST_CASE(a_format_that_is_not_an_integer_is_refused) {
  refused("format = \"2\"\n");
  refused("format = \"1\"\n");
}

BOOST_AUTO_TEST_CASE(toml_syntax_errors_name_the_line) {
  BOOST_TEST(contains(refused("format = 1\n[server\nlisten = 1\n"), "line 2"));
}

BOOST_AUTO_TEST_CASE(server_path_must_start_with_a_slash) {
  BOOST_TEST(contains(refused("[server]\npath = \"scep\"\n"), "server.path"));
  refused("[server]\npath = \"\"\n");
  auto root = config::parse_config("[server]\npath = \"/\"\n");
  BOOST_REQUIRE(root);
  BOOST_TEST(root->server.path == "/");
}

BOOST_AUTO_TEST_CASE(connection_limits_are_read_and_range_checked) {
  auto defaults = config::parse_config(config::default_config_text());
  BOOST_REQUIRE(defaults);
  BOOST_TEST(defaults->server.max_connections == 0);
  BOOST_TEST(!defaults->server.max_connections_per_client.has_value());
  auto cfg = config::parse_config("[server]\nmax_connections = 500\nmax_connections_per_client = 0\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.max_connections == 500);
  BOOST_TEST((cfg->server.max_connections_per_client == 0));
  cfg = config::parse_config("[server]\nmax_connections_per_client = 64\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST((cfg->server.max_connections_per_client == 64));
  BOOST_TEST(contains(refused("[server]\nmax_connections_per_client = -1\n"), "server.max_connections_per_client"));
  BOOST_TEST(contains(refused("[server]\nmax_connections_per_client = 4.0\n"), "server.max_connections_per_client"));
  BOOST_TEST(contains(refused("[server]\nmax_connections = 2000000\n"), "server.max_connections"));
}

BOOST_AUTO_TEST_CASE(log_format_and_metrics_settings_are_read_and_checked) {
  auto defaults = config::parse_config(config::default_config_text());
  BOOST_REQUIRE(defaults);
  BOOST_TEST(defaults->server.log_format == "text");
  BOOST_TEST(defaults->server.metrics_listen.empty());
  BOOST_TEST(defaults->server.metrics_path.empty());
  auto cfg = config::parse_config(
      "[server]\nlog_format = \"json\"\nmetrics_listen = \"127.0.0.1:9180\"\nmetrics_path = \"/metrics\"\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.log_format == "json");
  BOOST_TEST(cfg->server.metrics_listen == "127.0.0.1:9180");
  BOOST_TEST(cfg->server.metrics_path == "/metrics");
  BOOST_TEST(contains(refused("[server]\nlog_format = \"xml\"\n"), "server.log_format"));
  BOOST_TEST(contains(refused("[server]\nmetrics_path = \"metrics\"\n"), "server.metrics_path"));
  BOOST_TEST(contains(refused("[server]\nmetrics_path = \"/\"\n"), "server.metrics_path"));
  BOOST_TEST(contains(refused("[server]\nmetrics_listen = 9180\n"), "server.metrics_listen"));
}

BOOST_AUTO_TEST_CASE(default_ca_must_be_a_valid_name_or_empty) {
  for (std::string_view bad : {"../x", "a/b", "..", ".hidden", "a b"})
    BOOST_TEST(contains(refused("[server]\ndefault_ca = \"" + std::string(bad) + "\"\n"), "default_ca"), bad);
  BOOST_TEST(config::parse_config("[server]\ndefault_ca = \"\"\n").has_value());
  BOOST_TEST(config::parse_config("[server]\ndefault_ca = \"ca-1.example_2\"\n").has_value());
}

BOOST_AUTO_TEST_CASE(per_ca_options_apply_to_that_ca_only) {
  auto cfg = config::parse_config("[ca.\"name.with.dots\"]\ninclude_root = false\n\n[ca.other]\ninclude_root = true\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->cas.size() == 2u);
  BOOST_TEST(!cfg->options_for("name.with.dots").include_root);
  BOOST_TEST(cfg->options_for("other").include_root);
  BOOST_TEST(cfg->options_for("name").include_root);  // not a prefix match
  BOOST_TEST(cfg->options_for("unlisted").include_root);
}

BOOST_AUTO_TEST_CASE(an_empty_ca_table_keeps_the_defaults) {
  auto cfg = config::parse_config("[ca.main]\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->cas.count("main") == 1u);
  BOOST_TEST(cfg->options_for("main").include_root);
}

BOOST_AUTO_TEST_CASE(per_ca_tables_need_valid_ca_names) {
  BOOST_TEST(contains(refused("[ca.\"../x\"]\ninclude_root = false\n"), "../x"));
  refused("[ca.\"a/b\"]\n");
  refused("[ca.\"..\"]\n");
}

BOOST_AUTO_TEST_CASE(quote_escapes_quotes_and_backslashes) {
  BOOST_TEST(config::quote("main") == "\"main\"");
  BOOST_TEST(config::quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  auto cfg = config::parse_config("[server]\nlisten = " + config::quote("a\"b\\c") + "\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.listen == "a\"b\\c");
}

BOOST_AUTO_TEST_CASE(quote_escapes_control_characters_so_they_parse_back) {
  // fuzz_config: a policy regex with a control character (written as an
  // escape) rendered raw, and the rendered file no longer parsed.
  BOOST_TEST(config::quote("a\nb\tc") == "\"a\\nb\\tc\"");
  BOOST_TEST(config::quote(std::string("\x01\x7f", 2)) == "\"\\u0001\\u007F\"");
  std::string all;
  for (int c = 1; c < 0x80; ++c) all += static_cast<char>(c);
  all += "\xc3\xa9";  // UTF-8 passes through
  auto cfg = config::parse_config("[server]\nlisten = " + config::quote(all) + "\n");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.listen == all);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config_set_value)

BOOST_AUTO_TEST_CASE(replaces_an_existing_key_and_nothing_else) {
  std::string text =
      "# top comment\n"
      "format = 1\n"
      "\n"
      "[server]\n"
      "# where to listen\n"
      "listen = \"0.0.0.0:8080\"\n"
      "default_ca = \"old\"   \n"
      "# trailing comment\n"
      "\n"
      "[ca.main]\n"
      "include_root = false\n";
  std::string want =
      "# top comment\n"
      "format = 1\n"
      "\n"
      "[server]\n"
      "# where to listen\n"
      "listen = \"0.0.0.0:8080\"\n"
      "default_ca = \"new\"\n"
      "# trailing comment\n"
      "\n"
      "[ca.main]\n"
      "include_root = false\n";
  BOOST_TEST(config::set_value(text, "server", "default_ca", "\"new\"") == want);
}

BOOST_AUTO_TEST_CASE(adds_a_missing_key_after_the_sections_last_setting) {
  std::string text =
      "[server]\n"
      "listen = \"0.0.0.0:8080\"\n"
      "\n"
      "# Per-CA options\n"
      "[ca.main]\n"
      "include_root = false\n";
  std::string want =
      "[server]\n"
      "listen = \"0.0.0.0:8080\"\n"
      "default_ca = \"main\"\n"
      "\n"
      "# Per-CA options\n"
      "[ca.main]\n"
      "include_root = false\n";
  std::string updated = config::set_value(text, "server", "default_ca", "\"main\"");
  BOOST_TEST(updated == want);
  auto cfg = config::parse_config(updated);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.default_ca == "main");
  BOOST_TEST(!cfg->options_for("main").include_root);
}

BOOST_AUTO_TEST_CASE(adds_a_missing_section_at_the_end) {
  std::string text = "# only a comment\nformat = 1\n";
  std::string updated = config::set_value(text, "server", "default_ca", "\"main\"");
  BOOST_TEST(updated == "# only a comment\nformat = 1\n\n[server]\ndefault_ca = \"main\"\n");
  auto cfg = config::parse_config(updated);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.default_ca == "main");
}

BOOST_AUTO_TEST_CASE(adds_a_section_to_an_empty_file) {
  BOOST_TEST(config::set_value("", "server", "default_ca", "\"x\"") == "[server]\ndefault_ca = \"x\"\n");
}

BOOST_AUTO_TEST_CASE(a_commented_out_key_is_left_alone) {
  std::string text = "[server]\n# default_ca = \"old\"\nlisten = \"a:1\"\n";
  std::string updated = config::set_value(text, "server", "default_ca", "\"new\"");
  BOOST_TEST(updated == "[server]\n# default_ca = \"old\"\nlisten = \"a:1\"\ndefault_ca = \"new\"\n");
}

BOOST_AUTO_TEST_CASE(the_same_key_in_another_section_is_left_alone) {
  std::string text = "[ca.a]\ninclude_root = false\n\n[ca.b]\ninclude_root = false\n";
  std::string updated = config::set_value(text, "ca.b", "include_root", "true");
  BOOST_TEST(updated == "[ca.a]\ninclude_root = false\n\n[ca.b]\ninclude_root = true\n");
  auto cfg = config::parse_config(updated);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(!cfg->options_for("a").include_root);
  BOOST_TEST(cfg->options_for("b").include_root);
}

BOOST_AUTO_TEST_CASE(a_key_with_a_longer_name_is_not_mistaken_for_the_key) {
  std::string text = "[server]\ndefault_ca_old = 1\n";
  std::string updated = config::set_value(text, "server", "default_ca", "\"x\"");
  BOOST_TEST(updated == "[server]\ndefault_ca_old = 1\ndefault_ca = \"x\"\n");
}

// Regression (was a bug): set_value recognises a section only when its header line is exactly
// "[server]"; a header with a trailing comment ("[server]  # main settings",
// valid TOML) is not found, a second [server] table is appended, and the
// result no longer parses (TOML forbids redefining a table). `scepctl ca
// create` then fails on such a hand-edited scep.toml.
BOOST_AUTO_TEST_CASE(finds_a_section_header_with_a_trailing_comment) {
  std::string text = "[server]  # main settings\nlisten = \"a:1\"\n";
  std::string updated = config::set_value(text, "server", "default_ca", "\"main\"");
  auto cfg = config::parse_config(updated);
  BOOST_REQUIRE_MESSAGE(cfg, updated);
  BOOST_TEST(cfg->server.default_ca == "main");
  BOOST_TEST(cfg->server.listen == "a:1");
}

BOOST_AUTO_TEST_SUITE_END()
