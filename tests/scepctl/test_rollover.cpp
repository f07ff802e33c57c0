// scepctl ca rollover / ca activate: a self-signed CA's next generation made
// here, an imported intermediate's next one checked as `ca import` checks a
// CA, the refusals, and the activation.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/cert_builder.hpp"
#include "env.hpp"
#include "store/atomic_file.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include "cli_fixture.hpp"

namespace fs = std::filesystem;

namespace {

std::string write_file(const fs::path& dir, const std::string& name, std::string_view data) {
  BOOST_REQUIRE(store::write_file_atomic(dir / name, data, 0600));
  return (dir / name).string();
}

/// An intermediate CA certificate signed by the test root for `key`, valid
/// from `not_before`.
crypto::Certificate intermediate(std::string_view subject, const crypto::PrivateKey& key, core::TimePoint not_before) {
  const auto& pki = testing::test_pki();
  testing::CountingRng rng(11);
  crypto::CertSpec spec;
  spec.subject = *crypto::subject_der_from_text(subject);
  spec.serial = crypto::random_serial(rng);
  spec.not_before = not_before;
  spec.not_after = not_before + std::chrono::days(1000);
  spec.ca = true;
  spec.key_usage = crypto::ku_key_cert_sign | crypto::ku_crl_sign | crypto::ku_digital_signature |
                   crypto::ku_key_encipherment;
  auto cert = crypto::build_certificate(spec, key.public_key(), &pki.root.cert, pki.root.key);
  BOOST_REQUIRE_MESSAGE(cert, (cert ? "" : cert.error().detail));
  return *cert;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_rollover)

BOOST_AUTO_TEST_CASE(a_self_signed_ca_rolls_over_and_activates) {
  Cli cli;
  auto created = cli.json({"--json", "ca", "create", "main", "--days", "400"});
  auto next = cli.json({"--json", "ca", "rollover", "main"});
  BOOST_TEST(next["subject"] == created["subject"]);
  BOOST_TEST(next["sha256"] != created["sha256"]);
  // The current lifetime by default: under the fixed clock, the same notAfter.
  BOOST_TEST(next["not_after"] == created["not_after"]);
  // A second one is refused unless --replace.
  BOOST_TEST(cli.run({"ca", "rollover", "main"}) == 4);
  BOOST_TEST(cli.error_line().find("--replace") != std::string::npos);
  auto replaced = cli.json({"--json", "ca", "rollover", "main", "--replace", "--days", "30"});
  BOOST_TEST(replaced["sha256"] != next["sha256"]);
  auto show = cli.json({"--json", "ca", "show", "main"});
  BOOST_TEST(show["sha256"] == created["sha256"]);
  BOOST_TEST(show["next"]["sha256"] == replaced["sha256"]);
  BOOST_TEST(show["retired"].empty());

  auto activated = cli.json({"--json", "ca", "activate", "main"});
  BOOST_TEST(activated["sha256"] == replaced["sha256"]);
  BOOST_TEST(activated["retired"] == created["serial"]);
  show = cli.json({"--json", "ca", "show", "main"});
  BOOST_TEST(show["sha256"] == replaced["sha256"]);
  BOOST_TEST(show["next"].is_null());
  BOOST_REQUIRE(show["retired"].size() == 1u);
  BOOST_TEST(show["retired"][0]["id"] == created["serial"]);
  BOOST_TEST(show["retired"][0]["sha256"] == created["sha256"]);
  // Nothing left to activate.
  BOOST_TEST(cli.run({"ca", "activate", "main"}) == 3);
  BOOST_TEST(cli.error_line().find("no next certificate") != std::string::npos);
  BOOST_TEST(cli.run({"check"}) == 0, cli.out << cli.err);
  BOOST_TEST(cli.out.find("retired " + created["serial"].get<std::string>()) != std::string::npos, cli.out);
}

BOOST_AUTO_TEST_CASE(an_imported_intermediate_takes_its_next_certificate_from_files) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto dir = cli.dir.path();
  auto cert = write_file(dir, "inter.pem", pki.inter.cert.pem());
  auto key = write_file(dir, "inter.key", pki.inter.key.to_pem());
  auto root = write_file(dir, "root.pem", pki.root.cert.pem());
  BOOST_REQUIRE(cli.run({"ca", "import", "sub", "--cert", cert, "--key", key, "--chain", root}) == 0);

  // No key is made for it: its issuer must sign the next one.
  BOOST_TEST(cli.run({"ca", "rollover", "sub"}) == 2);
  BOOST_TEST(cli.error_line().find("--cert") != std::string::npos);

  auto other_subject = write_file(dir, "other.pem",
                                  intermediate("CN=Another CA", pki.client_key, testing::fixed_time()).pem());
  auto spare = write_file(dir, "spare.key", pki.client_key.to_pem());
  BOOST_TEST(cli.run({"ca", "rollover", "sub", "--cert", other_subject, "--key", spare}) == 2);
  BOOST_TEST(cli.error_line().find("subject") != std::string::npos);

  auto same_key = write_file(dir, "same-key.pem",
                             intermediate("CN=Test Intermediate CA", pki.inter.key, testing::fixed_time()).pem());
  BOOST_TEST(cli.run({"ca", "rollover", "sub", "--cert", same_key, "--key", key}) == 2);
  BOOST_TEST(cli.error_line().find("new key") != std::string::npos);

  BOOST_TEST(cli.run({"ca", "rollover", "sub", "--cert", same_key, "--key", spare}) == 2);
  BOOST_TEST(cli.error_line().find("does not match") != std::string::npos);

  // A next certificate valid only tomorrow: stored, but not activated before
  // its notBefore unless --force.
  auto later = intermediate("CN=Test Intermediate CA", pki.client_key, testing::fixed_time() + std::chrono::days(1));
  auto next = write_file(dir, "next.pem", later.pem());
  auto j = cli.json({"--json", "ca", "rollover", "sub", "--cert", next, "--key", spare});
  BOOST_TEST(j["serial"] == later.serial_hex());
  BOOST_TEST(fs::exists(cli.store / "ca" / "sub" / "next" / "chain.pem"));  // the current chain, kept
  BOOST_TEST(cli.run({"ca", "activate", "sub"}) == 2);
  BOOST_TEST(cli.error_line().find("--force") != std::string::npos);
  auto activated = cli.json({"--json", "ca", "activate", "sub", "--force"});
  BOOST_TEST(activated["serial"] == later.serial_hex());
  auto show = cli.json({"--json", "ca", "show", "sub"});
  BOOST_REQUIRE(show["chain"].size() == 1u);
  BOOST_TEST(show["retired"][0]["id"] == pki.inter.cert.serial_hex());
}

BOOST_AUTO_TEST_CASE(rollover_of_an_unknown_ca_exits_3) {
  Cli cli;
  BOOST_REQUIRE(cli.run({"init"}) == 0);
  BOOST_TEST(cli.run({"ca", "rollover", "nosuch"}) == 3);
  BOOST_TEST(cli.run({"ca", "activate", "nosuch"}) != 0);
}

BOOST_AUTO_TEST_SUITE_END()
