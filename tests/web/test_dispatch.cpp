#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "ca/authority.hpp"
#include "config/config.hpp"
#include "crypto/cms.hpp"
#include "crypto/crl.hpp"
#include "crypto/key_type.hpp"
#include "crypto/pkcs7.hpp"
#include "scep/service.hpp"
#include "store/atomic_file.hpp"
#include "store/store.hpp"
#include "support/memory_store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"
#include "web/dispatch.hpp"

namespace {

crypto::PrivateKey copy_key(const crypto::PrivateKey& key) {
  auto copy = crypto::PrivateKey::load(core::to_bytes(key.to_pem()));
  BOOST_REQUIRE(copy);
  return std::move(*copy);
}

store::Store open_store(const std::filesystem::path& root) {
  auto st = store::Store::open(root, store::OpenMode::create);
  BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
  return std::move(*st);
}

/// A store with three CAs:
///   main: the test root alone (GetCACert: one DER certificate)
///   sub:  the intermediate with the root as chain (a bundle)
///   rama: the test root with the test RA
/// `default_ca` goes into scep.toml unless empty.
struct DispatchSite {
  testing::TempDir dir;
  store::Store st;
  store::Session repo;
  core::FixedClock clock{testing::fixed_time()};
  testing::CountingRng rng;
  scep::Service svc;

  explicit DispatchSite(std::string_view default_ca = "sub", bool three_cas = true)
      : st(open_store(dir.path() / "store")), repo(st), svc(repo.backend(), clock, rng) {
    const auto& pki = testing::test_pki();
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
    if (three_cas) {
      BOOST_REQUIRE(st.add_ca("sub", store::NewCa{pki.inter.cert, copy_key(pki.inter.key), {pki.root.cert}}));
      BOOST_REQUIRE(st.add_ca("rama", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
      BOOST_REQUIRE(st.set_ra("rama", pki.ra.cert, pki.ra.key, store::Store::Replace::no));
    }
    if (!default_ca.empty()) BOOST_REQUIRE(st.set_default_ca(default_ca));
  }

  web::Response get(std::string path, std::string query, web::Method method = web::Method::get) {
    web::Request req;
    req.method = method;
    req.path = std::move(path);
    req.query = std::move(query);
    req.remote_addr = "192.0.2.1";
    return web::dispatch(req, svc);
  }
};

std::string body_text(const web::Response& r) { return core::to_string(r.body); }

std::vector<crypto::Certificate> bundle(const web::Response& r) {
  auto certs = crypto::certificates_of_pkcs7(r.body);
  BOOST_REQUIRE_MESSAGE(certs, (certs ? "" : certs.error().detail));
  return *certs;
}

/// True when `certs` are exactly `want`, in DER SET OF order (X.690 §11.6).
bool is_der_set_of(const std::vector<crypto::Certificate>& certs, std::vector<crypto::Certificate> want) {
  std::sort(want.begin(), want.end(),
            [](const auto& a, const auto& b) { return crypto::der_set_order(a.der(), b.der()); });
  return certs == want;
}

/// Which of the test CAs a GetCACert answer came from.
std::string which_ca(const web::Response& r) {
  const auto& pki = testing::test_pki();
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.status << " " << body_text(r));
  if (r.content_type == "application/x-x509-ca-cert") {
    if (r.body == pki.root.cert.der()) return "main";
    if (r.body == pki.inter.cert.der()) return "sub";
    return "?";
  }
  auto certs = bundle(r);
  if (is_der_set_of(certs, {pki.inter.cert, pki.root.cert})) return "sub";
  if (is_der_set_of(certs, {pki.ra.cert, pki.root.cert})) return "rama";
  return "?";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web_dispatch)

BOOST_AUTO_TEST_CASE(get_ca_caps_is_text_plain) {
  DispatchSite site;
  auto r = site.get("/pkiclient.exe", "operation=GetCACaps&message=main");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type == "text/plain");
}

BOOST_AUTO_TEST_CASE(get_ca_cert_of_a_lone_ca_is_its_der) {
  DispatchSite site;
  auto r = site.get("", "operation=GetCACert&message=main");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type == "application/x-x509-ca-cert");
  BOOST_TEST((r.body == testing::test_pki().root.cert.der()));
}

BOOST_AUTO_TEST_CASE(get_ca_cert_with_ra_is_a_ca_ra_bundle_in_der_order) {
  DispatchSite site;
  auto r = site.get("", "operation=GetCACert&message=rama");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type == "application/x-x509-ca-ra-cert");
  BOOST_TEST(is_der_set_of(bundle(r), {testing::test_pki().ra.cert, testing::test_pki().root.cert}));
}

BOOST_AUTO_TEST_CASE(get_ca_cert_of_an_intermediate_is_a_bundle) {
  DispatchSite site;
  auto r = site.get("", "operation=GetCACert&message=sub");
  BOOST_TEST(r.content_type == "application/x-x509-ca-ra-cert");
  BOOST_TEST(which_ca(r) == "sub");
}

BOOST_AUTO_TEST_CASE(the_ca_in_the_path_beats_message) {
  DispatchSite site;
  BOOST_TEST(which_ca(site.get("/main/pkiclient.exe", "operation=GetCACert&message=sub")) == "main");
  BOOST_TEST(which_ca(site.get("/rama/pkiclient.exe", "operation=GetCACert&message=main")) == "rama");
  BOOST_TEST(which_ca(site.get("/main", "operation=GetCACert&message=sub")) == "main");
  BOOST_TEST(which_ca(site.get("/main/", "operation=GetCACert")) == "main");
}

BOOST_AUTO_TEST_CASE(pkiclient_exe_alone_means_the_default_ca) {
  DispatchSite site("sub");
  BOOST_TEST(which_ca(site.get("/pkiclient.exe", "operation=GetCACert")) == "sub");
  BOOST_TEST(which_ca(site.get("/PKIClient.exe", "operation=GetCACert")) == "sub");
  BOOST_TEST(which_ca(site.get("", "operation=GetCACert")) == "sub");
  BOOST_TEST(which_ca(site.get("/", "operation=GetCACert")) == "sub");
}

BOOST_AUTO_TEST_CASE(pkiclient_exe_alone_falls_back_to_message) {
  DispatchSite site("sub");
  BOOST_TEST(which_ca(site.get("/pkiclient.exe", "operation=GetCACert&message=main")) == "main");
}

BOOST_AUTO_TEST_CASE(message_names_the_ca_percent_decoded) {
  DispatchSite site("main");
  BOOST_TEST(which_ca(site.get("", "operation=GetCACert&message=rama")) == "rama");
  BOOST_TEST(which_ca(site.get("", "operation=GetCACert&message=s%75b")) == "sub");
  BOOST_TEST(which_ca(site.get("", "message=sub&operation=GetCACert")) == "sub");
}

BOOST_AUTO_TEST_CASE(the_only_ca_is_used_when_no_default_is_configured) {
  DispatchSite site("", false);
  BOOST_TEST(which_ca(site.get("/pkiclient.exe", "operation=GetCACert")) == "main");
}

BOOST_AUTO_TEST_CASE(no_default_among_several_cas_is_404) {
  DispatchSite site("");
  auto r = site.get("/pkiclient.exe", "operation=GetCACert");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.content_type == "text/plain");
}

BOOST_AUTO_TEST_CASE(an_unknown_ca_in_the_path_is_404) {
  DispatchSite site;
  for (auto [path, query] :
       std::vector<std::pair<std::string, std::string>>{{"/nope/pkiclient.exe", "operation=GetCACert"},
                                                        {"/nope/pkiclient.exe", "operation=GetCACaps"},
                                                        {"/nope", "operation=GetCAChain&message=main"},
                                                        {"/%2E%2E/pkiclient.exe", "operation=GetCACert"},
                                                        {"/..%2Fstore/pkiclient.exe", "operation=GetCACert"}}) {
    auto r = site.get(path, query);
    BOOST_TEST(r.status == 404, path << "?" << query << " -> " << r.status);
  }
}

