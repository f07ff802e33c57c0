#include <boost/test/unit_test.hpp>

#include <sstream>

#include "env.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

BOOST_AUTO_TEST_SUITE(scepctl_ca)

BOOST_AUTO_TEST_CASE(duplicate_ca_is_refused_with_one_line_and_exit_status) {
  testing::TempDir dir;
  std::ostringstream out, err;
  core::SystemClock clock;
  testing::CountingRng rng;
  scepctl::Env env{out, err, clock, rng, dir.path().string(), false, {}};
  BOOST_TEST(scepctl::run({"ca", "create", "main", "--days", "10"}, env) == 0);
  scepctl::Env env2{out, err, clock, rng, dir.path().string(), false, {}};
  int rc = scepctl::run({"ca", "create", "main"}, env2);
  BOOST_TEST(rc == 4);
  BOOST_TEST(err.str() == "scepctl: error: CA \"main\" already exists\n");
}

BOOST_AUTO_TEST_SUITE_END()
