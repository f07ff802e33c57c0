#include "support/request_builder.hpp"

#include "crypto/der.hpp"

#include <chrono>

#include <openssl/cms.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crypto/cert_builder.hpp"
#include "crypto/name.hpp"
#include "crypto/ossl_error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace testing {

using core::Errc;

namespace {

/// The test builders fail only on a mistake in the test itself.
std::unexpected<core::Error> broken(std::string_view what) { return crypto::ossl_fail(Errc::internal, what); }

core::Result<core::Bytes> cms_der(CMS_ContentInfo* cms) {
  core::Bytes out = crypto::to_der(i2d_CMS_ContentInfo, cms);
  if (out.empty()) return broken("i2d_CMS_ContentInfo");
  return out;
}

using GeneralNamePtr = crypto::OsslPtr<GENERAL_NAME, GENERAL_NAME_free>;

GENERAL_NAME* ia5_name(int type, const std::string& value) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
  GENERAL_NAME_set0_value(gn, type, s);
  return gn;
}

/// One SAN written "KIND:value" (CsrSpec::sans); null when it cannot be made.
GeneralNamePtr general_name(const std::string& san) {
  auto colon = san.find(':');
  if (colon == std::string::npos) return nullptr;
  std::string kind = san.substr(0, colon), value = san.substr(colon + 1);
  GeneralNamePtr gn(GENERAL_NAME_new());
  if (kind == "IP") {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
    if (!ip) return nullptr;
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip);
  } else if (kind == "dirName") {
    auto dn = crypto::parse_dn(value);
    if (!dn) return nullptr;
    GENERAL_NAME_set0_value(gn.get(), GEN_DIRNAME, dn->release());
  } else if (kind == "RID") {
    ASN1_OBJECT* oid = OBJ_txt2obj(value.c_str(), 1);
    if (!oid) return nullptr;
    GENERAL_NAME_set0_value(gn.get(), GEN_RID, oid);
  } else if (kind == "otherName") {
    ASN1_TYPE* v = ASN1_TYPE_new();
    ASN1_UTF8STRING* s = ASN1_UTF8STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
    if (GENERAL_NAME_set0_othername(gn.get(), OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1), v) != 1) return nullptr;
  } else {
    int type = kind == "DNS" ? GEN_DNS : kind == "email" ? GEN_EMAIL : kind == "URI" ? GEN_URI : -1;
    if (type < 0) return nullptr;
    gn.reset(ia5_name(type, value));
  }
  return gn;
}

void free_exts(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
using ExtStackPtr = crypto::OsslPtr<STACK_OF(X509_EXTENSION), free_exts>;

core::Result<void> add_sans(STACK_OF(X509_EXTENSION) * exts, const std::vector<std::string>& sans) {
  crypto::OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free> names(sk_GENERAL_NAME_new_null());
  for (const auto& s : sans) {
    GeneralNamePtr gn = general_name(s);
    if (!gn) return core::fail(Errc::invalid_argument, "unsupported SAN in test: " + s);
    sk_GENERAL_NAME_push(names.get(), gn.release());
  }
  if (X509V3_add1_i2d(&exts, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return broken("X509V3_add1_i2d(subjectAltName)");
  return {};
}

core::Result<void> add_raw(STACK_OF(X509_EXTENSION) * exts, const crypto::RawExtension& e) {
  crypto::Asn1ObjectPtr obj(OBJ_txt2obj(e.oid.c_str(), 1));
  crypto::OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
  if (!obj || !value) return core::fail(Errc::invalid_argument, "bad extension OID in test: " + e.oid);
  ASN1_OCTET_STRING_set(value.get(), e.value.data(), static_cast<int>(e.value.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), e.critical ? 1 : 0, value.get());
  if (!ext) return broken("X509_EXTENSION_create_by_OBJ");
  sk_X509_EXTENSION_push(exts, ext);
  return {};
}

core::Result<void> add_extensions(X509_REQ* req, const CsrSpec& spec) {
  if (spec.sans.empty() && spec.extensions.empty()) return {};
  ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!spec.sans.empty())
    if (auto ok = add_sans(exts.get(), spec.sans); !ok) return ok;
  for (const auto& e : spec.extensions)
    if (auto ok = add_raw(exts.get(), e); !ok) return ok;
  if (X509_REQ_add_extensions(req, exts.get()) != 1) return broken("X509_REQ_add_extensions");
  return {};
}

std::string bmp(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    out += '\0';
    out += c;
  }
  return out;
}

core::Result<void> add_challenge(X509_REQ* req, const CsrSpec& spec) {
  if (!spec.challenge) return {};
  std::string v = spec.challenge_type == V_ASN1_BMPSTRING ? bmp(*spec.challenge) : *spec.challenge;
  if (X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, spec.challenge_type,
                                reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size())) != 1)
    return broken("X509_REQ_add1_attr_by_NID(challengePassword)");
  return {};
}

