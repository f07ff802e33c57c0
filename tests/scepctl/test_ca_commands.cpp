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

BOOST_AUTO_TEST_SUITE(scepctl_ca)

BOOST_AUTO_TEST_CASE(duplicate_ca_is_refused_with_one_line_and_exit_status) {
  testing::TempDir dir;
  std::ostringstream out, err;
  core::SystemClock clock;
  testing::CountingRng rng;
  scepctl::Env env{out, err, clock, rng, dir.path().string(), false, {}};
  BOOST_TEST(scepctl::run({"ca", "create", "main", "--days", "10"}, env) == 0);
  scepctl::Env env2{out, err, clock, rng, dir.path().string(), false, {}};
  int rc = scepctl::run({"ca", "create", "main"}, env2);
  BOOST_TEST(rc == 4);
  BOOST_TEST(err.str() == "scepctl: error: CA \"main\" already exists\n");
}

BOOST_AUTO_TEST_CASE(ca_create_json_describes_the_new_ca_and_makes_the_first_one_default) {
  Cli cli;
  auto j = cli.json({"--json", "ca", "create", "main", "--key-bits", "2048"});
  BOOST_TEST(j["name"] == "main");
  BOOST_TEST(j["subject"] == "CN=main SCEP CA");
  BOOST_TEST(j["issuer"] == "CN=main SCEP CA");
  BOOST_TEST(j["key"] == "RSA 2048");
  BOOST_TEST(j["not_before"] == "2025-12-31T23:55:00Z");  // backdated five minutes
  BOOST_TEST(j["not_after"] == crypto::format_time(testing::fixed_time() + std::chrono::days(3650)));

  auto st = store::Store::open(cli.store, store::OpenMode::existing);
  BOOST_REQUIRE(st);
  auto cfg = st->load_config();
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server.default_ca == "main");
  auto ca = st->load_ca("main", *cfg);
  BOOST_REQUIRE(ca);
  BOOST_TEST(j["md5"] == crypto::colon_hex(ca->cert.fingerprint(crypto::DigestAlg::md5)));
  BOOST_TEST(j["sha1"] == crypto::colon_hex(ca->cert.fingerprint(crypto::DigestAlg::sha1)));
  BOOST_TEST(j["sha256"] == crypto::colon_hex(ca->cert.fingerprint(crypto::DigestAlg::sha256)));
  BOOST_TEST(j["serial"] == ca->cert.serial_hex());
  BOOST_TEST(j["md5"].get<std::string>().size() == 16u * 3 - 1);
  BOOST_TEST(j["sha256"].get<std::string>().size() == 32u * 3 - 1);
  BOOST_TEST(ca->cert.is_ca());
  auto key = st->load_key("main", scep::KeyRole::ca);
  BOOST_REQUIRE(key);
  BOOST_TEST(ca->cert.matches(*key));
}

BOOST_AUTO_TEST_CASE(later_cas_become_default_only_when_asked) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"ca", "create", "first"}) == 0);
  BOOST_TEST(contains(cli.out, "CA \"first\" created"));
  BOOST_TEST(contains(cli.out, "sha256:"));
  auto j = cli.json({"ca", "create", "second", "--subject", "CN=Second,O=Example", "--days", "10", "--json"});
  BOOST_TEST(j["subject"] == "CN=Second,O=Example");
  BOOST_TEST(j["not_after"] == crypto::format_time(testing::fixed_time() + std::chrono::days(10)));
  BOOST_TEST(cli.json({"--json", "ca", "show", "first"})["default"] == true);
  BOOST_TEST(cli.json({"--json", "ca", "show", "second"})["default"] == false);
  BOOST_REQUIRE(cli.run({"ca", "create", "third", "--default"}) == 0);
  BOOST_TEST(cli.json({"--json", "ca", "show", "third"})["default"] == true);
  BOOST_TEST(cli.json({"--json", "ca", "show", "first"})["default"] == false);
}

BOOST_AUTO_TEST_CASE(an_invalid_ca_name_is_exit_2_with_one_line) {
  Cli cli;
  int rc = cli.run({"ca", "create", "../x"});
  BOOST_TEST(rc == 2);
  BOOST_TEST(contains(cli.error_line(), "../x"));
  BOOST_TEST(cli.out == "");
  BOOST_TEST(!fs::exists(cli.dir.path() / "x"));
  BOOST_TEST(!fs::exists(cli.store / "ca" / ".." / "x"));
  if (fs::exists(cli.store / "ca")) BOOST_TEST(fs::is_empty(cli.store / "ca"));
}

