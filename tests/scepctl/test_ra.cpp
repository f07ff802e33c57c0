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

namespace {

/// A store whose CA "main" is the test root (no RA yet).
void seed_main(const fs::path& root) {
  const auto& pki = testing::test_pki();
  auto st = seeded_store(root);
  BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
}

std::string ra_pem(const fs::path& root) {
  auto bytes = store::read_file(root / "ca" / "main" / "ra.pem");
  BOOST_REQUIRE(bytes);
  return core::to_string(*bytes);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_ra)

BOOST_AUTO_TEST_CASE(ra_create_issues_an_ra_certificate_from_the_ca) {
  const auto& pki = testing::test_pki();
  Cli cli;
  seed_main(cli.store);
  auto j = cli.json({"--json", "ra", "create", "main"});
  BOOST_TEST(j["ca"] == "main");
  BOOST_TEST(j["subject"] == "CN=main SCEP RA");
  BOOST_TEST(j["issuer"] == "CN=Test Root CA");
  BOOST_TEST(j["not_before"] == "2025-12-31T23:55:00Z");

  auto st = store::Store::open(cli.store, store::OpenMode::existing);
  BOOST_REQUIRE(st);
  auto ca = st->load_ca("main", config::Config{});
  BOOST_REQUIRE(ca);
  BOOST_REQUIRE(ca->ra.has_value());
  BOOST_TEST(j["sha256"] == crypto::colon_hex(ca->ra->fingerprint(crypto::DigestAlg::sha256)));
  BOOST_TEST(pki.root.cert.issued(*ca->ra));
  BOOST_TEST(!ca->ra->is_ca());
  BOOST_TEST(ca->ra->key_usage() == (crypto::ku_digital_signature | crypto::ku_key_encipherment));
  auto key = st->load_key("main", scep::KeyRole::ra);
  BOOST_REQUIRE(key);
  BOOST_TEST(ca->ra->matches(*key));
}

BOOST_AUTO_TEST_CASE(a_second_ra_is_refused_with_exit_4_and_replace_works) {
  Cli cli;
  seed_main(cli.store);
  BOOST_REQUIRE(cli.run({"ra", "create", "main"}) == 0);
  BOOST_TEST(contains(cli.out, "RA mode"));
  std::string first = ra_pem(cli.store);

  BOOST_TEST(cli.run({"ra", "create", "main", "--subject", "CN=Other RA"}) == 4);
  BOOST_TEST(contains(cli.error_line(), "--replace"));
  BOOST_TEST(ra_pem(cli.store) == first);

  auto j = cli.json({"--json", "ra", "create", "main", "--replace", "--subject", "CN=New RA,O=Example"});
  BOOST_TEST(j["subject"] == "CN=New RA,O=Example");
  BOOST_TEST(ra_pem(cli.store) != first);
  auto show = cli.json({"--json", "ca", "show", "main"});
  BOOST_TEST(show["ra"]["subject"] == "CN=New RA,O=Example");
  BOOST_TEST(show["ra"]["sha256"] == j["sha256"]);
}

BOOST_AUTO_TEST_CASE(ra_validity_never_outlasts_the_ca) {
  const auto& pki = testing::test_pki();
  Cli cli;
  seed_main(cli.store);
  auto j = cli.json({"--json", "ra", "create", "main", "--days", "36500"});
  BOOST_TEST(j["not_after"] == crypto::format_time(pki.root.cert.not_after()));
}

BOOST_AUTO_TEST_CASE(ra_create_for_an_unknown_or_invalid_ca_fails) {
  Cli cli;
  seed_main(cli.store);
  BOOST_TEST(cli.run({"ra", "create", "nope"}) == 3);
  BOOST_TEST(contains(cli.error_line(), "nope"));
  BOOST_TEST(cli.run({"ra", "create", "../main"}) == 2);
  cli.error_line();
}

BOOST_AUTO_TEST_CASE(ra_needs_a_subcommand) {
  Cli cli;
  BOOST_TEST(cli.run({"ra"}) != 0);
}

BOOST_AUTO_TEST_SUITE_END()
