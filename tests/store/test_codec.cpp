#include <boost/test/unit_test.hpp>

#include <string>

#include "store/codec.hpp"
#include "support/test_pki.hpp"

// Records are read back by later versions and by `scepctl check`: a record
// this program cannot read is an error, never a guess.
BOOST_AUTO_TEST_SUITE(store_codec)

namespace {

scep::Transaction a_transaction(scep::Transaction::State state) {
  scep::Transaction t;
  t.ca = "main";
  t.transaction_id = "tid-1";
  t.state = state;
  t.key_id = {0x01, 0x02};
  t.serial = "0A";
  t.reason = "because";
  t.created = core::TimePoint(std::chrono::seconds(1'700'000'000));
  return t;
}

/// `text` with its first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_CASE(transaction_records_round_trip_every_state) {
  for (auto state :
       {scep::Transaction::State::issued, scep::Transaction::State::pending, scep::Transaction::State::rejected}) {
    auto back = store::parse_transaction(store::encode_transaction(a_transaction(state), nullptr, nullptr));
    BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().detail));
    BOOST_TEST((back->transaction.state == state));
    BOOST_TEST(back->transaction.serial == "0A");
    BOOST_TEST(back->transaction.reason == "because");
    BOOST_TEST((back->transaction.created == a_transaction(state).created));
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_transaction_state_is_a_damaged_record) {
  std::string text = store::encode_transaction(a_transaction(scep::Transaction::State::rejected), nullptr, nullptr);
  auto back = store::parse_transaction(replaced(text, "\"rejected\"", "\"revoked\""));
  BOOST_REQUIRE(!back);  // was: silently "issued"
  BOOST_TEST((back.error().code == core::Errc::store_io));
  BOOST_TEST(back.error().detail.find("revoked") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(audit_outcomes_are_names_and_an_unknown_one_is_a_damaged_record) {
  scep::AuditEvent e;
  e.ca = "main";
  e.transaction_id = "tid-1";
  e.outcome = scep::Outcome::signed_crl;
  std::string text = store::encode_transaction(a_transaction(scep::Transaction::State::issued), nullptr, &e);
  BOOST_TEST(text.find("\"outcome\":\"signed\"") != std::string::npos);
  auto back = store::parse_transaction(text);
  BOOST_REQUIRE(back);
  BOOST_REQUIRE(back->event);
  BOOST_TEST(back->event->outcome == scep::Outcome::signed_crl);

  auto future = store::parse_transaction(replaced(text, "\"signed\"", "\"escrowed\""));
  BOOST_REQUIRE(!future);
  BOOST_TEST((future.error().code == core::Errc::store_io));
  BOOST_TEST(future.error().detail.find("escrowed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_record_formats_are_refused) {
  std::string tx = store::encode_transaction(a_transaction(scep::Transaction::State::issued), nullptr, nullptr);
  BOOST_TEST(store::parse_transaction(replaced(tx, "\"format\":2", "\"format\":1")).has_value());
  auto future = store::parse_transaction(replaced(tx, "\"format\":2", "\"format\":3"));
  BOOST_REQUIRE(!future);
  BOOST_TEST((future.error().code == core::Errc::store_io));

  scep::PendingRequest p{"main", "tid-1", "192.0.2.1", {0x30, 0x00}, core::TimePoint{}, "CN=x", {}, "RSA 2048", ""};
  std::string pending = store::encode_pending(p);
  BOOST_TEST(store::parse_pending(pending).has_value());
  BOOST_TEST(!store::parse_pending(replaced(pending, "\"format\":1", "\"format\":2")));
}

BOOST_AUTO_TEST_CASE(secret_records_round_trip_without_the_secret) {
  policy::SecretRecord r;
  r.id = "s-0011223344ff";
  r.hash = policy::secret_hash("HUNTER2");
  r.ca = "main";
  r.policy = "vpn";
  r.common_name = "dev1";
  r.uses = 3;
  r.created = testing::fixed_time();
  r.expires = r.created + std::chrono::hours(24);
  std::string text = store::encode_secret(r);
  BOOST_TEST(text.find("HUNTER2") == std::string::npos);
  auto back = store::parse_secret(text);
  BOOST_REQUIRE(back);
  BOOST_TEST((back->hash == r.hash));
  BOOST_TEST(*back->common_name == "dev1");
  BOOST_TEST(back->uses == 3);
  BOOST_TEST((back->expires == r.expires));
  BOOST_TEST(!store::parse_secret(replaced(text, "\"format\":1", "\"format\":2")));
}

BOOST_AUTO_TEST_SUITE_END()
