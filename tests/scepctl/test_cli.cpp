// One consistent CLI: usage errors, listings, the default CA, ca set, crl show, check --strict.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

#include "store/atomic_file.hpp"

#include "cli_fixture.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  auto bytes = store::read_file(p, 1u << 20);
  BOOST_REQUIRE(bytes);
  return core::to_string(*bytes);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_cli)

BOOST_AUTO_TEST_CASE(an_unknown_command_names_the_closest_one_and_exits_2) {
  Cli cli;
  BOOST_TEST(cli.run({"certz"}) == 2);
  BOOST_TEST(cli.err == "scepctl: error: unknown command 'certz' (did you mean 'certs'?)\n");
  BOOST_TEST(cli.run({"--store", "x", "ca", "lsit"}) == 2);
  BOOST_TEST(cli.err == "scepctl: error: unknown command 'ca lsit' (did you mean 'ca list'?)\n");
  BOOST_TEST(cli.run({"secret", "--json", "rev"}) == 2);
  BOOST_TEST(cli.err == "scepctl: error: unknown command 'secret rev' (did you mean 'secret revoke'?)\n");
  BOOST_TEST(cli.run({"cert"}) == 2);
  BOOST_TEST(cli.err == "scepctl: error: 'cert' needs a command (commands: show)\n");
  BOOST_TEST(cli.run({"--json"}) == 2);
  BOOST_TEST(contains(cli.error_line(), "a command is required (commands: init, ca, "));
  BOOST_TEST(cli.run({"--bogus", "ca", "list"}) == 2);
  BOOST_TEST(contains(cli.error_line(), "--bogus"));
  BOOST_TEST(cli.run({"zzzzzzzz"}) == 2);
  BOOST_TEST(contains(cli.error_line(), "unknown command 'zzzzzzzz' (commands: "));
}

BOOST_AUTO_TEST_CASE(option_parser_errors_exit_2_with_one_line) {
  Cli cli;
  for (auto args : std::vector<std::vector<std::string>>{
           {"certs", "--bogus"}, {"secret", "create", "--ca"}, {"ca", "create", "x", "--key-bits", "7"}, {"ca"}}) {
    BOOST_TEST(cli.run(args) == 2, args[0]);
    cli.error_line();
  }
  BOOST_TEST(!fs::exists(cli.store));
}

BOOST_AUTO_TEST_CASE(empty_listings_say_so_on_stderr_and_print_nothing) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  for (auto [args, none] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{{{"ca", "list"}, "no CAs"},
                                                                     {{"secret", "list"}, "no secrets"},
                                                                     {{"policy", "list"}, "no policies"},
                                                                     {{"pending"}, "no pending requests"},
                                                                     {{"certs"}, "no certificates"}}) {
    BOOST_TEST(cli.run(args) == 0);
    BOOST_TEST(cli.out.empty());
    BOOST_TEST(cli.err == none + "\n");
    args.insert(args.begin(), "--json");
    BOOST_TEST(cli.json(args).empty());
    BOOST_TEST(cli.err.empty());
  }
}

BOOST_AUTO_TEST_CASE(listings_have_a_header_and_sort_by_time) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"ca", "create", "main"}) == 0);
  BOOST_REQUIRE(cli.run({"policy", "create", "zeta"}) == 0);
  cli.clock = core::FixedClock{testing::fixed_time() + std::chrono::hours(1)};
  BOOST_REQUIRE(cli.run({"policy", "create", "alpha"}) == 0);
  fs::last_write_time(cli.store / "policies" / "alpha.toml",
                      fs::last_write_time(cli.store / "policies" / "zeta.toml") + std::chrono::seconds(5));
  BOOST_REQUIRE(cli.run({"--json", "secret", "create", "--policy", "alpha"}) == 0);
  auto late = nlohmann::json::parse(cli.out)["id"];
  cli.clock = core::FixedClock{testing::fixed_time()};
  BOOST_REQUIRE(cli.run({"--json", "secret", "create", "--policy", "alpha"}) == 0);
  auto early = nlohmann::json::parse(cli.out)["id"];

  BOOST_REQUIRE(cli.run({"secret", "list"}) == 0);
  auto rows = table_rows(cli.out);
  BOOST_TEST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0] == (std::vector<std::string>{"ID", "STATE", "USES", "CA", "POLICY", "CREATED", "EXPIRES", "CN"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[1][0] == early.get<std::string>());
  BOOST_TEST(rows[2][0] == late.get<std::string>());
  BOOST_REQUIRE(cli.run({"policy", "list"}) == 0);
  rows = table_rows(cli.out);
  BOOST_TEST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0][0] == "NAME");
  BOOST_TEST(rows[1][0] == "zeta");
  BOOST_TEST(rows[2][0] == "alpha");
}