// Clients send fixed CA identifiers: certmonger "0", sscep "CAIdentifier",
// Apple the profile's name (spaces and all), Intune's Android agent "ca".
BOOST_AUTO_TEST_CASE(a_message_that_names_no_ca_gets_the_default_ca) {
  DispatchSite site("sub");
  for (std::string id : {"0", "CAIdentifier", "Corp%20VPN%20profile", "ca", "..%2Fstore", "%2E%2E"}) {
    auto cert = site.get("/pkiclient.exe", "operation=GetCACert&message=" + id);
    BOOST_TEST(which_ca(cert) == "sub", id);
    BOOST_TEST(cert.debug.find("names no CA") != std::string::npos, id << ": " << cert.debug);
    BOOST_TEST(cert.debug.find("\"sub\"") != std::string::npos, cert.debug);
    auto caps = site.get("", "operation=GetCACaps&message=" + id);
    BOOST_TEST(caps.status == 200, id);
    BOOST_TEST(body_text(caps).find("POSTPKIOperation") != std::string::npos);
    auto chain = site.get("", "operation=GetCACertChain&message=" + id);
    BOOST_REQUIRE_EQUAL(chain.status, 200);
    BOOST_TEST(is_der_set_of(bundle(chain), {testing::test_pki().inter.cert, testing::test_pki().root.cert}));
  }
  // A name that is a CA is no fallback and says nothing.
  auto named = site.get("", "operation=GetCACert&message=main");
  BOOST_TEST(which_ca(named) == "main");
  BOOST_TEST(named.debug.empty());
}

BOOST_AUTO_TEST_CASE(the_fallback_note_escapes_the_identifier) {
  DispatchSite site("sub");
  auto r = site.get("", "operation=GetCACaps&message=a%0Ab%22c");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.debug.find("a\\x0ab\\x22c") != std::string::npos, r.debug);
}

BOOST_AUTO_TEST_CASE(a_message_that_names_no_ca_is_404_without_a_default) {
  DispatchSite site("");
  for (std::string op : {"GetCACert", "GetCACaps", "GetCACertChain"}) {
    auto r = site.get("", "operation=" + op + "&message=CAIdentifier");
    BOOST_TEST(r.status == 404, op);
    BOOST_TEST(body_text(r).find("CAIdentifier") != std::string::npos, body_text(r));
  }
}

BOOST_AUTO_TEST_CASE(strict_ca_names_makes_an_unknown_message_404) {
  DispatchSite site("sub");
  auto path = site.st.root() / "scep.toml";
  auto text = store::read_file(path);
  BOOST_REQUIRE(text);
  BOOST_REQUIRE(
      store::write_file_atomic(path, config::set_value(core::to_string(*text), "server", "strict_ca_names", "true")));
  for (std::string op : {"GetCACert", "GetCACaps", "GetCACertChain"}) {
    BOOST_TEST(site.get("", "operation=" + op + "&message=0").status == 404, op);
    BOOST_TEST(site.get("", "operation=" + op + "&message=main").status == 200, op);
    BOOST_TEST(site.get("", "operation=" + op).status == 200, op);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_operation_is_400) {
  DispatchSite site;
  auto r = site.get("", "operation=GetCRLs&message=main");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.content_type == "text/plain");
}

BOOST_AUTO_TEST_CASE(the_crl_is_served_by_path_and_by_operation) {
  DispatchSite site;
  const auto& pki = testing::test_pki();
  for (auto [path, query, issuer] : {std::tuple{"/main/crl", "", &pki.root.cert},
                                     {"/sub/crl/", "", &pki.inter.cert},
                                     {"", "operation=GetCRL&message=main", &pki.root.cert},
                                     {"/sub", "operation=GetCRL", &pki.inter.cert},
                                     {"", "operation=GetCRL", &pki.inter.cert}}) {  // the default CA
    auto r = site.get(path, query);
    BOOST_TEST_REQUIRE(r.status == 200, path << "?" << query);
    BOOST_TEST(r.content_type == "application/pkix-crl");
    auto crl = crypto::Crl::parse(r.body);
    BOOST_TEST_REQUIRE(crl.has_value(), path << "?" << query);
    BOOST_TEST(crl->verify(*issuer));
    BOOST_TEST(crl->revoked().empty());
  }
  // Served twice, the CRL is the stored one, not a new number each time.
  auto a = crypto::Crl::parse(site.get("/main/crl", "").body);
  auto b = crypto::Crl::parse(site.get("/main/crl", "").body);
  BOOST_TEST_REQUIRE((a && b));
  BOOST_TEST(a->number() == b->number());
}

