#include <boost/test/unit_test.hpp>

#include "store/layout.hpp"

// The names on disk are a format: a change here breaks every existing store.
BOOST_AUTO_TEST_SUITE(store_layout)

BOOST_AUTO_TEST_CASE(paths_are_the_documented_ones) {
  store::Layout at("/s");
  BOOST_TEST(at.format_file() == "/s/FORMAT");
  BOOST_TEST(at.config() == "/s/scep.toml");
  BOOST_TEST(at.audit_log() == "/s/audit.log");
  BOOST_TEST(at.ca_cert("c") == "/s/ca/c/cert.pem");
  BOOST_TEST(at.ca_key("c") == "/s/ca/c/key.pem");
  BOOST_TEST(at.chain("c") == "/s/ca/c/chain.pem");
  BOOST_TEST(at.ra_cert("c") == "/s/ca/c/ra.pem");
  BOOST_TEST(at.ra_key("c") == "/s/ca/c/ra-key.pem");
  BOOST_TEST(at.crl("c") == "/s/ca/c/crl.der");
  BOOST_TEST(at.crl_lock("c") == "/s/ca/c/crl.lock");
  BOOST_TEST(at.tx_lock("c") == "/s/ca/c/tx.lock");
  BOOST_TEST(at.certificate("c", "0A") == "/s/ca/c/certs/0A.pem");
  BOOST_TEST(at.revocation("c", "0A") == "/s/ca/c/revoked/0A.json");
  BOOST_TEST(at.renewal("c", "0A") == "/s/ca/c/renewed/0A");
  BOOST_TEST(at.transaction("c", "ab") == "/s/ca/c/tx/ab.json");
  BOOST_TEST(at.pending("c", "f0") == "/s/ca/c/pending/f0.json");
  BOOST_TEST(store::Layout::claimed(at.pending("c", "f0")) == "/s/ca/c/pending/f0.claimed");
  BOOST_TEST(at.policy("p") == "/s/policies/p.toml");
  BOOST_TEST(at.secret("h") == "/s/secrets/h.json");
  BOOST_TEST(at.secret_use("h", 3) == "/s/secrets/h.use-3");
  BOOST_TEST(at.secret_spent("h", "k") == "/s/secrets/h.spent-k");
}

BOOST_AUTO_TEST_CASE(an_empty_root_gives_paths_relative_to_the_store) {
  BOOST_TEST(store::Layout().crl("c") == "ca/c/crl.der");
}

BOOST_AUTO_TEST_SUITE_END()