BOOST_AUTO_TEST_CASE(ca_options_default_to_the_default_ca) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"ca", "create", "first"}) == 0);
  BOOST_REQUIRE(cli.run({"policy", "create", "p"}) == 0);
  BOOST_TEST(cli.json({"--json", "secret", "create", "--policy", "p"})["ca"] == "first");  // the only CA
  BOOST_REQUIRE(cli.run({"ca", "create", "second", "--default"}) == 0);
  BOOST_TEST(cli.json({"--json", "secret", "create", "--policy", "p"})["ca"] == "second");
  BOOST_TEST(cli.json({"--json", "ca", "show"})["name"] == "second");
  BOOST_TEST(cli.json({"--json", "ca", "set", "--crl-days", "2"})["ca"] == "second");
  auto text = read_text(cli.store / "scep.toml");
  BOOST_REQUIRE(
      store::write_file_atomic(cli.store / "scep.toml", config::set_value(text, "server", "default_ca", "\"\"")));
  for (auto args : std::vector<std::vector<std::string>>{{"secret", "create", "--policy", "p"},
                                                         {"ca", "show"},
                                                         {"export"},
                                                         {"crl"},
                                                         {"crl", "show"},
                                                         {"ca", "set", "--crl-days", "3"}}) {
    BOOST_TEST(cli.run(args) == 2, args[0]);
    BOOST_TEST(contains(cli.error_line(), "2 CAs (first, second) and no default CA"), cli.err);
  }
  BOOST_TEST(cli.json({"--json", "secret", "create", "--ca", "first", "--policy", "p"})["ca"] == "first");
}

BOOST_AUTO_TEST_CASE(ca_set_writes_every_per_ca_key_and_refuses_bad_values_unchanged) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"ca", "create", "main"}) == 0);
  BOOST_REQUIRE(cli.run({"policy", "create", "manual"}) == 0);
  auto j = cli.json({"--json",
                     "ca",
                     "set",
                     "main",
                     "--legacy-algorithms",
                     "on",
                     "--include-root",
                     "off",
                     "--manual-enrollment",
                     "off",
                     "--max-pending",
                     "12",
                     "--pending-days",
                     "3",
                     "--manual-policy",
                     "manual",
                     "--crl-days",
                     "5",
                     "--renewal-grace-days",
                     "9"});
  BOOST_TEST(j["changed"].size() == 8u);
  auto st = store::Store::open(cli.store, store::OpenMode::existing);
  BOOST_REQUIRE(st);
  auto cfg = st->load_config();
  BOOST_REQUIRE(cfg);
  const auto& o = cfg->options_for("main");
  BOOST_TEST(o.legacy_algorithms);
  BOOST_TEST(!o.include_root);
  BOOST_TEST(!o.manual_enrollment);
  BOOST_TEST(o.max_pending == 12);
  BOOST_TEST(o.pending_days == 3);
  BOOST_TEST(o.manual_policy == "manual");
  BOOST_TEST(o.crl_days == 5);
  BOOST_TEST(o.renewal_grace_days == 9);
  BOOST_TEST(j["options"]["max_pending"] == 12);
  BOOST_TEST(j["options"]["manual_policy"] == "manual");

  auto before = read_text(cli.store / "scep.toml");
  for (auto args : std::vector<std::vector<std::string>>{{"--legacy-algorithms", "maybe"},
                                                         {"--max-pending", "-1"},
                                                         {"--pending-days", "0"},
                                                         {"--crl-days", "3651"},
                                                         {"--renewal-grace-days", "1x"},
                                                         {"--manual-policy", "../x"},
                                                         {"--crl-days", "4", "--pending-days", "0"},
                                                         {}}) {
    args.insert(args.begin(), {"ca", "set", "main"});
    BOOST_TEST(cli.run(args) == 2, (args.size() > 3 ? args[3] : std::string("nothing")));
    cli.error_line();
    BOOST_TEST(read_text(cli.store / "scep.toml") == before);
  }
  BOOST_TEST(cli.run({"ca", "set", "main", "--manual-policy", "nosuch"}) == 3);
  BOOST_TEST(read_text(cli.store / "scep.toml") == before);
}

