#pragma once
// Test-only PKCS#10 and signer-certificate maker over the OpenSSL API: the
// library parses requests but never writes them. Shared by the policy and
// scep test executables (header-only: only test_*.cpp files are compiled).

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crypto/cert_builder.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"
#include "crypto/name.hpp"
#include "crypto/signature_scheme.hpp"

namespace enroll_test {

struct CsrSpec {
  std::string subject = "CN=device1,O=Example";
  std::optional<std::string> challenge;
  /// V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING, V_ASN1_IA5STRING or
  /// V_ASN1_BMPSTRING (the ASCII text is widened to UCS-2 for BMP).
  int challenge_type = V_ASN1_PRINTABLESTRING;
  /// "DNS:x", "IP:10.0.0.1", "email:a@b", "URI:u", "otherName:x" (UTF8 value
  /// under the Microsoft UPN OID), "dirName:CN=x", "RID:1.2.3". Values are
  /// taken verbatim, commas too.
  std::vector<std::string> sans;
  std::vector<crypto::RawExtension> extensions;  ///< extra requested extensions, verbatim
  crypto::DigestAlg digest = crypto::DigestAlg::sha256;
  /// pss: RSASSA-PSS over `digest` (salt as long as the digest), as
  /// `openssl req -sigopt rsa_padding_mode:pss` signs.
  crypto::SignaturePadding padding = crypto::SignaturePadding::pkcs1;
  std::optional<crypto::DigestAlg> mgf1_digest{};  ///< pss: MGF1's digest when not `digest`
};

namespace detail {

inline GENERAL_NAME* general_name(const std::string& san) {
  auto colon = san.find(':');
  BOOST_REQUIRE(colon != std::string::npos);
  std::string kind = san.substr(0, colon), value = san.substr(colon + 1);
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (kind == "IP") {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
    BOOST_REQUIRE(ip);
    GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    return gn;
  }
  if (kind == "dirName") {
    auto dn = crypto::parse_dn(value);
    BOOST_REQUIRE(dn);
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn->release());
    return gn;
  }
  if (kind == "RID") {
    ASN1_OBJECT* oid = OBJ_txt2obj(value.c_str(), 1);
    BOOST_REQUIRE(oid);
    GENERAL_NAME_set0_value(gn, GEN_RID, oid);
    return gn;
  }
  if (kind == "otherName") {
    ASN1_TYPE* v = ASN1_TYPE_new();
    ASN1_UTF8STRING* s = ASN1_UTF8STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
    BOOST_REQUIRE(GENERAL_NAME_set0_othername(gn, OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1), v) == 1);
    return gn;
  }
  int type = kind == "DNS" ? GEN_DNS : kind == "email" ? GEN_EMAIL : kind == "URI" ? GEN_URI : -1;
  BOOST_REQUIRE_MESSAGE(type >= 0, "unsupported SAN kind in test: " + kind);
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
  GENERAL_NAME_set0_value(gn, type, s);
  return gn;
}

inline void free_exts(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }

inline std::string bmp(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    out += '\0';
    out += c;
  }
  return out;
}

}  // namespace detail

/// A signed PKCS#10 request (DER) for `key`.
inline core::Bytes make_csr(const CsrSpec& spec, const crypto::PrivateKey& key) {
  crypto::X509ReqPtr req(X509_REQ_new());
  BOOST_REQUIRE(req);
  auto name = crypto::parse_dn(spec.subject);
  BOOST_REQUIRE_MESSAGE(name, "bad test subject " + spec.subject);
  BOOST_REQUIRE(X509_REQ_set_version(req.get(), 0) == 1);
  BOOST_REQUIRE(X509_REQ_set_subject_name(req.get(), name->get()) == 1);
  BOOST_REQUIRE(X509_REQ_set_pubkey(req.get(), key.native()) == 1);
  if (spec.challenge) {
    std::string v = spec.challenge_type == V_ASN1_BMPSTRING ? detail::bmp(*spec.challenge) : *spec.challenge;
    BOOST_REQUIRE(X509_REQ_add1_attr_by_NID(req.get(), NID_pkcs9_challengePassword, spec.challenge_type,
                                            reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size())) == 1);
  }
  if (!spec.sans.empty() || !spec.extensions.empty()) {
    crypto::OsslPtr<STACK_OF(X509_EXTENSION), detail::free_exts> exts(sk_X509_EXTENSION_new_null());
    if (!spec.sans.empty()) {
      GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
      for (const auto& s : spec.sans) sk_GENERAL_NAME_push(names, detail::general_name(s));
      STACK_OF(X509_EXTENSION)* raw = exts.get();
      BOOST_REQUIRE(X509V3_add1_i2d(&raw, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1);
      GENERAL_NAMES_free(names);
    }
    for (const auto& e : spec.extensions) {
      crypto::Asn1ObjectPtr obj(OBJ_txt2obj(e.oid.c_str(), 1));
      crypto::OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
      ASN1_OCTET_STRING_set(value.get(), e.value.data(), static_cast<int>(e.value.size()));
      X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), e.critical ? 1 : 0, value.get());
      BOOST_REQUIRE(ext);
      sk_X509_EXTENSION_push(exts.get(), ext);
    }
    BOOST_REQUIRE(X509_REQ_add_extensions(req.get(), exts.get()) == 1);
  }
  if (spec.padding == crypto::SignaturePadding::pss) {
    crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    BOOST_REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, crypto::evp_md(spec.digest), nullptr, key.native()) == 1);
    BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
    BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
    BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, crypto::evp_md(spec.mgf1_digest.value_or(spec.digest))) > 0);
    BOOST_REQUIRE(X509_REQ_sign_ctx(req.get(), ctx.get()) > 0);
  } else {
    BOOST_REQUIRE(X509_REQ_sign(req.get(), key.native(), crypto::evp_md(spec.digest)) > 0);
  }
  unsigned char* buf = nullptr;
  int n = i2d_X509_REQ(req.get(), &buf);
  BOOST_REQUIRE(n > 0);
  core::Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

/// The same request with one bit of its signature flipped (the signature is the last field).
inline core::Bytes corrupt_last_byte(core::Bytes der) {
  der.back() ^= 0x01;
  return der;
}

/// A self-signed certificate on `key`, the way SCEP clients sign their first request.
inline crypto::Certificate self_signed(const crypto::PrivateKey& key, const std::string& subject = "CN=SCEP SIGNER") {
  crypto::CertSpec spec;
  auto der = crypto::subject_der_from_text(subject);
  BOOST_REQUIRE(der);
  spec.subject = *der;
  spec.serial = {0x01, 0x23, 0x45, 0x67};
  auto now = std::chrono::system_clock::now();
  spec.not_before = now - std::chrono::hours(1);
  spec.not_after = now + std::chrono::days(2);
  spec.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
  auto cert = crypto::build_certificate(spec, key.public_key(), nullptr, key);
  BOOST_REQUIRE_MESSAGE(cert, (cert ? "" : cert.error().detail));
  return *cert;
}

/// One 1024-bit RSA key per process: too small for the default policy.
inline const crypto::PrivateKey& small_rsa_key() {
  static const crypto::PrivateKey key = [] {
    auto k = crypto::PrivateKey::generate_rsa(1024);
    if (!k) throw std::runtime_error(k.error().detail);
    return std::move(*k);
  }();
  return key;
}

}  // namespace enroll_test
