// The persistence contract (scep/roles.hpp), checked on every implementation
// of the roles: the same cases run against the in-memory twin the protocol
// tests use and against the flat-file store, so "same contract" is tested,
// not claimed. A new backend adds its fixture to contract_backends.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cert_store.hpp"
#include "crypto/crl.hpp"
#include "crypto/digest.hpp"
#include "scep/roles.hpp"
#include "store/store.hpp"
#include "support/memory_store.hpp"
#include "support/requests.hpp"
#include "support/test_pki.hpp"

namespace contract {

/// The in-memory twin with CA "main".
struct MemoryBackend {
  testing::MemoryStore mem;
  MemoryBackend() {
    const auto& pki = testing::test_pki();
    mem.add_ca({"main", pki.root.cert, {}, std::nullopt, {}}, pki.root.key);
  }
  scep::Backend backend() { return mem.backend(); }
  void add_secret(const policy::SecretRecord& r) { mem.add_secret(r); }
  void add_certificate(const crypto::Certificate& c) { BOOST_REQUIRE(mem.add_certificate("main", c, "p")); }
};

/// The flat-file store with CA "main", through a request's Session.
struct FileBackend {
  testing::TempDir dir;
  store::Store st = CertStore::open_with_ca(dir.path() / "store");
  store::Session session{st};
  scep::Backend backend() { return session.backend(); }
  void add_secret(const policy::SecretRecord& r) { BOOST_REQUIRE(st.add_secret(r)); }
  void add_certificate(const crypto::Certificate& c) { BOOST_REQUIRE(st.add_certificate("main", c, "p")); }
};

using contract_backends = boost::mpl::list<MemoryBackend, FileBackend>;

core::Bytes serial_bytes(int n) { return {0x10, static_cast<std::uint8_t>(n)}; }

scep::Transaction transaction(std::string tid, scep::Transaction::State state = scep::Transaction::State::issued) {
  scep::Transaction t;
  t.ca = "main";
  t.transaction_id = std::move(tid);
  t.state = state;
  t.key_id = crypto::digest(crypto::DigestAlg::sha256, testing::test_pki().client_key.public_key().spki_der());
  t.created = testing::fixed_time();
  return t;
}

scep::AuditEvent event(std::string_view tid, scep::Outcome outcome) {
  scep::AuditEvent e;
  e.time = testing::fixed_time();
  e.ca = "main";
  e.operation = "PKCSReq";
  e.transaction_id = tid;
  e.outcome = outcome;
  return e;
}

/// An issuance of a fresh certificate under serial `n` for transaction `tid`.
scep::Issuance issuance(std::string tid, int n, const policy::SecretRecord* secret = nullptr) {
  auto cert = CertStore::leaf(serial_bytes(n), "CN=device-" + tid);
  scep::Transaction t = transaction(tid);
  t.serial = cert.serial_hex();
  scep::AuditEvent e = event(tid, scep::Outcome::issued);
  e.serial = cert.serial_hex();
  return scep::Issuance{std::move(t), std::move(cert), secret, std::move(e), false, {}};
}

policy::SecretRecord secret(int uses) {
  policy::SecretRecord r;
  r.id = "s-00112233aabb";
  r.hash = policy::secret_hash("CONTRACT-SECRET");
  r.ca = "main";
  r.policy = "default";
  r.uses = uses;
  r.created = testing::fixed_time();
  r.expires = testing::fixed_time() + std::chrono::days(1);
  return r;
}

scep::PendingRequest pending(std::string tid, std::string subject = "CN=waiting") {
  const auto& pki = testing::test_pki();
  testing::CsrSpec spec;
  spec.subject = std::move(subject);
  scep::PendingRequest p;
  p.ca = "main";
  p.transaction_id = std::move(tid);
  p.remote = "192.0.2.7";
  p.csr_der = testing::make_csr(spec, pki.client_key);
  p.created = testing::fixed_time();
  return p;
}

/// Parks `p` as the service does.
void park(scep::Ledger& ledger, const scep::PendingRequest& p) {
  auto r = ledger.record_pending(p, transaction(p.transaction_id, scep::Transaction::State::pending),
                                 event(p.transaction_id, scep::Outcome::pending));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
}

BOOST_AUTO_TEST_SUITE(persistence_contract)

BOOST_AUTO_TEST_CASE_TEMPLATE(the_catalog_knows_its_cas_and_refuses_others, B, contract_backends) {
  B b;
  auto ca = b.backend().catalog.find_ca("main");
  BOOST_REQUIRE(ca);
  BOOST_TEST(ca->name == "main");
  auto dflt = b.backend().catalog.find_ca("");
  BOOST_REQUIRE(dflt);
  BOOST_TEST(dflt->name == "main", "the only CA is the default");
  auto other = b.backend().catalog.find_ca("nope");
  BOOST_REQUIRE(!other);
  BOOST_TEST((other.error().code == core::Errc::unknown_ca));
  auto names = b.backend().catalog.ca_names();
  BOOST_REQUIRE(names);
  BOOST_TEST(*names == std::vector<std::string>{"main"});
  BOOST_TEST(b.backend().catalog.load_key("main", scep::KeyRole::ca).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_issuance_is_recorded_whole, B, contract_backends) {
  B b;
  auto& ledger = b.backend().ledger;
  auto is = issuance("tid-1", 1);
  auto r = ledger.record_issuance(is);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
  BOOST_TEST((*r == scep::Recorded::recorded));
  auto tx = ledger.find_transaction("main", "tid-1");
  BOOST_REQUIRE(tx && *tx);
  BOOST_TEST(((*tx)->state == scep::Transaction::State::issued));
  BOOST_TEST((*tx)->serial == is.certificate.serial_hex());
  auto found = b.backend().certs.find_certificate("main", is.certificate.serial_hex());
  BOOST_REQUIRE(found && *found);
  BOOST_TEST(((*found)->cert == is.certificate));
  BOOST_TEST(!(*found)->revocation);
  auto loaded = b.backend().certs.load_certificate("main", is.certificate.serial_hex());
  BOOST_REQUIRE(loaded);
  BOOST_TEST((*loaded == is.certificate));
  auto unknown = b.backend().certs.find_certificate("main", "7F7F");
  BOOST_REQUIRE(unknown);
  BOOST_TEST(!*unknown);
  auto none = ledger.find_transaction("main", "tid-none");
  BOOST_REQUIRE(none);
  BOOST_TEST(!*none);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_serial_or_a_transaction_is_recorded_once, B, contract_backends) {
  B b;
  auto& ledger = b.backend().ledger;
  BOOST_REQUIRE(ledger.record_issuance(issuance("tid-1", 1)).value_or(scep::Recorded::serial_taken) ==
                scep::Recorded::recorded);
  // Another transaction whose certificate drew the same serial signs again.
  auto twin_serial = ledger.record_issuance(issuance("tid-2", 1));
  BOOST_REQUIRE(twin_serial);
  BOOST_TEST((*twin_serial == scep::Recorded::serial_taken));
  BOOST_TEST(!ledger.find_transaction("main", "tid-2").value_or(std::nullopt), "nothing of the refused one is stored");
  // The same transactionID recorded by a twin first.
  auto twin_tx = ledger.record_issuance(issuance("tid-1", 2));
  BOOST_REQUIRE(twin_tx);
  BOOST_TEST((*twin_tx == scep::Recorded::transaction_exists));
  auto second = b.backend().certs.find_certificate("main", CertStore::leaf(serial_bytes(2)).serial_hex());
  BOOST_REQUIRE(second);
  BOOST_TEST(!*second, "the refused certificate is not stored");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_secret_pays_for_as_many_certificates_as_it_has_uses, B, contract_backends) {
  B b;
  auto s = secret(2);
  b.add_secret(s);
  auto& ledger = b.backend().ledger;
  auto found = ledger.find_secret(s.hash);
  BOOST_REQUIRE(found && *found);
  BOOST_TEST((*found)->id == s.id);
  BOOST_TEST(!ledger.find_secret(policy::secret_hash("OTHER")).value_or(std::nullopt));
  BOOST_TEST(ledger.secret_uses_left(s, "tid-1").value_or(-1) == 2);
  BOOST_TEST((ledger.record_issuance(issuance("tid-1", 1, &s)).value() == scep::Recorded::recorded));
  BOOST_TEST(ledger.secret_uses_left(s, "tid-2").value_or(-1) == 1);
  BOOST_TEST((ledger.record_issuance(issuance("tid-2", 2, &s)).value() == scep::Recorded::recorded));
  BOOST_TEST(ledger.secret_uses_left(s, "tid-3").value_or(-1) == 0);
  auto third = ledger.record_issuance(issuance("tid-3", 3, &s));
  BOOST_REQUIRE(third);
  BOOST_TEST((*third == scep::Recorded::secret_used_up));
  BOOST_TEST(!ledger.find_transaction("main", "tid-3").value_or(std::nullopt));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_certificate_is_renewed_once, B, contract_backends) {
  B b;
  auto old = CertStore::leaf(serial_bytes(9));
  b.add_certificate(old);
  auto& ledger = b.backend().ledger;
  auto first = issuance("tid-r1", 1);
  first.renews = old.serial_hex();
  BOOST_TEST((ledger.record_issuance(first).value() == scep::Recorded::recorded));
  auto second = issuance("tid-r2", 2);
  second.renews = old.serial_hex();
  auto r = ledger.record_issuance(second);
  BOOST_REQUIRE(r);
  BOOST_TEST((*r == scep::Recorded::already_renewed));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_parked_request_waits_once_and_is_claimed_by_one, B, contract_backends) {
  B b;
  auto& ledger = b.backend().ledger;
  auto p = pending("tid-p");
  park(ledger, p);
  auto tx = ledger.find_transaction("main", "tid-p");
  BOOST_REQUIRE(tx && *tx);
  BOOST_TEST(((*tx)->state == scep::Transaction::State::pending));
  BOOST_TEST(ledger.count_pending("main").value_or(0) == 1u);
  auto listed = ledger.list_pending("main");
  BOOST_REQUIRE(listed && listed->size() == 1u);
  BOOST_TEST(listed->front().transaction_id == "tid-p");
  BOOST_TEST((listed->front().csr_der == p.csr_der));
  // The same PKCS#10 under another transactionID is refused.
  auto twin = pending("tid-q");
  auto again = ledger.record_pending(twin, transaction("tid-q", scep::Transaction::State::pending),
                                     event("tid-q", scep::Outcome::pending));
  BOOST_REQUIRE(!again);
  BOOST_TEST((again.error().code == core::Errc::already_exists));

  {
    auto claim = ledger.claim_pending(p);
    BOOST_REQUIRE(claim && *claim);
    BOOST_TEST((*claim)->request().transaction_id == "tid-p");
    auto second = ledger.claim_pending(p);
    BOOST_REQUIRE(second);
    BOOST_TEST(!*second, "a claimed request is not claimed twice");
    BOOST_TEST(ledger.list_pending("main").value().empty());
  }  // dropped undecided: it waits again
  BOOST_TEST(ledger.count_pending("main").value_or(0) == 1u);
  auto claim = ledger.claim_pending(p);
  BOOST_REQUIRE(claim && *claim);
  BOOST_REQUIRE(ledger.record_rejection(transaction("tid-p", scep::Transaction::State::rejected),
                                        event("tid-p", scep::Outcome::rejected)));
  BOOST_REQUIRE((*claim)->commit());
  claim->reset();
  BOOST_TEST(ledger.count_pending("main").value_or(1) == 0u);
  BOOST_TEST(!ledger.claim_pending(p).value().has_value());
  auto rejected = ledger.find_transaction("main", "tid-p");
  BOOST_REQUIRE(rejected && *rejected);
  BOOST_TEST(((*rejected)->state == scep::Transaction::State::rejected));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_claim_can_move_and_still_puts_back_once, B, contract_backends) {
  B b;
  auto& ledger = b.backend().ledger;
  auto p = pending("tid-m");
  park(ledger, p);
  {
    auto claim = ledger.claim_pending(p);
    BOOST_REQUIRE(claim && *claim);
    scep::PendingClaim moved(std::move(**claim));
    claim->reset();  // the moved-from claim releases nothing
    BOOST_TEST(ledger.count_pending("main").value_or(1) == 0u);
  }
  BOOST_TEST(ledger.count_pending("main").value_or(0) == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_transaction_lock_makes_a_retry_wait, B, contract_backends) {
  B b;
  auto& ledger = b.backend().ledger;
  auto held = ledger.lock_transaction("main", "tid-l");
  BOOST_REQUIRE(held);
  // The order of events says whether the retry waited: a lock that let it
  // through would log "retry" before "released". The retry thread is known
  // to be at the lock before the first try gives it a moment, then lets go.
  std::mutex m;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    std::lock_guard g(m);
    order.push_back(std::move(what));
  };
  std::promise<void> at_lock;
  std::thread retry([&] {
    at_lock.set_value();
    auto second = ledger.lock_transaction("main", "tid-l");
    note(second ? "retry" : "retry failed");
  });
  at_lock.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  note("released");
  held->reset();
  retry.join();
  BOOST_TEST(order == (std::vector<std::string>{"released", "retry"}), "the retry waits while the first try decides");
  // Another transactionID does not wait.
  auto other = ledger.lock_transaction("main", "tid-other");
  BOOST_TEST(other.has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_revocation_is_recorded_once_for_a_known_serial, B, contract_backends) {
  B b;
  auto& certs = b.backend().certs;
  auto c1 = CertStore::leaf(serial_bytes(0x31));
  auto c2 = CertStore::leaf(serial_bytes(0x22));
  b.add_certificate(c1);
  b.add_certificate(c2);
  auto when = std::chrono::floor<std::chrono::seconds>(testing::fixed_time());
  auto ev = event("", scep::Outcome::revoked);
  ev.operation = "revoke";
  BOOST_REQUIRE(certs.revoke("main", {c1.serial_hex(), when, crypto::RevocationReason::key_compromise}, ev));
  auto twice = certs.revoke("main", {c1.serial_hex(), when, crypto::RevocationReason::unspecified}, ev);
  BOOST_REQUIRE(!twice);
  BOOST_TEST((twice.error().code == core::Errc::already_exists));
  auto unknown = certs.revoke("main", {"7F7F", when, crypto::RevocationReason::unspecified}, ev);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error().code == core::Errc::not_found));
  BOOST_REQUIRE(certs.revoke("main", {c2.serial_hex(), when, crypto::RevocationReason::superseded}, ev));
  auto serials = certs.revoked_serials("main");
  BOOST_REQUIRE(serials);
  BOOST_TEST(*serials == (std::vector<std::string>{c2.serial_hex(), c1.serial_hex()}), "sorted");
  auto entries = certs.revoked_certificates("main");
  BOOST_REQUIRE(entries && entries->size() == 2u);
  auto found = certs.find_certificate("main", c1.serial_hex());
  BOOST_REQUIRE(found && *found && (*found)->revocation);
  BOOST_TEST(((*found)->revocation->reason == crypto::RevocationReason::key_compromise));
  BOOST_TEST(((*found)->revocation->time == when));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_crl_update_stores_what_it_returns, B, contract_backends) {
  B b;
  auto& crls = b.backend().crls;
  BOOST_TEST(!crls.load_crl("main").value_or(core::Bytes{1}).has_value(), "no CRL before the first");
  core::Bytes first{0x30, 0x01, 0x01};
  auto made = crls.update_crl(
      "main", [&](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
        BOOST_TEST(!current);
        return std::optional<core::Bytes>(first);
      });
  BOOST_REQUIRE(made);
  BOOST_TEST((*made == first));
  BOOST_TEST((crls.load_crl("main").value() == std::optional<core::Bytes>(first)));
  // An update that keeps the current CRL returns it and stores nothing new.
  auto kept = crls.update_crl(
      "main", [&](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
        BOOST_TEST((current == std::optional<core::Bytes>(first)));
        return std::optional<core::Bytes>();
      });
  BOOST_REQUIRE(kept);
  BOOST_TEST((*kept == first));
  // A failed update stores nothing.
  auto failed = crls.update_crl("main",
                                [](const std::optional<core::Bytes>&) -> core::Result<std::optional<core::Bytes>> {
                                  return core::fail(core::Errc::internal, "cannot sign");
                                });
  BOOST_REQUIRE(!failed);
  BOOST_TEST((crls.load_crl("main").value() == std::optional<core::Bytes>(first)));
  auto tried = crls.try_update_crl("main",
                                   [&](const std::optional<core::Bytes>&) -> core::Result<std::optional<core::Bytes>> {
                                     return std::optional<core::Bytes>(core::Bytes{0x30, 0x01, 0x02});
                                   });
  BOOST_REQUIRE(tried && *tried);
  BOOST_TEST(((**tried)[2] == 0x02));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace contract
