// Issued certificates, revocations, renewal claims and the CRL in the flat-file store.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "crypto/cert_builder.hpp"
#include "store/atomic_file.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include "cert_store.hpp"

namespace fs = std::filesystem;
using core::Errc;
using crypto::RevocationReason;

namespace {

crypto::RevokedEntry revocation(std::string serial, RevocationReason reason = RevocationReason::key_compromise) {
  return {std::move(serial), testing::fixed_time() + std::chrono::hours(3), reason};
}

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_certs)

BOOST_AUTO_TEST_CASE(a_certificate_comes_back_with_its_policy) {
  CertStore s;
  auto cert = s.add({0x12, 0x34}, "phones");
  BOOST_TEST(cert.serial_hex() == "1234");
  auto found = s.must_find("1234");
  BOOST_TEST((found.cert == cert));
  BOOST_TEST(found.policy == "phones");
  BOOST_TEST(!found.revocation);
  auto loaded = s.st.load_certificate("main", "1234");
  BOOST_REQUIRE(loaded);
  BOOST_TEST((*loaded == cert));
}

BOOST_AUTO_TEST_CASE(a_certificate_without_policy_has_an_empty_one) {
  CertStore s;
  auto cert = s.add({0x56}, "");
  auto found = s.must_find("56");
  BOOST_TEST((found.cert == cert));
  BOOST_TEST(found.policy.empty());
}

BOOST_AUTO_TEST_CASE(an_invalid_policy_name_is_refused) {
  CertStore s;
  auto r = s.st.add_certificate("main", CertStore::leaf({0x57}), "../p");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == Errc::invalid_argument));
  BOOST_TEST(!fs::exists(s.ca_dir() / "certs" / "57.pem"));
}

BOOST_AUTO_TEST_CASE(a_taken_serial_is_already_exists_and_keeps_the_first) {
  CertStore s;
  s.add({0x20}, "first");
  auto r = s.st.add_certificate("main", CertStore::leaf({0x20}, "CN=other"), "second");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == Errc::already_exists));
  auto found = s.must_find("20");
  BOOST_TEST(found.policy == "first");
  BOOST_TEST(found.cert.subject() == "CN=leaf");
}

BOOST_AUTO_TEST_CASE(an_unknown_serial_is_nullopt) {
  CertStore s;
  s.add({0x12, 0x34});
  auto found = s.st.find_certificate("main", "ABCD");
  BOOST_REQUIRE(found);
  BOOST_TEST(!*found);
  auto loaded = s.st.load_certificate("main", "ABCD");
  BOOST_REQUIRE(!loaded);
  BOOST_TEST((loaded.error().code == Errc::not_found));
}

BOOST_AUTO_TEST_CASE(serials_that_are_not_upper_case_hex_never_reach_the_disk) {
  CertStore s;
  // Files a path-building lookup would find.
  std::string pem = CertStore::leaf({0x0A, 0xBC}).pem();
  write_text(s.ca_dir() / "certs" / "0abc.pem", pem);
  write_text(s.ca_dir() / "x.pem", pem);
  write_text(s.ca_dir() / "certs" / "12 34.pem", pem);
  for (std::string_view bad :
       std::vector<std::string_view>{"0abc", "../x", "12 34", "", "0x12", std::string_view("12\0", 3)}) {
    auto found = s.st.find_certificate("main", bad);
    BOOST_REQUIRE_MESSAGE(found, "an error for \"" << bad << "\"");
    BOOST_TEST(!*found, "found a certificate for \"" << bad << "\"");
  }
}

BOOST_AUTO_TEST_CASE(an_invalid_ca_name_is_refused) {
  CertStore s;
  auto found = s.st.find_certificate("../main", "12");
  BOOST_REQUIRE(!found);
  BOOST_TEST((found.error().code == Errc::invalid_argument));
  BOOST_TEST(!s.st.add_certificate("../main", CertStore::leaf({0x12}), ""));
}

BOOST_AUTO_TEST_CASE(list_certificates_lists_every_one_by_serial) {
  CertStore s;
  BOOST_REQUIRE(s.st.list_certificates("main"));
  BOOST_TEST(s.st.list_certificates("main")->empty());
  s.add({0x30}, "b");
  s.add({0x10}, "a");
  s.add({0x20}, "");
  BOOST_REQUIRE(s.st.revoke("main", revocation("20"), {}));
  auto all = s.st.list_certificates("main");
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 3u);
  BOOST_TEST((*all)[0].cert.serial_hex() == "10");
  BOOST_TEST((*all)[0].policy == "a");
  BOOST_TEST((*all)[1].cert.serial_hex() == "20");
  BOOST_TEST((*all)[1].revocation.has_value());
  BOOST_TEST((*all)[2].cert.serial_hex() == "30");
  BOOST_TEST((*all)[2].policy == "b");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_revocations)

