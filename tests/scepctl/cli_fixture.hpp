#pragma once
// The scepctl test fixture: runs the CLI in-process against a temp store.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "env.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace {

/// Runs scepctl in-process against a store in a fresh temp directory.
struct Cli {
  testing::TempDir dir;
  std::filesystem::path store = dir.path() / "store";
  core::FixedClock clock{testing::fixed_time()};
  testing::CountingRng rng;
  std::string out, err;

  int run(std::vector<std::string> args) {
    std::ostringstream o, e;
    scepctl::Env env{o, e, clock, rng, store.string(), false, {}};
    int rc = scepctl::run(std::move(args), env);
    out = o.str();
    err = e.str();
    return rc;
  }
  nlohmann::json json(std::vector<std::string> args) {
    int rc = run(std::move(args));
    BOOST_REQUIRE_MESSAGE(rc == 0, "exit " << rc << ": " << err);
    return nlohmann::json::parse(out);
  }
  /// The error of a failed run: exactly one "scepctl: error: ..." line.
  std::string error_line() const {
    BOOST_TEST(err.starts_with("scepctl: error: "), err);
    BOOST_TEST(std::count(err.begin(), err.end(), '\n') == 1, err);
    BOOST_TEST(err.ends_with("\n"), err);
    return err;
  }
};

[[maybe_unused]] crypto::PrivateKey copy_key(const crypto::PrivateKey& key) {
  auto copy = crypto::PrivateKey::load(core::to_bytes(key.to_pem()));
  BOOST_REQUIRE(copy);
  return std::move(*copy);
}

[[maybe_unused]] store::Store seeded_store(const std::filesystem::path& root) {
  auto st = store::Store::open(root, store::OpenMode::create);
  BOOST_REQUIRE(st);
  return std::move(*st);
}

/// A listing's lines split at runs of spaces (the last column of a table may
/// hold spaces itself; tests look at the columns before it).
[[maybe_unused]] std::vector<std::vector<std::string>> table_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    rows.emplace_back(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>());
  }
  return rows;
}

[[maybe_unused]] bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace
