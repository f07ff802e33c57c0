#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/der.hpp"
#include "crypto/pkcs7.hpp"
#include "env.hpp"
#include "store/atomic_file.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include "cli_fixture.hpp"

namespace fs = std::filesystem;

namespace {

/// Writes `data` to dir/name and returns the path as a string.
std::string write(const fs::path& dir, const std::string& name, std::string_view data) {
  BOOST_REQUIRE(store::write_file_atomic(dir / name, data, 0600));
  return (dir / name).string();
}
std::string write(const fs::path& dir, const std::string& name, const core::Bytes& data) {
  BOOST_REQUIRE(store::write_file_atomic(dir / name, core::ByteView(data), 0600));
  return (dir / name).string();
}

core::Bytes der_of_key(const crypto::PrivateKey& key) {
  std::string pem = key.to_pem();
  std::string b64;
  for (char c : pem.substr(pem.find('\n') + 1, pem.find("-----END") - pem.find('\n') - 1))
    if (c != '\n') b64 += c;
  auto der = crypto::base64_decode(b64);
  BOOST_REQUIRE(der);
  return *der;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_ca_import)

BOOST_AUTO_TEST_CASE(a_root_ca_imports_and_becomes_the_default) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ca.pem", pki.root.cert.pem());
  auto key = write(cli.dir.path(), "ca.key", pki.root.key.to_pem());
  auto j = cli.json({"--json", "ca", "import", "imported", "--cert", cert, "--key", key});
  BOOST_TEST(j["name"] == "imported");
  BOOST_TEST(j["sha256"] == crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::sha256)));
  BOOST_TEST(cli.err == "");
  auto show = cli.json({"--json", "ca", "show", "imported"});
  BOOST_TEST(show["default"] == true);
  BOOST_TEST(show["sha256"] == j["sha256"]);
  BOOST_TEST(show["chain"].empty());
  auto st = store::Store::open(cli.store, store::OpenMode::existing);
  BOOST_REQUIRE(st);
  auto stored_key = st->load_key("imported", scep::KeyRole::ca);
  BOOST_REQUIRE(stored_key);
  BOOST_TEST(pki.root.cert.matches(*stored_key));
}

BOOST_AUTO_TEST_CASE(an_intermediate_imports_with_its_chain_file) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "sub.pem", pki.inter.cert.pem());
  auto key = write(cli.dir.path(), "sub.key", pki.inter.key.to_pem());
  auto chain = write(cli.dir.path(), "chain.pem", pki.root.cert.pem());
  BOOST_REQUIRE_MESSAGE(cli.run({"ca", "import", "sub", "--cert", cert, "--key", key, "--chain", chain}) == 0, cli.err);
  BOOST_TEST(cli.err == "");  // a complete chain to a root: no warnings
  auto show = cli.json({"--json", "ca", "show", "sub"});
  BOOST_REQUIRE(show["chain"].size() == 1u);
  BOOST_TEST(show["chain"][0]["subject"] == "CN=Test Root CA");
}

BOOST_AUTO_TEST_CASE(certificates_after_the_first_in_cert_are_the_chain) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "bundle.pem", pki.inter.cert.pem() + pki.root.cert.pem());
  auto key = write(cli.dir.path(), "sub.key", pki.inter.key.to_pem());
  BOOST_REQUIRE_MESSAGE(cli.run({"ca", "import", "sub", "--cert", cert, "--key", key}) == 0, cli.err);
  auto show = cli.json({"--json", "ca", "show", "sub"});
  BOOST_TEST(show["subject"] == "CN=Test Intermediate CA");
  BOOST_REQUIRE(show["chain"].size() == 1u);
  BOOST_TEST(show["chain"][0]["sha256"] == crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::sha256)));
}

BOOST_AUTO_TEST_CASE(der_certificate_and_der_key_are_accepted) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ca.der", pki.root.cert.der());
  auto key = write(cli.dir.path(), "ca.key.der", der_of_key(pki.root.key));
  BOOST_REQUIRE_MESSAGE(cli.run({"ca", "import", "main", "--cert", cert, "--key", key}) == 0, cli.err);
  auto show = cli.json({"--json", "ca", "show", "main"});
  BOOST_TEST(show["sha256"] == crypto::colon_hex(pki.root.cert.fingerprint(crypto::DigestAlg::sha256)));
}

BOOST_AUTO_TEST_CASE(a_key_that_does_not_match_is_refused_and_nothing_is_stored) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ca.pem", pki.root.cert.pem());
  auto key = write(cli.dir.path(), "other.key", pki.client_key.to_pem());
  BOOST_TEST(cli.run({"ca", "import", "main", "--cert", cert, "--key", key}) == 2);
  BOOST_TEST(contains(cli.error_line(), "does not match"));
  BOOST_TEST(!fs::exists(cli.store / "ca" / "main"));
}

BOOST_AUTO_TEST_CASE(a_certificate_that_is_not_a_ca_is_refused) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ra.pem", pki.ra.cert.pem());
  auto key = write(cli.dir.path(), "ra.key", pki.ra.key.to_pem());
  BOOST_TEST(cli.run({"ca", "import", "main", "--cert", cert, "--key", key}) == 2);
  BOOST_TEST(contains(cli.error_line(), "not a CA"));
  BOOST_TEST(!fs::exists(cli.store / "ca" / "main"));
}

