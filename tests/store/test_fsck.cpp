// scepctl check's record checks: what a crash can leave behind, found and repaired.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "crypto/digest.hpp"
#include "store/fsck.hpp"
#include "support/requests.hpp"

#include "cert_store.hpp"

namespace {

using Fix = store::Finding::Fix;

void touch(const fs::path& p, const std::string& text = "") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::vector<store::Finding> check(store::Store& st, bool repair) {
  auto findings = store::check_records(st, repair);
  BOOST_REQUIRE_MESSAGE(findings, (findings ? "" : findings.error().detail));
  return *findings;
}

const store::Finding* finding(const std::vector<store::Finding>& all, std::string_view path_part) {
  for (const auto& f : all)
    if (f.path.find(path_part) != std::string::npos) return &f;
  return nullptr;
}

scep::Transaction pending_tx(const scep::PendingRequest& p, scep::Transaction::State state) {
  core::Bytes kid = crypto::digest(crypto::DigestAlg::sha256, testing::test_pki().client_key.public_key().spki_der());
  return {p.ca, p.transaction_id, state, kid, {}, {}, {}, {}, p.created, {}, {}};
}

/// A claim whose process died before deciding or putting the request back
/// (a PendingClaim never destroyed): F.json renamed to F.claimed, as
/// Store::claim_pending does.
bool claim_and_crash(store::Store& st, const scep::PendingRequest& p) {
  fs::path f = st.layout().pending(p.ca, core::to_hex(crypto::digest(crypto::DigestAlg::sha256, p.csr_der)));
  std::error_code ec;
  fs::rename(f, store::Layout::claimed(f), ec);
  return !ec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_fsck)

BOOST_FIXTURE_TEST_CASE(a_sound_store_has_no_findings, CertStore) {
  add({0x01});
  BOOST_TEST(check(st, false).empty());
}

BOOST_FIXTURE_TEST_CASE(crash_leftovers_are_found_then_repaired, CertStore) {
  add({0x0A});
  const auto& key = testing::test_pki().client_key;
  // An interrupted atomic write.
  touch(ca_dir() / "certs" / ".0B.pem.tmp-abc123", "half");
  // An approval that died after taking its request: the transaction is still pending.
  scep::PendingRequest taken{"main", "tid-taken", "192.0.2.1", testing::make_csr({}, key), testing::fixed_time(), {},
                             {},     {},          {}};
  BOOST_REQUIRE(st.add_pending(taken));
  BOOST_REQUIRE(st.add_transaction(pending_tx(taken, scep::Transaction::State::pending)));
  BOOST_REQUIRE(claim_and_crash(st, taken));
  // An approval that died after recording its decision.
  testing::CsrSpec other;
  other.subject = "CN=decided";
  scep::PendingRequest decided{
      "main", "tid-decided", "192.0.2.2", testing::make_csr(other, key), testing::fixed_time(), {}, {}, {}, {}};
  BOOST_REQUIRE(st.add_pending(decided));
  BOOST_REQUIRE(st.add_transaction(pending_tx(decided, scep::Transaction::State::rejected)));
  BOOST_REQUIRE(claim_and_crash(st, decided));
  // A request parked by a process that died before writing its transaction.
  other.subject = "CN=parked";
  scep::PendingRequest parked{
      "main", "tid-parked", "192.0.2.3", testing::make_csr(other, key), testing::fixed_time(), {}, {}, {}, {}};
  BOOST_REQUIRE(st.add_pending(parked));
  // A renewal claim nothing recorded, and a secret use token without its secret.
  BOOST_REQUIRE(st.claim_renewal("main", "0A", "tid-gone").value_or(std::optional<std::string>("x")) == std::nullopt);
  // (A minute old: a younger token may belong to a secret being made.)
  fs::path orphan = st.root() / "secrets" / (std::string(64, 'a') + ".use-1");
  touch(orphan);
  fs::last_write_time(orphan, fs::file_time_type::clock::now() - std::chrono::minutes(2));

  auto found = check(st, false);
  BOOST_TEST(found.size() == 6u);
  auto expect = [&](std::string_view part, Fix fix) {
    const auto* f = finding(found, part);
    BOOST_TEST_REQUIRE(f != nullptr, "no finding for " << part);
    BOOST_TEST((f->fix == fix), part);
    BOOST_TEST(!f->repaired);
  };
  expect(".tmp-abc123", Fix::remove);
  // Two claims: the interrupted approval goes back, the decided one goes away
  // (their names are hashes, so their order is not known).
  auto claims = [&](Fix fix) {
    return std::count_if(found.begin(), found.end(),
                         [&](auto& f) { return f.path.ends_with(".claimed") && f.fix == fix; });
  };
  BOOST_TEST(claims(Fix::restore) == 1);
  BOOST_TEST(claims(Fix::remove) == 1);
  expect("renewed/0A", Fix::remove);
  expect(".use-1", Fix::remove);
  BOOST_TEST(std::count_if(found.begin(), found.end(), [](auto& f) { return f.fix == Fix::write_tx; }) == 1);

  auto repaired = check(st, true);
  BOOST_TEST(std::all_of(repaired.begin(), repaired.end(), [](auto& f) { return f.repaired; }));
  BOOST_TEST(check(st, false).empty());
  // The interrupted approval's request waits again; the decided one is gone;
  // the parked one has its transaction.
  auto waiting = st.list_pending("main");
  BOOST_TEST_REQUIRE(waiting.has_value());
  std::vector<std::string> tids;
  for (const auto& p : *waiting) tids.push_back(p.transaction_id);
  std::sort(tids.begin(), tids.end());
  BOOST_TEST(tids == (std::vector<std::string>{"tid-parked", "tid-taken"}));
  auto tx = st.find_transaction("main", "tid-parked");
  BOOST_TEST_REQUIRE((tx && *tx));
  BOOST_TEST(((*tx)->state == scep::Transaction::State::pending));
}

BOOST_FIXTURE_TEST_CASE(a_missing_certificate_needs_the_operator, CertStore) {
  scep::Transaction t{"main", "tid-1", scep::Transaction::State::issued,
                      {0x01}, "0C",    {},
                      {},     {},      testing::fixed_time(),
                      {},     {}};
  BOOST_REQUIRE(st.add_transaction(t));
  auto found = check(st, true);
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST((found[0].fix == Fix::none));
  BOOST_TEST(!found[0].repaired);
  BOOST_TEST(found[0].problem.find("certificate 0C") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(world_writable_entries_are_reported_not_changed, CertStore) {
  fs::permissions(ca_dir() / "cert.pem", fs::perms::others_write, fs::perm_options::add);
  auto found = check(st, true);
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].problem.find("world-writable") != std::string::npos);
  BOOST_TEST(!found[0].repaired);
}

BOOST_AUTO_TEST_SUITE_END()
