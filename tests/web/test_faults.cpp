// Every decision against a disk that fails: the store's file layer is told to
// fail its Nth operation (store/file_ops.hpp), for every N the decision
// takes, with ENOSPC and with EIO. After each, the store holds either
// nothing of the decision (nothing spent) or all of it, `scepctl check`
// finds only what --repair fixes, the repaired store is clean, and the
// client's retry (or the operator's) completes the decision.
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <set>

#include "hostile_fixture.hpp"
#include "scep/crl.hpp"
#include "scep/manual.hpp"
#include "store/file_ops.hpp"
#include "store/fs_util.hpp"
#include "store/fsck.hpp"

namespace {

using namespace hostile;

/// The fault plan is process-wide: it is disarmed however a case ends.
struct Armed {
  Armed(std::uint64_t nth, int error) { store::sys::inject_fault(nth, error); }
  ~Armed() { store::sys::inject_fault(0, 0); }
};

std::size_t files_in(const fs::path& dir, std::string_view ext) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ext && e.path().filename().string().front() != '.') ++n;
  return n;
}

/// check finds only what --repair fixes; after the repair it finds nothing.
void repair_to_clean(Site& site) {
  auto found = store::check_records(site.st, true);
  BOOST_TEST_REQUIRE(found.has_value(), found.error().detail);
  for (const auto& f : *found) BOOST_TEST(f.repaired, f.path << ": " << f.problem);
  auto again = store::check_records(site.st, false);
  BOOST_TEST_REQUIRE(again.has_value());
  for (const auto& f : *again) BOOST_TEST(false, "after repair: " << f.path << ": " << f.problem);
}

/// Runs `decide` once on a fresh site counting operations, then once per
/// operation with that one failing; `verify` checks each outcome.
template <class Setup, class Decide, class Verify>
void walk(std::string_view name, Setup setup, Decide decide, Verify verify) {
  std::uint64_t total = 0;
  {
    Site site;
    auto state = setup(site);
    Armed counting(0, 0);
    decide(site, state);
    total = store::sys::operations();
  }
  BOOST_TEST_MESSAGE(name << ": " << total << " file operations");
  BOOST_TEST(total > 3u);
  for (std::uint64_t n = 1; n <= total; ++n) {
    for (int error : {ENOSPC, EIO}) {
      BOOST_TEST_CONTEXT(name << ": operation " << n << " of " << total << " fails with " << std::strerror(error)) {
        Site site;
        auto state = setup(site);
        bool done;
        {
          Armed fault(n, error);
          done = decide(site, state);
        }
        verify(site, state, done, error);
      }
    }
  }
}

struct NoState {};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_faults, *boost::unit_test::timeout(600))

BOOST_AUTO_TEST_CASE(an_enrollment_with_a_secret_is_whole_or_spends_nothing) {
  auto request = [](Site& site) { return post(site.request(site.csr(), "tid-fault")); };
  walk(
      "secret enrollment", [](Site&) { return NoState{}; },
      [&](Site& site, NoState&) { return pki_status(web::dispatch(request(site), site.svc)) == "0"; },
      [&](Site& site, NoState&, bool done, int error) {
        fs::path ca = site.dir.path() / "store/ca/main";
        auto tx = site.st.find_transaction("main", "tid-fault");
        BOOST_TEST_REQUIRE(tx.has_value());
        if (done) BOOST_TEST(bool(*tx), "a SUCCESS is on record");
        if (!*tx) {
          // Not recorded: nothing spent, nothing kept.
          BOOST_TEST(good_secret_uses_left(site) == 1);
          BOOST_TEST(files_in(ca / "certs", ".pem") == 0u);
        }
        repair_to_clean(site);
        if (!*tx) BOOST_TEST(good_secret_uses_left(site) == 1);
        // The device retries the same request and gets its certificate.
        auto retry = web::dispatch(request(site), site.svc);
        BOOST_TEST(pki_status(retry) == "0", "retry: " << describe(retry));
        BOOST_TEST(good_secret_uses_left(site) == 0);
        BOOST_TEST(files_in(ca / "certs", ".pem") == 1u);
        repair_to_clean(site);
        (void)error;
      });
}