BOOST_AUTO_TEST_CASE(the_crl_of_an_unknown_ca_is_404) {
  DispatchSite site;
  BOOST_TEST(site.get("/nosuch/crl", "").status == 404);
  BOOST_TEST(site.get("", "operation=GetCRL&message=nosuch").status == 404);
  BOOST_TEST(site.get("/..%2Fx/crl", "").status == 404);
}

BOOST_AUTO_TEST_CASE(a_missing_operation_is_400) {
  DispatchSite site;
  for (std::string query : {"", "message=main", "operation=", "Operation", "op=GetCACert"}) {
    auto r = site.get("/pkiclient.exe", query);
    BOOST_TEST(r.status == 400, "\"" << query << "\"");
  }
}

BOOST_AUTO_TEST_CASE(operation_names_are_case_insensitive) {
  DispatchSite site;
  BOOST_TEST(site.get("", "operation=getcacaps&message=main").status == 200);
  BOOST_TEST(which_ca(site.get("", "OPERATION=GETCACERT&message=main")) == "main");
}

BOOST_AUTO_TEST_CASE(other_methods_are_405_with_allow) {
  DispatchSite site;
  auto r = site.get("/pkiclient.exe", "operation=GetCACert", web::Method::other);
  BOOST_TEST(r.status == 405);
  for (std::string_view m : {"GET", "HEAD", "POST"}) BOOST_TEST(r.allow.find(m) != std::string::npos, r.allow);
}

BOOST_AUTO_TEST_CASE(successful_and_client_error_responses_have_no_allow_header) {
  DispatchSite site;
  BOOST_TEST(site.get("", "operation=GetCACert&message=main").allow == "");
  BOOST_TEST(site.get("", "operation=Nope").allow == "");
}

BOOST_AUTO_TEST_CASE(head_is_answered_like_get) {
  DispatchSite site;
  auto get = site.get("", "operation=GetCACert&message=main");
  auto head = site.get("", "operation=GetCACert&message=main", web::Method::head);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.content_type == get.content_type);
  BOOST_TEST(head.body.size() == get.body.size());  // the adapter drops the body, not dispatch
}

BOOST_AUTO_TEST_CASE(a_query_longer_than_the_limit_is_414) {
  DispatchSite site;
  std::string base = "operation=GetCACaps&message=main&pad=";
  std::string at_limit = base + std::string(web::max_query_bytes - base.size(), 'a');
  BOOST_TEST(site.get("", at_limit).status == 200);
  auto r = site.get("", at_limit + "a");
  BOOST_TEST(r.status == 414);
  BOOST_TEST(r.content_type == "text/plain");
}

BOOST_AUTO_TEST_CASE(a_body_longer_than_the_limit_is_413) {
  DispatchSite site;
  web::Request req;
  req.query = "operation=GetCACaps&message=main";
  req.body.assign(web::max_body_bytes, 'x');
  BOOST_TEST(web::dispatch(req, site.svc).status == 200);
  req.body.push_back('x');
  auto r = web::dispatch(req, site.svc);
  BOOST_TEST(r.status == 413);
}

BOOST_AUTO_TEST_CASE(get_next_ca_cert_is_403_without_a_rollover) {
  DispatchSite site;
  auto r = site.get("", "operation=GetNextCACert&message=main");
  BOOST_TEST(r.status == 403);
  BOOST_TEST(core::to_string(site.get("", "operation=GetCACaps&message=main").body).find("GetNextCACert") ==
             std::string::npos);
}

/// The next generation of the test root, made once (RSA key generation is slow).
const ca::KeyPairCert& next_root() {
  static const ca::KeyPairCert next = [] {
    core::FixedClock clock(testing::fixed_time());
    testing::CountingRng rng(9);
    auto made = ca::create_next_root(testing::test_pki().root.cert, crypto::KeyType::rsa_2048, 365, clock, rng);
    BOOST_REQUIRE(made);
    return std::move(*made);
  }();
  return next;
}

BOOST_AUTO_TEST_CASE(sscep_getnextca_request_is_answered_for_the_default_ca) {
  // sscep's getnextca (src/sscep.c, from its source: no capture, sscep is not
  // in Debian 12) sends GET ...?operation=GetNextCACert&message=CAIdentifier
  // unless -i names the CA, matches the reply by its Content-Type and verifies
  // it with PKCS7_verify against the CA chain file (-C) before unwrapping.
  DispatchSite site("main", false);
  BOOST_REQUIRE(site.st.add_next_ca("main", store::NewCa{next_root().cert, copy_key(next_root().key), {}},
                                    store::Store::Replace::no));
  auto r = site.get("/pkiclient.exe", "operation=GetNextCACert&message=CAIdentifier");
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(r.content_type == "application/x-x509-next-ca-cert");
  BOOST_TEST(r.facts.ca == "main");
  auto sd = crypto::parse_signed_data(r.body);
  BOOST_REQUIRE(sd);
  BOOST_TEST(sd->signature_valid);
  auto inner = crypto::certificates_of_pkcs7(sd->content);
  BOOST_REQUIRE(inner);
  BOOST_REQUIRE(inner->size() == 1u);
  BOOST_TEST(((*inner)[0] == next_root().cert));
}

BOOST_AUTO_TEST_CASE(get_next_ca_cert_carries_next_ca_and_ra_signed_by_the_current_ca) {
  DispatchSite site;
  const auto& pki = testing::test_pki();
  const auto& next = next_root();
  auto next_ra = ca::recertify_ra(pki.ra.cert, pki.ra.key.public_key(), next.cert, next.key, site.clock, site.rng);
  BOOST_REQUIRE(next_ra);
  BOOST_REQUIRE(
      site.st.add_next_ca("rama",
                          store::NewCa{next.cert, copy_key(next.key), {}, store::NewRa{*next_ra, copy_key(pki.ra.key)}},
                          store::Store::Replace::no));
  // Offered only by the CA that has a next certificate.
  auto caps = core::to_string(site.get("/rama/pkiclient.exe", "operation=GetCACaps").body);
  BOOST_TEST(caps.find("\nGetNextCACert\n") != std::string::npos, caps);
  BOOST_TEST(core::to_string(site.get("/main/pkiclient.exe", "operation=GetCACaps").body).find("GetNextCACert") ==
             std::string::npos);
  BOOST_TEST(site.get("/main/pkiclient.exe", "operation=GetNextCACert").status == 403);

  auto r = site.get("/rama/pkiclient.exe", "operation=GetNextCACert");
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(r.content_type == "application/x-x509-next-ca-cert");
  auto sd = crypto::parse_signed_data(r.body);
  BOOST_REQUIRE_MESSAGE(sd, (sd ? "" : sd.error().detail));
  BOOST_REQUIRE(sd->signer);
  BOOST_TEST((*sd->signer == pki.root.cert));  // the current CA signs, not the RA
  BOOST_TEST(sd->signature_valid, sd->signature_error);
  auto inner = crypto::certificates_of_pkcs7(sd->content);
  BOOST_REQUIRE(inner);
  BOOST_REQUIRE(inner->size() == 2u);
  bool has_ca = false, has_ra = false;
  for (const auto& c : *inner) {
    has_ca = has_ca || c == next.cert;
    has_ra = has_ra || c == *next_ra;
  }
  BOOST_TEST(has_ca);
  BOOST_TEST(has_ra);
  auto outer = crypto::certificates_of_pkcs7(r.body);
  BOOST_REQUIRE(outer);
  BOOST_TEST(std::any_of(outer->begin(), outer->end(), [&](const auto& c) { return c == next.cert; }));
  // The current CA's certificates are unchanged until the activation.
  auto cacert = site.get("/rama/pkiclient.exe", "operation=GetCACert");
  auto bundle = crypto::certificates_of_pkcs7(cacert.body);
  BOOST_REQUIRE(bundle);
  BOOST_TEST(std::none_of(bundle->begin(), bundle->end(), [&](const auto& c) { return c == next.cert; }));
}

BOOST_AUTO_TEST_CASE(a_crl_of_a_generation_that_does_not_exist_is_404) {
  DispatchSite site;
  for (std::string path : {"/main/crl/0A1B2C", "/main/crl/..%2Fkey.pem", "/main/crl/%2E%2E", "/main/crl/.."}) {
    auto r = site.get(path, "");
    BOOST_TEST(r.status == 404, path);
    BOOST_TEST(r.content_type == "text/plain", path);
  }
  BOOST_TEST(site.get("/main/crl", "").status == 200);
}