core::Result<void> sign_csr(X509_REQ* req, const CsrSpec& spec, const crypto::PrivateKey& key) {
  if (spec.padding != crypto::SignaturePadding::pss) {
    if (X509_REQ_sign(req, key.native(), crypto::evp_md(spec.digest)) <= 0) return broken("X509_REQ_sign");
    return {};
  }
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestSignInit(ctx.get(), &pctx, crypto::evp_md(spec.digest), nullptr, key.native()) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, crypto::evp_md(spec.mgf1_digest.value_or(spec.digest))) > 0 &&
            X509_REQ_sign_ctx(req, ctx.get()) > 0;
  if (!ok) return broken("X509_REQ_sign_ctx (PSS)");
  return {};
}

core::Result<void> add_attribute(CMS_SignerInfo* si, const Attr& a) {
  crypto::Asn1ObjectPtr obj(OBJ_txt2obj(a.oid.c_str(), 1));
  if (!obj) return core::fail(Errc::invalid_argument, "bad attribute OID in test: " + a.oid);
  crypto::OsslPtr<X509_ATTRIBUTE, X509_ATTRIBUTE_free> attr(
      a.values.empty() ? X509_ATTRIBUTE_create_by_OBJ(nullptr, obj.get(), 0, nullptr, -1)
                       : X509_ATTRIBUTE_create_by_OBJ(nullptr, obj.get(), a.asn1_type, a.values[0].data(),
                                                      static_cast<int>(a.values[0].size())));
  if (!attr) return broken("X509_ATTRIBUTE_create_by_OBJ");
  for (std::size_t i = 1; i < a.values.size(); ++i)
    if (X509_ATTRIBUTE_set1_data(attr.get(), a.asn1_type, a.values[i].data(), static_cast<int>(a.values[i].size())) !=
        1)
      return broken("X509_ATTRIBUTE_set1_data");
  if (CMS_signed_add1_attr(si, attr.get()) != 1) return broken("CMS_signed_add1_attr");
  return {};
}

core::Result<void> add_signer(CMS_ContentInfo* cms, const SignerSpec& s, const SignOptions& opt) {
  int flags = CMS_BINARY | CMS_NOSMIMECAP | (s.include_cert ? 0 : CMS_NOCERTS) |
              (opt.no_signed_attributes ? CMS_NOATTR : 0) | (s.pss_mgf1 ? CMS_KEY_PARAM : 0);
  CMS_SignerInfo* si = CMS_add1_signer(cms, s.cert->native(), s.key->native(),
                                       opt.md ? opt.md : crypto::evp_md(s.digest), flags);
  if (!si) return broken("CMS_add1_signer");
  if (s.pss_mgf1) {
    EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, crypto::evp_md(*s.pss_mgf1)) <= 0)
      return broken("PSS parameters of a CMS signer");
  }
  for (const auto& a : s.attrs)
    if (auto ok = add_attribute(si, a); !ok) return ok;
  return {};
}

}  // namespace

core::Result<core::Bytes> build_csr(const CsrSpec& spec, const crypto::PrivateKey& key) {
  crypto::X509ReqPtr req(X509_REQ_new());
  auto name = spec.subject.empty() ? crypto::X509NamePtr(X509_NAME_new()) : crypto::parse_dn(spec.subject);
  if (!name || !*name) return core::fail(Errc::invalid_argument, "bad test subject " + spec.subject);
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_subject_name(req.get(), name->get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.native()) != 1)
    return broken("X509_REQ set-up");
  for (auto step : {add_challenge, add_extensions})
    if (auto ok = step(req.get(), spec); !ok) return std::unexpected(ok.error());
  if (auto ok = sign_csr(req.get(), spec, key); !ok) return std::unexpected(ok.error());
  core::Bytes out = crypto::to_der(i2d_X509_REQ, req.get());
  if (out.empty()) return broken("i2d_X509_REQ");
  return out;
}