// A server-side failure is a 5xx, and a full disk a 503 with Retry-After:
// never a FAILURE that would tell the device its request was refused.
BOOST_AUTO_TEST_CASE(a_full_disk_is_a_503_with_retry_after_and_spends_nothing) {
  web::Response r;
  std::set<int> statuses;
  for (std::uint64_t n = 1; n < 80; ++n) {
    Site s;
    {
      Armed fault(n, ENOSPC);
      r = web::dispatch(post(s.request(s.csr(), "tid-full")), s.svc);
    }
    if (r.status == 200) {
      auto st = pki_status(r);
      BOOST_TEST((st == "0"), "operation " << n << ": a FAILURE for a full disk: " << describe(r));
      continue;
    }
    statuses.insert(r.status);
    BOOST_TEST(r.status == 503, "operation " << n << ": " << describe(r));
    BOOST_TEST(r.retry_after > 0);
    auto tx = s.st.find_transaction("main", "tid-full");
    if (tx && !*tx) BOOST_TEST(good_secret_uses_left(s) == 1, "operation " << n);
  }
  BOOST_TEST(statuses.count(503) == 1u);
}

// A crash (no undo) after the use was spent and the certificate's index
// written, before the record: the retry of the same transaction takes the
// use over; another transaction finds the secret used; repair removes the
// certificate no record names.
BOOST_AUTO_TEST_CASE(a_retry_takes_over_what_a_crashed_try_left) {
  Site site;
  auto secret = site.st.find_secret(policy::secret_hash(good_secret));
  BOOST_REQUIRE(secret && *secret);
  std::string key = store::transaction_key("tid-crash");
  BOOST_REQUIRE(*site.st.spend_use(**secret, key));
  // The index entry of the certificate the crashed try signed.
  auto other = web::dispatch(post(site.request(site.csr(), "tid-other")), site.svc);
  BOOST_TEST(pki_status(other) == "2", "another transaction: " << describe(other));
  auto r = web::dispatch(post(site.request(site.csr(), "tid-crash")), site.svc);
  BOOST_TEST(pki_status(r) == "0", describe(r));
  BOOST_TEST(good_secret_uses_left(site) == 0);
  repair_to_clean(site);
}

BOOST_AUTO_TEST_CASE(a_crashed_try_is_undone_by_repair) {
  Site site;
  auto secret = site.st.find_secret(policy::secret_hash(good_secret));
  BOOST_REQUIRE(secret && *secret);
  std::string key = store::transaction_key("tid-gone");
  BOOST_REQUIRE(*site.st.spend_use(**secret, key));
  // The crashed try's certificate index entry (from a real issuance elsewhere).
  Site donor;
  BOOST_REQUIRE_EQUAL(pki_status(web::dispatch(post(donor.request(donor.csr(), "tid-donor")), donor.svc)), "0");
  auto certs = donor.st.list_certificates("main");
  BOOST_REQUIRE(certs && certs->size() == 1u);
  BOOST_REQUIRE(site.st.write_certificate_index("main", certs->front().cert, "default", key));
  auto found = store::check_records(site.st, false);
  BOOST_REQUIRE(found);
  BOOST_TEST(found->size() == 2u);
  repair_to_clean(site);
  BOOST_TEST(good_secret_uses_left(site) == 1);
  BOOST_TEST(files_in(site.dir.path() / "store/ca/main/certs", ".pem") == 0u);
  // The device, had it a new transactionID, enrolls with the secret.
  auto r = web::dispatch(post(site.request(site.csr(), "tid-new")), site.svc);
  BOOST_TEST(pki_status(r) == "0", describe(r));
}

BOOST_AUTO_TEST_CASE(parking_a_request_is_whole_or_nothing) {
  auto request = [](Site& site) { return post(site.request(site.csr(""), "tid-park")); };
  walk(
      "park", [](Site&) { return NoState{}; },
      [&](Site& site, NoState&) { return pki_status(web::dispatch(request(site), site.svc)) == "3"; },
      [&](Site& site, NoState&, bool done, int) {
        fs::path ca = site.dir.path() / "store/ca/main";
        auto tx = site.st.find_transaction("main", "tid-park");
        BOOST_TEST_REQUIRE(tx.has_value());
        if (done) BOOST_TEST(bool(*tx));
        repair_to_clean(site);
        auto retry = web::dispatch(request(site), site.svc);
        BOOST_TEST(pki_status(retry) == "3", "retry: " << describe(retry));
        BOOST_TEST(files_in(ca / "pending", ".json") == 1u);
        repair_to_clean(site);
      });
}