BOOST_AUTO_TEST_CASE(an_invalid_subject_is_exit_2) {
  Cli cli;
  BOOST_TEST(cli.run({"ca", "create", "main", "--subject", "CN="}) == 2);
  cli.error_line();
}

BOOST_AUTO_TEST_CASE(option_values_are_checked_by_the_parser) {
  Cli cli;
  BOOST_TEST(cli.run({"ca", "create", "main", "--key-bits", "1024"}) != 0);
  BOOST_TEST(cli.run({"ca", "create", "main", "--days", "0"}) != 0);
  BOOST_TEST(!fs::exists(cli.store / "ca" / "main"));
}

BOOST_AUTO_TEST_CASE(an_ec_ca_is_created_with_its_rsa_ra_in_one_step) {
  Cli cli;
  auto j = cli.json({"--json", "ca", "create", "ec", "--key-type", "ec-p256"});
  BOOST_TEST(j["key"] == "EC 256");
  BOOST_REQUIRE(j.contains("ra"));
  BOOST_TEST(j["ra"]["key"] == "RSA 2048");
  BOOST_TEST(j["ra"]["subject"] == "CN=ec SCEP RA");
  BOOST_TEST(j["ra"]["issuer"] == "CN=ec SCEP CA");
  auto st = store::Store::open(cli.store, store::OpenMode::existing);
  BOOST_REQUIRE(st);
  auto cfg = st->load_config();
  BOOST_REQUIRE(cfg);
  auto ca = st->load_ca("ec", *cfg);
  BOOST_REQUIRE(ca);
  BOOST_REQUIRE(ca->ra);
  BOOST_TEST(ca->cert.issued(*ca->ra));
  auto ra_key = st->load_key("ec", scep::KeyRole::ra);
  BOOST_REQUIRE(ra_key);
  BOOST_TEST(ca->ra->matches(*ra_key));
  BOOST_TEST(cli.run({"check"}) == 0, cli.out << cli.err);

  // An RSA CA gets no RA unasked; --key-bits and --key-type exclude each other.
  auto rsa = cli.json({"--json", "ca", "create", "big", "--key-type", "rsa-3072"});
  BOOST_TEST(rsa["key"] == "RSA 3072");
  BOOST_TEST(!rsa.contains("ra"));
  BOOST_TEST(cli.run({"ca", "create", "both", "--key-type", "ec-p256", "--key-bits", "2048"}) == 2);
  BOOST_TEST(cli.run({"ca", "create", "bad", "--key-type", "ec-p521"}) == 2);
  BOOST_TEST(!fs::exists(cli.store / "ca" / "both"));
}

BOOST_AUTO_TEST_CASE(an_ec_ra_is_refused_with_one_line_and_the_old_ra_stays) {
  Cli cli;
  BOOST_TEST(cli.run({"ca", "create", "ec", "--key-type", "ec-p384"}) == 0, cli.err);
  std::string before = core::to_string(*store::read_file(cli.store / "ca" / "ec" / "ra.pem", 1 << 20));
  BOOST_TEST(cli.run({"ra", "create", "ec", "--replace", "--key-type", "ec-p256"}) == 2);
  BOOST_TEST(cli.error_line().find("must be RSA") != std::string::npos, cli.err);
  BOOST_TEST(core::to_string(*store::read_file(cli.store / "ca" / "ec" / "ra.pem", 1 << 20)) == before);
  BOOST_TEST(cli.run({"ra", "create", "ec", "--replace", "--key-type", "rsa-3072"}) == 0, cli.err);
}

BOOST_AUTO_TEST_CASE(an_ec_ca_without_its_ra_is_a_problem_for_check) {
  Cli cli;
  BOOST_TEST(cli.run({"ca", "create", "ec", "--key-type", "ec-p256"}) == 0, cli.err);
  fs::remove(cli.store / "ca" / "ec" / "ra.pem");
  fs::remove(cli.store / "ca" / "ec" / "ra-key.pem");
  BOOST_TEST(cli.run({"check"}) == 5);
  BOOST_TEST((cli.out + cli.err).find("scepctl ra create ec") != std::string::npos, cli.out << cli.err);
}

