#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include "config/config.hpp"
#include "policy/secret.hpp"
#include "store/atomic_file.hpp"
#include "store/fs_util.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace fs = std::filesystem;

namespace {

store::Store must_open(const fs::path& root, store::OpenMode mode = store::OpenMode::create) {
  auto st = store::Store::open(root, mode);
  BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
  return std::move(*st);
}

config::Config must_config(const store::Store& st) {
  auto cfg = st.load_config();
  BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().detail));
  return std::move(*cfg);
}

std::string read_text(const fs::path& p) {
  auto bytes = store::read_file(p);
  BOOST_REQUIRE_MESSAGE(bytes, p.string());
  return core::to_string(*bytes);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// PrivateKey is move-only; the shared test PKI is not ours to move from.
crypto::PrivateKey copy_key(const crypto::PrivateKey& key) {
  auto copy = crypto::PrivateKey::load(core::to_bytes(key.to_pem()));
  BOOST_REQUIRE(copy);
  return std::move(*copy);
}

store::NewCa root_ca() {
  const auto& pki = testing::test_pki();
  return store::NewCa{pki.root.cert, copy_key(pki.root.key), {}};
}

store::NewCa intermediate_ca() {
  const auto& pki = testing::test_pki();
  return store::NewCa{pki.inter.cert, copy_key(pki.inter.key), {pki.root.cert}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_open)

BOOST_AUTO_TEST_CASE(create_initialises_format_config_and_ca_directory) {
  testing::TempDir dir;
  fs::path root = dir.path() / "store";
  auto st = must_open(root);
  BOOST_TEST(st.root() == root);
  BOOST_TEST(read_text(root / "FORMAT") == "scep-store 1\n");
  BOOST_TEST(read_text(root / "scep.toml") == config::default_config_text());
  BOOST_TEST(fs::is_directory(root / "ca"));
  BOOST_TEST(fs::is_empty(root / "ca"));
  BOOST_TEST(st.config_path() == root / "scep.toml");
}

BOOST_AUTO_TEST_CASE(created_directories_are_closed_to_others) {
  testing::TempDir dir;
  fs::path root = dir.path() / "store";
  must_open(root);
  for (const fs::path& d : {root, root / "ca"}) {
    unsigned mode = mode_of(d);
    BOOST_TEST((mode & 0700u) == 0700u, d << " " << std::oct << mode);
    BOOST_TEST((mode & 0027u) == 0u, d << " " << std::oct << mode);
  }
  BOOST_TEST((mode_of(root / "scep.toml") & 0007u) == 0u);
}

BOOST_AUTO_TEST_CASE(existing_mode_opens_a_store_made_before) {
  testing::TempDir dir;
  must_open(dir.path() / "s");
  auto again = store::Store::open(dir.path() / "s", store::OpenMode::existing);
  BOOST_TEST(again.has_value());
}

BOOST_AUTO_TEST_CASE(existing_mode_refuses_a_missing_store_and_creates_nothing) {
  testing::TempDir dir;
  auto missing = store::Store::open(dir.path() / "nope", store::OpenMode::existing);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code == core::Errc::not_found);
  BOOST_TEST(missing.error().detail.find("scepctl init") != std::string::npos);
  BOOST_TEST(!fs::exists(dir.path() / "nope"));

  auto empty_dir = store::Store::open(dir.path(), store::OpenMode::existing);
  BOOST_REQUIRE(!empty_dir);
  BOOST_TEST(empty_dir.error().code == core::Errc::not_found);
  BOOST_TEST(fs::is_empty(dir.path()));
}

BOOST_AUTO_TEST_CASE(an_unknown_format_line_is_refused_in_both_modes) {
  testing::TempDir dir;
  for (std::string format : {"scep-store 2\n", "scep-store 10\n", "scep-store 1 \n", "something else", ""}) {
    BOOST_REQUIRE(store::write_file_atomic(dir.path() / "FORMAT", format));
    for (auto mode : {store::OpenMode::existing, store::OpenMode::create}) {
      auto st = store::Store::open(dir.path(), mode);
      BOOST_TEST(!st, "FORMAT \"" << format << "\"");
      if (!st) BOOST_TEST(st.error().code == core::Errc::store_io);
    }
    BOOST_TEST(read_text(dir.path() / "FORMAT") == format);  // never overwritten
  }
}

BOOST_AUTO_TEST_CASE(only_the_first_line_of_format_counts) {
  testing::TempDir dir;
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "FORMAT", "scep-store 1\nnotes\n"));
  BOOST_TEST(store::Store::open(dir.path(), store::OpenMode::existing).has_value());
}

