// A CA's generations in the flat-file store: ca/NAME/next (rollover), its
// activation (retired/ID, activating/ as the commit point) with a fault at
// every file operation of it, and the CRL of a retired generation.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <sys/stat.h>

#include "ca/authority.hpp"
#include "cert_store.hpp"
#include "crypto/crl.hpp"
#include "crypto/key_type.hpp"
#include "scep/crl.hpp"
#include "store/file_ops.hpp"
#include "store/fsck.hpp"

namespace store_rollover_test {

namespace {

/// The fault plan is process-wide: disarmed however a case ends.
struct Armed {
  Armed(std::uint64_t nth, int error) { store::sys::inject_fault(nth, error); }
  ~Armed() { store::sys::inject_fault(0, 0); }
};

/// The next generation of the test root, made once (RSA key generation is slow).
const ca::KeyPairCert& next_root() {
  static const ca::KeyPairCert next = [] {
    core::FixedClock clock(testing::fixed_time());
    testing::CountingRng rng(7);
    auto made = ca::create_next_root(testing::test_pki().root.cert, crypto::KeyType::rsa_2048, 365, clock, rng);
    BOOST_REQUIRE_MESSAGE(made, (made ? "" : made.error().detail));
    return std::move(*made);
  }();
  return next;
}

store::NewCa next_ca() {
  auto key = crypto::PrivateKey::load(core::to_bytes(next_root().key.to_pem()));
  BOOST_REQUIRE(key);
  return store::NewCa{next_root().cert, std::move(*key), {}};
}

config::Config no_config() {
  auto cfg = config::parse_config("");
  BOOST_REQUIRE(cfg);
  return *cfg;
}

crypto::Certificate current_cert(const store::Store& st) {
  auto ca = st.load_ca("main", no_config());
  BOOST_REQUIRE_MESSAGE(ca, (ca ? "" : ca.error().detail));
  return ca->cert;
}

/// The state after a complete activation: the next generation is current
/// (certificate and key), nothing of next/ or activating/ is left, and the
/// old generation is retired under its serial with its key.
void expect_activated(const store::Store& st) {
  const auto& old = testing::test_pki().root;
  BOOST_TEST((current_cert(st) == next_root().cert));
  auto key = st.load_key("main", scep::KeyRole::ca);
  BOOST_REQUIRE(key);
  BOOST_TEST(next_root().cert.matches(*key));
  BOOST_TEST(!st.has_next_ca("main"));
  BOOST_TEST(!st.activation_pending("main"));
  auto retired = st.retired_cas("main");
  BOOST_REQUIRE(retired);
  BOOST_REQUIRE(retired->size() == 1u);
  BOOST_TEST((*retired)[0].id == old.cert.serial_hex());
  BOOST_TEST(((*retired)[0].cert == old.cert));
  auto old_key = st.load_retired_key("main", (*retired)[0].id);
  BOOST_REQUIRE(old_key);
  BOOST_TEST(old.cert.matches(*old_key));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_rollover)

BOOST_AUTO_TEST_CASE(next_is_stored_whole_with_a_private_key_and_refused_twice) {
  CertStore s;
  BOOST_TEST(!s.st.has_next_ca("main"));
  auto none = s.st.load_next_ca("main", no_config());
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->has_value());
  BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
  BOOST_TEST(s.st.has_next_ca("main"));
  auto next = s.st.load_next_ca("main", no_config());
  BOOST_REQUIRE(next);
  BOOST_REQUIRE(next->has_value());
  BOOST_TEST(((*next)->cert == next_root().cert));
  struct stat sb {};
  BOOST_REQUIRE(::stat((s.st.layout().next_dir("main") / "key.pem").c_str(), &sb) == 0);
  BOOST_TEST((sb.st_mode & 0777) == 0600u);
  // The current generation is untouched until the activation.
  BOOST_TEST((current_cert(s.st) == testing::test_pki().root.cert));
  auto again = s.st.add_next_ca("main", next_ca(), store::Store::Replace::no);
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().code == core::Errc::already_exists);
  BOOST_TEST(s.st.add_next_ca("main", next_ca(), store::Store::Replace::yes).has_value());
  BOOST_TEST(s.st.has_next_ca("main"));
  BOOST_TEST(!s.st.add_next_ca("nosuch", next_ca(), store::Store::Replace::no));
}