BOOST_AUTO_TEST_CASE(a_revocation_is_recorded_with_reason_and_time) {
  CertStore s;
  s.add({0x12, 0x34});
  auto entry = revocation("1234", RevocationReason::superseded);
  auto r = s.st.revoke("main", entry, {});
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
  auto found = s.must_find("1234");
  BOOST_REQUIRE(found.revocation);
  BOOST_TEST(found.revocation->serial_hex == "1234");
  BOOST_TEST((found.revocation->reason == RevocationReason::superseded));
  BOOST_TEST((found.revocation->time == entry.time));
  BOOST_TEST(found.policy == "phones");

  auto revoked = s.st.revoked_certificates("main");
  BOOST_REQUIRE(revoked);
  BOOST_REQUIRE(revoked->size() == 1u);
  BOOST_TEST(revoked->front().serial_hex == "1234");
  BOOST_TEST((revoked->front().reason == RevocationReason::superseded));
  BOOST_TEST((revoked->front().time == entry.time));
}

BOOST_AUTO_TEST_CASE(revoked_certificates_lists_only_the_revoked_ones) {
  CertStore s;
  s.add({0x01});
  s.add({0x02});
  s.add({0x03});
  BOOST_REQUIRE(s.st.revoked_certificates("main"));
  BOOST_TEST(s.st.revoked_certificates("main")->empty());
  BOOST_REQUIRE(s.st.revoke("main", revocation("03", RevocationReason::unspecified), {}));
  BOOST_REQUIRE(s.st.revoke("main", revocation("01", RevocationReason::cessation_of_operation), {}));
  auto revoked = s.st.revoked_certificates("main");
  BOOST_REQUIRE(revoked);
  BOOST_REQUIRE(revoked->size() == 2u);
  BOOST_TEST((*revoked)[0].serial_hex == "01");
  BOOST_TEST(((*revoked)[0].reason == RevocationReason::cessation_of_operation));
  BOOST_TEST((*revoked)[1].serial_hex == "03");
  BOOST_TEST(((*revoked)[1].reason == RevocationReason::unspecified));
  BOOST_TEST(!s.must_find("02").revocation);
}

BOOST_AUTO_TEST_CASE(revoking_twice_is_already_exists_and_keeps_the_first) {
  CertStore s;
  s.add({0x12, 0x34});
  BOOST_REQUIRE(s.st.revoke("main", revocation("1234", RevocationReason::key_compromise), {}));
  auto again = s.st.revoke("main", revocation("1234", RevocationReason::superseded), {});
  BOOST_REQUIRE(!again);
  BOOST_TEST((again.error().code == Errc::already_exists));
  BOOST_TEST((s.must_find("1234").revocation->reason == RevocationReason::key_compromise));
}

BOOST_AUTO_TEST_CASE(revoking_an_unknown_serial_is_not_found) {
  CertStore s;
  s.add({0x12, 0x34});
  for (std::string bad : {"ABCD", "1234.", "../certs/1234", "1234 "}) {
    auto r = s.st.revoke("main", revocation(bad), {});
    BOOST_REQUIRE_MESSAGE(!r, "revoked \"" << bad << "\"");
    BOOST_TEST((r.error().code == Errc::not_found));
  }
  BOOST_TEST(!fs::exists(s.ca_dir() / "revoked" / "ABCD.json"));
  BOOST_TEST(!s.must_find("1234").revocation);
}

BOOST_AUTO_TEST_CASE(a_damaged_revocation_record_is_a_store_error) {
  CertStore s;
  s.add({0x12, 0x34});
  write_text(s.ca_dir() / "revoked" / "1234.json", "{\"format\": 1, \"serial\": \"1234\"}\n");
  auto found = s.st.find_certificate("main", "1234");
  BOOST_REQUIRE(!found);
  BOOST_TEST((found.error().code == Errc::store_io));
  BOOST_TEST(!s.st.revoked_certificates("main"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_renewal_claims)

BOOST_AUTO_TEST_CASE(the_first_claim_wins_and_later_ones_name_it) {
  CertStore s;
  s.add({0x12, 0x34});
  auto first = s.st.claim_renewal("main", "1234", "tid-first");
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : first.error().detail));
  BOOST_TEST(!*first);
  for (std::string_view tid : {"tid-second", "tid-first"}) {
    auto later = s.st.claim_renewal("main", "1234", tid);
    BOOST_REQUIRE(later);
    BOOST_REQUIRE(*later);
    BOOST_TEST(**later == "tid-first");
  }
  // Another certificate has its own claim.
  auto other = s.st.claim_renewal("main", "5678", "tid-second");
  BOOST_REQUIRE(other);
  BOOST_TEST(!*other);
}