BOOST_AUTO_TEST_CASE(create_on_an_existing_store_keeps_its_configuration) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  std::string edited = "# mine\n[server]\npath = \"/other\"\n";
  BOOST_REQUIRE(store::write_file_atomic(st.config_path(), edited));
  must_open(dir.path(), store::OpenMode::create);
  BOOST_TEST(read_text(st.config_path()) == edited);
}

BOOST_AUTO_TEST_CASE(create_completes_a_half_initialised_store_without_touching_its_config) {
  testing::TempDir dir;
  fs::create_directory(dir.path() / "ca");
  std::string edited = "[server]\npath = \"/half\"\n";
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "scep.toml", edited));
  // Without FORMAT it is not a store yet.
  BOOST_TEST(!store::Store::open(dir.path(), store::OpenMode::existing));
  auto st = must_open(dir.path(), store::OpenMode::create);
  BOOST_TEST(read_text(dir.path() / "FORMAT") == "scep-store 1\n");
  BOOST_TEST(must_config(st).server.path == "/half");
}

BOOST_AUTO_TEST_CASE(an_invalid_configuration_is_config_invalid_with_the_path) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(store::write_file_atomic(st.config_path(), "[server]\nbogus = 1\n"));
  auto cfg = st.load_config();
  BOOST_REQUIRE(!cfg);
  BOOST_TEST(cfg.error().code == core::Errc::config_invalid);
  BOOST_TEST(cfg.error().detail.find("scep.toml") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_cas)

BOOST_AUTO_TEST_CASE(add_ca_writes_cert_and_key_with_private_modes) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  fs::path ca = st.ca_dir("main");
  BOOST_TEST(ca == dir.path() / "ca" / "main");
  BOOST_TEST((entries(ca) == std::vector<std::string>{"cert.pem", "key.pem", "tx.lock"}));
  BOOST_TEST(mode_of(ca / "key.pem") == 0600u);
  BOOST_TEST(mode_of(ca / "cert.pem") == 0640u);
  BOOST_TEST(mode_of(ca) == 0750u);
  BOOST_TEST(read_text(ca / "cert.pem") == testing::test_pki().root.cert.pem());
  auto key = crypto::PrivateKey::load(core::to_bytes(read_text(ca / "key.pem")));
  BOOST_REQUIRE(key);
  BOOST_TEST(testing::test_pki().root.cert.matches(*key));
}

BOOST_AUTO_TEST_CASE(add_ca_writes_the_chain_when_there_is_one) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("sub", intermediate_ca()));
  BOOST_TEST((entries(st.ca_dir("sub")) == std::vector<std::string>{"cert.pem", "chain.pem", "key.pem", "tx.lock"}));
  BOOST_TEST(read_text(st.ca_dir("sub") / "chain.pem") == testing::test_pki().root.cert.pem());
}

BOOST_AUTO_TEST_CASE(a_duplicate_ca_is_already_exists_and_keeps_the_first) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  auto again = st.add_ca("main", intermediate_ca());
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().code == core::Errc::already_exists);
  BOOST_TEST(read_text(st.ca_dir("main") / "cert.pem") == testing::test_pki().root.cert.pem());
  BOOST_TEST(!fs::exists(st.ca_dir("main") / "chain.pem"));
  BOOST_TEST((entries(dir.path() / "ca") == std::vector<std::string>{"main"}));
}

BOOST_AUTO_TEST_CASE(invalid_names_are_refused_before_touching_the_disk) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  for (std::string_view bad : {"../x", "a/b", "..", ".", "", ".hidden", "-x", "a b", "/abs", "x/..", "ca\\x"}) {
    auto r = st.add_ca(bad, root_ca());
    BOOST_TEST(!r, "\"" << bad << "\"");
    if (!r) BOOST_TEST(r.error().code == core::Errc::invalid_argument);
  }
  BOOST_TEST(fs::is_empty(dir.path() / "ca"));
  BOOST_TEST((entries(dir.path()) == std::vector<std::string>{"FORMAT", "ca", "scep.toml"}));
}

