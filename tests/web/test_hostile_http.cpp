// Hostile input (issue 5), HTTP side: junk and oversized bodies, DER bombs,
// junk GET messages, CA names that look like paths, unknown operations and
// oversized queries. Each row must get its answer and leave the store as it
// was; the CMS-level corpus is in test_hostile.cpp.
#include "hostile_fixture.hpp"

using namespace hostile;

namespace {

std::vector<Row> body_rows(Site& s) {
  auto valid = s.request(s.csr(), "tid-body");
  auto giga_outer = valid;  // the outer SEQUENCE (30 82 xx xx) made to claim 1 GiB
  giga_outer.erase(giga_outer.begin(), giga_outer.begin() + 4);
  giga_outer.insert(giga_outer.begin(), {0x30, 0x84, 0x40, 0x00, 0x00, 0x00});
  auto signed_data_oid = oid_der("1.2.840.113549.1.7.2");

  std::vector<Row> rows{
      {"an empty body", post({}), http(400)},
      {"an empty body without operation", post({}, "", ""), http(400)},
      {"a form-encoded body", post(core::to_bytes("operation=PKIOperation&message=MIIB")), http(400)},
      {"one zero byte", post({0x00}), http(400)},
      {"a lone SEQUENCE tag", post({0x30}), http(400)},
      {"an empty SEQUENCE", post({0x30, 0x00}), http(400)},
      {"SEQUENCE claiming 2 GiB (4-byte length)", post({0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x05, 0x00}), http(400)},
      {"SEQUENCE claiming 2^64-1 bytes (8-byte length)",
       post({0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00}), http(400)},
      {"SEQUENCE with a 127-byte length field", post(concat({core::Bytes{0x30, 0xff}, core::Bytes(127, 0xff)})),
       http(400)},
      {"an indefinite length that never ends", post({0x30, 0x80, 0x05, 0x00}), http(400)},
      {"a high tag number that never ends", post(concat({core::Bytes{0x1f}, core::Bytes(1000, 0xff)})), http(400)},
      {"the valid message with its outer length claiming 1 GiB", post(giga_outer), http(400)},
      {"ContentInfo signedData with [0] claiming 2 GiB",
       post(concat({core::Bytes{0x30, 0x84, 0x7f, 0xff, 0xff, 0xf0}, signed_data_oid,
                    core::Bytes{0xa0, 0x84, 0x7f, 0xff, 0xff, 0x00, 0x30, 0x00}})),
       http(400)},
      {"SEQUENCEs 40000 deep (definite lengths)", post(nested_definite(40000)), http(400)},
      {"SEQUENCEs 100000 deep (indefinite lengths)", post(nested_indefinite(100000)), http(400)},
      {"ContentInfo signedData around 100000 indefinite SEQUENCEs",
       post(concat({core::Bytes{0x30, 0x80}, signed_data_oid, core::Bytes{0xa0, 0x80}, nested_indefinite(100000)})),
       http(400)},
      {"a body of exactly the limit, all junk", post(core::Bytes(web::max_body_bytes, 0x30)), http(400)},
      {"a body one byte over the limit", post(core::Bytes(web::max_body_bytes + 1, 0x30)), http(413)},
      {"a 10 MB body", post(core::Bytes(10u << 20, 0x00)), http(413)},
      {"a valid message padded past the limit", post(concat({valid, core::Bytes(web::max_body_bytes, 0)})), http(413)},
  };
  for (std::size_t n : {1u, 2u, 7u, 64u, 1000u, 4096u, 100000u})
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      rows.push_back({"random " + std::to_string(n) + " bytes, seed " + std::to_string(seed),
                      post(random_bytes(n, seed)), http(400)});
      rows.push_back({"random " + std::to_string(n) + " bytes after 30 82, seed " + std::to_string(seed),
                      post(concat({core::Bytes{0x30, 0x82}, random_bytes(n, seed)})), http(400)});
    }
  return rows;
}

std::vector<Row> get_message_rows(Site& s) {
  auto valid = s.request(s.csr(), "tid-get");
  std::string b64 = crypto::base64_encode(valid);
  auto op = [](std::string message) { return get("operation=PKIOperation&message=" + message); };
  std::vector<Row> rows{
      {"GET PKIOperation without message", get("operation=PKIOperation"), http(400)},
      {"GET PKIOperation with message=", op(""), http(400)},
      {"GET message of one character", op("A"), http(400)},
      {"GET message of padding only", op("===="), http(400)},
      {"GET message that is percent signs", op("%%%%"), http(400)},
      {"GET message with a bad percent escape", op("%ZZ%G1"), http(400)},
      {"GET message with punctuation", op("@@@@!!!!"), http(400)},
      {"GET message=../../etc", op("../../etc"), http(400)},
      {"GET message with a NUL inside", op(b64.substr(0, 100) + "%00" + b64.substr(100)), http(400)},
      {"GET message with a character dropped", op(b64.substr(0, 100) + b64.substr(101)), http(400)},
      {"GET message of 100000 A (zero bytes)", op(std::string(100000, 'A')), http(400)},
      {"GET message of random bytes", op(crypto::base64_encode(random_bytes(3000, 9))), http(400)},
      {"GET message of a 20000-deep SEQUENCE", op(crypto::base64_encode(nested_definite(20000))), http(400)},
      {"GET message just over the query limit", op(std::string(web::max_query_bytes, 'A')), http(414)},
      {"HEAD PKIOperation with junk", get("operation=PKIOperation&message=%%%%", "/pkiclient.exe", web::Method::head),
       http(400)},
  };
  return rows;
}

