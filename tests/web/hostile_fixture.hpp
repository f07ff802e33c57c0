#pragma once
// Support for the hostile-input corpus (tests/web/test_hostile*.cpp): a file
// store behind web::dispatch, a snapshot of everything on disk, builders for
// malformed CMS and DER, and the check of one expected answer — an HTTP 4xx,
// or HTTP 200 with a signed CertRep FAILURE carrying a given failInfo.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <openssl/err.h>

#include "../scep/enroll_fixture.hpp"
#include "crypto/der.hpp"
#include "store/store.hpp"
#include "web/dispatch.hpp"

namespace hostile {

using enroll_test::Attr;
using enroll_test::cms_sign;
using enroll_test::CsrSpec;
using enroll_test::nonce_of;
using enroll_test::octets;
using enroll_test::printable;
using enroll_test::scep_attrs;
using enroll_test::SignerSpec;
using enroll_test::SignOptions;
using scep::FailInfo;

namespace fs = std::filesystem;

inline const std::string good_secret = "HOSTILE-GOOD-SECRET";
inline const std::string wrong_secret = "NOT-A-KNOWN-SECRET";

// --- what is on disk -------------------------------------------------------------

/// Every file under a directory, by relative path, with its content. audit.log
/// is left out: it records refusals too.
using Snapshot = std::map<std::string, core::Bytes>;

inline Snapshot snapshot(const fs::path& root) {
  Snapshot out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_directory() || e.path().filename() == "audit.log") continue;
    out[fs::relative(e.path(), root).string()] = enroll_test::read_file(e.path());
  }
  return out;
}

/// Empty when equal, else "+added -removed ~changed" file names.
inline std::string diff(const Snapshot& before, const Snapshot& after) {
  std::string out;
  for (const auto& [name, data] : after) {
    auto it = before.find(name);
    if (it == before.end()) out += " +" + name;
    else if (it->second != data) out += " ~" + name;
  }
  for (const auto& [name, data] : before)
    if (!after.contains(name)) out += " -" + name;
  return out;
}

// --- DER by hand -----------------------------------------------------------------

inline core::Bytes der_length(std::size_t n) {
  if (n < 0x80) return {static_cast<std::uint8_t>(n)};
  core::Bytes len;
  for (; n; n >>= 8) len.insert(len.begin(), static_cast<std::uint8_t>(n));
  len.insert(len.begin(), static_cast<std::uint8_t>(0x80 | len.size()));
  return len;
}

inline core::Bytes tlv(std::uint8_t tag, core::ByteView body) {
  core::Bytes out{tag};
  auto len = der_length(body.size());
  out.insert(out.end(), len.begin(), len.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline core::Bytes concat(std::initializer_list<core::ByteView> parts) {
  core::Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// `depth` SEQUENCEs inside each other with definite lengths, around a NULL.
inline core::Bytes nested_definite(std::size_t depth) {
  core::Bytes body{0x05, 0x00};
  for (std::size_t i = 0; i < depth; ++i) body = tlv(0x30, body);
  return body;
}

/// `depth` indefinite-length SEQUENCE headers and no end-of-contents: 2 bytes a level.
inline core::Bytes nested_indefinite(std::size_t depth) {
  core::Bytes out;
  for (std::size_t i = 0; i < depth; ++i) out.insert(out.end(), {0x30, 0x80});
  return out;
}

/// Deterministic junk (xorshift).
inline core::Bytes random_bytes(std::size_t n, std::uint64_t seed, std::optional<std::uint8_t> first = {}) {
  core::Bytes out(n);
  testing::CountingRng rng(seed);
  rng.fill(out);
  if (first && n) out[0] = *first;
  return out;
}

/// Replaces every occurrence of `from` by `to` (same length); fails when there is none.
inline core::Bytes replace_all(core::Bytes data, const core::Bytes& from, const core::Bytes& to) {
  BOOST_REQUIRE(from.size() == to.size());
  int found = 0;
  for (auto it = std::search(data.begin(), data.end(), from.begin(), from.end()); it != data.end();
       it = std::search(it + 1, data.end(), from.begin(), from.end())) {
    std::copy(to.begin(), to.end(), it);
    ++found;
  }
  BOOST_REQUIRE_MESSAGE(found > 0, "pattern not found");
  return data;
}

/// The elements (whole TLVs) inside a definite-length constructed element.
inline std::vector<core::Bytes> children(core::ByteView tlv_der) {
  const unsigned char* p = tlv_der.data();
  long len = 0;
  int tag = 0, cls = 0;
  BOOST_REQUIRE((ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(tlv_der.size())) & 0x80) == 0);
  const unsigned char* end = p + len;
  std::vector<core::Bytes> out;
  while (p < end) {
    const unsigned char* start = p;
    BOOST_REQUIRE((ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80) == 0);
    p += len;
    out.emplace_back(start, p);
  }
  return out;
}

/// A SignedData pkiMessage with its signerInfos emptied (OpenSSL cannot sign
/// with zero signers): ContentInfo{oid, [0]{SignedData{..., SET{}}}}.
inline core::Bytes without_signers(core::ByteView message) {
  auto ci = children(message);
  BOOST_REQUIRE(ci.size() == 2u);
  auto sd_fields = children(children(ci[1]).at(0));
  sd_fields.back() = {0x31, 0x00};
  core::Bytes sd;
  for (const auto& f : sd_fields) sd.insert(sd.end(), f.begin(), f.end());
  return tlv(0x30, concat({ci[0], tlv(0xa0, tlv(0x30, sd))}));
}

/// An EnvelopedData with a BER originatorInfo inserted: one certificate of
/// an "other" format whose value is `depth` indefinite-length SEQUENCEs.
/// Valid BER that OpenSSL reads (an ANY has no nesting limit there).
inline core::Bytes with_deep_originator_info(core::ByteView envelope, std::size_t depth) {
  auto ci = children(envelope);
  BOOST_REQUIRE(ci.size() == 2u);
  auto fields = children(children(ci[1]).at(0));  // version, recipientInfos, encryptedContentInfo
  core::Bytes any = nested_indefinite(depth);
  for (std::size_t i = 0; i < depth; ++i) any.insert(any.end(), {0x00, 0x00});
  core::Bytes other = concat({core::Bytes{0xa3, 0x80, 0x06, 0x03, 0x2a, 0x03, 0x04}, any, core::Bytes{0x00, 0x00}});
  core::Bytes originator = concat({core::Bytes{0xa0, 0x80, 0xa0, 0x80}, other, core::Bytes{0x00, 0x00, 0x00, 0x00}});
  fields.insert(fields.begin() + 1, originator);
  core::Bytes env;
  for (const auto& f : fields) env.insert(env.end(), f.begin(), f.end());
  return tlv(0x30, concat({ci[0], tlv(0xa0, tlv(0x30, env))}));
}

/// The DER of an OID, tag and length included.
inline core::Bytes oid_der(const char* dotted) {
  crypto::Asn1ObjectPtr obj(OBJ_txt2obj(dotted, 1));
  BOOST_REQUIRE(obj);
  unsigned char* buf = nullptr;
  int n = i2d_ASN1_OBJECT(obj.get(), &buf);
  BOOST_REQUIRE(n > 0);
  core::Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

// --- CMS that breaks the rules (signing: support/request_builder.hpp) -------------

/// An EnvelopedData with any OpenSSL cipher (by name), e.g. one SCEP does not
/// know, for any number of recipients.
inline core::Bytes envelope_with(core::ByteView content, const std::vector<const crypto::Certificate*>& recipients,
                                 const char* cipher = "AES-128-CBC") {
  crypto::OsslPtr<EVP_CIPHER, EVP_CIPHER_free> evp(EVP_CIPHER_fetch(nullptr, cipher, nullptr));
  BOOST_REQUIRE_MESSAGE(evp, cipher << " is not available");
  crypto::X509StackPtr to(sk_X509_new_null());
  for (const auto* r : recipients) BOOST_REQUIRE(sk_X509_push(to.get(), r->native()) > 0);
  crypto::BioPtr in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  crypto::CmsPtr cms(CMS_encrypt(to.get(), in.get(), evp.get(), CMS_BINARY));
  sk_X509_zero(to.get());  // borrowed: the stack must not free the certificates
  BOOST_REQUIRE(cms);
  unsigned char* buf = nullptr;
  int n = i2d_CMS_ContentInfo(cms.get(), &buf);
  BOOST_REQUIRE(n > 0);
  core::Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

/// `n` distinct self-signed certificates on the client key.
inline std::vector<crypto::Certificate> filler_certs(std::size_t n) {
  std::vector<crypto::Certificate> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(enroll_test::self_signed(testing::test_pki().client_key, "CN=filler " + std::to_string(i)));
  return out;
}

inline std::vector<const crypto::Certificate*> pointers(const std::vector<crypto::Certificate>& certs) {
  std::vector<const crypto::Certificate*> out;
  for (const auto& c : certs) out.push_back(&c);
  return out;
}

// --- the site under attack -----------------------------------------------------------

/// A store with two CAs ("main": the test root, the default; "sub": the
/// intermediate), the policy "default" and one secret of one use for main.
struct Site {
  const testing::TestPki& pki = testing::test_pki();
  testing::TempDir dir;
  store::Store st;
  store::Session repo;
  core::FixedClock clock{testing::test_pki().root.cert.not_before() + std::chrono::hours(1)};
  testing::CountingRng rng{4242};
  scep::Service svc;
  crypto::Certificate signer = enroll_test::self_signed(testing::test_pki().client_key);

  Site() : st(open(dir.path() / "store")), repo(st), svc(repo.backend(), clock, rng) {
    BOOST_REQUIRE(st.add_ca("main", store::NewCa{pki.root.cert, copy_key(pki.root.key), {}}));
    BOOST_REQUIRE(st.add_ca("sub", store::NewCa{pki.inter.cert, copy_key(pki.inter.key), {pki.root.cert}}));
    BOOST_REQUIRE(st.set_default_ca("main"));
    policy::Policy p;
    p.name = "default";
    p.validity_days = 30;
    BOOST_REQUIRE(st.save_policy(p, store::Store::Replace::no));
    policy::SecretRecord s;
    s.id = "s-000000000001";
    s.hash = policy::secret_hash(good_secret);
    s.ca = "main";
    s.policy = "default";
    s.uses = 1;
    s.created = clock.now();
    s.expires = clock.now() + std::chrono::hours(24);
    BOOST_REQUIRE(st.add_secret(s));
  }

  static store::Store open(const fs::path& root) {
    auto st = store::Store::open(root, store::OpenMode::create);
    BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
    return std::move(*st);
  }
  static crypto::PrivateKey copy_key(const crypto::PrivateKey& key) {
    auto copy = crypto::PrivateKey::load(core::to_bytes(key.to_pem()));
    BOOST_REQUIRE(copy);
    return std::move(*copy);
  }

  /// A PKCS#10 of the client key carrying `challenge`.
  core::Bytes csr(const std::string& challenge = good_secret, CsrSpec spec = {},
                  const crypto::PrivateKey* key = nullptr) {
    spec.challenge = challenge;
    return testing::make_csr(spec, key ? *key : pki.client_key);
  }
  core::Bytes envelope(core::ByteView content, const crypto::Certificate* to = nullptr,
                       crypto::ContentCipher cipher = crypto::ContentCipher::aes128_cbc) {
    auto env = crypto::make_envelope(content, to ? *to : pki.root.cert, cipher);
    BOOST_REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
    return *env;
  }
  /// The client's signer with the usual messageType/transactionID/senderNonce.
  SignerSpec client(std::string_view type = "19", std::string_view tid = "tid-hostile") {
    return {&signer, &pki.client_key, crypto::DigestAlg::sha256, scep_attrs(type, tid, nonce_of(16))};
  }
  SignerSpec client(std::vector<Attr> attrs) {
    return {&signer, &pki.client_key, crypto::DigestAlg::sha256, std::move(attrs)};
  }
  /// A well-formed request (scep::build_request) around `message_data`.
  core::Bytes request(core::ByteView message_data, std::string tid = "tid-hostile",
                      scep::MessageType type = scep::MessageType::pkcs_req,
                      crypto::DigestAlg digest = crypto::DigestAlg::sha256) {
    testing::MessageSpec spec;
    spec.type = type;
    spec.transaction_id = std::move(tid);
    spec.digest = digest;
    return testing::make_message(message_data, spec, pki.root.cert, signer, pki.client_key);
  }
};

inline web::Request post(core::Bytes body, std::string path = "/pkiclient.exe",
                         std::string query = "operation=PKIOperation") {
  web::Request r;
  r.method = web::Method::post;
  r.path = std::move(path);
  r.query = std::move(query);
  r.body = std::move(body);
  r.remote_addr = "198.51.100.66";
  return r;
}

inline web::Request get(std::string query, std::string path = "/pkiclient.exe", web::Method m = web::Method::get) {
  web::Request r;
  r.method = m;
  r.path = std::move(path);
  r.query = std::move(query);
  r.remote_addr = "198.51.100.66";
  return r;
}

inline web::Request get_message(core::ByteView der, std::string path = "/pkiclient.exe") {
  return get("operation=PKIOperation&message=" + crypto::base64_encode(der), std::move(path));
}

// --- expected answers --------------------------------------------------------------

struct Expect {
  int status = 400;
  std::optional<FailInfo> fail;  ///< with 200: a signed CertRep FAILURE with this failInfo
};
inline Expect http(int status) { return {status, std::nullopt}; }
inline Expect failure(FailInfo f) { return {200, f}; }

struct Row {
  std::string name;
  web::Request req;
  Expect expect;
};

inline std::string describe(const Expect& e) {
  if (!e.fail) return "HTTP " + std::to_string(e.status);
  return "HTTP 200 CertRep FAILURE " + std::string(scep::fail_info_name(*e.fail));
}

inline std::string describe(const web::Response& r) {
  std::string s = "HTTP " + std::to_string(r.status) + " " + r.content_type;
  if (r.content_type == "application/x-pki-message") {
    auto sd = crypto::parse_signed_data(r.body);
    if (!sd) return s + " (not a SignedData)";
    auto text = [&](std::string_view oid) {
      auto* a = sd->attribute(oid);
      return a ? core::to_string(a->value) : std::string("-");
    };
    return s + " pkiStatus " + text(scep::oid::pki_status) + " failInfo " + text(scep::oid::fail_info) + " \"" +
           text(scep::oid::fail_info_text) + "\"";
  }
  std::string body = core::to_string(r.body);
  if (!body.empty() && body.back() == '\n') body.pop_back();
  return s + " \"" + body.substr(0, 200) + "\"" + (r.log.empty() ? "" : " log: " + r.log);
}

/// Empty when `r` is the expected answer; otherwise what is wrong with it.
inline std::string mismatch(const web::Response& r, const Expect& e, const std::vector<crypto::Certificate>& cas) {
  std::string got = describe(r);
  if (r.status != e.status) return "expected " + describe(e) + ", got " + got;
  if (!e.fail) {
    if (r.content_type != "text/plain" || !r.log.empty()) return "expected a text/plain error, got " + got;
    return {};
  }
  if (r.content_type != "application/x-pki-message") return "expected a CertRep, got " + got;
  auto sd = crypto::parse_signed_data(r.body);
  if (!sd) return "the reply is not a SignedData: " + sd.error().detail;
  bool by_a_ca = sd->signer && std::find(cas.begin(), cas.end(), *sd->signer) != cas.end();
  if (!sd->signature_valid || !by_a_ca) return "the reply is not signed by a CA of the store: " + got;
  auto text = [&](std::string_view oid) {
    auto* a = sd->attribute(oid);
    return a ? core::to_string(a->value) : std::string("<absent>");
  };
  if (text(scep::oid::message_type) != "3" || text(scep::oid::pki_status) != "2" ||
      text(scep::oid::fail_info) != std::to_string(static_cast<int>(*e.fail)))
    return "expected " + describe(e) + ", got " + got;
  if (!sd->content.empty()) return "a FAILURE carries no envelope";
  if (!sd->attribute(scep::oid::recipient_nonce) || !sd->attribute(scep::oid::transaction_id))
    return "the FAILURE does not echo transactionID and senderNonce";
  return {};
}

/// Sends every row; each must get its answer and leave the disk as it was.
inline void run(Site& site, const std::vector<Row>& rows) {
  BOOST_TEST_MESSAGE(rows.size() << " rows");
  Snapshot baseline = snapshot(site.dir.path());
  for (const auto& row : rows) {
    auto r = web::dispatch(row.req, site.svc);
    std::string bad = mismatch(r, row.expect, {site.pki.root.cert, site.pki.inter.cert});
    BOOST_TEST(bad.empty(), row.name << ": " << bad);
    Snapshot now = snapshot(site.dir.path());
    std::string changed = diff(baseline, now);
    BOOST_TEST(changed.empty(), row.name << ": the store changed:" << changed);
    if (!changed.empty()) baseline = std::move(now);
  }
}

/// After the corpus, a valid enrollment still succeeds, and stores what it should.
inline void require_good_enrollment(Site& site) {
  Snapshot before = snapshot(site.dir.path());
  auto r = web::dispatch(post(site.request(site.csr(), "tid-final-good")), site.svc);
  BOOST_REQUIRE_MESSAGE(r.status == 200, describe(r));
  auto sd = crypto::parse_signed_data(r.body);
  BOOST_REQUIRE(sd);
  enroll_test::Reply reply{std::move(*sd)};
  enroll_test::require_success(reply);
  auto certs = enroll_test::reply_certs(reply, site.signer, site.pki.client_key);
  BOOST_REQUIRE(!certs.empty());
  BOOST_TEST((certs.front().public_key() == site.pki.client_key.public_key()));
  std::string changed = diff(before, snapshot(site.dir.path()));
  // One certificate, one transaction record, one use token moved to the
  // transaction that spent it.
  BOOST_TEST(std::count(changed.begin(), changed.end(), '+') == 3, changed);
  BOOST_TEST(changed.find(" +store/ca/main/certs/") != std::string::npos, changed);
  BOOST_TEST(changed.find(" +store/ca/main/tx/") != std::string::npos, changed);
  BOOST_TEST(changed.find(".spent-") != std::string::npos, changed);
  BOOST_TEST(changed.find(" -store/secrets/") != std::string::npos, changed);
}

/// The pkiStatus of a CertRep ("0", "2", "3"), or what came instead.
inline std::string pki_status(const web::Response& r) {
  if (r.status != 200) return "HTTP " + std::to_string(r.status);
  auto sd = crypto::parse_signed_data(r.body);
  if (!sd) return "not a SignedData";
  auto* a = sd->attribute(scep::oid::pki_status);
  return a ? core::to_string(a->value) : "no pkiStatus";
}

/// Uses left of the site's good secret.
inline int good_secret_uses_left(Site& site) {
  auto s = site.st.find_secret(policy::secret_hash(good_secret));
  BOOST_REQUIRE(s && *s);
  return site.st.secret_uses_left(**s);
}

}  // namespace hostile
