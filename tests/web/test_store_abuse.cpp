// Regressions of issue 14: client bytes that cannot be stored, requests that
// would grow the store without bound, symbolic links planted in the store.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "hostile_fixture.hpp"
#include "store/fsck.hpp"

namespace {

using namespace hostile;

std::uintmax_t audit_size(Site& site) {
  std::error_code ec;
  auto n = fs::file_size(site.dir.path() / "store/audit.log", ec);
  return ec ? 0 : n;
}

/// Every line of audit.log is one JSON object.
void audit_is_json_lines(Site& site) {
  std::ifstream in(site.dir.path() / "store/audit.log");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    BOOST_TEST(nlohmann::json::accept(line), "audit line " << n << " is not JSON: " << line.substr(0, 200));
  }
}

web::Request with_tid(Site& site, std::string_view tid, const core::Bytes& csr) {
  std::vector<Attr> attrs{printable(scep::oid::message_type, "19"),
                          {std::string(scep::oid::transaction_id), V_ASN1_UTF8STRING, {core::to_bytes(tid)}},
                          octets(scep::oid::sender_nonce, nonce_of(16))};
  return post(cms_sign(site.envelope(csr), {site.client(attrs)}));
}

/// Enrolls with the good secret under `tid`; the serial of the one certificate stored.
std::string enroll_one(Site& site, const std::string& tid) {
  auto r = web::dispatch(post(site.request(site.csr(), tid)), site.svc);
  BOOST_REQUIRE_EQUAL(pki_status(r), "0");
  auto issued = site.st.list_certificates("main");
  BOOST_REQUIRE(issued && issued->size() == 1u);
  return issued->front().cert.serial_hex();
}

std::size_t files_in_dir(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().front() != '.';
  return n;
}

std::vector<std::string> findings(Site& site) {
  auto found = store::check_records(site.st, false);
  BOOST_REQUIRE_MESSAGE(found, (found ? "" : found.error().detail));
  std::vector<std::string> out;
  for (const auto& f : *found) out.push_back(f.path + ": " + f.problem);
  return out;
}

