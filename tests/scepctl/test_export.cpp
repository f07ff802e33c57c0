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

/// main: the test root with the test RA; sub: the intermediate with the root as chain.
void seed(const fs::path& root) {
  const auto& pki = testing::test_pki();
  auto st = seeded_store(root);
  BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
  BOOST_REQUIRE(st.set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  BOOST_REQUIRE(st.add_ca("sub", store::NewCa{pki.inter.cert, copy_key(pki.inter.key), {pki.root.cert}}));
}

std::vector<crypto::Certificate> p7_certs(const std::string& out) {
  auto certs = crypto::certificates_of_pkcs7(core::to_bytes(out));
  BOOST_REQUIRE_MESSAGE(certs, (certs ? "" : certs.error().detail));
  return *certs;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_export)

BOOST_AUTO_TEST_CASE(pem_is_the_default_format) {
  Cli cli;
  seed(cli.store);
  BOOST_REQUIRE(cli.run({"export", "main"}) == 0);
  BOOST_TEST(cli.out == testing::test_pki().root.cert.pem());
  BOOST_REQUIRE(cli.run({"export", "main", "--format", "pem"}) == 0);
  BOOST_TEST(cli.out == testing::test_pki().root.cert.pem());
}

BOOST_AUTO_TEST_CASE(der_is_the_certificate_bytes) {
  Cli cli;
  seed(cli.store);
  BOOST_REQUIRE(cli.run({"export", "sub", "--format", "der"}) == 0);
  BOOST_TEST((core::to_bytes(cli.out) == testing::test_pki().inter.cert.der()));
}

BOOST_AUTO_TEST_CASE(p7b_is_a_certs_only_bundle) {
  const auto& pki = testing::test_pki();
  Cli cli;
  seed(cli.store);
  BOOST_REQUIRE(cli.run({"export", "sub", "--format", "p7b"}) == 0);
  auto one = p7_certs(cli.out);
  BOOST_REQUIRE(one.size() == 1u);
  BOOST_TEST((one[0] == pki.inter.cert));
  BOOST_REQUIRE(cli.run({"export", "sub", "--chain", "--format", "p7b"}) == 0);
  auto chain = p7_certs(cli.out);
  // A SET OF: DER order, not chain order.
  BOOST_REQUIRE(chain.size() == 2u);
  BOOST_TEST((std::count(chain.begin(), chain.end(), pki.inter.cert) == 1));
  BOOST_TEST((std::count(chain.begin(), chain.end(), pki.root.cert) == 1));
  BOOST_TEST((chain[0].der() < chain[1].der()));
}

BOOST_AUTO_TEST_CASE(chain_adds_the_issuers_in_order) {
  const auto& pki = testing::test_pki();
  Cli cli;
  seed(cli.store);
  BOOST_REQUIRE(cli.run({"export", "sub", "--chain"}) == 0);
  BOOST_TEST(cli.out == pki.inter.cert.pem() + pki.root.cert.pem());
  BOOST_REQUIRE(cli.run({"export", "main", "--chain"}) == 0);
  BOOST_TEST(cli.out == pki.root.cert.pem());  // a root has nothing above it
}

BOOST_AUTO_TEST_CASE(der_with_a_chain_is_refused) {
  Cli cli;
  seed(cli.store);
  BOOST_TEST(cli.run({"export", "sub", "--chain", "--format", "der"}) == 2);
  BOOST_TEST(contains(cli.error_line(), "DER"));
  BOOST_TEST(cli.out == "");
}

BOOST_AUTO_TEST_CASE(ra_exports_the_ra_certificate) {
  const auto& pki = testing::test_pki();
  Cli cli;
  seed(cli.store);
  BOOST_REQUIRE(cli.run({"export", "main", "--ra"}) == 0);
  BOOST_TEST(cli.out == pki.ra.cert.pem());
  BOOST_REQUIRE(cli.run({"export", "main", "--ra", "--chain", "--format", "p7b"}) == 0);
  auto certs = p7_certs(cli.out);
  BOOST_REQUIRE(certs.size() == 2u);
  BOOST_TEST((certs[0] == pki.ra.cert));
  BOOST_TEST((certs[1] == pki.root.cert));
}

BOOST_AUTO_TEST_CASE(ra_without_an_ra_is_an_error) {
  Cli cli;
  seed(cli.store);
  int rc = cli.run({"export", "sub", "--ra"});
  BOOST_TEST(rc == 3);
  BOOST_TEST(contains(cli.error_line(), "no RA"));
  BOOST_TEST(cli.out == "");
}

BOOST_AUTO_TEST_CASE(out_writes_the_file_and_prints_fingerprints) {
  const auto& pki = testing::test_pki();
  Cli cli;
  seed(cli.store);
  fs::path file = cli.dir.path() / "ca.pem";
  BOOST_REQUIRE(cli.run({"export", "sub", "--chain", "--out", file.string()}) == 0);
  auto content = store::read_file(file);
  BOOST_REQUIRE(content);
  BOOST_TEST(core::to_string(*content) == pki.inter.cert.pem() + pki.root.cert.pem());
  BOOST_TEST(contains(cli.out, "wrote 2 certificate(s) to " + file.string()));
  BOOST_TEST(contains(cli.out, crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::sha256))));

  fs::path der = cli.dir.path() / "ca.der";
  auto j = cli.json({"--json", "export", "main", "--format", "der", "--out", der.string()});
  BOOST_TEST(j["file"] == der.string());
  BOOST_REQUIRE(j["certificates"].size() == 1u);
  BOOST_TEST(j["certificates"][0]["sha1"] == crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::sha1)));
  auto der_content = store::read_file(der);
  BOOST_REQUIRE(der_content);
  BOOST_TEST((*der_content == pki.root.cert.der()));
}

BOOST_AUTO_TEST_CASE(export_of_an_unknown_ca_is_exit_3) {
  Cli cli;
  seed(cli.store);
  BOOST_TEST(cli.run({"export", "nope"}) == 3);
  cli.error_line();
}

BOOST_AUTO_TEST_CASE(an_unknown_format_is_refused_by_the_parser) {
  Cli cli;
  seed(cli.store);
  BOOST_TEST(cli.run({"export", "main", "--format", "pkcs12"}) != 0);
  BOOST_TEST(cli.out.find("BEGIN CERTIFICATE") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