core::Bytes corrupt_last_byte(core::Bytes der) {
  if (!der.empty()) der.back() ^= 0x01;
  return der;
}

core::Result<crypto::Certificate> build_self_signed(const crypto::PrivateKey& key, std::string_view subject,
                                                    core::TimePoint now, core::Bytes serial) {
  crypto::CertSpec spec;
  auto der = crypto::subject_der_from_text(subject);
  if (!der) return std::unexpected(der.error());
  spec.subject = *der;
  spec.serial = std::move(serial);
  spec.not_before = now - std::chrono::hours(1);
  spec.not_after = now + std::chrono::days(2);
  spec.key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
  return crypto::build_certificate(spec, key.public_key(), nullptr, key);
}

core::Bytes nonce_of(std::size_t n, std::uint8_t first) {
  core::Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
  return b;
}

core::Result<core::Bytes> build_message(core::ByteView message_data, const MessageSpec& spec,
                                        const crypto::Certificate& recipient, const crypto::Certificate& signer,
                                        const crypto::PrivateKey& key) {
  scep::RequestSpec rs;
  rs.type = spec.type;
  rs.transaction_id = spec.transaction_id;
  rs.sender_nonce = spec.sender_nonce;
  rs.message_data.assign(message_data.begin(), message_data.end());
  rs.digest = spec.digest;
  rs.padding = spec.padding;
  rs.cipher = spec.cipher;
  rs.key_transport = spec.key_transport;
  return scep::build_request(rs, recipient, signer, key);
}

Attr printable(std::string_view oid, std::string_view text) {
  return {std::string(oid), V_ASN1_PRINTABLESTRING, {core::to_bytes(text)}};
}
Attr octets(std::string_view oid, core::Bytes value) {
  return {std::string(oid), V_ASN1_OCTET_STRING, {std::move(value)}};
}
std::vector<Attr> scep_attrs(std::string_view type, std::string_view tid, core::Bytes nonce) {
  return {printable(scep::oid::message_type, type), printable(scep::oid::transaction_id, tid),
          octets(scep::oid::sender_nonce, std::move(nonce))};
}

SignOptions SignOptions::econtent(const char* type) {
  SignOptions o;
  o.econtent_type = type;
  return o;
}
SignOptions SignOptions::without_signed_attributes() {
  SignOptions o;
  o.no_signed_attributes = true;
  return o;
}
SignOptions SignOptions::with_certs(std::vector<const crypto::Certificate*> certs) {
  SignOptions o;
  o.extra_certs = std::move(certs);
  return o;
}
SignOptions SignOptions::digest(const EVP_MD* md) {
  SignOptions o;
  o.md = md;
  return o;
}

core::Result<core::Bytes> sign_raw(core::ByteView content, const std::vector<SignerSpec>& signers,
                                   const SignOptions& opt) {
  crypto::CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP));
  if (!cms) return broken("CMS_sign");
  if (opt.econtent_type) {
    crypto::Asn1ObjectPtr type(OBJ_txt2obj(opt.econtent_type, 1));
    if (!type || CMS_set1_eContentType(cms.get(), type.get()) != 1) return broken("CMS_set1_eContentType");
  }
  for (const auto* c : opt.extra_certs)
    if (CMS_add1_cert(cms.get(), c->native()) != 1) return broken("CMS_add1_cert");
  for (const auto& s : signers)
    if (auto ok = add_signer(cms.get(), s, opt); !ok) return std::unexpected(ok.error());
  static const unsigned char empty = 0;
  crypto::BioPtr in(BIO_new_mem_buf(content.empty() ? &empty : content.data(), static_cast<int>(content.size())));
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1) return broken("CMS_final");
  return cms_der(cms.get());
}

}  // namespace testing