BOOST_AUTO_TEST_CASE(a_failed_add_leaves_no_temporary_directory) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  // A dangling symlink passes the existence check but cannot be replaced by a
  // directory, so add_ca fails after it has built the CA in a temp directory.
  fs::create_symlink("nowhere", st.ca_dir("main"));
  auto r = st.add_ca("main", root_ca());
  BOOST_REQUIRE(!r);
  BOOST_TEST((entries(dir.path() / "ca") == std::vector<std::string>{"main"}));
  BOOST_TEST(fs::is_symlink(st.ca_dir("main")));
}

BOOST_AUTO_TEST_CASE(ca_names_are_sorted_and_skip_temporary_and_stray_entries) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("zeta", root_ca()));
  BOOST_REQUIRE(st.add_ca("alpha", intermediate_ca()));
  fs::create_directory(dir.path() / "ca" / ".beta.new-abc123");
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "ca" / "README", "not a CA"));
  auto names = st.ca_names();
  BOOST_REQUIRE(names);
  BOOST_TEST((*names == std::vector<std::string>{"alpha", "zeta"}));
}

BOOST_AUTO_TEST_CASE(load_ca_reads_cert_chain_ra_and_options) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("sub", intermediate_ca()));
  BOOST_REQUIRE(st.set_ra("sub", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  auto cfg = config::parse_config("[ca.sub]\ninclude_root = false\n");
  BOOST_REQUIRE(cfg);
  auto ca = st.load_ca("sub", *cfg);
  BOOST_REQUIRE_MESSAGE(ca, (ca ? "" : ca.error().detail));
  BOOST_TEST(ca->name == "sub");
  BOOST_TEST((ca->cert == pki.inter.cert));
  BOOST_REQUIRE(ca->chain.size() == 1u);
  BOOST_TEST((ca->chain[0] == pki.root.cert));
  BOOST_REQUIRE(ca->ra.has_value());
  BOOST_TEST((*ca->ra == pki.ra.cert));
  BOOST_TEST(!ca->options.include_root);
}

BOOST_AUTO_TEST_CASE(load_ca_without_chain_or_ra) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  auto ca = st.load_ca("main", config::Config{});
  BOOST_REQUIRE(ca);
  BOOST_TEST(ca->chain.empty());
  BOOST_TEST(!ca->ra.has_value());
  BOOST_TEST(ca->options.include_root);
}

BOOST_AUTO_TEST_CASE(load_ca_of_a_missing_or_invalid_name) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto missing = st.load_ca("nope", config::Config{});
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code == core::Errc::not_found);
  auto invalid = st.load_ca("../nope", config::Config{});
  BOOST_REQUIRE(!invalid);
  BOOST_TEST(invalid.error().code == core::Errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_damaged_certificate_file_is_a_store_error) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  BOOST_REQUIRE(store::write_file_atomic(st.ca_dir("main") / "cert.pem", "garbage"));
  auto ca = st.load_ca("main", config::Config{});
  BOOST_REQUIRE(!ca);
  BOOST_TEST(ca.error().code == core::Errc::store_io);
}

BOOST_AUTO_TEST_CASE(load_key_reads_the_ca_and_ra_keys) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  auto no_ra = st.load_key("main", scep::KeyRole::ra);
  BOOST_REQUIRE(!no_ra);
  BOOST_TEST(no_ra.error().code == core::Errc::not_found);
  BOOST_REQUIRE(st.set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  auto ca_key = st.load_key("main", scep::KeyRole::ca);
  auto ra_key = st.load_key("main", scep::KeyRole::ra);
  BOOST_REQUIRE(ca_key);
  BOOST_REQUIRE(ra_key);
  BOOST_TEST(pki.root.cert.matches(*ca_key));
  BOOST_TEST(pki.ra.cert.matches(*ra_key));
  BOOST_TEST(!st.load_key("..", scep::KeyRole::ca));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_ra)

BOOST_AUTO_TEST_CASE(set_ra_writes_cert_and_private_key) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  BOOST_REQUIRE(st.set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  BOOST_TEST(read_text(st.ca_dir("main") / "ra.pem") == pki.ra.cert.pem());
  BOOST_TEST(mode_of(st.ca_dir("main") / "ra-key.pem") == 0600u);
  BOOST_TEST(mode_of(st.ca_dir("main") / "ra.pem") == 0640u);
}