bool any_mentions(const std::vector<std::string>& all, std::string_view part) {
  return std::any_of(all.begin(), all.end(), [&](const std::string& s) { return s.find(part) != std::string::npos; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_abuse, *boost::unit_test::timeout(300))

// Before issue 14: HTTP 500 after the secret was spent and the certificate
// written, and "already used" on the retry.
BOOST_AUTO_TEST_CASE(a_transaction_id_that_is_not_text_spends_nothing) {
  Site site;
  for (std::string tid : {std::string("\xff\xfe\x80", 3), std::string("ok\x01", 3), std::string("\xc0\xaf", 2),
                          std::string("\xed\xa0\x80", 3)}) {
    auto r = web::dispatch(with_tid(site, tid, site.csr()), site.svc);
    BOOST_TEST(pki_status(r) == "2", describe(r));
    BOOST_TEST(good_secret_uses_left(site) == 1);
  }
  BOOST_TEST(!fs::exists(site.dir.path() / "store/ca/main/tx"));
  audit_is_json_lines(site);
  // The device with a proper transactionID still enrolls with the secret.
  auto good = web::dispatch(with_tid(site, "0123abcd-text-\xc3\xa9", site.csr()), site.svc);
  BOOST_TEST(pki_status(good) == "0", describe(good));
  BOOST_TEST(good_secret_uses_left(site) == 0);
  audit_is_json_lines(site);
  BOOST_TEST(findings(site).empty());
}

// A subject of hostile bytes with a valid secret: answered (issued or
// refused by the policy), the audit stays JSON lines.
BOOST_AUTO_TEST_CASE(a_subject_of_hostile_bytes_is_answered_and_logged_as_json) {
  Site site;
  CsrSpec spec;
  spec.subject = "CN=line\x01\x02\x1b[31mred\x7f,O=\xe2\x80\xae-reversed";
  auto r = web::dispatch(post(site.request(site.csr(good_secret, spec), "tid-bytes")), site.svc);
  std::string st = pki_status(r);
  BOOST_TEST((st == "0" || st == "2"), describe(r));
  audit_is_json_lines(site);
  BOOST_TEST(findings(site).empty());
}

// Before: a 176 KB subject with a wrong secret added ~700 KB to audit.log.
BOOST_AUTO_TEST_CASE(a_huge_subject_with_a_wrong_secret_adds_a_few_kib_at_most) {
  Site site;
  CsrSpec spec;
  spec.subject = "CN=" + std::string(60, 'x');
  for (int i = 0; i < 3000; ++i) spec.subject += ",OU=" + std::string(60, 'a' + i % 26);
  auto csr = site.csr(wrong_secret, spec);
  BOOST_TEST_REQUIRE(csr.size() > 150000u);
  auto before = audit_size(site);
  auto r = web::dispatch(post(site.request(csr, "tid-huge")), site.svc);
  BOOST_TEST(pki_status(r) == "2", describe(r));
  BOOST_TEST(audit_size(site) - before < 4096u, "one refused request added " << audit_size(site) - before << " bytes");
  audit_is_json_lines(site);
  // Without a secret it would be parked: too large to keep, refused.
  auto parked = web::dispatch(post(site.request(site.csr("", spec), "tid-huge-park")), site.svc);
  BOOST_TEST(pki_status(parked) == "2", describe(parked));
  fs::path pending = site.dir.path() / "store/ca/main/pending";
  bool none_parked = !fs::exists(pending) || fs::is_empty(pending);
  BOOST_TEST(none_parked);
}

// Symbolic links planted in the store are never written through: the
// decision fails (5xx, nothing spent), nothing lands outside, check says so.
BOOST_AUTO_TEST_CASE(planted_symbolic_links_are_not_followed) {
  for (std::string planted : {"ca/main/certs", "ca/main/tx", "ca/main/pending", "audit.log", "ca/main/tx.lock"}) {
    BOOST_TEST_CONTEXT("a symbolic link at " << planted) {
      Site site;
      fs::path outside = site.dir.path() / "outside";
      fs::create_directories(outside);
      fs::path link = site.dir.path() / "store" / planted;
      fs::remove_all(link);
      bool is_dir = planted.find('.') == std::string::npos;
      fs::path target = outside / (is_dir ? "dir" : "file");
      if (is_dir) fs::create_directories(target);
      else std::ofstream(target) << "";
      fs::create_symlink(target, link);
      bool manual = planted == "ca/main/pending";
      auto r = web::dispatch(post(site.request(site.csr(manual ? "" : good_secret), "tid-link")), site.svc);
      if (planted == "audit.log") {
        // The decision stands (its record is the commit point); only the log line is refused.
        BOOST_TEST(pki_status(r) == "0", describe(r));
      } else {
        BOOST_TEST(r.status >= 500, describe(r));
        BOOST_TEST(good_secret_uses_left(site) == 1);
      }
      // Nothing was written where the link points.
      if (is_dir) BOOST_TEST(fs::is_empty(target));
      else BOOST_TEST(fs::file_size(target) == 0u);
      BOOST_TEST(any_mentions(findings(site), "symbolic link"));
    }
  }
}

// Reads do not go through a linked directory either (openat2 with
// RESOLVE_NO_SYMLINKS below the store's root): a certs/ that points to a
// copy elsewhere is an error, not a quiet read of the copy.
BOOST_AUTO_TEST_CASE(a_linked_directory_is_not_read_through) {
  Site site;
  std::string serial = enroll_one(site, "tid-read");
  fs::path certs = site.dir.path() / "store/ca/main/certs", copy = site.dir.path() / "elsewhere";
  fs::rename(certs, copy);
  fs::create_symlink(copy, certs);
  auto found = site.st.find_certificate("main", serial);
  BOOST_TEST_REQUIRE(!found.has_value());
  BOOST_TEST(found.error().detail.find("symbolic link") != std::string::npos, found.error().detail);
  // The store's root itself may be a link (the administrator's choice).
  fs::remove(certs);
  fs::rename(copy, certs);
  fs::path alias = site.dir.path() / "alias";
  fs::create_symlink(site.dir.path() / "store", alias);
  auto via = store::Store::open(alias, store::OpenMode::existing);
  BOOST_TEST_REQUIRE(via.has_value());
  auto again = via->find_certificate("main", serial);
  BOOST_TEST_REQUIRE(again.has_value(), again.error().detail);
  BOOST_TEST(bool(*again));
}

// A CRL is never signed from a revoked/ that cannot be read.
BOOST_AUTO_TEST_CASE(an_unreadable_revocation_directory_fails_the_crl) {
  Site site;
  std::string serial = enroll_one(site, "tid-rev");
  auto when = std::chrono::floor<std::chrono::seconds>(site.clock.now());
  BOOST_REQUIRE(site.st.revoke("main", {serial, when, crypto::RevocationReason::key_compromise}, {}));
  fs::path revoked = site.dir.path() / "store/ca/main/revoked";
  // What root's `scepctl revoke` left before: a directory the service cannot list.
  fs::permissions(revoked, fs::perms::none);
  struct Restore {
    fs::path p;
    ~Restore() { fs::permissions(p, fs::perms::owner_all); }
  } restore{revoked};
  if (::access(revoked.c_str(), R_OK) == 0) {
    BOOST_TEST_MESSAGE("running as root: permissions do not bind; a symlinked revoked/ stands in");
    fs::permissions(revoked, fs::perms::owner_all);
    fs::rename(revoked, site.dir.path() / "revoked.real");
    fs::create_symlink(site.dir.path() / "revoked.real", revoked);
  }
  auto crl = web::dispatch(get("", "/main/crl"), site.svc);
  BOOST_TEST(crl.status >= 500, describe(crl));
  auto ca = site.repo.find_ca("main");
  BOOST_REQUIRE(ca);
  BOOST_TEST(!site.st.revoked_certificates("main").has_value());
}

// Review of issue 14: repair removes nothing on the strength of a record it
// could not read.
BOOST_AUTO_TEST_CASE(repair_keeps_what_an_unreadable_record_may_explain) {
  Site site;
  BOOST_REQUIRE_EQUAL(pki_status(web::dispatch(post(site.request(site.csr(), "tid-keep")), site.svc)), "0");
  fs::path tx = site.st.transaction_path("main", store::transaction_key("tid-keep"));
  std::ofstream(tx) << "{damaged";
  fs::path secret = site.dir.path() / "store/secrets" / (core::to_hex(policy::secret_hash(good_secret)) + ".json");
  std::ofstream(secret) << "{damaged";
  auto found = store::check_records(site.st, true);
  BOOST_REQUIRE(found);
  for (const auto& f : *found) BOOST_TEST(!f.repaired, f.path << ": " << f.problem);
  BOOST_TEST(files_in_dir(site.dir.path() / "store/ca/main/certs") == 1u);
  // The spent use stays with its transaction.
  bool spent = false;
  for (const auto& e : fs::directory_iterator(site.dir.path() / "store/secrets"))
    spent = spent || e.path().filename().string().find(".spent-") != std::string::npos;
  BOOST_TEST(spent);
}

// A crash between the record and its audit line: check finds the line
// missing, repair appends it from the record, marked recovered.
BOOST_AUTO_TEST_CASE(a_lost_audit_line_is_appended_from_its_record) {
  Site site;
  enroll_one(site, "tid-first");
  fs::path log = site.dir.path() / "store/audit.log";
  auto before = fs::file_size(log);
  // The site's secret has one use: a second one for the second enrollment.
  auto s = site.st.find_secret(policy::secret_hash(good_secret));
  BOOST_REQUIRE(s && *s);
  policy::SecretRecord more = **s;
  more.id = "s-000000000009";
  more.hash = policy::secret_hash("SECOND-SECRET");
  BOOST_REQUIRE(site.st.add_secret(more));
  BOOST_REQUIRE_EQUAL(pki_status(web::dispatch(post(site.request(site.csr("SECOND-SECRET"), "tid-lost")), site.svc)),
                      "0");
  fs::resize_file(log, before);  // the crash took the line
  auto found = findings(site);
  BOOST_TEST(any_mentions(found, "missing from audit.log"));
  auto repaired = store::check_records(site.st, true);
  BOOST_REQUIRE(repaired);
  BOOST_TEST(findings(site).empty());
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  auto j = nlohmann::json::parse(last);
  BOOST_TEST(j["transaction_id"] == "tid-lost");
  BOOST_TEST(j["outcome"] == "issued");
  BOOST_TEST(j["recovered"] == true);
}

// A torn tail a dead writer left is cut off by the next append, not ended
// and kept: the log stays JSON lines.
BOOST_AUTO_TEST_CASE(a_torn_audit_tail_is_cut_by_the_next_append) {
  Site site;
  BOOST_REQUIRE_EQUAL(pki_status(web::dispatch(post(site.request(site.csr(), "tid-a")), site.svc)), "0");
  { std::ofstream(site.dir.path() / "store/audit.log", std::ios::app) << "{\"time\":\"2026-12-07T0"; }
  BOOST_REQUIRE_EQUAL(pki_status(web::dispatch(post(site.request(site.csr(wrong_secret), "tid-b")), site.svc)), "2");
  audit_is_json_lines(site);
  BOOST_TEST(findings(site).empty());
}

BOOST_AUTO_TEST_SUITE_END()
