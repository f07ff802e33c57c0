#include "crypto/csr.hpp"

#include <openssl/pem.h>

#include "crypto/der.hpp"
#include "crypto/name.hpp"
#include "crypto/ossl_error.hpp"
#include "crypto/signature_scheme.hpp"

namespace crypto {

using core::Errc;

std::string oid_text(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return n > 0 ? std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1)) : std::string();
}

bool is_known_object(std::string_view name) {
  if (name.empty()) return false;
  Asn1ObjectPtr obj(OBJ_txt2obj(std::string(name).c_str(), 0));
  clear_ossl_errors();
  return obj != nullptr;
}

bool is_dotted_oid(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos) return false;
  Asn1ObjectPtr obj(OBJ_txt2obj(std::string(text).c_str(), 1));
  clear_ossl_errors();
  return obj != nullptr;
}

core::Result<Csr> Csr::load(core::ByteView data) {
  if (!looks_like_pem(data)) return from_der(data);
  BioPtr bio = memory_bio(data);
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return ossl_fail(Errc::invalid_argument, "no PEM certificate request found");
  core::Bytes der = to_der(i2d_X509_REQ, req.get());
  if (der.empty()) return ossl_fail(Errc::invalid_argument, "encoding request");
  return from_der(der);  // one set of checks for both spellings
}

bool Csr::signature_valid() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(m_req.get());
  bool ok = key != nullptr && X509_REQ_verify(m_req.get(), key) == 1;
  clear_ossl_errors();
  return ok;
}

std::optional<DigestAlg> Csr::signature_digest() const {
  // RSASSA-PSS names its digest in the parameters, not in the OID.
  const X509_ALGOR* alg = nullptr;
  X509_REQ_get0_signature(m_req.get(), nullptr, &alg);
  return signature_scheme(alg).digest;
}

PublicKey Csr::public_key() const {
  return PublicKey(EvpPkeyPtr(X509_REQ_get_pubkey(m_req.get())), X509_REQ_get_X509_PUBKEY(m_req.get()));
}

core::Bytes Csr::subject_der() const { return to_der(i2d_X509_NAME, X509_REQ_get_subject_name(m_req.get())); }

std::string Csr::subject() const { return format_dn(X509_REQ_get_subject_name(m_req.get())); }

static std::string asn1_string_utf8(const ASN1_STRING* s) {
  unsigned char* raw = nullptr;
  int n = ASN1_STRING_to_UTF8(&raw, s);
  OsslBytesPtr utf8(raw);
  if (n < 0) return {};
  return std::string(reinterpret_cast<const char*>(utf8.get()), static_cast<std::size_t>(n));
}

std::vector<std::string> Csr::subject_values(std::string_view short_name) const {
  std::vector<std::string> out;
  int nid = OBJ_sn2nid(std::string(short_name).c_str());
  if (nid == NID_undef) return out;
  const X509_NAME* name = X509_REQ_get_subject_name(m_req.get());
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0; i = X509_NAME_get_index_by_NID(name, nid, i))
    out.push_back(asn1_string_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))));
  return out;
}

std::vector<std::string> Csr::subject_attribute_types() const {
  std::vector<std::string> out;
  const X509_NAME* name = X509_REQ_get_subject_name(m_req.get());
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const ASN1_OBJECT* type = X509_NAME_ENTRY_get_object(X509_NAME_get_entry(name, i));
    int nid = OBJ_obj2nid(type);
    const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
    out.push_back(sn ? std::string(sn) : oid_text(type));
  }
  return out;
}

static std::optional<std::string> decode_challenge_password(X509_REQ* req) {
  int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
  if (idx < 0) return std::nullopt;
  X509_ATTRIBUTE* attr = X509_REQ_get_attr(req, idx);
  if (X509_ATTRIBUTE_count(attr) != 1) return std::nullopt;
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, 0);
  switch (value ? value->type : -1) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
    case V_ASN1_BMPSTRING:
    case V_ASN1_UNIVERSALSTRING: return asn1_string_utf8(value->value.asn1_string);
    default: return std::nullopt;
  }
}

/// X509_REQ_get_extensions knows PKCS#9 extensionRequest and the old Microsoft
/// OID; the Verisign one (2.16.840.1.113733.1.9.8) that sscep uses is read here.
static STACK_OF(X509_EXTENSION) * request_extensions(X509_REQ* req) {
  if (STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req)) return exts;
  clear_ossl_errors();
  Asn1ObjectPtr verisign(OBJ_txt2obj("2.16.840.1.113733.1.9.8", 1));
  int idx = X509_REQ_get_attr_by_OBJ(req, verisign.get(), -1);
  if (idx < 0) return nullptr;
  ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(req, idx), 0);
  if (!t || t->type != V_ASN1_SEQUENCE) return nullptr;
  const unsigned char* p = t->value.sequence->data;
  return reinterpret_cast<STACK_OF(X509_EXTENSION)*>(
      ASN1_item_d2i(nullptr, &p, t->value.sequence->length, ASN1_ITEM_rptr(X509_EXTENSIONS)));
}

static std::vector<RawExtension> decode_extensions(const STACK_OF(X509_EXTENSION) * exts) {
  std::vector<RawExtension> out;
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* e = sk_X509_EXTENSION_value(exts, i);
    const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(e);
    out.push_back({oid_text(X509_EXTENSION_get_object(e)), X509_EXTENSION_get_critical(e) != 0,
                   core::Bytes(v->data, v->data + v->length)});
  }
  return out;
}

static core::Result<std::vector<GeneralName>> decode_subject_alt_names(const STACK_OF(X509_EXTENSION) * exts) {
  int at = exts ? X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) : -1;
  if (at < 0) return std::vector<GeneralName>{};
  if (X509v3_get_ext_by_NID(exts, NID_subject_alt_name, at) >= 0)
    return core::fail(Errc::malformed_request, "the request has two subjectAltName extensions");
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(sk_X509_EXTENSION_value(exts, at));
  return decode_general_names(core::ByteView(v->data, static_cast<std::size_t>(v->length)));
}

core::Result<Csr> Csr::from_der(core::ByteView der) {
  const unsigned char* p = der.data();
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return ossl_fail(Errc::malformed_request, "not a PKCS#10 request");
  if (p != der.data() + der.size())
    return core::fail(Errc::malformed_request, "trailing bytes after the PKCS#10 request");
  if (!X509_REQ_get0_pubkey(req.get()))
    return ossl_fail(Errc::malformed_request, "the PKCS#10 public key cannot be decoded");
  X509ExtStackPtr requested(request_extensions(req.get()));
  clear_ossl_errors();
  return Csr(std::move(req), core::Bytes(der.begin(), der.end()), requested.get());
}

/// Everything the accessors return is decoded here, once: a CSR is an
/// immutable value and the extension request is not re-parsed per call.
Csr::Csr(X509ReqPtr req, core::Bytes der, const STACK_OF(X509_EXTENSION) * requested)
    : m_req(std::move(req)),
      m_der(std::move(der)),
      m_challenge_password(decode_challenge_password(m_req.get())),
      m_extensions(decode_extensions(requested)),
      m_subject_alt_names(decode_subject_alt_names(requested)) {}

}  // namespace crypto