BOOST_AUTO_TEST_CASE(replace_no_refuses_a_second_ra_and_keeps_the_first) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  BOOST_REQUIRE(st.set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  auto second = st.set_ra("main", pki.inter.cert, pki.inter.key, store::Store::Replace::no);
  BOOST_REQUIRE(!second);
  BOOST_TEST(second.error().code == core::Errc::already_exists);
  BOOST_TEST(read_text(st.ca_dir("main") / "ra.pem") == pki.ra.cert.pem());
  auto key = st.load_key("main", scep::KeyRole::ra);
  BOOST_REQUIRE(key);
  BOOST_TEST(pki.ra.cert.matches(*key));
}

BOOST_AUTO_TEST_CASE(replace_yes_swaps_cert_and_key) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  BOOST_REQUIRE(st.set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  BOOST_REQUIRE(st.set_ra("main", pki.inter.cert, pki.inter.key, store::Store::Replace::yes));
  auto ca = st.load_ca("main", config::Config{});
  BOOST_REQUIRE(ca);
  BOOST_REQUIRE(ca->ra.has_value());
  BOOST_TEST((*ca->ra == pki.inter.cert));
  auto key = st.load_key("main", scep::KeyRole::ra);
  BOOST_REQUIRE(key);
  BOOST_TEST(pki.inter.cert.matches(*key));
  auto stray = entries(st.ca_dir("main"));
  BOOST_TEST((stray == std::vector<std::string>{"cert.pem", "key.pem", "ra-key.pem", "ra.pem", "tx.lock"}));
}

BOOST_AUTO_TEST_CASE(set_ra_for_a_missing_ca_fails_and_creates_nothing) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_TEST(!st.set_ra("nope", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  BOOST_TEST(fs::is_empty(dir.path() / "ca"));
}

BOOST_AUTO_TEST_CASE(set_ra_refuses_invalid_names) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = st.set_ra("../x", pki.ra.cert, pki.ra.key, store::Store::Replace::yes);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == core::Errc::invalid_argument);
  BOOST_TEST(!fs::exists(dir.path() / "x"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_default_ca)

BOOST_AUTO_TEST_CASE(no_ca_means_no_default) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto d = st.default_ca(must_config(st));
  BOOST_REQUIRE(!d);
  BOOST_TEST(d.error().code == core::Errc::unknown_ca);
}

BOOST_AUTO_TEST_CASE(the_only_ca_is_the_default) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("only", root_ca()));
  auto d = st.default_ca(must_config(st));
  BOOST_REQUIRE(d);
  BOOST_TEST(*d == "only");
}

BOOST_AUTO_TEST_CASE(two_cas_without_configuration_have_no_default) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("a", root_ca()));
  BOOST_REQUIRE(st.add_ca("b", intermediate_ca()));
  auto d = st.default_ca(must_config(st));
  BOOST_REQUIRE(!d);
  BOOST_TEST(d.error().code == core::Errc::unknown_ca);
}

BOOST_AUTO_TEST_CASE(the_configured_default_wins) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("a", root_ca()));
  BOOST_REQUIRE(st.add_ca("b", intermediate_ca()));
  BOOST_REQUIRE(st.set_default_ca("b"));
  auto cfg = must_config(st);
  BOOST_TEST(cfg.server.default_ca == "b");
  auto d = st.default_ca(cfg);
  BOOST_REQUIRE(d);
  BOOST_TEST(*d == "b");
}

BOOST_AUTO_TEST_CASE(set_default_ca_keeps_the_comments) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.set_default_ca("main"));
  std::string text = read_text(st.config_path());
  BOOST_TEST(text == config::set_value(config::default_config_text(), "server", "default_ca", "\"main\""));
  BOOST_TEST(text.find("# The CA used when a request names none.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(set_default_ca_refuses_to_write_an_invalid_configuration) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = st.set_default_ca("../x");
  BOOST_REQUIRE(!r);
  BOOST_TEST(read_text(st.config_path()) == config::default_config_text());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_repository)

BOOST_AUTO_TEST_CASE(empty_name_resolves_to_the_default_ca) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("a", root_ca()));
  BOOST_REQUIRE(st.add_ca("b", intermediate_ca()));
  BOOST_REQUIRE(st.set_default_ca("b"));
  store::Session repo(st);
  auto ca = repo.find_ca("");
  BOOST_REQUIRE(ca);
  BOOST_TEST(ca->name == "b");
  BOOST_TEST((ca->cert == pki.inter.cert));
  auto a = repo.find_ca("a");
  BOOST_REQUIRE(a);
  BOOST_TEST((a->cert == pki.root.cert));
}