BOOST_AUTO_TEST_CASE(activation_retires_the_current_generation) {
  CertStore s;
  auto none = s.st.activate_next("main");
  BOOST_REQUIRE(!none);
  BOOST_TEST(none.error().code == core::Errc::not_found);
  BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
  auto id = s.st.activate_next("main");
  BOOST_REQUIRE_MESSAGE(id, (id ? "" : id.error().detail));
  BOOST_TEST(*id == testing::test_pki().root.cert.serial_hex());
  expect_activated(s.st);
}

// next/ whose key does not match its certificate, or whose RA certificate
// names a key the RA no longer has (the RA replaced after the rollover),
// is refused before the commit point: nothing changes.
BOOST_AUTO_TEST_CASE(activation_refuses_a_next_generation_that_does_not_fit) {
  CertStore s;
  BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
  auto other = crypto::PrivateKey::generate_rsa(2048);
  BOOST_REQUIRE(other);
  std::ofstream(s.st.layout().next_dir("main") / "key.pem", std::ios::trunc) << other->to_pem();
  auto refused = s.st.activate_next("main");
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code == core::Errc::invalid_argument);
  BOOST_TEST(refused.error().detail.find("--replace") != std::string::npos, refused.error().detail);
  BOOST_TEST(s.st.has_next_ca("main"));
  BOOST_TEST(!fs::exists(s.st.layout().retired_dir("main") / testing::test_pki().root.cert.serial_hex()));
  BOOST_TEST((current_cert(s.st) == testing::test_pki().root.cert));
}

// key.pem beside a key.uri (a replacement by the other kind of key cut
// between its steps): the key its certificate certifies is the key, and the
// other one is not even tried (this key.uri names no reachable module).
BOOST_AUTO_TEST_CASE(of_key_pem_and_key_uri_the_one_matching_the_certificate_loads) {
  CertStore s;
  std::ofstream(s.ca_dir() / "key.uri") << "pkcs11:token=gone;object=k?module-path=/nonexistent/module.so\n";
  auto key = s.st.load_key("main", scep::KeyRole::ca);
  BOOST_REQUIRE_MESSAGE(key, (key ? "" : key.error().detail));
  BOOST_TEST(testing::test_pki().root.cert.matches(*key));
  // When the file's key is not the certificate's, the token is asked and
  // its failure is the answer.
  auto other = crypto::PrivateKey::generate_rsa(2048);
  BOOST_REQUIRE(other);
  std::ofstream(s.ca_dir() / "key.pem", std::ios::trunc) << other->to_pem();
  auto none = s.st.load_key("main", scep::KeyRole::ca);
  BOOST_REQUIRE(!none);
  BOOST_TEST(none.error().code == core::Errc::unavailable, none.error().detail);
}

