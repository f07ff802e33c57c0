#include <boost/test/unit_test.hpp>

#include <atomic>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "store/atomic_file.hpp"
#include "store/cache.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace fs = std::filesystem;

// Named, not anonymous: Boost.Test derives each fixture case from the
// fixture, and in a unity build an anonymous base trips -Wsubobject-linkage.
namespace store_cache_test {

crypto::PrivateKey cache_test_key(const crypto::PrivateKey& key) { return key; }

void write_in_place(const fs::path& f, std::string_view text) {
  std::ofstream out(f, std::ios::trunc);  // same inode: no rename
  out << text;
}

/// A store with CA "main" (the test root) behind one long-lived cache; each
/// `repo()` is what one request of a server gets.
struct CachedStore {
  testing::TempDir dir;
  store::StoreCache cache{open_store(dir.path() / "store")};

  static store::Store open_store(const fs::path& root) {
    auto st = store::Store::open(root, store::OpenMode::create);
    BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
    const auto& pki = testing::test_pki();
    BOOST_REQUIRE(st->add_ca("main", store::NewCa{pki.root.cert, cache_test_key(pki.root.key), {}}));
    return std::move(*st);
  }

  store::Store& st() { return cache.store(); }

  scep::CaBundle find_ca(std::string_view name = "main") {
    store::Session repo(cache);
    auto ca = repo.find_ca(name);
    BOOST_REQUIRE_MESSAGE(ca, (ca ? "" : ca.error().detail));
    return std::move(*ca);
  }

  int policy_days(std::string_view name) {
    store::Session repo(cache);
    auto pol = repo.load_policy(name);
    BOOST_REQUIRE_MESSAGE(pol, (pol ? "" : pol.error().detail));
    return pol->validity_days;
  }

  void save_policy(std::string name, int days) {
    policy::Policy p;
    p.name = std::move(name);
    p.validity_days = days;
    BOOST_REQUIRE(st().save_policy(p, store::Store::Replace::yes));
  }

  std::string key_pem(scep::KeyRole role) {
    store::Session repo(cache);
    auto key = repo.load_key("main", role);
    BOOST_REQUIRE_MESSAGE(key, (key ? "" : key.error().detail));
    return key->to_pem();
  }
};

/// Four threads take CA certificate and key through the cache while
/// scep.toml changes under them: every value they see is whole.
void requests_on_many_threads_see_whole_values(CachedStore& f) {
  const auto& pki = testing::test_pki();
  std::atomic<int> bad{0};
  std::atomic<bool> written{false};
  constexpr int readers = 4;
  std::latch start(readers + 1);  // readers and writer begin together...
  std::vector<std::thread> threads;
  for (int t = 0; t < readers; ++t)
    threads.emplace_back([&] {
      start.arrive_and_wait();
      // ...and the readers go on until the writer is done.
      for (int i = 0; i < 50 || !written.load(); ++i) {
        store::Session repo(f.cache);
        auto ca = repo.find_ca("main");
        auto key = repo.load_key("main", scep::KeyRole::ca);
        if (!ca || !key || ca->cert.der() != pki.root.cert.der()) ++bad;
      }
    });
  start.arrive_and_wait();
  for (int i = 0; i < 20; ++i)
    BOOST_REQUIRE(f.st().set_ca_option("main", "legacy_algorithms", i % 2 ? "true" : "false"));
  written = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(f.find_ca().options.legacy_algorithms);  // the last value written
}

/// Each enrollment with a secret reads its policy: parsed once, again only
/// after policies/NAME.toml changed. For the stat and the inotify cache alike.
void policy_is_parsed_once_and_again_when_its_file_changes(CachedStore& f) {
  f.save_policy("device", 30);
  auto loads = f.cache.loads();
  BOOST_TEST(f.policy_days("device") == 30);
  BOOST_TEST(f.cache.loads() == loads + 1);  // read and parsed by the cache
  for (int i = 0; i < 3; ++i) BOOST_TEST(f.policy_days("device") == 30);
  BOOST_TEST(f.cache.loads() == loads + 1);
  f.save_policy("device", 7);  // scepctl policy create --replace
  BOOST_TEST(f.policy_days("device") == 7);
  BOOST_TEST(f.cache.loads() == loads + 2);
  auto text = store::read_file(f.st().policy_path("device"));
  BOOST_REQUIRE(text);
  std::string edited = core::to_string(*text);
  auto at = edited.find("validity_days = 7");
  BOOST_REQUIRE(at != std::string::npos);
  edited.replace(at, 17, "validity_days = 90");  // another size: stat sees it within a clock tick
  store_cache_test::write_in_place(f.st().policy_path("device"), edited);  // an editor
  BOOST_TEST(f.policy_days("device") == 90);
  fs::remove(f.st().policy_path("device"));
  store::Session repo(f.cache);
  auto gone = repo.load_policy("device");
  BOOST_REQUIRE(!gone);
  BOOST_TEST(gone.error().code == core::Errc::not_found);
  auto bad = repo.load_policy("../scep");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().code == core::Errc::not_found);
}

}  // namespace store_cache_test