/// CA names from the path and from message=: none may reach a file outside ca/.
const std::vector<std::string> hostile_ca_names{"../../etc",
                                                "..%2F..%2Fetc%2Fpasswd",
                                                "%2E%2E",
                                                ".",
                                                "..",
                                                "%00",
                                                "main%00",
                                                "main%2F..%2Fsub",
                                                "main%2F",
                                                "%2Fetc%2Fpasswd",
                                                "ca%2Fmain",
                                                "-main",
                                                ".main",
                                                "MAIN%0A",
                                                std::string(5000, 'a'),
                                                "main%20",
                                                "sub%5C..%5Cmain"};

std::vector<Row> ca_name_rows(Site& s) {
  auto refused = s.request(s.csr(hostile::wrong_secret), "tid-ca-name");  // answerable, never issued
  std::vector<Row> rows;
  for (const auto& n : hostile_ca_names) {
    std::string shown = n.substr(0, 40);
    // GetCACert, GetCACaps and GetCAChain answer an unknown message= for the
    // default CA (hostile_ca_names_in_message_get_the_default_ca); GetCRL not.
    rows.push_back({"GetCRL message=" + shown, get("operation=GetCRL&message=" + n), http(404)});
    for (std::string op : {"GetCACert", "GetCACaps", "GetCAChain", "GetCRL"})
      rows.push_back({op + " path /" + shown, get("operation=" + op, "/" + n + "/pkiclient.exe"), http(404)});
    // A raw '/' makes it no "/NAME/crl" path at all: then the operation is missing.
    rows.push_back(
        {"CRL path /" + shown + "/crl", get("", "/" + n + "/crl"), http(n.find('/') == std::string::npos ? 404 : 400)});
    rows.push_back({"POST PKIOperation path /" + shown, post(refused, "/" + n + "/pkiclient.exe"), http(404)});
    rows.push_back({"GET PKIOperation path /" + shown, get_message(refused, "/" + n + "/pkiclient.exe"), http(404)});
    // message= never names the CA of a PKIOperation: answered by the default CA.
    rows.push_back({"POST PKIOperation message=" + shown,
                    post(refused, "/pkiclient.exe", "operation=PKIOperation&message=" + n),
                    failure(FailInfo::bad_request)});
  }
  return rows;
}

std::vector<Row> operation_rows(Site& s) {
  auto refused = s.request(s.csr(hostile::wrong_secret), "tid-operation");
  std::string pad(web::max_query_bytes, 'q');
  return {
      {"no operation", get(""), http(400)},
      {"operation=", get("operation="), http(400)},
      {"an unknown operation", get("operation=GetEverything"), http(400)},
      {"operation with a NUL", get("operation=GetCACert%00"), http(400)},
      {"operation with a trailing space", get("operation=GetCACert+"), http(400)},
      {"operation=../../etc", get("operation=../../etc"), http(400)},
      {"an operation of 100000 characters", get("operation=" + std::string(100000, 'x')), http(400)},
      {"GetNextCACert", get("operation=GetNextCACert"), http(403)},
      {"POST for GetCACert", post(refused, "/pkiclient.exe", "operation=GetCACert"), http(405)},
      {"POST for an unknown operation", post(refused, "/pkiclient.exe", "operation=Nope"), http(405)},
      {"another method", get("operation=PKIOperation", "/pkiclient.exe", web::Method::other), http(405)},
      {"a query one byte over the limit", get("operation=GetCACaps&x=" + pad.substr(21)), http(414)},
      {"a POST with a query over the limit", post(refused, "/pkiclient.exe", pad + "x"), http(414)},
      {"a query of 100000 ampersands", get(std::string(100000, '&')), http(400)},
      {"a query of 3001 operation parameters, the first unknown", get([] {
         std::string q;
         for (int i = 0; i < 3000; ++i) q += "operation=Nope&";
         return q + "operation=GetCACaps";
       }()),
       http(400)},
  };
}

/// Lists the files a successful enrollment added, relative to the store.
std::vector<std::string> added(const Snapshot& before, const Snapshot& after) {
  std::vector<std::string> out;
  for (const auto& [name, data] : after)
    if (!before.contains(name)) out.push_back(name);
  return out;
}

