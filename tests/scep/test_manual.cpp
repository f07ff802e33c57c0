#include <boost/test/unit_test.hpp>

#include "crypto/cert_builder.hpp"
#include "crypto/digest.hpp"
#include "scep/manual.hpp"
#include "support/memory_store.hpp"
#include "support/requests.hpp"
#include "support/test_pki.hpp"

namespace {

scep::PendingRequest fake_pending(std::string tid, core::Bytes der) {
  return scep::PendingRequest{"main", std::move(tid), "10.0.0.1", std::move(der), testing::fixed_time(), {}, {}, {},
                              {}};
}

std::string colon_upper(const core::Bytes& d) { return core::to_hex(d, ':', true); }

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_manual)

BOOST_AUTO_TEST_CASE(fingerprints_match_in_every_common_spelling) {
  std::vector<scep::PendingRequest> pending{fake_pending("a", core::to_bytes("first request")),
                                            fake_pending("b", core::to_bytes("second request"))};
  auto fp = scep::pending_fingerprints(pending[1]);
  for (const auto* d : {&fp.md5, &fp.sha1, &fp.sha256}) {
    for (const std::string& spelling : {core::to_hex(*d), core::to_hex(*d, '\0', true), colon_upper(*d),
                                        core::to_hex(*d, ':'), core::to_hex(*d, ' '), core::to_hex(*d).substr(0, 8)}) {
      auto m = scep::match_fingerprint(pending, spelling);
      BOOST_REQUIRE_MESSAGE(m, spelling);
      BOOST_REQUIRE_MESSAGE(m->size() == 1u, spelling);
      BOOST_TEST(m->front()->transaction_id == "b");
    }
  }
}

BOOST_AUTO_TEST_CASE(short_or_non_hex_fingerprints_are_refused) {
  std::vector<scep::PendingRequest> pending{fake_pending("a", core::to_bytes("x"))};
  auto short_one = scep::match_fingerprint(pending, "abcd12");
  BOOST_REQUIRE(!short_one);
  BOOST_TEST((short_one.error().code == core::Errc::invalid_argument));
  BOOST_TEST(!scep::match_fingerprint(pending, "zzzzzzzzzz"));
}

BOOST_AUTO_TEST_CASE(unknown_fingerprint_matches_nothing) {
  std::vector<scep::PendingRequest> pending{fake_pending("a", core::to_bytes("x"))};
  auto m = scep::match_fingerprint(pending, "00000000000000000000000000000000");
  BOOST_REQUIRE(m);
  BOOST_TEST(m->empty());
}

BOOST_AUTO_TEST_CASE(an_ambiguous_prefix_returns_every_candidate) {
  // Deterministic ambiguity: the same PKCS#10 pending at two CAs.
  std::vector<scep::PendingRequest> twins{fake_pending("a", core::to_bytes("same")),
                                          fake_pending("b", core::to_bytes("same"))};
  twins[1].ca = "other";
  auto m = scep::match_fingerprint(twins, core::to_hex(scep::pending_fingerprints(twins[0]).md5).substr(0, 10));
  BOOST_REQUIRE(m);
  BOOST_TEST(m->size() == 2u);
}