// rollover --replace cut at any file operation: next/ holds the old next
// generation or the new one, never neither.
BOOST_AUTO_TEST_CASE(a_replacement_of_next_cut_anywhere_keeps_one_next_generation) {
  core::FixedClock clock(testing::fixed_time());
  testing::CountingRng rng(11);
  auto second = ca::create_next_root(testing::test_pki().root.cert, crypto::KeyType::ec_p256, 365, clock, rng);
  BOOST_REQUIRE(second);
  auto replacement = [&] {
    auto key = crypto::PrivateKey::load(core::to_bytes(second->key.to_pem()));
    BOOST_REQUIRE(key);
    return store::NewCa{second->cert, std::move(*key), {}};
  };
  std::uint64_t total = 0;
  {
    CertStore s;
    BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
    Armed counting(0, 0);
    BOOST_REQUIRE(s.st.add_next_ca("main", replacement(), store::Store::Replace::yes));
    total = store::sys::operations();
  }
  BOOST_TEST(total > 3u);
  for (std::uint64_t nth = 1; nth <= total; ++nth) {
    CertStore s;
    BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
    {
      Armed fault(nth, EIO);
      (void)s.st.add_next_ca("main", replacement(), store::Store::Replace::yes);
    }
    auto next = s.st.load_next_ca("main", no_config());
    BOOST_REQUIRE_MESSAGE(next, "operation " << nth << ": " << next.error().detail);
    BOOST_REQUIRE_MESSAGE(next->has_value(), "operation " << nth << " failed and left no next generation");
    const auto& cert = (*next)->cert;
    BOOST_TEST((cert == next_root().cert || cert == second->cert), "operation " << nth);
    auto key = s.st.load_next_key("main");
    BOOST_REQUIRE_MESSAGE(key, "operation " << nth << ": " << key.error().detail);
    BOOST_TEST(cert.matches(*key), "operation " << nth << ": next/ pairs a certificate with another key");
  }
}

BOOST_AUTO_TEST_CASE(an_activation_cut_at_any_file_operation_is_old_or_completes) {
  // Count the file operations of one activation, then fail each in turn:
  // afterwards the CA is either the old one (with its next still waiting)
  // or an activation past its commit point that does not load (503) until
  // it is completed, or (the last sync failed) complete; running the
  // activation again ends in the state of one that never failed.
  std::uint64_t total = 0;
  {
    CertStore s;
    BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
    Armed counting(0, 0);
    BOOST_REQUIRE(s.st.activate_next("main"));
    total = store::sys::operations();
  }
  BOOST_TEST_MESSAGE("activation: " << total << " file operations");
  BOOST_TEST(total > 5u);
  std::size_t old_states = 0, committed = 0, done = 0;
  for (std::uint64_t nth = 1; nth <= total; ++nth) {
    CertStore s;
    BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
    {
      Armed fault(nth, EIO);
      auto r = s.st.activate_next("main");
      BOOST_TEST(!r, "operation " << nth << " failed, yet the activation succeeded");
    }
    if (s.st.activation_pending("main")) {
      ++committed;
      auto ca = s.st.load_ca("main", no_config());
      BOOST_REQUIRE(!ca);
      BOOST_TEST(ca.error().code == core::Errc::store_busy);
      BOOST_TEST(!s.st.load_key("main", scep::KeyRole::ca));
    } else if (current_cert(s.st) == next_root().cert) {
      // Only the last directory sync failed: the activation is complete, its
      // durability unknown (the error says so).
      ++done;
      expect_activated(s.st);
      continue;
    } else {
      ++old_states;
      BOOST_TEST((current_cert(s.st) == testing::test_pki().root.cert), "after a fault at operation " << nth);
      BOOST_TEST(s.st.has_next_ca("main"));
      auto retired = s.st.retired_cas("main");
      BOOST_REQUIRE(retired);
      BOOST_TEST(retired->empty(), "a generation is retired before the commit point (operation " << nth << ")");
    }
    auto again = s.st.activate_next("main");
    BOOST_REQUIRE_MESSAGE(again, "operation " << nth << ": " << (again ? "" : again.error().detail));
    expect_activated(s.st);
  }
  BOOST_TEST_MESSAGE("faults leaving the old state: " << old_states << ", past the commit point: " << committed
                                                      << ", complete: " << done);
  BOOST_TEST(old_states > 0u);
  BOOST_TEST(committed > 0u);
}

