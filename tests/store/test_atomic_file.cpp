#include <boost/test/unit_test.hpp>

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

BOOST_AUTO_TEST_SUITE_END()