BOOST_AUTO_TEST_CASE(get_ca_chain_is_a_cert_chain_bundle) {
  DispatchSite site;
  for (std::string op : {"GetCAChain", "GetCACertChain", "getcachain"}) {
    auto r = site.get("/sub/pkiclient.exe", "operation=" + op);
    BOOST_TEST(r.status == 200, op);
    BOOST_TEST(r.content_type == "application/x-x509-ca-ra-cert-chain", op);
    BOOST_TEST(is_der_set_of(bundle(r), {testing::test_pki().inter.cert, testing::test_pki().root.cert}), op);
  }
}

BOOST_AUTO_TEST_CASE(get_ca_chain_is_a_bundle_even_for_a_lone_ca) {
  DispatchSite site;
  auto r = site.get("/main/pkiclient.exe", "operation=GetCAChain");
  BOOST_TEST(r.content_type == "application/x-x509-ca-ra-cert-chain");
  auto certs = bundle(r);
  BOOST_REQUIRE(certs.size() == 1u);
  BOOST_TEST((certs[0] == testing::test_pki().root.cert));
}

BOOST_AUTO_TEST_CASE(server_side_errors_are_500_without_details_for_the_client) {
  DispatchSite site;
  BOOST_REQUIRE(store::write_file_atomic(site.st.config_path(), "[server]\nsecret_setting = 1\n"));
  store::Session repo(site.st);  // a fresh one reads the broken scep.toml
  scep::Service svc(repo.backend(), site.clock, site.rng);
  web::Request req;
  req.query = "operation=GetCACert&message=main";
  auto r = web::dispatch(req, svc);
  BOOST_TEST(r.status == 500);
  BOOST_TEST(body_text(r).find("secret_setting") == std::string::npos);
  BOOST_TEST(body_text(r).find("scep.toml") == std::string::npos);
  BOOST_TEST(r.log.find("secret_setting") != std::string::npos);
}

// Issue 19: an EC CA whose RSA RA is gone cannot be used by any client; the
// answer says what the operator must run, and no Retry-After asks for retries.
BOOST_AUTO_TEST_CASE(an_ec_ca_without_an_rsa_ra_is_503_with_the_command_to_run) {
  const auto& pki = testing::test_pki();
  testing::MemoryStore repo;
  repo.add_ca(scep::CaBundle{"ec", pki.ec_root.cert, {}, std::nullopt, {}}, pki.ec_root.key);
  core::FixedClock clock(pki.ec_root.cert.not_before() + std::chrono::hours(1));
  testing::CountingRng rng;
  scep::Service svc(repo.backend(), clock, rng);
  for (const char* query : {"operation=GetCACert&message=ec", "operation=GetCACertChain&message=ec"}) {
    web::Request req;
    req.query = query;
    auto r = web::dispatch(req, svc);
    BOOST_TEST(r.status == 503, query);
    BOOST_TEST(body_text(r).find("scepctl ra create ec") != std::string::npos, body_text(r));
    BOOST_TEST(r.retry_after == 0);
  }
  web::Request health;
  health.path = "/health";
  BOOST_TEST(web::dispatch(health, svc).status == 503);
  // With its RA the same CA answers.
  repo.cas.front().ra = pki.ec_ra.cert;
  repo.keys.insert_or_assign("ec/ra", pki.ec_ra.key);
  web::Request req;
  req.query = "operation=GetCACert&message=ec";
  BOOST_TEST(web::dispatch(req, svc).status == 200);
  BOOST_TEST(web::dispatch(health, svc).status == 200);
}

BOOST_AUTO_TEST_CASE(client_errors_carry_no_log) {
  DispatchSite site;
  auto r = site.get("/nope", "operation=GetCACert");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.log == "");
}