namespace {

/// A parked request, for the operator's decisions.
scep::PendingRequest parked(Site& site) {
  auto r = web::dispatch(post(site.request(site.csr(""), "tid-op")), site.svc);
  BOOST_REQUIRE_EQUAL(pki_status(r), "3");
  auto all = site.st.list_pending("main");
  BOOST_REQUIRE(all && all->size() == 1u);
  return all->front();
}

/// What `scepctl approve` does (scep::approve: claim, decide, clear; put
/// back on failure).
bool approve(Site& site, const scep::PendingRequest& p) {
  return scep::approve(site.repo.backend(), site.clock, site.rng, p).has_value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_approval_is_whole_or_nothing) {
  walk(
      "approve", [](Site& site) { return parked(site); },
      [](Site& site, scep::PendingRequest& p) { return approve(site, p); },
      [](Site& site, scep::PendingRequest& p, bool done, int) {
        fs::path ca = site.dir.path() / "store/ca/main";
        auto tx = site.st.find_transaction("main", "tid-op");
        BOOST_TEST_REQUIRE((tx && *tx));
        bool issued = (*tx)->state == scep::Transaction::State::issued;
        if (done) BOOST_TEST(issued);
        repair_to_clean(site);
        if (!issued) {
          // Still pending after the repair: the operator approves again.
          BOOST_TEST(files_in(ca / "certs", ".pem") == 0u);
          BOOST_TEST_REQUIRE(approve(site, p));
        }
        BOOST_TEST(files_in(ca / "certs", ".pem") == 1u);
        BOOST_TEST(files_in(ca / "pending", ".json") == 0u);
        // The device's poll gets the certificate.
        auto poll = web::dispatch(post(site.request(site.csr(""), "tid-op")), site.svc);
        BOOST_TEST(pki_status(poll) == "0", describe(poll));
        repair_to_clean(site);
      });
}

// An approval whose result was taken for a failure puts the request back;
// a second approval is refused, not a second certificate.
BOOST_AUTO_TEST_CASE(a_decided_request_is_not_decided_again) {
  Site site;
  auto p = parked(site);
  BOOST_REQUIRE(approve(site, p));
  BOOST_REQUIRE(site.st.add_pending(p));  // put back, as a failed-looking approval would
  auto again = scep::approve(site.repo.backend(), site.clock, site.rng, p);
  BOOST_TEST_REQUIRE(!again.has_value());
  BOOST_TEST(again.error().detail.find("already been decided") != std::string::npos, again.error().detail);
  BOOST_TEST(!scep::reject(site.repo.backend(), site.clock, p, "no").has_value());
  // Each refusal put the request back for check --repair to clear.
  BOOST_TEST(files_in(site.dir.path() / "store/ca/main/pending", ".json") == 1u);
  BOOST_TEST(files_in(site.dir.path() / "store/ca/main/certs", ".pem") == 1u);
  repair_to_clean(site);
  BOOST_TEST(files_in(site.dir.path() / "store/ca/main/pending", ".json") == 0u);
}

BOOST_AUTO_TEST_CASE(a_rejection_is_whole_or_nothing) {
  walk(
      "reject", [](Site& site) { return parked(site); },
      [](Site& site, scep::PendingRequest& p) {
        return scep::reject(site.repo.backend(), site.clock, p, "no").has_value();
      },
      [](Site& site, scep::PendingRequest&, bool done, int) {
        auto tx = site.st.find_transaction("main", "tid-op");
        BOOST_TEST_REQUIRE((tx && *tx));
        if (done) BOOST_TEST(((*tx)->state == scep::Transaction::State::rejected));
        repair_to_clean(site);
        bool rejected = (*tx)->state == scep::Transaction::State::rejected;
        auto waiting = site.st.list_pending("main");
        BOOST_TEST_REQUIRE(waiting.has_value());
        // Decided and cleared, or still waiting for the operator.
        BOOST_TEST(waiting->size() == (rejected ? 0u : 1u));
      });
}

namespace {

struct Renewal {
  crypto::Certificate old;
};

Renewal enrolled(Site& site) {
  auto r = web::dispatch(post(site.request(site.csr(), "tid-first")), site.svc);
  BOOST_REQUIRE_EQUAL(pki_status(r), "0");
  auto sd = crypto::parse_signed_data(r.body);
  BOOST_REQUIRE(sd);
  enroll_test::Reply reply{std::move(*sd)};
  auto certs = enroll_test::reply_certs(reply, site.signer, site.pki.client_key);
  BOOST_REQUIRE(!certs.empty());
  return {certs.front()};
}

web::Request renewal_request(Site& site, const Renewal& r) {
  testing::MessageSpec spec;
  spec.type = scep::MessageType::renewal_req;
  spec.transaction_id = "tid-renew";
  return post(testing::make_message(site.csr(""), spec, site.pki.root.cert, r.old, site.pki.client_key));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_renewal_is_whole_or_nothing) {
  walk(
      "renewal", [](Site& site) { return enrolled(site); },
      [](Site& site, Renewal& r) { return pki_status(web::dispatch(renewal_request(site, r), site.svc)) == "0"; },
      [](Site& site, Renewal& r, bool done, int) {
        fs::path ca = site.dir.path() / "store/ca/main";
        auto tx = site.st.find_transaction("main", "tid-renew");
        BOOST_TEST_REQUIRE(tx.has_value());
        if (done) BOOST_TEST(bool(*tx));
        repair_to_clean(site);
        auto retry = web::dispatch(renewal_request(site, r), site.svc);
        BOOST_TEST(pki_status(retry) == "0", "retry: " << describe(retry));
        BOOST_TEST(files_in(ca / "certs", ".pem") == 2u);
        repair_to_clean(site);
      });
}

BOOST_AUTO_TEST_CASE(a_revocation_and_its_crl_are_whole_or_nothing) {
  walk(
      "revoke + CRL", [](Site& site) { return enrolled(site); },
      [](Site& site, Renewal& r) {
        scep::AuditEvent ev{
            site.clock.now(),   "main", "test",          "revoke", {}, {}, {}, {}, scep::Outcome::revoked,
            r.old.serial_hex(), {},     "keyCompromise", false,    {}};
        auto when = std::chrono::floor<std::chrono::seconds>(site.clock.now());
        auto rev = site.st.revoke("main", {r.old.serial_hex(), when, crypto::RevocationReason::key_compromise}, ev);
        if (!rev) return false;
        auto ca = site.repo.find_ca("main");
        return ca && scep::ca_crl(site.repo.backend(), *ca, site.clock, scep::CrlRefresh::now).has_value();
      },
      [](Site& site, Renewal& r, bool done, int) {
        auto found = site.st.find_certificate("main", r.old.serial_hex());
        BOOST_TEST_REQUIRE((found && *found));
        bool revoked = bool((*found)->revocation);
        if (done) BOOST_TEST(revoked);
        repair_to_clean(site);
        // Whatever CRL the store serves now lists every revocation it holds.
        auto ca = site.repo.find_ca("main");
        BOOST_TEST_REQUIRE(ca.has_value());
        auto der = scep::ca_crl(site.repo.backend(), *ca, site.clock, scep::CrlRefresh::when_due);
        BOOST_TEST_REQUIRE(der.has_value(), der.error().detail);
        auto crl = crypto::Crl::parse(*der);
        BOOST_TEST_REQUIRE(crl.has_value());
        BOOST_TEST(crl->revoked().size() == (revoked ? 1u : 0u));
      });
}

// An unreadable revoked/ fails the CRL: never one that drops a revocation.
BOOST_AUTO_TEST_CASE(an_unlistable_revocation_directory_signs_no_crl) {
  Site site;
  auto r = enrolled(site);
  scep::AuditEvent ev{site.clock.now(),   "main", "test", "revoke", {}, {}, {}, {}, scep::Outcome::revoked,
                      r.old.serial_hex(), {},     {},     false,    {}};
  auto when = std::chrono::floor<std::chrono::seconds>(site.clock.now());
  BOOST_REQUIRE(site.st.revoke("main", {r.old.serial_hex(), when, crypto::RevocationReason::key_compromise}, ev));
  auto ca = site.repo.find_ca("main");
  BOOST_REQUIRE(ca);
  BOOST_REQUIRE(scep::ca_crl(site.repo.backend(), *ca, site.clock, scep::CrlRefresh::now));
  // Every way listing revoked/ can fail, one operation at a time.
  for (std::uint64_t n = 1; n < 40; ++n) {
    std::optional<core::Result<core::Bytes>> crl;
    {
      Armed fault(n, EIO);
      crl = scep::ca_crl(site.repo.backend(), *ca, site.clock, scep::CrlRefresh::now);
    }
    if (!*crl) continue;
    auto parsed = crypto::Crl::parse(**crl);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->revoked().size() == 1u, "operation " << n << " failing gave a CRL without the revocation");
  }
}

BOOST_AUTO_TEST_SUITE_END()