BOOST_AUTO_TEST_CASE(empty_name_uses_the_only_ca) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("solo", root_ca()));
  store::Session repo(st);
  auto ca = repo.find_ca("");
  BOOST_REQUIRE(ca);
  BOOST_TEST(ca->name == "solo");
}

BOOST_AUTO_TEST_CASE(empty_name_without_a_default_is_unknown_ca) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("a", root_ca()));
  BOOST_REQUIRE(st.add_ca("b", intermediate_ca()));
  store::Session repo(st);
  auto ca = repo.find_ca("");
  BOOST_REQUIRE(!ca);
  BOOST_TEST(ca.error().code == core::Errc::unknown_ca);
}

BOOST_AUTO_TEST_CASE(a_configured_default_that_does_not_exist_is_unknown_ca) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("a", root_ca()));
  BOOST_REQUIRE(st.set_default_ca("gone"));
  store::Session repo(st);
  auto ca = repo.find_ca("");
  BOOST_REQUIRE(!ca);
  BOOST_TEST(ca.error().code == core::Errc::unknown_ca);
}

BOOST_AUTO_TEST_CASE(unknown_and_path_like_names_are_unknown_ca) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  // Something a path-like name could reach if it were used as a path.
  fs::create_directories(dir.path() / "outside");
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "outside" / "cert.pem", testing::test_pki().root.cert.pem()));
  store::Session repo(st);
  for (std::string_view name : {"nope", "../outside", "..", ".", "a/b", "main/..", "/main", ".main.new-x", "main "}) {
    auto ca = repo.find_ca(name);
    BOOST_TEST(!ca, "\"" << name << "\"");
    if (!ca) BOOST_TEST(ca.error().code == core::Errc::unknown_ca, "\"" << name << "\"");
  }
}

BOOST_AUTO_TEST_CASE(an_invalid_configuration_is_reported_not_hidden) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  BOOST_REQUIRE(store::write_file_atomic(st.config_path(), "format = 9\n"));
  store::Session repo(st);
  auto ca = repo.find_ca("main");
  BOOST_REQUIRE(!ca);
  BOOST_TEST(ca.error().code == core::Errc::config_invalid);
}

BOOST_AUTO_TEST_CASE(the_repository_applies_per_ca_options) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("sub", intermediate_ca()));
  BOOST_REQUIRE(store::write_file_atomic(st.config_path(), "[ca.sub]\ninclude_root = false\n"));
  store::Session repo(st);
  auto ca = repo.find_ca("sub");
  BOOST_REQUIRE(ca);
  BOOST_TEST(!ca->options.include_root);
}

BOOST_AUTO_TEST_CASE(load_key_goes_to_the_store) {
  const auto& pki = testing::test_pki();
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  store::Session repo(st);
  auto key = repo.load_key("main", scep::KeyRole::ca);
  BOOST_REQUIRE(key);
  BOOST_TEST(pki.root.cert.matches(*key));
  BOOST_TEST(!repo.load_key("main", scep::KeyRole::ra));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_transaction_locks)

