// GetCRL over the flat-file store (scep::ca_crl with store::Session): the
// stored crl.der is served until it is due or a revocation changed it, also
// when another process (another Store) changed the store, by one-request
// processes (CGI) and by long-lived ones that keep it in memory (serve).
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <future>
#include <latch>
#include <thread>

#include <sys/stat.h>

#include "cert_store.hpp"
#include "crypto/crl.hpp"
#include "scep/crl.hpp"
#include "store/atomic_file.hpp"
#include "store/cache.hpp"
#include "store/file_lock.hpp"

namespace store_crl_test {

using namespace std::chrono_literals;

/// A store with CA "main" and a server's cache over it, watched (serve,
/// FastCGI) or not (what a CGI process has for its one request).
struct CrlSite {
  CertStore s;
  store::StoreCache cache{store::Store(s.st)};
  core::FixedClock clock{testing::fixed_time()};

  explicit CrlSite(bool watched) {
    if (watched) cache.watch_changes();
  }

  scep::CaBundle ca() {
    store::Session repo(cache);
    auto ca = repo.find_ca("main");
    BOOST_REQUIRE_MESSAGE(ca, (ca ? "" : ca.error().detail));
    return std::move(*ca);
  }

  /// One GetCRL: a request's own Session, as the server gives each.
  crypto::Crl get_crl() {
    store::Session repo(cache);
    auto der = scep::ca_crl(repo.backend(), ca(), clock);
    BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
    auto crl = crypto::Crl::parse(*der);
    BOOST_REQUIRE(crl);
    BOOST_TEST(crl->verify(testing::test_pki().root.cert));
    return std::move(*crl);
  }

  /// A certificate revoked by another process: its own Store over the same
  /// directory, no CRL signed (as a `scepctl revoke` cut short after its record).
  std::string revoke_elsewhere(std::uint8_t serial) {
    auto cert = s.add({0x10, serial});
    auto other = store::Store::open(s.st.root(), store::OpenMode::existing);
    BOOST_REQUIRE(other);
    auto r = other->revoke("main", {cert.serial_hex(), clock.now(), crypto::RevocationReason::key_compromise}, {});
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
    return cert.serial_hex();
  }

  fs::path crl_file() const { return s.ca_dir() / "crl.der"; }
  core::Bytes stored() const {
    auto der = store::read_file(crl_file());
    BOOST_REQUIRE(der);
    return *der;
  }
};

/// crl.lock held as another process would hold it (flock on its own file description).
std::optional<store::FileLock> hold_crl_lock(const CrlSite& f) {
  auto lock = store::FileLock::whole(f.s.ca_dir() / "crl.lock");
  BOOST_REQUIRE(lock);
  return std::optional<store::FileLock>(std::move(*lock));
}

bool lists(const crypto::Crl& crl, const std::string& serial) {
  for (const auto& e : crl.revoked_serials())
    if (e == serial) return true;
  return false;
}

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return st;
}

void write_in_place(const fs::path& f, const core::Bytes& data) {
  std::ofstream out(f, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

/// The stored CRL made unfit in each way a disk or a person can: it must be
/// signed again, never served.
std::vector<std::pair<std::string, core::Bytes>> damaged_versions(const core::Bytes& good) {
  std::vector<std::pair<std::string, core::Bytes>> out;
  out.emplace_back("garbage", core::to_bytes("damaged\n"));
  out.emplace_back("empty", core::Bytes{});
  out.emplace_back("torn", core::Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2)));
  core::Bytes flipped = good;
  flipped.back() ^= 0x01;  // the last byte of the signature
  out.emplace_back("bad signature", flipped);
  const auto& pki = testing::test_pki();
  crypto::CrlSpec spec;
  spec.number = 1000;
  spec.this_update = testing::fixed_time();
  spec.next_update = spec.this_update + std::chrono::days(7);
  auto foreign = crypto::build_crl(spec, pki.inter.cert, pki.inter.key);
  BOOST_REQUIRE(foreign);
  out.emplace_back("another CA's", *foreign);
  return out;
}

}  // namespace store_crl_test

using namespace store_crl_test;

BOOST_AUTO_TEST_SUITE(store_crl_served)