BOOST_AUTO_TEST_CASE(approval_issues_under_the_policy_and_marks_the_transaction) {
  const auto& pki = testing::test_pki();
  testing::MemoryStore repo;
  repo.add_ca({"main", pki.root.cert, {}, std::nullopt, {}}, pki.root.key);
  // A real PKCS#10 from the spare client key.
  testing::CsrSpec spec;
  spec.subject = "CN=phone-7";
  core::Bytes der = testing::make_csr(spec, pki.client_key);

  auto pending = fake_pending("tid-7", der);
  core::Bytes kid = crypto::digest(crypto::DigestAlg::sha256, pki.client_key.public_key().spki_der());
  BOOST_REQUIRE(repo.add_transaction(
      {"main", "tid-7", scep::Transaction::State::pending, kid, {}, {}, {}, {}, pending.created, {}, {}}));
  core::FixedClock clock(pending.created);
  testing::CountingRng rng;
  policy::Policy pol;
  pol.name = "phones";
  pol.validity_days = 10;
  repo.policies.emplace(pol.name, pol);
  repo.pending.push_back(pending);
  auto approved = scep::approve(repo.backend(), clock, rng, pending, "phones");
  BOOST_REQUIRE_MESSAGE(approved, (approved ? "" : approved.error().detail));
  BOOST_TEST(approved->policy == "phones");
  const auto* cert = &approved->certificate;
  BOOST_TEST(repo.pending.empty(), "the approved request left the pending set");
  BOOST_TEST(cert->subject() == "CN=phone-7");
  BOOST_TEST(pki.root.cert.issued(*cert));
  auto tx = repo.find_transaction("main", "tid-7");
  BOOST_REQUIRE(tx && *tx);
  BOOST_TEST(((*tx)->state == scep::Transaction::State::issued));
  BOOST_TEST((*tx)->serial == cert->serial_hex());
  BOOST_TEST(repo.certificates.count("main/" + cert->serial_hex()) == 1u);
  BOOST_REQUIRE(!repo.audit_log.empty());
  BOOST_TEST(repo.audit_log.back().outcome == scep::Outcome::issued);

  // Rejection of another request records the operator's reason.
  auto other = fake_pending("tid-8", der);
  repo.pending.push_back(other);
  BOOST_REQUIRE(scep::reject(repo.backend(), clock, other, "unknown device"));
  BOOST_TEST(repo.pending.empty());
  // A request decided meanwhile is not found again.
  auto twice = scep::reject(repo.backend(), clock, other, "again");
  BOOST_REQUIRE(!twice);
  BOOST_TEST((twice.error().code == core::Errc::not_found));
  auto rejected = repo.find_transaction("main", "tid-8");
  BOOST_REQUIRE(rejected && *rejected);
  BOOST_TEST(((*rejected)->state == scep::Transaction::State::rejected));
  BOOST_TEST((*rejected)->reason == "unknown device");
}

BOOST_AUTO_TEST_CASE(a_policy_that_refuses_blocks_approval_without_issuing) {
  const auto& pki = testing::test_pki();
  testing::MemoryStore repo;
  repo.add_ca({"main", pki.root.cert, {}, std::nullopt, {}}, pki.root.key);
  policy::Policy strict;
  strict.name = "strict";
  strict.min_rsa_bits = 4096;
  testing::CsrSpec spec;
  spec.subject = "";
  core::Bytes der = testing::make_csr(spec, pki.client_key);
  auto pending = fake_pending("t", der);
  core::FixedClock clock(pending.created);
  testing::CountingRng rng;
  repo.policies.emplace(strict.name, strict);
  repo.pending.push_back(pending);
  auto cert = scep::approve(repo.backend(), clock, rng, pending, "strict");
  BOOST_REQUIRE(!cert);
  BOOST_TEST((cert.error().code == core::Errc::policy_rejected));
  BOOST_TEST(repo.certificates.empty());
  // The refused approval put the request back for another decision.
  BOOST_TEST(repo.pending.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_expired_request_is_not_approved) {
  const auto& pki = testing::test_pki();
  testing::MemoryStore repo;
  repo.add_ca({"main", pki.root.cert, {}, std::nullopt, {}}, pki.root.key);
  auto pending = fake_pending("t-old", core::to_bytes("never parsed"));
  repo.pending.push_back(pending);
  core::FixedClock clock(pending.created + std::chrono::days(8));  // pending_days defaults to 7
  testing::CountingRng rng;
  auto cert = scep::approve(repo.backend(), clock, rng, pending);
  BOOST_REQUIRE(!cert);
  BOOST_TEST(cert.error().detail.find("expired") != std::string::npos, cert.error().detail);
  BOOST_TEST(repo.pending.size() == 1u);
  BOOST_TEST(scep::pending_expired(pending.created, {}, clock.now()));
  BOOST_TEST(!scep::pending_expired(pending.created, {}, pending.created + std::chrono::days(7)));
}

BOOST_AUTO_TEST_SUITE_END()