BOOST_AUTO_TEST_CASE(a_claim_needs_a_serial) {
  CertStore s;
  for (std::string_view bad : {"../1234", "12ab", ""}) {
    auto r = s.st.claim_renewal("main", bad, "tid");
    BOOST_REQUIRE_MESSAGE(!r, "claimed \"" << bad << "\"");
    BOOST_TEST((r.error().code == Errc::invalid_argument));
  }
  BOOST_TEST(!fs::exists(s.ca_dir() / "1234"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_crl)

BOOST_AUTO_TEST_CASE(update_crl_sees_what_it_stored_before) {
  CertStore s;
  BOOST_REQUIRE(s.st.load_crl("main"));
  BOOST_TEST(!*s.st.load_crl("main"));

  int calls = 0;
  auto first = s.st.update_crl(
      "main", [&](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
        ++calls;
        BOOST_TEST(!current);
        return std::optional<core::Bytes>(core::to_bytes("crl-1"));
      });
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : first.error().detail));
  BOOST_TEST(core::to_string(*first) == "crl-1");
  BOOST_TEST(calls == 1);

  auto second = s.st.update_crl(
      "main", [&](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
        ++calls;
        BOOST_REQUIRE(current);
        BOOST_TEST(core::to_string(*current) == "crl-1");
        return std::optional<core::Bytes>(core::to_bytes("crl-2"));
      });
  BOOST_REQUIRE(second);
  BOOST_TEST(core::to_string(*second) == "crl-2");
  BOOST_TEST(calls == 2);
  auto stored = s.st.load_crl("main");
  BOOST_REQUIRE(stored && *stored);
  BOOST_TEST(core::to_string(**stored) == "crl-2");
  BOOST_TEST(fs::exists(s.ca_dir() / "crl.der"));
}

BOOST_AUTO_TEST_CASE(returning_nullopt_keeps_the_current_crl) {
  CertStore s;
  BOOST_REQUIRE(s.st.update_crl("main", [](const auto&) -> core::Result<std::optional<core::Bytes>> {
    return std::optional<core::Bytes>(core::to_bytes("kept"));
  }));
  auto kept = s.st.update_crl("main", [](const auto&) -> core::Result<std::optional<core::Bytes>> {
    return std::optional<core::Bytes>();
  });
  BOOST_REQUIRE(kept);
  BOOST_TEST(core::to_string(*kept) == "kept");
  BOOST_TEST(core::to_string(**s.st.load_crl("main")) == "kept");
}

BOOST_AUTO_TEST_CASE(keeping_a_crl_that_does_not_exist_is_an_error) {
  CertStore s;
  auto r = s.st.update_crl("main", [](const auto&) -> core::Result<std::optional<core::Bytes>> {
    return std::optional<core::Bytes>();
  });
  BOOST_REQUIRE(!r);
  BOOST_TEST(!*s.st.load_crl("main"));
}

BOOST_AUTO_TEST_CASE(an_error_from_the_update_leaves_the_stored_crl_alone) {
  CertStore s;
  BOOST_REQUIRE(s.st.update_crl("main", [](const auto&) -> core::Result<std::optional<core::Bytes>> {
    return std::optional<core::Bytes>(core::to_bytes("good"));
  }));
  auto r = s.st.update_crl("main", [](const auto&) -> core::Result<std::optional<core::Bytes>> {
    return core::fail(Errc::internal, "cannot sign");
  });
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == Errc::internal));
  BOOST_TEST(r.error().detail == "cannot sign");
  BOOST_TEST(core::to_string(**s.st.load_crl("main")) == "good");
}

BOOST_AUTO_TEST_CASE(crls_of_two_cas_are_kept_apart) {
  CertStore s;
  const auto& pki = testing::test_pki();
  auto key = crypto::PrivateKey::load(core::to_bytes(pki.inter.key.to_pem()));
  BOOST_REQUIRE(key);
  BOOST_REQUIRE(s.st.add_ca("sub", store::NewCa{pki.inter.cert, std::move(*key), {pki.root.cert}}));
  BOOST_REQUIRE(s.st.update_crl("main", [](const auto&) -> core::Result<std::optional<core::Bytes>> {
    return std::optional<core::Bytes>(core::to_bytes("main-crl"));
  }));
  BOOST_TEST(!*s.st.load_crl("sub"));
  auto sub = s.st.update_crl("sub",
                             [](const std::optional<core::Bytes>& current) -> core::Result<std::optional<core::Bytes>> {
                               BOOST_TEST(!current);
                               return std::optional<core::Bytes>(core::to_bytes("sub-crl"));
                             });
  BOOST_REQUIRE(sub);
  BOOST_TEST(core::to_string(**s.st.load_crl("main")) == "main-crl");
}

BOOST_AUTO_TEST_SUITE_END()