BOOST_AUTO_TEST_CASE(a_revocation_by_another_process_is_in_the_next_crl) {
  for (bool watched : {false, true}) {
    BOOST_TEST_CONTEXT((watched ? "watched (serve)" : "one request per process (CGI)")) {
      CrlSite f(watched);
      auto first = f.get_crl();
      BOOST_TEST(first.revoked_serials().empty());
      f.get_crl();  // served from crl.der (and kept in memory when watched)
      std::uint64_t number = first.number();
      for (std::uint8_t i = 1; i <= 3; ++i) {
        auto serial = f.revoke_elsewhere(i);
        auto crl = f.get_crl();
        BOOST_TEST(lists(crl, serial));
        BOOST_TEST(crl.revoked_serials().size() == i);
        BOOST_TEST(crl.number() == number + 1);
        number = crl.number();
        BOOST_TEST(f.get_crl().number() == number, "served again, not re-signed");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(without_a_change_nothing_is_signed_or_written) {
  for (bool watched : {false, true}) {
    BOOST_TEST_CONTEXT((watched ? "watched (serve)" : "one request per process (CGI)")) {
      CrlSite f(watched);
      f.revoke_elsewhere(1);
      auto first = f.get_crl();
      auto before = stat_of(f.crl_file());
      for (int i = 0; i < 20; ++i) {
        f.clock.advance(1h);
        auto crl = f.get_crl();
        BOOST_TEST(crl.number() == first.number());
        BOOST_TEST((crl.this_update() == first.this_update()));
        BOOST_TEST((crl.der() == first.der()));
      }
      auto after = stat_of(f.crl_file());
      BOOST_TEST(after.st_ino == before.st_ino);
      BOOST_TEST(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
      BOOST_TEST(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
      // Served from memory: the first request after the CRL was written
      // read it and kept it, the other 19 found it kept.
      if (watched) BOOST_TEST(f.cache.crl_recalls() == 19u);
      else BOOST_TEST(f.cache.crl_recalls() == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_damaged_crl_der_is_signed_again_not_served) {
  for (bool watched : {false, true}) {
    CrlSite f(watched);
    f.revoke_elsewhere(7);
    auto good = f.get_crl();
    f.get_crl();  // kept in memory when watched
    std::uint64_t number = good.number();
    for (const auto& [what, bytes] : damaged_versions(f.stored())) {
      BOOST_TEST_CONTEXT((watched ? "watched: " : "unwatched: ") << what) {
        f.clock.advance(1s);  // a damaged CRL's successor is numbered by the time
        write_in_place(f.crl_file(), bytes);
        auto crl = f.get_crl();
        BOOST_TEST(crl.revoked_serials().size() == 1u);
        BOOST_TEST(crl.number() > number, "CRL numbers only grow");
        BOOST_TEST((f.stored() == crl.der()), "crl.der replaced");
        number = crl.number();
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(past_half_its_life_the_crl_is_signed_once) {
  for (bool watched : {false, true}) {
    BOOST_TEST_CONTEXT((watched ? "watched (serve)" : "one request per process (CGI)")) {
      CrlSite f(watched);
      f.revoke_elsewhere(1);
      auto first = f.get_crl();
      f.clock.advance(std::chrono::days(4));  // crl_days 7: due after 3.5
      auto ca = f.ca();
      constexpr int requests = 8;
      std::latch start(requests);
      std::vector<std::future<core::Result<core::Bytes>>> replies;
      for (int i = 0; i < requests; ++i)
        replies.push_back(std::async(std::launch::async, [&] {
          store::Session repo(f.cache);
          start.arrive_and_wait();
          return scep::ca_crl(repo.backend(), ca, f.clock);
        }));
      for (auto& r : replies) {
        auto der = r.get();
        BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
        auto crl = crypto::Crl::parse(*der);
        BOOST_REQUIRE(crl);
        // The old one (still valid) while the one signer works, or the new one.
        BOOST_TEST((crl->number() == first.number() || crl->number() == first.number() + 1));
      }
      BOOST_TEST(f.get_crl().number() == first.number() + 1, "signed once");
    }
  }
}

BOOST_AUTO_TEST_CASE(past_half_its_life_a_taken_lock_serves_the_old_crl) {
  CrlSite f(true);
  auto first = f.get_crl();
  f.clock.advance(std::chrono::days(4));
  auto lock = hold_crl_lock(f);  // another process signing
  auto ca = f.ca();
  auto reply = std::async(std::launch::async, [&] {
    store::Session repo(f.cache);
    return scep::ca_crl(repo.backend(), ca, f.clock);
  });
  bool answered = reply.wait_for(20s) == std::future_status::ready;
  BOOST_TEST(answered, "GetCRL waited for the lock although its CRL is valid");
  lock.reset();  // lets a waiting reply finish
  auto der = reply.get();
  BOOST_REQUIRE(der);
  BOOST_TEST((*der == first.der()));
}

BOOST_AUTO_TEST_CASE(a_crl_that_misses_a_revocation_waits_for_the_signer) {
  for (bool expired : {false, true}) {
    BOOST_TEST_CONTEXT((expired ? "an expired CRL" : "a revocation since")) {
      CrlSite f(true);
      auto first = f.get_crl();
      std::string serial;
      if (expired) f.clock.advance(std::chrono::days(8));
      else serial = f.revoke_elsewhere(2);
      auto lock = hold_crl_lock(f);
      auto ca = f.ca();
      auto reply = std::async(std::launch::async, [&] {
        store::Session repo(f.cache);
        return scep::ca_crl(repo.backend(), ca, f.clock);
      });
      BOOST_TEST((reply.wait_for(300ms) == std::future_status::timeout), "served a CRL that is not in force");
      lock.reset();
      auto der = reply.get();
      BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
      auto crl = crypto::Crl::parse(*der);
      BOOST_REQUIRE(crl);
      BOOST_TEST(crl->number() == first.number() + 1);
      if (!expired) BOOST_TEST(lists(*crl, serial));
      BOOST_TEST((crl->this_update() == f.clock.now()));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_new_ca_certificate_gets_a_crl_of_its_own) {
  // The memo is of a CRL verified under the CA certificate of its time.
  CrlSite f(true);
  auto first = f.get_crl();
  f.get_crl();
  const auto& pki = testing::test_pki();
  BOOST_REQUIRE(store::write_file_atomic(f.s.ca_dir() / "cert.pem", pki.inter.cert.pem()));
  BOOST_REQUIRE(store::write_file_atomic(f.s.ca_dir() / "key.pem", pki.inter.key.to_pem(), 0600));
  store::Session repo(f.cache);
  auto ca = repo.find_ca("main");
  BOOST_REQUIRE(ca);
  auto der = scep::ca_crl(repo.backend(), *ca, f.clock);
  BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
  auto crl = crypto::Crl::parse(*der);
  BOOST_REQUIRE(crl);
  BOOST_TEST(crl->verify(pki.inter.cert));
  BOOST_TEST(crl->number() > first.number());
}

BOOST_AUTO_TEST_SUITE_END()