using store_cache_test::cache_test_key;
using store_cache_test::CachedStore;

BOOST_AUTO_TEST_SUITE(store_cache)

BOOST_FIXTURE_TEST_CASE(an_unchanged_store_is_not_read_again, CachedStore) {
  auto first = find_ca();
  std::string key = key_pem(scep::KeyRole::ca);
  auto loads = cache.loads();
  BOOST_TEST(loads == 3u);  // scep.toml, the CA's certificates, its key
  for (int i = 0; i < 5; ++i) {
    auto again = find_ca();
    BOOST_TEST(again.cert.der() == first.cert.der());
    BOOST_TEST(key_pem(scep::KeyRole::ca) == key);
  }
  BOOST_TEST(cache.loads() == loads);
}

BOOST_FIXTURE_TEST_CASE(a_config_change_is_picked_up_and_only_the_config_reread, CachedStore) {
  BOOST_TEST(!find_ca().options.legacy_algorithms);
  key_pem(scep::KeyRole::ca);
  auto loads = cache.loads();
  BOOST_REQUIRE(st().set_ca_option("main", "legacy_algorithms", "true"));
  BOOST_TEST(find_ca().options.legacy_algorithms);
  key_pem(scep::KeyRole::ca);
  BOOST_TEST(cache.loads() == loads + 1);
}

