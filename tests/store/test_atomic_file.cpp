#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include "store/atomic_file.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(store_atomic_file)

BOOST_AUTO_TEST_CASE(uncommitted_file_leaves_nothing_behind) {
  testing::TempDir dir;
  {
    auto f = store::AtomicFile::create(dir.path() / "x", 0600);
    BOOST_REQUIRE(f);
    BOOST_REQUIRE(f->write("half"));
  }
  BOOST_TEST(fs::is_empty(dir.path()));
}

BOOST_AUTO_TEST_CASE(commit_replaces_with_the_requested_mode) {
  testing::TempDir dir;
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "k", "old", 0600));
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "k", "new", 0600));
  auto content = store::read_file(dir.path() / "k");
  BOOST_REQUIRE(content);
  BOOST_TEST(core::to_string(*content) == "new");
  struct stat st {};
  BOOST_REQUIRE(::stat((dir.path() / "k").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
}

BOOST_AUTO_TEST_CASE(no_replace_keeps_the_first_writer) {
  testing::TempDir dir;
  BOOST_REQUIRE(store::write_file_atomic(dir.path() / "s", "first", 0640, store::AtomicFile::Replace::no));
  auto second = store::write_file_atomic(dir.path() / "s", "second", 0640, store::AtomicFile::Replace::no);
  BOOST_REQUIRE(!second);
  BOOST_TEST(second.error().code == core::Errc::already_exists);
  BOOST_TEST(core::to_string(*store::read_file(dir.path() / "s")) == "first");
  BOOST_TEST(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

// The group-commit promise: when sync() returns, a sync that started after
// the caller's change has finished. The fake sync snapshots the changes made
// so far when it starts (what a real fsync would make durable) and publishes
// them when it ends; every caller must find its change published.
BOOST_AUTO_TEST_CASE(a_shared_sync_covers_every_change_made_before_the_call) {
  std::mutex m;
  std::set<int> made, durable;
  std::atomic<int> in_sync{0}, overlap{0};
  store::SyncGroup group([&] {
    if (in_sync.fetch_add(1) != 0) ++overlap;
    std::set<int> snapshot;
    {
      std::lock_guard lock(m);
      snapshot = made;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      std::lock_guard lock(m);
      durable.insert(snapshot.begin(), snapshot.end());
    }
    in_sync.fetch_sub(1);
    return 0;
  });
  constexpr int threads = 8, rounds = 25;
  std::atomic<int> lost{0};
  std::latch all_started(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      all_started.arrive_and_wait();
      for (int i = 0; i < rounds; ++i) {
        int id = t * rounds + i;
        {
          std::lock_guard lock(m);
          made.insert(id);
        }
        if (group.sync() != 0) ++lost;
        std::lock_guard lock(m);
        if (!durable.contains(id)) ++lost;
      }
    });
  for (auto& th : pool) th.join();
  BOOST_TEST(lost.load() == 0);
  BOOST_TEST(overlap.load() == 0);  // one sync at a time
  // Eight threads queue behind each 2 ms sync: far fewer syncs than calls.
  BOOST_TEST(group.runs() >= 1u);
  BOOST_TEST(group.runs() < static_cast<std::uint64_t>(threads * rounds / 2));
}

BOOST_AUTO_TEST_CASE(a_failed_shared_sync_fails_every_call_it_covered) {
  // Sync 1 (for X) is held open while W1 and W2 queue; sync 2 covers both
  // and fails: both get its error, X its own success.
  std::atomic<int> runs{0};
  std::promise<void> started;
  std::promise<void> gate;
  auto gate_open = gate.get_future().share();
  store::SyncGroup group([&] {
    int n = ++runs;
    if (n == 1) {
      started.set_value();
      gate_open.wait();
      return 0;
    }
    return n == 2 ? EIO : 0;
  });
  auto x = std::async(std::launch::async, [&] { return group.sync(); });
  started.get_future().wait();
  auto w1 = std::async(std::launch::async, [&] { return group.sync(); });
  auto w2 = std::async(std::launch::async, [&] { return group.sync(); });
  while (group.calls() < 3) std::this_thread::yield();
  gate.set_value();
  BOOST_TEST(x.get() == 0);
  BOOST_TEST(w1.get() == EIO);
  BOOST_TEST(w2.get() == EIO);
  BOOST_TEST(group.runs() == 2u);
  BOOST_TEST(group.sync() == 0);  // a later call gets a sync of its own
  BOOST_TEST(group.runs() == 3u);
  BOOST_TEST(group.failures_held() == 0u);  // both callers it covered have read it
}

BOOST_AUTO_TEST_CASE(failures_are_not_kept_once_read) {
  // A disk that keeps failing: every call gets the error, and the group
  // does not grow with the failures.
  store::SyncGroup group([] { return EIO; });
  for (int i = 0; i < 100; ++i) BOOST_TEST(group.sync() == EIO);
  BOOST_TEST(group.failures_held() == 0u);
}

BOOST_AUTO_TEST_CASE(sync_directory_reports_a_missing_directory) {
  testing::TempDir dir;
  BOOST_TEST(store::sync_directory(dir.path()).has_value());
  auto r = store::sync_directory(dir.path() / "missing");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().detail.find("missing") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
