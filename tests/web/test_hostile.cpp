// Hostile input (issue 5): a corpus of bad PKIOperation messages, each with
// the answer it must get — an HTTP 4xx when no CertRep can be signed, else a
// signed CertRep FAILURE with a given failInfo. Every row must also leave the
// store as it was, and the service must answer a valid request afterwards.
// HTTP-level rows (bodies, queries, CA names) are in test_hostile_http.cpp.
#include "hostile_fixture.hpp"

using namespace hostile;
using crypto::ContentCipher;
using crypto::DigestAlg;

namespace {

std::vector<Attr> without(std::vector<Attr> attrs, std::string_view oid) {
  std::erase_if(attrs, [&](const Attr& a) { return a.oid == oid; });
  return attrs;
}

/// The usual attributes with the one at `i` (0 type, 1 transactionID, 2 senderNonce) replaced.
std::vector<Attr> replaced(std::size_t i, Attr a) {
  auto attrs = scep_attrs("19", "tid-hostile", nonce_of(16));
  attrs[i] = std::move(a);
  return attrs;
}

Attr typed(std::string_view oid, int asn1_type, core::Bytes value) {
  return {std::string(oid), asn1_type, {std::move(value)}};
}

std::vector<Row> structure_rows(Site& s) {
  auto csr = s.csr();
  auto env = s.envelope(csr);
  auto valid = s.request(csr);
  auto trailing = valid;
  trailing.push_back(0x00);
  auto bad_sig = valid;
  bad_sig.back() ^= 0x5a;  // the SignerInfo's signature is the last field
  // The envelope altered after signing: messageDigest no longer matches.
  auto altered = cms_sign(env, {s.client()});
  auto at = std::search(altered.begin(), altered.end(), env.begin(), env.end());
  at[static_cast<std::ptrdiff_t>(env.size() / 2)] ^= 0x01;
  auto second = testing::self_signed(s.pki.inter.key, "CN=second signer");
  SignerSpec other{&second, &s.pki.inter.key, DigestAlg::sha256, scep_attrs("19", "tid-second", nonce_of(16, 0x10))};
  SignerSpec no_cert = s.client();
  no_cert.include_cert = false;
  auto degenerate = crypto::degenerate_pkcs7({s.pki.root.cert, s.signer});
  BOOST_REQUIRE(degenerate);
  auto id_data = tlv(0x30, concat({oid_der("1.2.840.113549.1.7.1"), tlv(0xa0, tlv(0x04, csr))}));

  return {
      {"a valid message with a trailing byte", post(trailing), http(400)},
      {"wrong outer type: a degenerate certs-only PKCS#7", post(*degenerate), http(400)},
      {"wrong outer type: an EnvelopedData at top level", post(env), http(400)},
      {"wrong outer type: id-data at top level", post(id_data), http(400)},
      {"wrong outer type: a bare PKCS#10", post(csr), http(400)},
      {"wrong outer type: a bare certificate", post(s.signer.der()), http(400)},
      {"eContentType envelopedData instead of id-data",
       post(cms_sign(env, {s.client()}, SignOptions::econtent("1.2.840.113549.1.7.3"))), http(400)},
      {"zero signers", post(without_signers(cms_sign(env, {no_cert}))), http(400)},
      {"zero signers, the client certificate included", post(without_signers(valid)), http(400)},
      {"two signers", post(cms_sign(env, {s.client(), other})), http(400)},
      {"a SignerInfo without signed attributes",
       post(cms_sign(env, {s.client(std::vector<Attr>{})}, SignOptions::without_signed_attributes())), http(400)},
      // transactionID and senderNonce are readable and a FAILURE needs no
      // envelope: a signed FAILURE, like a signature that does not verify.
      {"the signer certificate missing", post(cms_sign(env, {no_cert})), failure(FailInfo::bad_message_check)},
      {"the signer certificate missing, another one present",
       post(cms_sign(env, {no_cert}, SignOptions::with_certs({&second}))), failure(FailInfo::bad_message_check)},
      {"a bad signature", post(bad_sig), failure(FailInfo::bad_message_check)},
      {"the content altered after signing", post(altered), failure(FailInfo::bad_message_check)},
      {"an envelope for a CA of the store not named in the path",
       post(s.request(s.csr(), "tid-other-ca"), "/sub/pkiclient.exe"), failure(FailInfo::bad_request)},
  };
}

std::vector<Row> recipient_and_algorithm_rows(Site& s) {
  crypto::enable_legacy_algorithms();  // so that the client side can build DES and MD5 at all
  auto csr = s.csr();
  auto signed_env = [&](core::Bytes env) { return post(cms_sign(env, {s.client()})); };
  auto aes_oid = oid_der("2.16.840.1.101.3.4.1.2");
  auto unknown_cipher = replace_all(s.envelope(csr), aes_oid, oid_der("2.16.840.1.101.3.4.1.99"));
  auto sha256_oid = oid_der("2.16.840.1.101.3.4.2.1");
  auto unknown_digest = replace_all(s.request(csr), sha256_oid, oid_der("2.16.840.1.101.3.4.2.99"));
  auto md5 = s.client();
  md5.digest = DigestAlg::md5;
  auto sha3 = cms_sign(s.envelope(csr), {s.client()}, SignOptions::digest(EVP_sha3_256()));

  return {
      {"an envelope for another recipient (the intermediate, CA named)",
       post(signed_env(s.envelope(csr, &s.pki.inter.cert)).body, "/main/pkiclient.exe"),
       failure(FailInfo::bad_request)},
      {"an envelope for a recipient no CA of the store has (the RA)", signed_env(s.envelope(csr, &s.pki.ra.cert)),
       failure(FailInfo::bad_request)},
      {"an envelope for the client itself", signed_env(s.envelope(csr, &s.signer)), failure(FailInfo::bad_request)},
      {"DES-CBC when legacy algorithms are off", signed_env(s.envelope(csr, nullptr, ContentCipher::des_cbc)),
       failure(FailInfo::bad_alg)},
      {"Camellia-128-CBC (unknown to SCEP)", signed_env(envelope_with(csr, {&s.pki.root.cert}, "CAMELLIA-128-CBC")),
       failure(FailInfo::bad_alg)},
      {"an unknown content cipher OID", signed_env(unknown_cipher), failure(FailInfo::bad_alg)},
      {"an originatorInfo 5 levels deep (BER; control row)",
       signed_env(with_deep_originator_info(s.envelope(s.csr(wrong_secret)), 5)), failure(FailInfo::bad_request)},
      // The envelope walker that reads the content cipher stops at 32 BER
      // levels (scep.cgi(8), LIMITS): past that the cipher counts as unknown.
      {"an originatorInfo 40 levels deep (BER)",
       signed_env(with_deep_originator_info(s.envelope(s.csr(wrong_secret)), 40)), failure(FailInfo::bad_alg)},
      {"MD5 when legacy algorithms are off", post(cms_sign(s.envelope(csr), {md5})), failure(FailInfo::bad_alg)},
      {"SHA3-256 (unknown to SCEP)", post(sha3), failure(FailInfo::bad_alg)},
      // An unknown digest cannot verify; badAlg says why.
      {"an unknown digest OID", post(unknown_digest), failure(FailInfo::bad_alg)},
  };
}

std::vector<Row> attribute_rows(Site& s) {
  auto env = s.envelope(s.csr());
  auto with = [&](std::vector<Attr> attrs) { return post(cms_sign(env, {s.client(std::move(attrs))})); };
  auto good = scep_attrs("19", "tid-hostile", nonce_of(16));
  auto dup = good;
  dup.push_back(printable(scep::oid::transaction_id, "tid-two"));
  using scep::oid::message_type, scep::oid::transaction_id, scep::oid::sender_nonce;
  core::Bytes bomb = nested_definite(200);

  // A header that cannot be read is 400, as scep.cgi(8) says ("lacks a valid
  // messageType, transactionID or senderNonce"), even where transactionID
  // and senderNonce could be echoed; an unknown messageType value is a FAILURE.
  return {
      {"no messageType", with(without(good, message_type)), http(400)},
      {"no transactionID", with(without(good, transaction_id)), http(400)},
      {"no senderNonce", with(without(good, sender_nonce)), http(400)},
      {"no SCEP attributes at all", with({}), http(400)},
      {"messageType as INTEGER", with(replaced(0, typed(message_type, V_ASN1_INTEGER, {19}))), http(400)},
      {"messageType as OCTET STRING", with(replaced(0, octets(message_type, core::to_bytes("19")))), http(400)},
      {"messageType as a SEQUENCE 200 deep", with(replaced(0, typed(message_type, V_ASN1_SEQUENCE, bomb))), http(400)},
      {"messageType with no value", with(replaced(0, {std::string(message_type), 0, {}})), http(400)},
      {"messageType of 5 characters", with(replaced(0, printable(message_type, "00019"))), http(400)},
      {"messageType of 100000 characters", with(replaced(0, printable(message_type, std::string(100000, '9')))),
       http(400)},
      {"messageType 3 (CertRep) from a client", with(replaced(0, printable(message_type, "3"))),
       failure(FailInfo::bad_request)},
      {"messageType 18 (unassigned)", with(replaced(0, printable(message_type, "18"))), failure(FailInfo::bad_request)},
      {"messageType -19", with(replaced(0, printable(message_type, "-19"))), failure(FailInfo::bad_request)},
      {"transactionID as OCTET STRING", with(replaced(1, octets(transaction_id, core::to_bytes("tid")))), http(400)},
      {"transactionID as INTEGER", with(replaced(1, typed(transaction_id, V_ASN1_INTEGER, {1, 2, 3}))), http(400)},
      {"transactionID as BMPString", with(replaced(1, typed(transaction_id, V_ASN1_BMPSTRING, {0, 'a', 0, 'b'}))),
       http(400)},
      {"transactionID with no value", with(replaced(1, {std::string(transaction_id), V_ASN1_PRINTABLESTRING, {}})),
       http(400)},
      {"transactionID with two values",
       with(replaced(
           1, {std::string(transaction_id), V_ASN1_PRINTABLESTRING, {core::to_bytes("a"), core::to_bytes("b")}})),
       http(400)},
      {"two transactionID attributes", with(dup), http(400)},
      {"an empty transactionID", with(replaced(1, printable(transaction_id, ""))), http(400)},
      {"a transactionID of 129 characters", with(replaced(1, printable(transaction_id, std::string(129, 'T')))),
       failure(FailInfo::bad_request)},
      {"a transactionID of 4097 characters", with(replaced(1, printable(transaction_id, std::string(4097, 'T')))),
       http(400)},
      {"a transactionID of 100000 characters", with(replaced(1, printable(transaction_id, std::string(100000, 'T')))),
       http(400)},
      {"senderNonce as PrintableString", with(replaced(2, printable(sender_nonce, "0123456789abcdef"))), http(400)},
      {"senderNonce as INTEGER", with(replaced(2, typed(sender_nonce, V_ASN1_INTEGER, {1, 2, 3, 4}))), http(400)},
      {"an empty senderNonce", with(replaced(2, octets(sender_nonce, {}))), http(400)},
      {"a senderNonce of 65 bytes", with(replaced(2, octets(sender_nonce, nonce_of(65)))),
       failure(FailInfo::bad_request)},
      {"a senderNonce of 4097 bytes", with(replaced(2, octets(sender_nonce, core::Bytes(4097, 0x5a)))), http(400)},
      {"a senderNonce of 100000 bytes", with(replaced(2, octets(sender_nonce, core::Bytes(100000, 0x5a)))), http(400)},
      {"a senderNonce with two values",
       with(replaced(2, {std::string(sender_nonce), V_ASN1_OCTET_STRING, {nonce_of(16), nonce_of(16, 1)}})), http(400)},
  };
}

std::vector<Row> content_rows(Site& s) {
  auto signed_env = [&](core::ByteView content, std::string_view type = "19", std::string_view tid = "tid-hostile") {
    return post(cms_sign(s.envelope(content), {s.client(type, tid)}));
  };
  auto many_sans = [](int n) {
    CsrSpec spec;
    for (int i = 0; i < n; ++i) spec.sans.push_back("DNS:h" + std::to_string(i) + ".example");
    return spec;
  };
  CsrSpec long_subject;
  long_subject.subject = "CN=device1";
  for (int i = 0; i < 60; ++i) long_subject.subject += ",OU=organisational-unit-" + std::to_string(i);
  CsrSpec huge_ext;
  huge_ext.extensions.push_back({"1.3.6.1.4.1.55555.1", false, tlv(0x04, core::Bytes(200000, 0x41))});
  auto csr = s.csr();
  auto giga_csr = concat({core::Bytes{0x30, 0x84, 0x40, 0x00, 0x00, 0x00}, csr});
  auto other_key_csr = s.csr(good_secret, {}, &s.pki.inter.key);
  auto unknown_serial = crypto::encode_issuer_and_serial(s.pki.root.cert, "0DEADBEEF0");
  BOOST_REQUIRE(unknown_serial);
  const auto& small = testing::small_rsa_key();
  auto small_signer = testing::self_signed(small);
  auto small_key = post(
      cms_sign(s.envelope(s.csr(good_secret, {}, &small)),
               {{&small_signer, &small, DigestAlg::sha256, scep_attrs("19", "tid-small", nonce_of(16))}}));
  auto issuer = enroll_test::name_der(X509_get_subject_name(s.pki.root.cert.native()));
  auto ias = [&](core::Bytes serial) { return tlv(0x30, concat({issuer, tlv(0x02, serial)})); };
  core::Bytes long_serial(200, 0x11);
  auto renewal_by_inter = post(cms_sign(s.envelope(csr), {{&s.pki.inter.cert, &s.pki.inter.key, DigestAlg::sha256,
                                                           scep_attrs("17", "tid-renew-inter", nonce_of(16))}}));

  return {
      {"the envelope holds text, not a PKCS#10", signed_env(core::to_bytes("hello, world")),
       failure(FailInfo::bad_request)},
      {"the envelope holds an empty content", signed_env(core::Bytes{}), failure(FailInfo::bad_request)},
      {"the envelope holds a certificate, not a PKCS#10", signed_env(s.signer.der()), failure(FailInfo::bad_request)},
      {"the envelope holds a PKCS#10 with a trailing byte", signed_env(concat({csr, core::Bytes{0}})),
       failure(FailInfo::bad_request)},
      {"the envelope holds a PKCS#10 claiming 1 GiB", signed_env(giga_csr), failure(FailInfo::bad_request)},
      {"the envelope holds a SEQUENCE 40000 deep", signed_env(nested_definite(40000)), failure(FailInfo::bad_request)},
      {"the signed content is a PKCS#10 in the clear", post(cms_sign(csr, {s.client()})),
       failure(FailInfo::bad_request)},
      {"the signed content is empty", post(cms_sign(core::Bytes{}, {s.client()})), failure(FailInfo::bad_request)},
      {"the signed content is a SEQUENCE 40000 deep", post(cms_sign(nested_definite(40000), {s.client()})),
       failure(FailInfo::bad_request)},
      {"the signed content claims 1 GiB",
       post(cms_sign(core::Bytes{0x30, 0x84, 0x40, 0, 0, 0, 0x05, 0x00}, {s.client()})),
       failure(FailInfo::bad_request)},
      {"a PKCS#10 with a bad signature", signed_env(testing::corrupt_last_byte(csr)), failure(FailInfo::bad_request)},
      {"a PKCS#10 of another key than the self-signed signer's", signed_env(other_key_csr),
       failure(FailInfo::bad_message_check)},
      {"a PKCS#10 with 101 subjectAltNames", signed_env(s.csr(good_secret, many_sans(101))),
       failure(FailInfo::bad_request)},
      {"a PKCS#10 with 10000 subjectAltNames", signed_env(s.csr(good_secret, many_sans(10000))),
       failure(FailInfo::bad_request)},
      {"a PKCS#10 with a subject of 1500 characters", signed_env(s.csr(good_secret, long_subject)),
       failure(FailInfo::bad_request)},
      {"a PKCS#10 with a 1024-bit key", small_key, failure(FailInfo::bad_request)},
      {"a 200 KB PKCS#10 with an unknown secret", signed_env(s.csr(wrong_secret, huge_ext)),
       failure(FailInfo::bad_request)},
      {"a PKCS#10 with an unknown secret", signed_env(s.csr(wrong_secret)), failure(FailInfo::bad_request)},
      {"CertPoll with junk instead of IssuerAndSubject", signed_env(core::to_bytes("junk"), "20", "tid-never-seen"),
       failure(FailInfo::bad_cert_id)},
      {"GetCert with junk instead of IssuerAndSerialNumber", signed_env(core::to_bytes("junk"), "21"),
       failure(FailInfo::bad_request)},
      {"GetCert for a serial never issued", signed_env(*unknown_serial, "21"), failure(FailInfo::bad_cert_id)},
      {"GetCert for a 200-byte serial (a 400-character file name)", signed_env(ias(long_serial), "21"),
       failure(FailInfo::bad_cert_id)},
      {"GetCert for a negative serial", signed_env(ias({0xff}), "21"), failure(FailInfo::bad_cert_id)},
      {"GetCert for serial 0", signed_env(ias({0x00}), "21"), failure(FailInfo::bad_cert_id)},
      {"GetCRL with junk instead of IssuerAndSerialNumber", signed_env(nested_definite(5000), "22"),
       failure(FailInfo::bad_request)},
      {"RenewalReq signed by a self-signed certificate", signed_env(csr, "17", "tid-renew-self"),
       failure(FailInfo::bad_message_check)},
      {"RenewalReq signed by a CA-issued certificate not in the store", renewal_by_inter,
       failure(FailInfo::bad_cert_id)},
  };
}

/// Counts the client controls with no limit of their own, only the body's.
std::vector<Row> count_rows(Site& s) {
  static const auto fillers = filler_certs(300);
  auto refused_csr = s.csr(wrong_secret);
  auto env = s.envelope(refused_csr);
  auto many_attrs = scep_attrs("19", "tid-many-attrs", nonce_of(16));
  for (int i = 0; i < 2000; ++i) many_attrs.push_back(printable("1.3.6.1.4.1.55555." + std::to_string(i), "x"));
  auto to_fillers = pointers(fillers);
  auto to_fillers_then_ca = to_fillers;
  to_fillers_then_ca.push_back(&s.pki.root.cert);
  std::vector<const crypto::Certificate*> first_150(to_fillers.begin(), to_fillers.begin() + 150);
  return {
      {"150 certificates besides the signer's", post(cms_sign(env, {s.client()}, SignOptions::with_certs(first_150))),
       failure(FailInfo::bad_request)},
      {"2000 unknown signed attributes", post(cms_sign(env, {s.client(many_attrs)})), failure(FailInfo::bad_request)},
      {"300 recipients, none of them the CA", post(cms_sign(envelope_with(refused_csr, to_fillers), {s.client()})),
       failure(FailInfo::bad_request)},
      {"300 recipients, the CA last", post(cms_sign(envelope_with(refused_csr, to_fillers_then_ca), {s.client()})),
       failure(FailInfo::bad_request)},
  };
}

/// Transaction IDs that look like paths: none may touch a file outside tx/.
std::vector<Row> path_tid_rows(Site& s) {
  std::vector<Row> rows;
  const std::vector<std::string> tids{"../../x",
                                      "/",
                                      "..",
                                      ".",
                                      "../../../../../../../../tmp/scep-hostile",
                                      std::string("a\0b", 3),
                                      std::string("\0", 1),
                                      "tx/../certs/01.pem",
                                      "%2e%2e%2f",
                                      "C:\\windows\\x",
                                      "\"}\n{\"outcome\":\"issued\"}"};
  auto csr = s.csr(wrong_secret);
  auto env = s.envelope(csr);
  for (const auto& tid : tids) {
    auto attr = [&](std::string_view type) {
      return std::vector<Attr>{printable(scep::oid::message_type, type),
                               {std::string(scep::oid::transaction_id), V_ASN1_IA5STRING, {core::to_bytes(tid)}},
                               octets(scep::oid::sender_nonce, nonce_of(16))};
    };
    // A transactionID that is not text (here: NULs, a newline) is refused
    // before it is looked up.
    bool text = core::is_clean_text(core::to_bytes(tid));
    rows.push_back({"CertPoll, transactionID \"" + tid + "\"", post(cms_sign(env, {s.client(attr("20"))})),
                    failure(text ? FailInfo::bad_cert_id : FailInfo::bad_request)});
    rows.push_back({"PKCSReq with an unknown secret, transactionID \"" + tid + "\"",
                    post(cms_sign(env, {s.client(attr("19"))})), failure(FailInfo::bad_request)});
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web_hostile, *boost::unit_test::timeout(300))

BOOST_AUTO_TEST_CASE(malformed_cms_structure) {
  Site site;
  run(site, structure_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(foreign_recipients_and_refused_algorithms) {
  Site site;
  run(site, recipient_and_algorithm_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(bad_signed_attributes) {
  Site site;
  run(site, attribute_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(bad_message_content) {
  Site site;
  run(site, content_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(large_counts_of_certificates_attributes_and_recipients) {
  Site site;
  run(site, count_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(path_like_transaction_ids_are_refused_without_files) {
  Site site;
  run(site, path_tid_rows(site));
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_valid_request_is_400) {
  Site site;
  auto der = site.request(site.csr(), "tid-prefix");
  std::vector<Row> rows;
  for (std::size_t n = 0; n < der.size(); ++n) {
    core::Bytes prefix(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(n));
    rows.push_back({"POST prefix of " + std::to_string(n) + " bytes", post(prefix), http(400)});
    if (n > 0) rows.push_back({"GET prefix of " + std::to_string(n) + " bytes", get_message(prefix), http(400)});
  }
  run(site, rows);
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_real_client_request_is_400) {
  // micromdm scepclient's PKCSReq (tests/data/scepclient/README.md): DES, SHA-1,
  // encrypted to another CA.
  auto der = enroll_test::read_file(fs::path(__FILE__).parent_path() / "../data/scepclient/pkcsreq.der");
  BOOST_REQUIRE(der.size() > 1000u);
  Site site;
  std::vector<Row> rows;
  for (std::size_t n = 0; n < der.size(); ++n)
    rows.push_back({"scepclient prefix of " + std::to_string(n) + " bytes",
                    post(core::Bytes(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(n))), http(400)});
  // Whole, it is answered: DES is refused before anything else is looked at.
  rows.push_back({"scepclient's whole request (DES, legacy off)", post(der), failure(FailInfo::bad_alg)});
  run(site, rows);
  require_good_enrollment(site);
}

BOOST_AUTO_TEST_SUITE_END()