BOOST_AUTO_TEST_CASE(crl_show_reads_the_crl_and_crl_signs_one) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"ca", "create", "main"}) == 0);
  BOOST_TEST(cli.run({"crl", "show"}) == 3);  // none yet
  BOOST_REQUIRE(cli.run({"crl"}) == 0);
  auto signed_once = read_text(cli.store / "ca" / "main" / "crl.der");
  auto j = cli.json({"--json", "crl", "show"});
  for (const char* key :
       {"ca", "issuer", "number", "this_update", "next_update", "current", "verified", "revoked", "pem"})
    BOOST_TEST(j.contains(key), key);
  BOOST_TEST(j["verified"] == true);
  BOOST_REQUIRE(cli.run({"crl", "show", "main", "--pem"}) == 0);
  BOOST_TEST(contains(cli.out, "number:"));
  BOOST_TEST(contains(cli.out, "-----BEGIN X509 CRL-----"));
  BOOST_TEST(read_text(cli.store / "ca" / "main" / "crl.der") == signed_once);
  BOOST_REQUIRE(cli.run({"crl", "main"}) == 0);
  BOOST_TEST(read_text(cli.store / "ca" / "main" / "crl.der") != signed_once);
  BOOST_TEST(cli.json({"--json", "crl", "show"})["number"] == j["number"].get<int>() + 1);

  BOOST_REQUIRE(cli.run({"ca", "create", "show"}) == 0);  // a CA called "show"
  BOOST_TEST(cli.run({"crl", "show"}) == 2);
  BOOST_TEST(contains(cli.error_line(), "a CA is called \"show\""));
  BOOST_REQUIRE(cli.run({"crl", "--ca", "show"}) == 0);
  BOOST_TEST(contains(cli.out, "-----BEGIN X509 CRL-----"));
  BOOST_TEST(cli.json({"--json", "crl", "show", "show"})["ca"] == "show");
}

BOOST_AUTO_TEST_CASE(check_strict_fails_on_a_ca_that_expires_soon) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"ca", "create", "soon", "--days", "10"}) == 0);
  BOOST_TEST(cli.run({"check"}) == 0);
  BOOST_TEST(contains(cli.out, "warning: the CA certificate expires in 10 day(s)"));
  BOOST_TEST(cli.run({"check", "--strict"}) == 5);
  BOOST_TEST(contains(cli.error_line(), "1 warning(s) found (--strict)"));
  BOOST_TEST(cli.json({"--json", "check"})["cas"][0]["warnings"].size() == 1u);
}

BOOST_AUTO_TEST_CASE(init_export_and_ca_set_print_json) {
  Cli cli;
  BOOST_TEST(cli.json({"--json", "init"})["created"] == true);
  BOOST_TEST(cli.json({"--json", "init"})["created"] == false);
  BOOST_REQUIRE(cli.run({"ca", "create", "main"}) == 0);
  auto e = cli.json({"--json", "export"});
  BOOST_TEST(e["ca"] == "main");
  BOOST_TEST(e["format"] == "pem");
  BOOST_TEST(e["certificates"].size() == 1u);
  BOOST_TEST(contains(e["pem"].get<std::string>(), "BEGIN CERTIFICATE"));
  BOOST_TEST(!cli.json({"--json", "export", "main", "--format", "der"})["base64"].get<std::string>().empty());
}

BOOST_AUTO_TEST_SUITE_END()