// tx.lock holds one byte-range lock per transactionID; they are
// open-file-description locks, so threads of one process (scepctl serve)
// exclude each other as CGI processes do.
BOOST_AUTO_TEST_CASE(one_transaction_waits_for_itself_not_for_others) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  auto held = st.lock_transaction("main", "tid-a");
  BOOST_REQUIRE(held);
  auto other = st.lock_transaction("main", "tid-b");  // would hang if all transactions shared one lock
  BOOST_REQUIRE(other);
  other->reset();
  std::atomic<bool> got{false};
  std::jthread waiter([&] {
    auto again = st.lock_transaction("main", "tid-a");
    got = static_cast<bool>(again);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(!got.load(), "a second holder of tid-a's lock did not wait");
  held->reset();
  waiter.join();
  BOOST_TEST(got.load());
  BOOST_TEST(!st.lock_transaction("../x", "tid-a"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_secrets)

policy::SecretRecord secret_with_uses(int uses) {
  policy::SecretRecord r;
  r.id = "s-0123456789ab";
  r.hash = policy::secret_hash("MANY-USES-SECRET");
  r.ca = "main";
  r.policy = "default";
  r.uses = uses;
  return r;
}

/// A transaction key of its own for every spend: "tx-N" hashed.
std::string fresh_key() {
  static std::atomic<int> n{0};
  return store::transaction_key(fmt::format("tx-{}", n++));
}

core::Result<bool> spend(store::Store& st, const policy::SecretRecord& r) { return st.spend_use(r, fresh_key()); }

// Uses are counted by a binary search over the use tokens, which relies on
// the tokens left being a run: consumers in parallel must keep it one.
BOOST_AUTO_TEST_CASE(parallel_consumers_spend_each_use_once_and_the_count_stays_exact) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(200);
  BOOST_REQUIRE(st.add_secret(r));
  BOOST_TEST(st.secret_uses_left(r) == 200);
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(*spend(st, r));
  BOOST_TEST(st.secret_uses_left(r) == 197);
  std::atomic<int> spent{0}, refused{0}, errors{0};
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < 8; ++t)
      workers.emplace_back([&] {
        for (int i = 0; i < 30; ++i) {
          auto c = spend(st, r);
          if (!c) ++errors;
          else if (*c) ++spent;
          else ++refused;
        }
      });
  }
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(spent.load() == 197);
  BOOST_TEST(refused.load() == 8 * 30 - 197);
  BOOST_TEST(st.secret_uses_left(r) == 0);
  BOOST_TEST(!*spend(st, r));
}

// The tokens of a secret are links of one file: spending uses frees no inode
// until the last one (see Store::add_secret).
BOOST_AUTO_TEST_CASE(use_tokens_share_one_inode_until_the_last_use) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(5);
  BOOST_REQUIRE(st.add_secret(r));
  auto token = [&](int k) { return dir.path() / "secrets" / (core::to_hex(r.hash) + ".use-" + std::to_string(k)); };
  struct stat first {};
  BOOST_REQUIRE(::stat(token(1).c_str(), &first) == 0);
  BOOST_TEST(first.st_nlink == 5u);
  BOOST_TEST(first.st_size == 0);
  BOOST_TEST((first.st_mode & 07777) == 0640u);
  for (int k = 2; k <= 5; ++k) {
    struct stat other {};
    BOOST_REQUIRE(::stat(token(k).c_str(), &other) == 0);
    BOOST_TEST(other.st_ino == first.st_ino);
  }
  BOOST_REQUIRE(*spend(st, r));
  BOOST_TEST(!fs::exists(token(1)));
  struct stat later {};
  BOOST_REQUIRE(::stat(token(5).c_str(), &later) == 0);
  // The spent use is the same inode under the transaction's name.
  BOOST_TEST(later.st_nlink == 5u);
  BOOST_TEST(st.secret_uses_left(r) == 4);
  // Nothing else is left in secrets/: no temp file, only the tokens, the
  // spent use and the record.
  int files = 0, spent = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "secrets")) {
    BOOST_TEST(e.path().filename().string().front() != '.');
    ++files;
    spent += e.path().filename().string().find(".spent-") != std::string::npos;
  }
  BOOST_TEST(files == 6);
  BOOST_TEST(spent == 1);
}

BOOST_AUTO_TEST_CASE(a_spent_use_is_held_by_its_transaction_until_given_back) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(1);
  BOOST_REQUIRE(st.add_secret(r));
  std::string mine = fresh_key(), other = fresh_key();
  BOOST_TEST(*st.spend_use(r, mine));
  BOOST_TEST(st.secret_uses_left(r) == 0);
  // The same transaction again (its retry after a crash) holds its use; another gets none.
  BOOST_TEST(*st.spend_use(r, mine));
  BOOST_TEST(!*st.spend_use(r, other));
  BOOST_REQUIRE(st.return_use(r, mine));
  BOOST_TEST(!fs::exists(st.spent_path(r, mine)));
  BOOST_TEST(st.secret_uses_left(r) == 1);
  BOOST_TEST(*st.spend_use(r, other));
  // Giving back what is not held changes nothing.
  BOOST_REQUIRE(st.return_use(r, mine));
  BOOST_TEST(st.secret_uses_left(r) == 0);
}

