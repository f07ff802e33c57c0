// The names a certificate gets, from `scepctl secret create` to the issued
// certificate and back out through `certs`, `pending` and the audit log:
// a secret bound with --cn yields only its name, and SANs are typed data.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "../scep/enroll_fixture.hpp"
#include "cli_fixture.hpp"
#include "store/store.hpp"

using testing::CsrSpec;

namespace {

struct Names : Cli {
  const testing::TestPki& pki = testing::test_pki();
  crypto::Certificate signer = testing::self_signed(pki.client_key);
  int sent = 0;

  Names() {
    // Inside the test CA's validity (it starts at the real time of the run).
    clock.advance(std::chrono::duration_cast<std::chrono::seconds>(pki.root.cert.not_before() - clock.now()) +
                  std::chrono::hours(1));
    auto st = seeded_store(store);
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
    BOOST_REQUIRE_MESSAGE(run({"policy", "create", "device"}) == 0, err);
  }

  /// `scepctl secret create --ca main --policy POLICY ARGS...`: the secret.
  std::string secret(std::vector<std::string> args, const std::string& pol = "device") {
    std::vector<std::string> all{"--json", "secret", "create", "--ca", "main", "--policy", pol};
    all.insert(all.end(), args.begin(), args.end());
    return json(all)["secret"].get<std::string>();
  }
  int uses_left() { return json({"--json", "secret", "list"}).at(0)["uses_left"].get<int>(); }

  /// A PKCSReq of the test client key carrying `challenge`, through the service over the store.
  enroll_test::Reply enroll(const std::string& challenge, CsrSpec spec) {
    spec.challenge = challenge;
    testing::MessageSpec ms;
    ms.transaction_id = "tid-" + std::to_string(++sent);
    auto der = testing::make_message(testing::make_csr(spec, pki.client_key), ms, pki.root.cert, signer,
                                     pki.client_key);
    auto st = store::Store::open(store, store::OpenMode::existing);
    BOOST_REQUIRE(st);
    store::Session repo(*st);
    scep::Service svc(repo.backend(), clock, rng);
    return enroll_test::open_reply(svc.pki_operation("main", der, "192.0.2.7"));
  }
  crypto::Certificate issued(const enroll_test::Reply& r) {
    enroll_test::require_success(r);
    auto certs = enroll_test::reply_certs(r, signer, pki.client_key);
    BOOST_REQUIRE(!certs.empty());
    return certs.front();
  }

  /// The devices' decisions in the audit log (not the operator's actions).
  std::vector<nlohmann::json> audit() {
    std::ifstream in(store / "audit.log");
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);)
      if (auto j = nlohmann::json::parse(line); !j.contains("operator")) out.push_back(std::move(j));
    return out;
  }
};

/// The laptop of the issue: a device asking for more than its name.
CsrSpec greedy() {
  CsrSpec spec;
  spec.subject = "CN=laptop-17,O=Corp Admins";
  spec.sans = {"DNS:www.bank.example", "DNS:*.example.com", "IP:192.0.2.1", "URI:https://laptop-17.example/"};
  return spec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_secret_names)