BOOST_FIXTURE_TEST_CASE(a_new_ca_and_default_are_picked_up, CachedStore) {
  BOOST_TEST(find_ca("").name == "main");  // the only CA
  const auto& pki = testing::test_pki();
  BOOST_REQUIRE(st().add_ca("second", store::NewCa{pki.inter.cert, cache_test_key(pki.inter.key), {pki.root.cert}}));
  BOOST_REQUIRE(st().set_default_ca("second"));
  auto ca = find_ca("");
  BOOST_TEST(ca.name == "second");
  BOOST_TEST(ca.cert.der() == pki.inter.cert.der());
  BOOST_REQUIRE(ca.chain.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(an_ra_installed_later_is_picked_up, CachedStore) {
  BOOST_TEST(!find_ca().ra.has_value());
  store::Session before(cache);
  BOOST_TEST(!before.load_key("main", scep::KeyRole::ra));
  const auto& pki = testing::test_pki();
  BOOST_REQUIRE(st().set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  auto ca = find_ca();
  BOOST_REQUIRE(ca.ra.has_value());
  BOOST_TEST(ca.ra->der() == pki.ra.cert.der());
  BOOST_TEST(key_pem(scep::KeyRole::ra) == pki.ra.key.to_pem());
}

BOOST_FIXTURE_TEST_CASE(a_replaced_key_file_is_picked_up, CachedStore) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(key_pem(scep::KeyRole::ca) == pki.root.key.to_pem());
  BOOST_REQUIRE(store::write_file_atomic(st().ca_dir("main") / "key.pem", pki.client_key.to_pem(), 0600));
  BOOST_TEST(key_pem(scep::KeyRole::ca) == pki.client_key.to_pem());
}

BOOST_FIXTURE_TEST_CASE(a_broken_file_is_an_error_each_time_not_a_cached_value, CachedStore) {
  find_ca();
  fs::path cert = st().ca_dir("main") / "cert.pem";
  std::string good = testing::test_pki().root.cert.pem();
  BOOST_REQUIRE(store::write_file_atomic(cert, "not a certificate\n", 0640));
  for (int i = 0; i < 2; ++i) {
    store::Session repo(cache);
    auto ca = repo.find_ca("main");
    BOOST_REQUIRE(!ca);
    BOOST_TEST(ca.error().code == core::Errc::store_io);
  }
  BOOST_REQUIRE(store::write_file_atomic(cert, good, 0640));
  BOOST_TEST(find_ca().cert.pem() == good);
  fs::remove(cert);
  store::Session repo(cache);
  auto gone = repo.find_ca("main");
  BOOST_REQUIRE(!gone);
  BOOST_TEST(gone.error().code == core::Errc::unknown_ca);
}

BOOST_FIXTURE_TEST_CASE(a_name_that_is_no_store_name_never_reaches_the_disk, CachedStore) {
  store::Session repo(cache);
  auto ca = repo.find_ca("../main");
  BOOST_REQUIRE(!ca);
  BOOST_TEST(ca.error().code == core::Errc::unknown_ca);
  BOOST_TEST(!repo.load_key("../main", scep::KeyRole::ca));
}

BOOST_FIXTURE_TEST_CASE(resolve_ca_names_the_ca_without_reading_its_certificates, CachedStore) {
  // GetCACaps asks only this: a CGI process then parses no certificate.
  store::Session plain(st());
  store::Session cached(cache);
  for (auto* repo : {&plain, &cached}) {
    BOOST_TEST(repo->resolve_ca("main").value_or("?") == "main");
    BOOST_TEST(repo->resolve_ca("").value_or("?") == "main");  // the only CA is the default
    for (std::string_view bad : {"nosuch", "../main", "main/../main"}) {
      auto r = repo->resolve_ca(bad);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().code == core::Errc::unknown_ca);
    }
  }
  // A CGI process's cache read the configuration, but parsed no certificate:
  // GetCACaps in CGI costs no decoder set-up.
  BOOST_TEST(cache.loads() == 1u);
  BOOST_REQUIRE(store::write_file_atomic(st().ca_dir("main") / "cert.pem", "not a certificate\n", 0640));
  store::Session after(st());
  BOOST_TEST(after.resolve_ca("main").value_or("?") == "main");
  BOOST_TEST(!after.find_ca("main"));
  // A long-lived server answers the same (GetCACaps does not need the bundle).
  store::Session cached_after(cache);
  BOOST_TEST(cached_after.resolve_ca("main").value_or("?") == "main");
  BOOST_TEST(!cached_after.find_ca("main"));
}

BOOST_FIXTURE_TEST_CASE(requests_on_many_threads_see_whole_values, CachedStore) {
  store_cache_test::requests_on_many_threads_see_whole_values(*this);
}

BOOST_FIXTURE_TEST_CASE(a_policy_is_parsed_once_and_again_when_its_file_changes, CachedStore) {
  store_cache_test::policy_is_parsed_once_and_again_when_its_file_changes(*this);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_stamped_cache)

BOOST_AUTO_TEST_CASE(a_value_is_reloaded_only_when_its_file_changes) {
  testing::TempDir dir;
  fs::path f = dir.path() / "value";
  int loads = 0;
  store::StampedCache<std::string> cache;
  auto get = [&] {
    auto v = cache.get(
        "k", [&] { return std::vector<fs::path>{f}; },
        [&]() -> core::Result<std::string> {
          ++loads;
          auto bytes = store::read_file(f);
          if (!bytes) return std::unexpected(bytes.error());
          return core::to_string(*bytes);
        });
    return v ? **v : std::string("<error>");
  };
  BOOST_TEST(get() == "<error>");  // missing: an error, not cached
  BOOST_TEST(get() == "<error>");
  BOOST_TEST(loads == 2);
  BOOST_REQUIRE(store::write_file_atomic(f, "one", 0640));
  BOOST_TEST(get() == "one");
  BOOST_TEST(get() == "one");
  BOOST_TEST(loads == 3);
  BOOST_REQUIRE(store::write_file_atomic(f, "two", 0640));  // same size, new inode
  BOOST_TEST(get() == "two");
  BOOST_TEST(loads == 4);
  BOOST_TEST(cache.loads() == 4u);
}

BOOST_AUTO_TEST_CASE(stamps_tell_missing_files_and_changes_apart) {
  testing::TempDir dir;
  fs::path f = dir.path() / "f";
  BOOST_TEST(!store::stamp_of(f).exists);
  BOOST_REQUIRE(store::write_file_atomic(f, "abc", 0640));
  auto a = store::stamp_of(f);
  BOOST_TEST(a.exists);
  BOOST_TEST(a.size == 3);
  BOOST_TEST((store::stamp_of(f) == a));
  BOOST_REQUIRE(store::write_file_atomic(f, "abc", 0640));  // same content, new file
  BOOST_TEST(!(store::stamp_of(f) == a));
}

BOOST_AUTO_TEST_SUITE_END()

namespace store_cache_test {

/// The same store behind a cache that watches it with inotify, as scepctl
/// serve and FastCGI use it.
struct WatchedStore : CachedStore {
  WatchedStore() { cache.watch_changes(); }
};

}  // namespace store_cache_test

using store_cache_test::WatchedStore;

BOOST_AUTO_TEST_SUITE(store_cache_watched)

BOOST_FIXTURE_TEST_CASE(resolve_ca_answers_from_the_loaded_ca, WatchedStore) {
  // A long-lived process loads the CA once (the configuration and the
  // bundle), then names it without loading anything again.
  store::Session repo(cache);
  BOOST_TEST(repo.resolve_ca("main").value_or("?") == "main");
  BOOST_TEST(cache.loads() == 2u);
  BOOST_TEST(repo.resolve_ca("main").value_or("?") == "main");
  BOOST_TEST(repo.resolve_ca("").value_or("?") == "main");
  BOOST_TEST(cache.loads() == 2u);
}

BOOST_FIXTURE_TEST_CASE(an_unchanged_store_is_not_read_again, WatchedStore) {
  auto first = find_ca();
  key_pem(scep::KeyRole::ca);
  auto loads = cache.loads();
  for (int i = 0; i < 5; ++i) BOOST_TEST(find_ca().cert.der() == first.cert.der());
  BOOST_TEST(cache.loads() == loads);
}

BOOST_FIXTURE_TEST_CASE(each_kind_of_change_is_seen_at_the_next_request, WatchedStore) {
  const auto& pki = testing::test_pki();
  BOOST_TEST(!find_ca().options.legacy_algorithms);
  BOOST_TEST(key_pem(scep::KeyRole::ca) == pki.root.key.to_pem());
  // scep.toml replaced by rename (scepctl), then edited in place (an editor).
  BOOST_REQUIRE(st().set_ca_option("main", "legacy_algorithms", "true"));
  BOOST_TEST(find_ca().options.legacy_algorithms);
  auto toml = store::read_file(st().config_path());
  BOOST_REQUIRE(toml);
  std::string text = core::to_string(*toml);
  auto at = text.find("legacy_algorithms = true");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 24, "legacy_algorithms = false");
  store_cache_test::write_in_place(st().config_path(), text);
  BOOST_TEST(!find_ca().options.legacy_algorithms);
  // The key rewritten in place, then replaced.
  fs::path key = st().ca_dir("main") / "key.pem";
  store_cache_test::write_in_place(key, pki.client_key.to_pem());
  BOOST_TEST(key_pem(scep::KeyRole::ca) == pki.client_key.to_pem());
  BOOST_REQUIRE(store::write_file_atomic(key, pki.root.key.to_pem(), 0600));
  BOOST_TEST(key_pem(scep::KeyRole::ca) == pki.root.key.to_pem());
  // An RA added, then its file deleted.
  BOOST_REQUIRE(st().set_ra("main", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
  BOOST_TEST(find_ca().ra.has_value());
  fs::remove(st().ca_dir("main") / "ra.pem");
  BOOST_TEST(!find_ca().ra.has_value());
}

BOOST_FIXTURE_TEST_CASE(a_ca_directory_moved_away_and_back_is_watched_again, WatchedStore) {
  const auto& pki = testing::test_pki();
  find_ca();
  fs::path dir = st().ca_dir("main");
  fs::rename(dir, dir.string() + ".old");
  store::Session gone(cache);
  BOOST_TEST(!gone.find_ca("main"));
  fs::rename(dir.string() + ".old", dir);
  BOOST_TEST(find_ca().cert.der() == pki.root.cert.der());
  // The directory's new watch reports changes as the first one did.
  BOOST_REQUIRE(store::write_file_atomic(dir / "cert.pem", pki.inter.cert.pem(), 0640));
  BOOST_TEST(find_ca().cert.der() == pki.inter.cert.der());
}

BOOST_FIXTURE_TEST_CASE(the_ca_directory_replaced_by_a_copy_is_seen_and_watched_again, WatchedStore) {
  // ca/ is renamed away and a copy put in its place (a restore): the CA's
  // own directory did not change, so only the watch on the store root for
  // the name "ca" reports it.
  const auto& pki = testing::test_pki();
  find_ca();
  fs::path cas = st().root() / "ca";
  fs::path copy = st().root() / "ca.new";
  fs::copy(cas, copy, fs::copy_options::recursive);
  BOOST_REQUIRE(store::write_file_atomic(copy / "main" / "cert.pem", pki.inter.cert.pem(), 0640));
  fs::rename(cas, st().root() / "ca.old");
  fs::rename(copy, cas);
  BOOST_TEST(find_ca().cert.der() == pki.inter.cert.der());
  // The new directory is watched, not the old one.
  BOOST_REQUIRE(store::write_file_atomic(cas / "main" / "cert.pem", pki.root.cert.pem(), 0640));
  BOOST_TEST(find_ca().cert.der() == pki.root.cert.der());
}

BOOST_FIXTURE_TEST_CASE(the_whole_store_replaced_is_seen, WatchedStore) {
  const auto& pki = testing::test_pki();
  find_ca();
  fs::path root = st().root();
  fs::path copy = root.string() + ".new";
  fs::copy(root, copy, fs::copy_options::recursive);
  BOOST_REQUIRE(store::write_file_atomic(copy / "ca" / "main" / "cert.pem", pki.inter.cert.pem(), 0640));
  fs::rename(root, root.string() + ".old");
  fs::rename(copy, root);
  BOOST_TEST(find_ca().cert.der() == pki.inter.cert.der());
  BOOST_REQUIRE(store::write_file_atomic(root / "ca" / "main" / "cert.pem", pki.root.cert.pem(), 0640));
  BOOST_TEST(find_ca().cert.der() == pki.root.cert.der());
}

BOOST_FIXTURE_TEST_CASE(what_inotify_cannot_promise_is_not_watched, WatchedStore) {
  auto watch = store::ChangeWatch::create(st().root());
  BOOST_REQUIRE(watch);
  BOOST_TEST(watch->watch(st().ca_dir("main") / "cert.pem"));
  BOOST_TEST(!watch->watch(dir.path() / "outside.pem"));  // not below the store
  // A CA directory that is a link to elsewhere.
  fs::path real = dir.path() / "real-ca";
  fs::create_directories(real);
  fs::create_directory_symlink(real, st().root() / "ca" / "linked");
  BOOST_TEST(!watch->watch(st().root() / "ca" / "linked" / "cert.pem"));
  // A file with a second name outside the store.
  fs::create_hard_link(st().ca_dir("main") / "cert.pem", dir.path() / "cert-elsewhere.pem");
  BOOST_TEST(!watch->watch(st().ca_dir("main") / "cert.pem"));
}

BOOST_FIXTURE_TEST_CASE(other_files_in_the_same_directories_do_not_count_as_changes, WatchedStore) {
  find_ca();
  key_pem(scep::KeyRole::ca);
  auto loads = cache.loads();
  auto watch = store::ChangeWatch::create(st().root());
  BOOST_REQUIRE(watch);
  BOOST_TEST(watch->watch(st().config_path()));
  BOOST_TEST(watch->watch(st().ca_dir("main") / "cert.pem"));
  auto generation = watch->generation();
  // What every enrollment writes next to them: the audit log, the lock file.
  store_cache_test::write_in_place(st().root() / "audit.log", "{}\n");
  store_cache_test::write_in_place(st().ca_dir("main") / "tx.lock", "");
  BOOST_REQUIRE(store::write_file_atomic(st().ca_dir("main") / "crl.der", "x", 0640));
  // Files written in the directories on the way: ca/, and beside the store.
  BOOST_REQUIRE(st().root().parent_path() == dir.path());
  store_cache_test::write_in_place(st().root() / "ca" / "notes.txt", "x");
  store_cache_test::write_in_place(dir.path() / "access.log", "GET /scep\n");
  store_cache_test::write_in_place(dir.path() / "access.log", "GET /scep\nGET /scep\n");
  BOOST_TEST(watch->generation() == generation);
  find_ca();
  BOOST_TEST(cache.loads() == loads);
  fs::permissions(st().ca_dir("main") / "cert.pem", fs::perms::owner_read, fs::perm_options::replace);
  BOOST_TEST(watch->generation() != generation);
}

// The store follows no symbolic link (issue 14): a key.pem that points
// elsewhere is refused with a reason, not read.
BOOST_FIXTURE_TEST_CASE(a_symbolic_link_in_the_store_is_refused, WatchedStore) {
  const auto& pki = testing::test_pki();
  fs::path elsewhere = dir.path() / "keys";
  fs::create_directories(elsewhere);
  BOOST_REQUIRE(store::write_file_atomic(elsewhere / "ca.pem", pki.root.key.to_pem(), 0600));
  fs::path key = st().ca_dir("main") / "key.pem";
  fs::remove(key);
  fs::create_symlink(elsewhere / "ca.pem", key);
  store::Session repo(cache);
  auto loaded = repo.load_key("main", scep::KeyRole::ca);
  BOOST_TEST_REQUIRE(!loaded.has_value());
  BOOST_TEST(loaded.error().detail.find("symbolic link") != std::string::npos, loaded.error().detail);
}

BOOST_FIXTURE_TEST_CASE(watched_requests_on_many_threads_see_whole_values, WatchedStore) {
  store_cache_test::requests_on_many_threads_see_whole_values(*this);
}

// Each enrollment with a secret reads its policy: parsed once, again only
// after policies/NAME.toml changed.
BOOST_FIXTURE_TEST_CASE(a_policy_is_parsed_once_and_again_when_its_file_changes, WatchedStore) {
  store_cache_test::policy_is_parsed_once_and_again_when_its_file_changes(*this);
}

BOOST_AUTO_TEST_SUITE_END()