BOOST_AUTO_TEST_CASE(a_retired_generation_has_its_own_crl) {
  CertStore s;
  auto old_cert = s.add({0x21});  // issued by the test root, the generation to retire
  BOOST_REQUIRE(s.st.add_next_ca("main", next_ca(), store::Store::Replace::no));
  auto id = s.st.activate_next("main");
  BOOST_REQUIRE(id);
  // A certificate of the new generation, revoked too.
  crypto::CertSpec spec;
  spec.subject = *crypto::subject_der_from_text("CN=new leaf");
  spec.serial = {0x22};
  spec.not_before = testing::fixed_time();
  spec.not_after = testing::fixed_time() + std::chrono::days(30);
  auto new_cert = crypto::build_certificate(spec, testing::test_pki().client_key.public_key(), &next_root().cert,
                                            next_root().key);
  BOOST_REQUIRE(new_cert);
  BOOST_REQUIRE(s.st.add_certificate("main", *new_cert, "phones"));
  core::FixedClock clock(testing::fixed_time() + std::chrono::hours(1));
  for (const auto& c : {old_cert, *new_cert})
    BOOST_REQUIRE(s.st.revoke("main", {c.serial_hex(), clock.now(), crypto::RevocationReason::superseded}, {}));

  store::Session session(s.st);
  auto bundle = session.find_ca("main");
  BOOST_REQUIRE(bundle);
  auto earlier = session.earlier_cas("main");
  BOOST_REQUIRE(earlier);
  BOOST_REQUIRE(earlier->size() == 1u);
  auto gen = scep::earlier_issuer(session, "main", old_cert);
  BOOST_REQUIRE(gen);
  BOOST_REQUIRE(gen->has_value());
  BOOST_TEST((*gen)->id == *id);
  auto none = scep::earlier_issuer(session, "main", *new_cert);
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->has_value());

  auto der = scep::earlier_crl(session.backend(), *bundle, (*earlier)[0], clock);
  BOOST_REQUIRE_MESSAGE(der, (der ? "" : der.error().detail));
  auto crl = crypto::Crl::parse(*der);
  BOOST_REQUIRE(crl);
  BOOST_TEST(crl->verify(testing::test_pki().root.cert));
  BOOST_TEST(!crl->verify(next_root().cert));
  BOOST_TEST(crl->revoked_serials() == std::vector<std::string>{old_cert.serial_hex()});
  // Stored in retired/ID and served again while fresh (same number).
  BOOST_TEST(fs::exists(s.st.layout().retired("main", *id) / "crl.der"));
  auto again = scep::earlier_crl(session.backend(), *bundle, (*earlier)[0], clock);
  BOOST_REQUIRE(again);
  BOOST_TEST(crypto::Crl::parse(*again)->number() == crl->number());
  auto now = scep::earlier_crl(session.backend(), *bundle, (*earlier)[0], clock, scep::CrlRefresh::now);
  BOOST_REQUIRE(now);
  BOOST_TEST(crypto::Crl::parse(*now)->number() == crl->number() + 1);
  // The current CRL is the new key's.
  auto current = scep::ca_crl(session.backend(), *bundle, clock);
  BOOST_REQUIRE(current);
  BOOST_TEST(crypto::Crl::parse(*current)->verify(next_root().cert));
}

BOOST_AUTO_TEST_CASE(check_repair_removes_stale_temp_directories_of_generations) {
  CertStore s;
  fs::path stale = s.ca_dir() / ".next.new-AbC123";
  fs::path young = s.ca_dir() / ".next.new-XyZ789";
  fs::path retired_stale = s.ca_dir() / "retired" / ".0A1B.new-QwE456";
  for (const auto& d : {stale, young, retired_stale}) {
    fs::create_directories(d);
    std::ofstream(d / "key.pem") << "x";
  }
  auto old = fs::file_time_type::clock::now() - std::chrono::minutes(5);
  fs::last_write_time(stale, old);
  fs::last_write_time(retired_stale, old);
  auto found = store::check_records(s.st, false);
  BOOST_REQUIRE(found);
  std::size_t temp_dirs = 0;
  for (const auto& f : *found)
    if (f.problem.find("interrupted rollover") != std::string::npos) ++temp_dirs;
  BOOST_TEST(temp_dirs == 2u);  // the young one may be a rollover in progress
  BOOST_REQUIRE(store::check_records(s.st, true));
  BOOST_TEST(!fs::exists(stale));
  BOOST_TEST(!fs::exists(retired_stale));
  BOOST_TEST(fs::exists(young));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace store_rollover_test