bool is_hex_name(std::string_view name, std::size_t digits, std::string_view suffix) {
  if (name.size() < suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return false;
  auto stem = name.substr(0, name.size() - suffix.size());
  return (digits == 0 || stem.size() == digits) && !stem.empty() &&
         stem.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web_hostile_http, *boost::unit_test::timeout(300))

BOOST_AUTO_TEST_CASE(junk_bodies_and_der_bombs) {
  Site site;
  run(site, body_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(junk_get_messages) {
  Site site;
  run(site, get_message_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(ca_names_that_look_like_paths) {
  Site site;
  run(site, ca_name_rows(site));
  require_good_enrollment(site);
}

// A message= that names no CA is no path: the default CA answers, exactly as
// without message=, and nothing is read or written under the name.
BOOST_AUTO_TEST_CASE(hostile_ca_names_in_message_get_the_default_ca) {
  Site site;
  Snapshot before = snapshot(site.dir.path());
  for (std::string op : {"GetCACert", "GetCACaps", "GetCAChain"}) {
    auto plain = web::dispatch(get("operation=" + op), site.svc);
    BOOST_REQUIRE_EQUAL(plain.status, 200);
    for (const auto& n : hostile_ca_names) {
      auto r = web::dispatch(get("operation=" + op + "&message=" + n), site.svc);
      BOOST_TEST(r.status == 200, op << " message=" << n.substr(0, 40) << ": " << describe(r));
      BOOST_TEST((r.body == plain.body), op << " message=" << n.substr(0, 40));
      BOOST_TEST(r.debug.find("names no CA") != std::string::npos, r.debug);
    }
  }
  BOOST_TEST(diff(before, snapshot(site.dir.path())).empty());
}

BOOST_AUTO_TEST_CASE(unknown_operations_and_oversized_queries) {
  Site site;
  run(site, operation_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(path_like_transaction_ids_are_stored_by_hash_under_tx) {
  Site site;
  const std::vector<std::string> tids{"../../x", "/", "..", std::string("a\0b", 3),
                                      "../../../../../../tmp/scep-hostile"};
  policy::SecretRecord s;
  s.id = "s-000000000002";
  s.hash = policy::secret_hash("PATH-TID-SECRET");
  s.ca = "main";
  s.policy = "default";
  s.uses = static_cast<int>(tids.size());
  s.created = site.clock.now();
  s.expires = site.clock.now() + std::chrono::hours(24);
  BOOST_REQUIRE(site.st.add_secret(s));
  auto env = site.envelope(site.csr("PATH-TID-SECRET"));
  for (const auto& tid : tids) {
    BOOST_TEST_CONTEXT("transactionID \"" << tid << "\"") {
      Snapshot before = snapshot(site.dir.path());
      std::vector<Attr> attrs{printable(scep::oid::message_type, "19"),
                              {std::string(scep::oid::transaction_id), V_ASN1_IA5STRING, {core::to_bytes(tid)}},
                              octets(scep::oid::sender_nonce, nonce_of(16))};
      auto r = web::dispatch(post(cms_sign(env, {site.client(attrs)})), site.svc);
      BOOST_REQUIRE_MESSAGE(r.status == 200, describe(r));
      auto reply = crypto::parse_signed_data(r.body);
      BOOST_REQUIRE(reply);
      BOOST_TEST((reply->attribute(scep::oid::transaction_id)->value == core::to_bytes(tid)));
      auto files = added(before, snapshot(site.dir.path()));
      if (!core::is_clean_text(core::to_bytes(tid))) {
        // Not text: refused before anything is spent or stored.
        BOOST_TEST(core::to_string(reply->attribute(scep::oid::pki_status)->value) == "2", describe(r));
        BOOST_TEST(files.empty());
        continue;
      }
      BOOST_TEST(core::to_string(reply->attribute(scep::oid::pki_status)->value) == "0", describe(r));
      BOOST_TEST(files.size() == 3u);
      for (const auto& f : files) {
        fs::path p(f);
        std::string dir = p.parent_path().string(), name = p.filename().string();
        bool ok = (dir == "store/ca/main/tx" && is_hex_name(name, 64, ".json")) ||
                  (dir == "store/ca/main/certs" && is_hex_name(name, 0, ".pem")) ||
                  (dir == "store/secrets" && name.find(".spent-") != std::string::npos);
        BOOST_TEST(ok, "unexpected file " << f);
      }
    }
  }
  // The audit log stays one JSON object per line, whatever the transactionIDs held.
  auto log = core::to_string(enroll_test::read_file(site.dir.path() / "store" / "audit.log"));
  std::size_t lines = 0;
  for (std::size_t at = 0; at < log.size();) {
    auto end = log.find('\n', at);
    BOOST_REQUIRE(end != std::string::npos);
    std::string line = log.substr(at, end - at);
    BOOST_TEST((line.front() == '{' && line.back() == '}'), line);
    BOOST_TEST(line.find('\0') == std::string::npos);
    ++lines;
    at = end + 1;
  }
  BOOST_TEST(lines == tids.size());
}

BOOST_AUTO_TEST_SUITE_END()