// A DER SEQUENCE { INTEGER 1 } is no pkiMessage: OpenSSL's reasons for that
// help the operator, not the client, and name library internals.
BOOST_AUTO_TEST_CASE(a_client_error_shows_a_short_reason_and_logs_the_detail) {
  DispatchSite site;
  auto r = site.get("", "operation=PKIOperation&message=MAMCAQE%3D");
  BOOST_TEST(r.status == 400);
  std::string body = body_text(r);
  BOOST_TEST(body.find("error:") == std::string::npos, body);
  BOOST_TEST(body.find("OpenSSL") == std::string::npos, body);
  BOOST_TEST(body.size() <= 201u);
  BOOST_TEST(body.size() > 1u);
  BOOST_TEST(r.log.empty(), r.log);
  BOOST_TEST(r.debug.find(body.substr(0, body.size() - 1)) == 0u, r.debug);
  BOOST_TEST(r.debug.find("error:") != std::string::npos, r.debug);
}

BOOST_AUTO_TEST_CASE(client_text_cuts_at_the_mark_and_to_one_short_line) {
  using core::Errc;
  BOOST_TEST(core::client_text({Errc::malformed_request, "bad thing (OpenSSL: error:1; error:2)"}) == "bad thing");
  BOOST_TEST(core::client_text({Errc::malformed_request, "first\nsecond"}) == "first");
  std::string long_text(500, 'x');
  auto cut = core::client_text({Errc::malformed_request, long_text});
  BOOST_TEST(cut.size() == 200u);
  BOOST_TEST(cut.ends_with("..."));
}

BOOST_AUTO_TEST_CASE(text_responses_end_with_a_newline) {
  DispatchSite site;
  auto r = site.get("", "operation=Nope");
  BOOST_REQUIRE(!r.body.empty());
  BOOST_TEST(r.body.back() == '\n');
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_ca_from_path)

BOOST_AUTO_TEST_CASE(the_first_segment_names_the_ca) {
  BOOST_TEST(web::ca_from_path("/main/pkiclient.exe") == "main");
  BOOST_TEST(web::ca_from_path("/main") == "main");
  BOOST_TEST(web::ca_from_path("/main/") == "main");
  BOOST_TEST(web::ca_from_path("main/pkiclient.exe") == "main");
  BOOST_TEST(web::ca_from_path("//main//pkiclient.exe") == "main");
  BOOST_TEST(web::ca_from_path("/a/b/c") == "a");
}

BOOST_AUTO_TEST_CASE(no_segment_or_the_client_suffix_names_none) {
  BOOST_TEST(web::ca_from_path("") == "");
  BOOST_TEST(web::ca_from_path("/") == "");
  BOOST_TEST(web::ca_from_path("///") == "");
  BOOST_TEST(web::ca_from_path("/pkiclient.exe") == "");
  BOOST_TEST(web::ca_from_path("/PKICLIENT.EXE") == "");
  BOOST_TEST(web::ca_from_path("pkiclient.exe") == "");
}

BOOST_AUTO_TEST_CASE(the_segment_is_percent_decoded_without_plus_as_space) {
  BOOST_TEST(web::ca_from_path("/my%2Dca/pkiclient.exe") == "my-ca");
  BOOST_TEST(web::ca_from_path("/a+b/pkiclient.exe") == "a+b");
  BOOST_TEST(web::ca_from_path("/%2E%2E/pkiclient.exe") == "..");
  // An encoded slash does not split the segment.
  BOOST_TEST(web::ca_from_path("/a%2Fb/pkiclient.exe") == "a/b");
}

