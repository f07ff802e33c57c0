#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

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

// The table of per-CA options is the one list: the man pages must list
// exactly its options, with the same type, range and default.
namespace man_page {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(SCEP_SOURCE_DIR) + "/" + relative);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The lines of `page` from the one starting with `from` to the next one
/// starting with `to`.
std::vector<std::string> section(const std::string& page, std::string_view from, std::string_view to) {
  std::vector<std::string> out;
  std::istringstream in(page);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (inside && line.starts_with(to)) break;
    if (line.starts_with(from)) inside = true;
    else if (inside) out.push_back(line);
  }
  return out;
}

/// Each line after a .TP, the tagged paragraphs' tags.
std::vector<std::string> tags(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i)
    if (lines[i] == ".TP") out.push_back(lines[i + 1]);
  return out;
}

/// How scep.toml(5) heads an option's entry.
std::string toml_tag(const config::CaOptionInfo& info) {
  using Type = config::CaOptionInfo::Type;
  std::string value = config::option_literal(info, config::CaOptions{});
  switch (info.type()) {
    case Type::boolean: return fmt::format(".BR {} \" (boolean, default {})\"", info.key, value);
    case Type::integer:
      return fmt::format(".BR {} \" (integer, {}\\(en{}, default {})\"", info.key, info.min, info.max, value);
    case Type::policy_name: return fmt::format(".BR {} \" (string, default \\(dq\\(dq)\"", info.key);
  }
  return {};
}

/// How scepctl(1) heads `ca set`'s option for it.
std::string option_tag(const config::CaOptionInfo& info) {
  using Type = config::CaOptionInfo::Type;
  std::string name = "\\-\\-" + std::string(info.key);
  for (std::size_t at = 0; (at = name.find('_', at)) != std::string::npos;) name.replace(at, 1, "\\-");
  switch (info.type()) {
    case Type::boolean: return fmt::format(".BR {} \" on|off\"", name);
    case Type::integer: return fmt::format(".BI {} \" N\"", name);
    case Type::policy_name: return fmt::format(".BI {} \" NAME\"", name);
  }
  return {};
}

}  // namespace man_page

BOOST_AUTO_TEST_CASE(scep_toml_5_lists_exactly_the_table_of_options) {
  std::vector<std::string> want;
  for (const auto& info : config::ca_option_table()) want.push_back(man_page::toml_tag(info));
  auto got = man_page::tags(man_page::section(man_page::read_source("man/scep.toml.5"), ".SS \"[ca.NAME]\"", ".SH"));
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(scepctl_1_lists_exactly_the_options_of_ca_set) {
  std::vector<std::string> want;
  for (const auto& info : config::ca_option_table()) want.push_back(man_page::option_tag(info));
  auto got = man_page::tags(man_page::section(man_page::read_source("man/scepctl.1"), ".SS \"scepctl ca set", ".SS"));
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_default_scep_toml_shows_every_option_with_its_default) {
  std::string text = config::default_config_text();
  for (const auto& info : config::ca_option_table()) {
    std::string line = fmt::format("# {} = {}", info.key, config::option_literal(info, config::CaOptions{}));
    BOOST_TEST(text.find(line) != std::string::npos, line);
  }
  // Uncommented, the lines are a valid table with the defaults.
  std::string table = "format = 1\n[ca.main]\n";
  for (const auto& info : config::ca_option_table())
    table += fmt::format("{} = {}\n", info.key, config::option_literal(info, config::CaOptions{}));
  auto cfg = config::parse_config(table);
  BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().detail));
  for (const auto& info : config::ca_option_table())
    BOOST_TEST(config::option_literal(info, cfg->options_for("main")) ==
               config::option_literal(info, config::CaOptions{}));
}

BOOST_AUTO_TEST_CASE(range_errors_name_the_range) {
  auto r = config::parse_config("format = 1\n[ca.main]\nmax_pending = -1\n");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().detail == "ca.main.max_pending must be 0..10000000");
}

BOOST_AUTO_TEST_SUITE_END()
