#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/pkcs7.hpp"
#include "env.hpp"
#include "store/atomic_file.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include "cli_fixture.hpp"

namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(scepctl_init)

BOOST_AUTO_TEST_CASE(init_creates_a_store_with_a_commented_configuration) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  BOOST_TEST(cli.out == "store ready at " + cli.store.string() + "\n");
  auto format = store::read_file(cli.store / "FORMAT");
  BOOST_REQUIRE(format);
  BOOST_TEST(core::to_string(*format) == "scep-store 1\n");
  auto text = store::read_file(cli.store / "scep.toml");
  BOOST_REQUIRE(text);
  std::string toml = core::to_string(*text);
  BOOST_TEST(toml.starts_with("#"));
  BOOST_TEST(std::count(toml.begin(), toml.end(), '#') >= 3);
  auto cfg = config::parse_config(toml);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.path == "/scep");
  BOOST_TEST(fs::is_directory(cli.store / "ca"));
}

BOOST_AUTO_TEST_CASE(init_twice_keeps_the_configuration) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  std::string edited = "# edited\n[server]\npath = \"/mine\"\n";
  BOOST_REQUIRE(store::write_file_atomic(cli.store / "scep.toml", edited));
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  auto text = store::read_file(cli.store / "scep.toml");
  BOOST_REQUIRE(text);
  BOOST_TEST(core::to_string(*text) == edited);
}

BOOST_AUTO_TEST_CASE(init_refuses_a_store_of_another_format) {
  Cli cli;
  fs::create_directories(cli.store);
  BOOST_REQUIRE(store::write_file_atomic(cli.store / "FORMAT", "scep-store 2\n"));
  BOOST_TEST(cli.run({"init"}) == 5);
  BOOST_TEST(contains(cli.error_line(), "scep-store 2"));
}

BOOST_AUTO_TEST_CASE(the_store_option_overrides_the_default_location) {
  Cli cli;
  fs::path other = cli.dir.path() / "other";
  BOOST_REQUIRE(cli.run({"--store", other.string(), "init"}) == 0);
  BOOST_TEST(fs::exists(other / "FORMAT"));
  BOOST_TEST(!fs::exists(cli.store));
}

BOOST_AUTO_TEST_CASE(commands_on_a_missing_store_point_to_init) {
  Cli cli;
  for (auto args : std::vector<std::vector<std::string>>{
           {"ca", "list"}, {"ca", "show", "main"}, {"ra", "create", "main"}, {"export", "main"}}) {
    BOOST_TEST(cli.run(args) == 3, args[0] << " " << args[1]);
    BOOST_TEST(contains(cli.error_line(), "scepctl init"), args[0] << " " << args[1]);
    BOOST_TEST(!fs::exists(cli.store), args[0] << " " << args[1]);
  }
}

BOOST_AUTO_TEST_CASE(no_subcommand_is_a_usage_error) {
  Cli cli;
  BOOST_TEST(cli.run({}) != 0);
  BOOST_TEST(cli.run({"frobnicate"}) != 0);
  BOOST_TEST(!fs::exists(cli.store));
}

BOOST_AUTO_TEST_SUITE_END()