namespace dispatch_test {

web::Request req(web::Method m, std::string path, std::string query) {
  web::Request r;
  r.method = m;
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

}  // namespace dispatch_test

BOOST_AUTO_TEST_CASE(only_requests_that_neither_sign_nor_write_are_quick) {
  using dispatch_test::req;
  // scepctl serve answers quick requests on its event-loop thread; anything
  // that decrypts, signs or writes the store must go to a worker.
  using web::Method;
  for (const auto& r :
       {req(Method::get, "", "operation=GetCACaps"), req(Method::get, "", "operation=getcacert&message=a"),
        req(Method::head, "/a/pkiclient.exe", "operation=GetCACert"), req(Method::get, "", "operation=GetCACertChain"),
        req(Method::get, "", ""), req(Method::get, "", "operation=Nonsense"),
        req(Method::other, "", "operation=PKIOperation")})
    BOOST_TEST(web::is_quick(r), r.query);
  for (const auto& r :
       {req(Method::post, "", "operation=PKIOperation"), req(Method::post, "", "operation=GetCACaps"),
        req(Method::get, "", "operation=PKIOperation&message=MIIB"),
        req(Method::get, "", "Operation=pkioperation&message=MIIB"), req(Method::get, "", "operation=GetCRL&message=a"),
        req(Method::get, "/a/crl", ""), req(Method::head, "/a/crl/", ""), req(Method::get, "/a/crl/0A1B", ""),
        req(Method::get, "", "operation=GetNextCACert")})
    BOOST_TEST(!web::is_quick(r), r.path << "?" << r.query);
}

// What scepctl serve asks: the path still has the mount point in front.
BOOST_AUTO_TEST_CASE(quick_below_a_mount_point_judges_the_path_under_it) {
  using dispatch_test::req;
  using web::Method;
  BOOST_TEST(!web::is_quick(req(Method::get, "/scep/alpha/crl", ""), "/scep"));  // signs a CRL
  BOOST_TEST(!web::is_quick(req(Method::get, "/SCEP/alpha/crl/", ""), "/scep/"));
  BOOST_TEST(!web::is_quick(req(Method::get, "/scep", "operation=PKIOperation&message=MIIB"), "/scep"));
  BOOST_TEST(web::is_quick(req(Method::get, "/scep/alpha/pkiclient.exe", "operation=GetCACaps"), "/scep"));
  BOOST_TEST(web::is_quick(req(Method::post, "/other", "operation=PKIOperation"), "/scep"));  // a 404
  BOOST_TEST(web::path_below("/scep/a/crl", "/scep").value_or("?") == "/a/crl");
  BOOST_TEST(web::path_below("/Scep", "/scep").value_or("?") == "");
  BOOST_TEST(!web::path_below("/scepx", "/scep"));
  BOOST_TEST(!web::path_below("/sce", "/scep"));
  BOOST_TEST(web::path_below("/anything", "/").value_or("?") == "anything");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(web_dispatch_observability)

BOOST_AUTO_TEST_CASE(facts_name_the_operation_and_the_ca_that_answered) {
  DispatchSite site;
  auto r = site.get("", "operation=getcacert&message=0");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.facts.operation == "GetCACert");
  BOOST_TEST(r.facts.ca == "sub");  // the default CA, not the identifier "0"
  auto missing = site.get("/nosuch", "operation=GetCACaps");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.facts.operation == "GetCACaps");
  BOOST_TEST(missing.facts.pki_status.empty());
  auto unknown = site.get("", "operation=Bogus");
  BOOST_TEST(unknown.facts.operation.empty());
  auto crl = site.get("/main/crl", "");
  BOOST_TEST(crl.facts.operation == "GetCRL");
  BOOST_TEST(crl.facts.ca == "main");
}

BOOST_AUTO_TEST_CASE(pki_operation_facts_come_from_the_service) {
  DispatchSite site;
  web::Request req;
  req.method = web::Method::post;
  req.query = "operation=PKIOperation";
  req.body = core::to_bytes("not a pkiMessage");
  auto r = web::dispatch(req, site.svc);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.facts.operation == "PKIOperation");
  BOOST_TEST(r.facts.pki_status.empty());  // no CertRep
}

BOOST_AUTO_TEST_CASE(health_is_ok_until_a_key_does_not_load) {
  DispatchSite site;
  auto ok = site.get("/health", "");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(body_text(ok) == "ok\n");
  BOOST_TEST(ok.facts.operation == "health");
  BOOST_TEST(ok.facts.ca.empty());
  // A CA may be called "health": with an operation it is that CA's path.
  BOOST_TEST(site.get("/health", "operation=GetCACaps").status == 404);
  std::filesystem::rename(site.dir.path() / "store/ca/rama/ra-key.pem", site.dir.path() / "ra-key.pem");
  auto bad = site.get("/health", "");
  BOOST_TEST(bad.status == 503);
  BOOST_TEST(body_text(bad) == "CA rama: its RA key does not load\n");
  BOOST_TEST(!bad.debug.empty());
  BOOST_TEST(bad.log.empty());  // polled every second: no error line each time
  std::filesystem::rename(site.dir.path() / "ra-key.pem", site.dir.path() / "store/ca/rama/ra-key.pem");
  BOOST_TEST(site.get("/health", "").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