BOOST_FIXTURE_TEST_CASE(a_secret_bound_with_cn_refuses_other_names_and_stays_unspent, Names) {
  auto s = secret({"--cn", "laptop-17"});
  enroll_test::require_failure(enroll(s, greedy()), scep::FailInfo::bad_request, "subject attribute O ");
  CsrSpec extra_san = greedy();
  extra_san.subject = "CN=laptop-17";
  enroll_test::require_failure(enroll(s, extra_san), scep::FailInfo::bad_request, "DNS:www.bank.example");
  BOOST_TEST(uses_left() == 1);

  CsrSpec own;
  own.subject = "CN=laptop-17";
  own.sans = {"DNS:laptop-17"};
  auto cert = issued(enroll(s, own));
  BOOST_TEST(cert.subject() == "CN=laptop-17");
  BOOST_TEST(enroll_test::cert_sans(cert) == std::vector<std::string>{"DNS:laptop-17"},
             boost::test_tools::per_element());
  BOOST_TEST(uses_left() == 0);

  auto log = audit();
  BOOST_REQUIRE(log.size() == 3u);
  BOOST_TEST(log[0]["outcome"] == "failure");
  BOOST_TEST(log[1]["sans"].dump() ==
             R"(["DNS:www.bank.example","DNS:*.example.com","IP:192.0.2.1","URI:https://laptop-17.example/"])");
  BOOST_TEST(log[2]["outcome"] == "issued");
}

BOOST_FIXTURE_TEST_CASE(a_policy_may_bind_only_the_cn, Names) {
  BOOST_REQUIRE_MESSAGE(run({"policy", "create", "lenient", "--secret-cn-scope", "cn"}) == 0, err);
  BOOST_TEST(json({"--json", "policy", "show", "lenient"})["secret_cn_scope"] == "cn");
  auto cert = issued(enroll(secret({"--cn", "laptop-17"}, "lenient"), greedy()));
  BOOST_TEST(cert.subject() == "CN=laptop-17,O=Corp Admins");
  BOOST_TEST(enroll_test::cert_sans(cert).size() == 4u);
}

BOOST_FIXTURE_TEST_CASE(san_values_are_issued_as_typed_and_listed_escaped, Names) {
  CsrSpec spec;
  spec.subject = "CN=device1,emailAddress=boss@example.com";
  spec.sans = {"email:move", "email:copy", "DNS:a.example,DNS:b.example", "DNS:c.example\nd.example"};
  auto cert = issued(enroll(secret({}), spec));
  // "email:move" no longer moves the emailAddress out of the checked subject.
  BOOST_TEST(cert.subject() == "CN=device1,emailAddress=boss@example.com");
  BOOST_TEST(enroll_test::cert_sans(cert) == spec.sans, boost::test_tools::per_element());

  std::vector<std::string> shown{"email:move", "email:copy", "DNS:a.example,DNS:b.example",
                                 "DNS:c.example\\x0ad.example"};
  BOOST_REQUIRE_MESSAGE(run({"certs"}) == 0, err);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 2, out);  // the header and one row
  BOOST_TEST(contains(out, R"(  "email:move" "email:copy" "DNS:a.example,DNS:b.example" "DNS:c.example\x0ad.example")"
                           "\n"),
             out);
  auto list = json({"--json", "certs"});
  BOOST_TEST(list.at(0)["sans"].get<std::vector<std::string>>() == shown, boost::test_tools::per_element());
  BOOST_TEST(audit().back()["sans"].get<std::vector<std::string>>() == shown, boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(pending_lists_names_escaped_even_from_older_records, Names) {
  auto csr_der = testing::make_csr({}, pki.client_key);
  scep::PendingRequest p{"main",
                         "tid-old",
                         "192.0.2.9",
                         csr_der,
                         clock.now(),
                         "CN=device1,O=Example",
                         {"DNS:old\nrecord", "DNS:escaped\\x0aalready"},
                         "RSA 2048",
                         {}};
  auto kid = crypto::digest(crypto::DigestAlg::sha256, pki.client_key.public_key().spki_der());
  auto st = store::Store::open(store, store::OpenMode::existing);
  BOOST_REQUIRE(st);
  BOOST_REQUIRE(st->record_pending(
      p, {"main", "tid-old", scep::Transaction::State::pending, kid, {}, {}, {}, {}, p.created, {}, {}},
      {p.created, "main", p.remote, "PKCSReq", "tid-old", {}, {}, {}, scep::Outcome::pending, {}, {}, {}, false, {}}));
  BOOST_REQUIRE_MESSAGE(run({"pending"}) == 0, err);
  BOOST_TEST(contains(out, R"(  sans="DNS:old\x0arecord" "DNS:escaped\x0aalready")"
                           "\n"),
             out);
  auto list = json({"--json", "pending"});
  std::vector<std::string> want{"DNS:old\\x0arecord", "DNS:escaped\\x0aalready"};
  BOOST_TEST(list.at(0)["sans"].get<std::vector<std::string>>() == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
