// scepctl certs, revoke, crl, check and pending --expired over a seeded store.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "crypto/cert_builder.hpp"
#include "crypto/crl.hpp"
#include "scep/manual.hpp"
#include "store/atomic_file.hpp"
#include "support/requests.hpp"

#include "cli_fixture.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// CA "main" (the test root) with three certificates, one of them expired at
/// the fixture's clock; their serials are 0A..01, 0B..02 and 0C..03.
struct Lifecycle : Cli {
  std::vector<std::string> serials;

  Lifecycle() {
    const auto& pki = testing::test_pki();
    auto st = seeded_store(store);
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
    for (int i = 1; i <= 3; ++i) {
      crypto::CertSpec spec;
      spec.subject = *crypto::subject_der_from_text(fmt::format("CN=device{}", i));
      spec.serial = {static_cast<std::uint8_t>(0x09 + i), 0x55, static_cast<std::uint8_t>(i)};
      spec.not_before = clock.now() - 400 * 24h;
      spec.not_after = clock.now() + (i == 3 ? -24h : 300 * 24h);
      auto cert = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
      BOOST_REQUIRE(cert);
      BOOST_REQUIRE(st.add_certificate("main", *cert, i == 1 ? "phones" : ""));
      serials.push_back(cert->serial_hex());
    }
  }
  store::Store open() {
    auto st = store::Store::open(store, store::OpenMode::existing);
    BOOST_REQUIRE(st);
    return std::move(*st);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(scepctl_lifecycle)

BOOST_FIXTURE_TEST_CASE(certs_lists_every_certificate_with_its_status, Lifecycle) {
  BOOST_TEST(serials == (std::vector<std::string>{"0A5501", "0B5502", "0C5503"}));
  auto list = json({"--json", "certs"});
  BOOST_TEST_REQUIRE(list.size() == 3u);
  BOOST_TEST(list[0]["serial"] == "0A5501");
  BOOST_TEST(list[0]["status"] == "valid");
  BOOST_TEST(list[0]["policy"] == "phones");
  BOOST_TEST(list[2]["status"] == "expired");
  BOOST_TEST(run({"certs", "--ca", "main"}) == 0);
  BOOST_TEST(contains(out, "0B5502  valid"));
  BOOST_TEST(contains(out, "CN=device2"));
  BOOST_TEST(run({"certs", "--ca", "nosuch"}) == 3);
  BOOST_TEST(contains(error_line(), "no CA called"));
}

BOOST_FIXTURE_TEST_CASE(revoke_records_the_reason_and_publishes_a_crl, Lifecycle) {
  // Colons, lower case and a leading zero byte are the same serial.
  BOOST_TEST_REQUIRE(run({"revoke", "00:0b:55:02", "--reason", "keyCompromise"}) == 0, err);
  BOOST_TEST(contains(out, "revoked: 0B5502"));
  auto revoked = json({"--json", "certs", "--revoked"});
  BOOST_TEST_REQUIRE(revoked.size() == 1u);
  BOOST_TEST(revoked[0]["serial"] == "0B5502");
  BOOST_TEST(revoked[0]["status"] == "revoked");
  BOOST_TEST(revoked[0]["reason"] == "keyCompromise");

  auto der = open().load_crl("main");
  BOOST_TEST_REQUIRE((der && *der));
  auto crl = crypto::Crl::parse(**der);
  BOOST_TEST_REQUIRE(crl.has_value());
  BOOST_TEST(crl->verify(testing::test_pki().root.cert));
  BOOST_TEST(crl->number() == 1u);
  BOOST_TEST_REQUIRE(crl->revoked().size() == 1u);
  BOOST_TEST(crl->revoked()[0].serial_hex == "0B5502");
  BOOST_TEST((crl->revoked()[0].reason == crypto::RevocationReason::key_compromise));

  auto second = json({"--json", "revoke", "0A5501"});
  BOOST_TEST(second["crl_number"] == 2);
  BOOST_TEST(second["reason"] == "unspecified");
}

BOOST_FIXTURE_TEST_CASE(revoke_refuses_clearly_and_changes_nothing, Lifecycle) {
  BOOST_TEST(run({"revoke", "0B5502"}) == 0);
  BOOST_TEST(run({"revoke", "0B5502"}) == 4);
  BOOST_TEST(contains(error_line(), "already revoked"));
  BOOST_TEST(run({"revoke", "DEAD01"}) == 3);
  BOOST_TEST(contains(error_line(), "no certificate with serial DEAD01"));
  BOOST_TEST(run({"revoke", "not-hex"}) == 2);
  BOOST_TEST(contains(error_line(), "not a hex serial"));
  BOOST_TEST(run({"revoke", "0A5501", "--reason", "lost"}) == 2);
  BOOST_TEST(contains(error_line(), "unknown reason"));
  BOOST_TEST(run({"revoke", "0A5501", "--ca", "nosuch"}) == 3);
  auto revoked = json({"--json", "certs", "--revoked"});
  BOOST_TEST(revoked.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(crl_signs_a_new_numbered_crl_each_time, Lifecycle) {
  BOOST_TEST_REQUIRE(run({"crl", "main"}) == 0, err);
  auto first = crypto::Crl::parse(core::to_bytes(out));
  BOOST_TEST_REQUIRE(first.has_value());
  fs::path file = dir.path() / "main.crl";
  BOOST_TEST_REQUIRE(run({"crl", "--days", "2", "--out", file.string()}) == 0, err);  // the only CA is the default
  auto bytes = store::read_file(file);
  BOOST_TEST_REQUIRE(bytes.has_value());
  auto second = crypto::Crl::parse(*bytes);
  BOOST_TEST_REQUIRE(second.has_value());
  BOOST_TEST(second->number() == first->number() + 1);
  BOOST_TEST((second->next_update() - second->this_update() == std::chrono::hours(48)));
  BOOST_TEST(run({"crl", "nosuch"}) == 3);
  BOOST_TEST(run({"crl", "main", "--days", "0"}) != 0);
}

BOOST_FIXTURE_TEST_CASE(crl_json_without_out_is_json_holding_the_crl, Lifecycle) {
  auto j = json({"--json", "crl", "main"});  // was the bare PEM
  BOOST_TEST(j["ca"] == "main");
  BOOST_TEST(!j.contains("file"));
  auto crl = crypto::Crl::parse(core::to_bytes(j["pem"].get<std::string>()));
  BOOST_TEST_REQUIRE(crl.has_value());
  BOOST_TEST(j["number"] == crl->number());
  BOOST_TEST(j["revoked"] == crl->revoked().size());
  fs::path file = dir.path() / "main.crl";
  auto w = json({"--json", "crl", "main", "--out", file.string()});
  BOOST_TEST(w["file"] == file.string());
  BOOST_TEST(!w.contains("pem"));
  BOOST_TEST(w["number"] == crl->number() + 1);
}

BOOST_FIXTURE_TEST_CASE(check_warns_of_a_ca_certificate_that_expires_within_30_days, Lifecycle) {
  auto not_after = testing::test_pki().root.cert.not_after();
  clock.advance(std::chrono::duration_cast<std::chrono::seconds>(not_after - clock.now()) - 10 * 24h - 1h);
  BOOST_TEST_REQUIRE(run({"check"}) == 0, err);
  BOOST_TEST(contains(out, "warning: the CA certificate expires in 10 day(s)"), out);
  BOOST_TEST(contains(out, "store ok"));
  clock.advance(11 * 24h);
  BOOST_TEST(run({"check"}) == 5);
  BOOST_TEST(contains(out, "problem: the CA certificate expired on"), out);
}

BOOST_FIXTURE_TEST_CASE(check_passes_a_sound_store_and_names_problems, Lifecycle) {
  BOOST_TEST_REQUIRE(run({"check"}) == 0, err);
  BOOST_TEST(contains(out, "ca main: 3 certificates, 0 revoked"));
  BOOST_TEST(contains(out, "store ok"));
  fs::permissions(store / "ca" / "main" / "key.pem", fs::perms::others_read, fs::perm_options::add);
  BOOST_TEST(run({"check"}) == 5);
  BOOST_TEST(contains(out, "problem: "));
  BOOST_TEST(contains(out, "has mode 604"));
  BOOST_TEST(contains(error_line(), "1 problem(s) found"));
}

BOOST_FIXTURE_TEST_CASE(expired_pending_requests_are_listed_and_purged, Lifecycle) {
  auto csr = testing::make_csr({}, testing::test_pki().client_key);
  scep::PendingRequest p{"main", "tid-old", "192.0.2.7", csr, clock.now(), {}, {}, {}, {}};
  {
    auto st = open();
    core::Bytes kid = crypto::digest(crypto::DigestAlg::sha256, testing::test_pki().client_key.public_key().spki_der());
    BOOST_REQUIRE(st.record_pending(
        p, {"main", "tid-old", scep::Transaction::State::pending, kid, {}, {}, {}, {}, p.created, {}, {}},
        {p.created,
         "main",
         p.remote,
         "PKCSReq",
         "tid-old",
         {},
         {},
         {},
         scep::Outcome::pending,
         {},
         {},
         {},
         false,
         {}}));
  }
  BOOST_TEST(json({"--json", "pending"}).size() == 1u);
  BOOST_TEST(json({"--json", "pending", "--expired"}).empty());
  clock.advance(8 * 24h);  // past the default 7 days
  BOOST_TEST(json({"--json", "pending"}).empty());
  BOOST_TEST(json({"--json", "pending", "--expired"}).size() == 1u);
  BOOST_TEST(run({"check"}) == 0);
  BOOST_TEST(contains(out, "1 pending (1 expired)"));
  BOOST_TEST_REQUIRE(run({"check", "--purge-expired"}) == 0, err);
  BOOST_TEST(contains(out, "1 purged"));
  BOOST_TEST(json({"--json", "pending", "--expired"}).empty());
  auto tx = open().find_transaction("main", "tid-old");
  BOOST_TEST_REQUIRE((tx && *tx));
  BOOST_TEST(((*tx)->state == scep::Transaction::State::rejected));
  BOOST_TEST((*tx)->reason == "expired without approval");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scepctl_cert_filters)

BOOST_FIXTURE_TEST_CASE(certs_filters_by_cn_expiry_and_revocation, Lifecycle) {
  auto serials_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    std::vector<std::string> got;
    for (const auto& c : json(args)) got.push_back(c["serial"]);
    return got;
  };
  BOOST_TEST(serials_of({"certs", "--cn", "DEVICE2"}) == (std::vector<std::string>{"0B5502"}));
  BOOST_TEST(serials_of({"certs", "--expiring", "301"}) == (std::vector<std::string>{"0A5501", "0B5502"}));
  BOOST_TEST(serials_of({"certs", "--expiring", "299"}).empty());
  BOOST_REQUIRE_MESSAGE(run({"revoke", "0B5502"}) == 0, err);
  BOOST_TEST(serials_of({"certs", "--revoked"}) == (std::vector<std::string>{"0B5502"}));
  BOOST_TEST(serials_of({"certs", "--expiring", "301"}) == (std::vector<std::string>{"0A5501"}));
  BOOST_TEST(run({"certs", "--cn", "nobody"}) == 0);
  BOOST_TEST(out.empty());
  BOOST_TEST(err == "no certificates\n");
  BOOST_TEST(run({"certs", "--revoked", "--expiring", "3"}) == 2);
}

BOOST_FIXTURE_TEST_CASE(cert_show_prints_one_certificate_in_full, Lifecycle) {
  BOOST_REQUIRE_MESSAGE(run({"revoke", "0b:55:02", "--reason", "superseded"}) == 0, err);
  BOOST_REQUIRE_MESSAGE(run({"cert", "show", "0b:55:02", "--pem"}) == 0, err);
  for (const char* part :
       {"subject:", "CN=device2", "issuer:", "not_before:", "not_after:", "key_usage:", "extended_key_usage:",
        "policy:", "status:", "revoked (superseded, ", "sha256:", "-----BEGIN CERTIFICATE-----"})
    BOOST_TEST(contains(out, part), part);
  auto j = json({"--json", "cert", "show", "0A5501"});
  for (const char* key : {"ca", "subject", "issuer", "serial", "not_before", "not_after", "sans", "key", "key_usage",
                          "extended_key_usage", "policy", "status", "md5", "sha1", "sha256", "pem"})
    BOOST_TEST(j.contains(key), key);
  BOOST_TEST(j["policy"] == "phones");
  BOOST_TEST(j["status"] == "valid");
  BOOST_TEST(run({"cert", "show", "0D5504"}) == 3);
  BOOST_TEST(run({"cert", "show", "xyz"}) == 2);
}

BOOST_AUTO_TEST_SUITE_END()
