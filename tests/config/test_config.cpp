#include <boost/test/unit_test.hpp>

#include "config/config.hpp"

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

BOOST_AUTO_TEST_SUITE_END()