// A use given back after others were spent goes just below the run of
// tokens left: the count stays exact and the next spender finds it.
BOOST_AUTO_TEST_CASE(a_use_given_back_keeps_the_count_exact) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(6);
  BOOST_REQUIRE(st.add_secret(r));
  std::string first = fresh_key();
  BOOST_REQUIRE(*st.spend_use(r, first));  // takes use-1
  for (int i = 0; i < 2; ++i) BOOST_REQUIRE(*spend(st, r));
  BOOST_TEST(st.secret_uses_left(r) == 3);
  BOOST_REQUIRE(st.return_use(r, first));
  BOOST_TEST(fs::exists(dir.path() / "secrets" / (core::to_hex(r.hash) + ".use-3")));
  BOOST_TEST(st.secret_uses_left(r) == 4);
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(*spend(st, r));
  BOOST_TEST(st.secret_uses_left(r) == 1);
  BOOST_TEST(*spend(st, r));
  BOOST_TEST(st.secret_uses_left(r) == 0);
  BOOST_TEST(!*spend(st, r));
}

BOOST_AUTO_TEST_CASE(uses_left_counts_down_to_zero_at_every_step) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(37);
  BOOST_REQUIRE(st.add_secret(r));
  for (int left = 37; left > 0; --left) {
    BOOST_TEST(st.secret_uses_left(r) == left);
    BOOST_REQUIRE(*spend(st, r));
  }
  BOOST_TEST(st.secret_uses_left(r) == 0);
  BOOST_TEST(!*spend(st, r));
}

// A hole below the run (a give-back that raced a spender) is not lost:
// once the run is spent, the full scan finds the token.
BOOST_AUTO_TEST_CASE(a_token_in_a_hole_below_the_run_is_still_spent) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(6);
  BOOST_REQUIRE(st.add_secret(r));
  for (int i = 0; i < 4; ++i) BOOST_REQUIRE(*spend(st, r));
  auto token = [&](int k) { return dir.path() / "secrets" / (core::to_hex(r.hash) + ".use-" + std::to_string(k)); };
  fs::create_hard_link(token(6), token(2));  // the hole: 2, then 5..6
  for (int i = 0; i < 2; ++i) BOOST_REQUIRE(*spend(st, r));
  BOOST_TEST(st.secret_uses_left(r) == 1);
  BOOST_TEST(*spend(st, r));
  BOOST_TEST(!fs::exists(token(2)));
  BOOST_TEST(!*spend(st, r));
}

// Give-backs that raced (review of issue 14): every slot below the run is
// taken, so the use goes to a free one above it, never away.
BOOST_AUTO_TEST_CASE(a_use_given_back_finds_a_free_slot_anywhere) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  auto r = secret_with_uses(3);
  BOOST_REQUIRE(st.add_secret(r));
  std::string x1 = fresh_key(), x2 = fresh_key(), z = fresh_key();
  BOOST_REQUIRE(*st.spend_use(r, x1));
  BOOST_REQUIRE(*st.spend_use(r, x2));
  BOOST_REQUIRE(*st.spend_use(r, z));
  auto token = [&](int k) { return dir.path() / "secrets" / (core::to_hex(r.hash) + ".use-" + std::to_string(k)); };
  fs::rename(st.spent_path(r, x1), token(1));
  fs::rename(st.spent_path(r, x2), token(2));
  BOOST_REQUIRE(st.return_use(r, z));
  BOOST_TEST(fs::exists(token(3)));
  BOOST_TEST(st.secret_uses_left(r) == 3);
}

BOOST_AUTO_TEST_CASE(a_pending_record_keeps_what_was_read_from_its_request) {
  testing::TempDir dir;
  auto st = must_open(dir.path());
  BOOST_REQUIRE(st.add_ca("main", root_ca()));
  scep::PendingRequest p{"main",
                         "tid-p",
                         "192.0.2.9",
                         core::to_bytes("not parsed here"),
                         testing::fixed_time(),
                         "CN=phone",
                         {"DNS:a.example", "IP:10.0.0.1"},
                         "RSA 2048",
                         {}};
  BOOST_REQUIRE(st.add_pending(p));
  auto listed = st.list_pending("main");
  BOOST_REQUIRE(listed);
  BOOST_REQUIRE(listed->size() == 1u);
  const auto& q = listed->front();
  BOOST_TEST(q.subject == "CN=phone");
  BOOST_TEST((q.sans == p.sans));
  BOOST_TEST(q.key == "RSA 2048");
  BOOST_TEST((q.csr_der == p.csr_der));
}

BOOST_AUTO_TEST_SUITE_END()