BOOST_AUTO_TEST_CASE(ca_list_and_show_json_describe_certs_chain_ra_and_default) {
  const auto& pki = testing::test_pki();
  Cli cli;
  {
    auto st = seeded_store(cli.store);
    BOOST_REQUIRE(st.add_ca("sub", store::NewCa{pki.inter.cert, copy_key(pki.inter.key), {pki.root.cert}}));
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
    BOOST_REQUIRE(st.set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
    BOOST_REQUIRE(st.set_default_ca("main"));
  }
  auto list = cli.json({"ca", "list", "--json"});
  BOOST_REQUIRE(list.is_array());
  BOOST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0]["not_before"].get<std::string>() <= list[1]["not_before"].get<std::string>());  // by notBefore
  if (list[0]["name"] == "sub") std::swap(list[0], list[1]);
  BOOST_TEST(list[0]["name"] == "main");
  BOOST_TEST(list[1]["name"] == "sub");
  BOOST_TEST(list[0]["default"] == true);
  BOOST_TEST(list[1]["default"] == false);
  BOOST_TEST(list[0]["subject"] == "CN=Test Root CA");
  BOOST_TEST(list[0]["sha256"] == crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::sha256)));
  BOOST_TEST(list[0]["ra"]["subject"] == "CN=Test RA");
  BOOST_TEST(list[0]["ra"]["sha1"] == crypto::colon_hex(pki.ra.cert.fingerprint(crypto::DigestAlg::sha1)));
  BOOST_TEST(list[0]["chain"].empty());
  BOOST_TEST(list[1]["ra"].is_null());
  BOOST_REQUIRE(list[1]["chain"].size() == 1u);
  BOOST_TEST(list[1]["chain"][0]["md5"] == crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::md5)));

  auto show = cli.json({"--json", "ca", "show", "sub"});
  // show adds where the private key is and whether it matches.
  BOOST_TEST(show["private_key"]["location"] == "ca/sub/key.pem");
  BOOST_TEST(show["private_key"]["ok"] == true);
  BOOST_TEST(show["private_key"]["summary"] == "RSA 2048, matches certificate");
  show.erase("private_key");
  BOOST_TEST(show == list[1]);
}

BOOST_AUTO_TEST_CASE(ca_list_text_marks_the_default_and_ra_mode) {
  const auto& pki = testing::test_pki();
  Cli cli;
  {
    auto st = seeded_store(cli.store);
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
    BOOST_REQUIRE(st.add_ca("sub", store::NewCa{pki.inter.cert, copy_key(pki.inter.key), {pki.root.cert}}));
    BOOST_REQUIRE(st.set_ra("sub", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
    BOOST_REQUIRE(st.set_default_ca("sub"));
  }
  BOOST_REQUIRE(cli.run({"ca", "list"}) == 0);
  auto rows = table_rows(cli.out);
  BOOST_TEST_REQUIRE(rows.size() == 3u, cli.out);
  BOOST_TEST(rows[0] == (std::vector<std::string>{"NAME", "DEFAULT", "RA", "NOT_BEFORE", "NOT_AFTER", "SUBJECT"}),
             boost::test_tools::per_element());
  for (const auto& row : {rows[1], rows[2]}) {
    BOOST_TEST_REQUIRE(row.size() >= 6u);
    if (row[0] == "main") BOOST_TEST((row[1] == "no" && row[2] == "no" && contains(cli.out, "CN=Test Root CA\n")));
    else BOOST_TEST((row[0] == "sub" && row[1] == "yes" && row[2] == "yes"));
  }
  BOOST_TEST(rows[1][3] <= rows[2][3]);  // by notBefore
}

BOOST_AUTO_TEST_CASE(ca_list_of_an_empty_store_is_an_empty_array) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  auto list = cli.json({"--json", "ca", "list"});
  BOOST_TEST(list.is_array());
  BOOST_TEST(list.empty());
}

BOOST_AUTO_TEST_CASE(ca_show_of_an_unknown_ca_is_exit_3) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  BOOST_TEST(cli.run({"ca", "show", "nope"}) == 3);
  BOOST_TEST(contains(cli.error_line(), "nope"));
}

BOOST_AUTO_TEST_CASE(a_broken_configuration_is_exit_6) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  BOOST_REQUIRE(store::write_file_atomic(cli.store / "scep.toml", "[server]\nnonsense = 1\n"));
  BOOST_TEST(cli.run({"ca", "list"}) == 6);
  BOOST_TEST(contains(cli.error_line(), "nonsense"));
}

BOOST_AUTO_TEST_SUITE_END()