BOOST_AUTO_TEST_CASE(a_broken_chain_is_refused) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "sub.pem", pki.inter.cert.pem());
  auto key = write(cli.dir.path(), "sub.key", pki.inter.key.to_pem());
  auto chain = write(cli.dir.path(), "chain.pem", pki.ra.cert.pem());  // the RA did not issue the intermediate
  BOOST_TEST(cli.run({"ca", "import", "sub", "--cert", cert, "--key", key, "--chain", chain}) == 2);
  BOOST_TEST(contains(cli.error_line(), "chain is broken"));
  BOOST_TEST(!fs::exists(cli.store / "ca" / "sub"));
}

BOOST_AUTO_TEST_CASE(a_chain_in_the_wrong_order_is_refused) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "sub.pem", pki.inter.cert.pem());
  auto key = write(cli.dir.path(), "sub.key", pki.inter.key.to_pem());
  auto chain = write(cli.dir.path(), "chain.pem", pki.inter.cert.pem() + pki.root.cert.pem());
  BOOST_TEST(cli.run({"ca", "import", "sub", "--cert", cert, "--key", key, "--chain", chain}) == 2);
  cli.error_line();
}

BOOST_AUTO_TEST_CASE(unreadable_or_junk_files_are_exit_2) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ca.pem", pki.root.cert.pem());
  auto key = write(cli.dir.path(), "ca.key", pki.root.key.to_pem());
  auto junk = write(cli.dir.path(), "junk", std::string_view("not a certificate"));
  std::string missing = (cli.dir.path() / "missing.pem").string();
  for (auto args :
       std::vector<std::vector<std::string>>{{"ca", "import", "main", "--cert", missing, "--key", key},
                                             {"ca", "import", "main", "--cert", cert, "--key", missing},
                                             {"ca", "import", "main", "--cert", junk, "--key", key},
                                             {"ca", "import", "main", "--cert", cert, "--key", junk},
                                             {"ca", "import", "main", "--cert", cert, "--key", key, "--chain", junk}}) {
    BOOST_TEST(cli.run(args) == 2, args[4] << " " << args[6]);
    cli.error_line();
  }
  BOOST_TEST(!fs::exists(cli.store / "ca" / "main"));
}

BOOST_AUTO_TEST_CASE(an_existing_name_or_an_invalid_name_is_refused) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ca.pem", pki.root.cert.pem());
  auto key = write(cli.dir.path(), "ca.key", pki.root.key.to_pem());
  BOOST_REQUIRE(cli.run({"ca", "import", "main", "--cert", cert, "--key", key}) == 0);
  BOOST_TEST(cli.run({"ca", "import", "main", "--cert", cert, "--key", key}) == 4);
  cli.error_line();
  BOOST_TEST(cli.run({"ca", "import", "../evil", "--cert", cert, "--key", key}) == 2);
  cli.error_line();
  BOOST_TEST(!fs::exists(cli.store / "evil"));
}

BOOST_AUTO_TEST_CASE(import_with_default_moves_the_default) {
  const auto& pki = testing::test_pki();
  Cli cli;
  auto cert = write(cli.dir.path(), "ca.pem", pki.root.cert.pem());
  auto key = write(cli.dir.path(), "ca.key", pki.root.key.to_pem());
  auto sub_cert = write(cli.dir.path(), "sub.pem", pki.inter.cert.pem());
  auto sub_key = write(cli.dir.path(), "sub.key", pki.inter.key.to_pem());
  BOOST_REQUIRE(cli.run({"ca", "import", "main", "--cert", cert, "--key", key}) == 0);
  BOOST_REQUIRE(cli.run({"ca", "import", "sub", "--cert", sub_cert, "--key", sub_key}) == 0);
  BOOST_TEST(cli.json({"--json", "ca", "show", "main"})["default"] == true);
  BOOST_REQUIRE(cli.run({"ca", "import", "sub2", "--cert", sub_cert, "--key", sub_key, "--default"}) == 0);
  BOOST_TEST(cli.json({"--json", "ca", "show", "sub2"})["default"] == true);
  BOOST_TEST(cli.json({"--json", "ca", "show", "main"})["default"] == false);
}

// Regression (was a bug): install_ca (cmd_ca_create.cpp) documents "makes it the default when
// asked or when it is the first", but it tests `server.default_ca` being empty
// instead: with default_ca = "" and a CA already in the store (so that CA is
// the implicit default), importing or creating another CA without --default
// silently makes the new one the default.
BOOST_AUTO_TEST_CASE(a_later_ca_does_not_become_default_without_being_asked) {
  const auto& pki = testing::test_pki();
  Cli cli;
  {
    auto st = seeded_store(cli.store);
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
  }
  BOOST_REQUIRE(cli.json({"--json", "ca", "show", "main"})["default"] == true);  // the only CA
  auto cert = write(cli.dir.path(), "sub.pem", pki.inter.cert.pem());
  auto key = write(cli.dir.path(), "sub.key", pki.inter.key.to_pem());
  BOOST_REQUIRE(cli.run({"ca", "import", "sub", "--cert", cert, "--key", key}) == 0);
  BOOST_TEST(cli.json({"--json", "ca", "show", "sub"})["default"] == false);
}

BOOST_AUTO_TEST_SUITE_END()
