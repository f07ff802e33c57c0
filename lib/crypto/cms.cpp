#include "crypto/cms.hpp"

#include <mutex>

#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "crypto/csr.hpp"
#include "crypto/der.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

const SignedAttribute* SignedDataInfo::attribute(std::string_view oid) const {
  for (const auto& a : attributes)
    if (a.oid == oid) return &a;
  return nullptr;
}

namespace {

StringType string_type(int asn1_type) {
  switch (asn1_type) {
    case V_ASN1_PRINTABLESTRING: return StringType::printable;
    case V_ASN1_UTF8STRING: return StringType::utf8;
    case V_ASN1_IA5STRING: return StringType::ia5;
    case V_ASN1_OCTET_STRING: return StringType::octet;
    default: return StringType::other;
  }
}

int asn1_type(StringType t) {
  switch (t) {
    case StringType::printable: return V_ASN1_PRINTABLESTRING;
    case StringType::utf8: return V_ASN1_UTF8STRING;
    case StringType::ia5: return V_ASN1_IA5STRING;
    case StringType::octet: return V_ASN1_OCTET_STRING;
    case StringType::other: return V_ASN1_OCTET_STRING;
  }
  return V_ASN1_OCTET_STRING;
}

core::Result<CmsPtr> parse_cms(core::ByteView der, int expected_type, std::string_view what) {
  const unsigned char* p = der.data();
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) return ossl_fail(Errc::malformed_request, std::string("not a CMS ") + std::string(what));
  if (p != der.data() + der.size())
    return core::fail(Errc::malformed_request, std::string("trailing bytes after ") + std::string(what));
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != expected_type)
    return core::fail(Errc::malformed_request, std::string("wrong content type for ") + std::string(what));
  return cms;
}

std::vector<SignedAttribute> read_attributes(CMS_SignerInfo* si) {
  std::vector<SignedAttribute> out;
  for (int i = 0; i < CMS_signed_get_attr_count(si); ++i) {
    X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, i);
    SignedAttribute a;
    a.oid = oid_text(X509_ATTRIBUTE_get0_object(attr));
    a.values = static_cast<std::size_t>(X509_ATTRIBUTE_count(attr));
    ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, 0);
    if (t) {
      a.type = string_type(t->type);
      if (a.type != StringType::other) {
        const ASN1_STRING* s = t->value.asn1_string;
        a.value.assign(s->data, s->data + s->length);
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<ContentCipher> cipher_from_nid(int nid) {
  switch (nid) {
    case NID_des_cbc: return ContentCipher::des_cbc;
    case NID_des_ede3_cbc: return ContentCipher::des3_cbc;
    case NID_aes_128_cbc: return ContentCipher::aes128_cbc;
    case NID_aes_192_cbc: return ContentCipher::aes192_cbc;
    case NID_aes_256_cbc: return ContentCipher::aes256_cbc;
    default: return std::nullopt;
  }
}

/// A cursor over BER: definite or indefinite lengths, bounded nesting.
struct Ber {
  const unsigned char* p;
  long len;

  /// Header of the next element; false on malformed input.
  bool header(const unsigned char*& content, long& content_len, int& tag, int& cls, bool& indefinite) const {
    const unsigned char* q = p;
    int r = ASN1_get_object(&q, &content_len, &tag, &cls, len);
    if (r & 0x80) return false;
    indefinite = (r & 0x01) != 0;
    content = q;
    if (indefinite) content_len = len - (q - p);
    return content_len >= 0 && content_len <= len - (q - p);
  }
  /// Steps over the next element.
  bool skip(int depth = 0) {
    const unsigned char* c;
    long clen;
    int tag, cls;
    bool inf;
    if (depth > 32 || !header(c, clen, tag, cls, inf)) return false;
    if (!inf) {
      len -= (c + clen) - p;
      p = c + clen;
      return true;
    }
    Ber inner{c, clen};
    while (!(inner.len >= 2 && inner.p[0] == 0 && inner.p[1] == 0))
      if (!inner.skip(depth + 1)) return false;
    len -= (inner.p + 2) - p;
    p = inner.p + 2;
    return true;
  }
  /// The contents of the next element, to walk into.
  bool enter(Ber& inner) const {
    const unsigned char* c;
    long clen;
    int tag, cls;
    bool inf;
    if (!header(c, clen, tag, cls, inf)) return false;
    inner = Ber{c, clen};
    return true;
  }
  bool next_is_context0() const { return len > 0 && (p[0] & 0xdf) == 0x80; }
};

/// CMS has no getter for the content cipher, and d2i_PKCS7 refuses
/// subjectKeyIdentifier recipients, so walk to it:
/// ContentInfo{oid, [0]{EnvelopedData{version, [0] originatorInfo?, SET ris,
/// encryptedContentInfo{oid, AlgorithmIdentifier, ...}}}}.
std::optional<ContentCipher> envelope_cipher(core::ByteView der) {
  Ber top{der.data(), static_cast<long>(der.size())}, ci{}, wrap{}, env{}, eci{};
  if (!top.enter(ci) || !ci.skip() || !ci.enter(wrap) || !wrap.enter(env) || !env.skip()) return std::nullopt;
  if (env.next_is_context0() && !env.skip()) return std::nullopt;
  if (!env.skip() || !env.enter(eci) || !eci.skip()) return std::nullopt;
  const unsigned char* q = eci.p;
  OsslPtr<X509_ALGOR, X509_ALGOR_free> alg(d2i_X509_ALGOR(nullptr, &q, eci.len));
  clear_ossl_errors();
  if (!alg) return std::nullopt;
  return cipher_from_nid(OBJ_obj2nid(alg->algorithm));
}

using EvpCipherPtr = OsslPtr<EVP_CIPHER, EVP_CIPHER_free>;

}  // namespace

std::string_view cipher_name(ContentCipher c) {
  switch (c) {
    case ContentCipher::des_cbc: return "DES-CBC";
    case ContentCipher::des3_cbc: return "DES-EDE3-CBC";
    case ContentCipher::aes128_cbc: return "AES-128-CBC";
    case ContentCipher::aes192_cbc: return "AES-192-CBC";
    case ContentCipher::aes256_cbc: return "AES-256-CBC";
  }
  return "AES-128-CBC";
}

core::Result<SignedDataInfo> parse_signed_data(core::ByteView der) {
  SCEP_TRY_ASSIGN(auto cms, parse_cms(der, NID_pkcs7_signed, "SignedData"));
  CMS_ContentInfo* c = cms.get();
  if (OBJ_obj2nid(CMS_get0_eContentType(c)) != NID_pkcs7_data)
    return core::fail(Errc::malformed_request, "SignedData content is not id-data");
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(c);
  if (sk_CMS_SignerInfo_num(sis) != 1)
    return core::fail(Errc::malformed_request, "SignedData must have exactly one signer");
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, 0);
  if (CMS_signed_get_attr_count(si) <= 0)
    return core::fail(Errc::malformed_request, "SignerInfo has no signed attributes");
  ASN1_OCTET_STRING** content = CMS_get0_content(c);
  if (!content || !*content) return core::fail(Errc::malformed_request, "SignedData has no content");

  SignedDataInfo info;
  info.content.assign((*content)->data, (*content)->data + (*content)->length);
  info.attributes = read_attributes(si);
  X509_ALGOR* dig = nullptr;
  X509_ALGOR* sig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, &sig);
  if (dig) {
    info.digest_oid = oid_text(dig->algorithm);
    info.digest = digest_from_nid(OBJ_obj2nid(dig->algorithm));
  }
  info.signature = signature_scheme(sig);
  X509StackPtr certs(CMS_get1_certs(c));
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    X509* x = sk_X509_value(certs.get(), i);
    if (CMS_SignerInfo_cert_cmp(si, x) == 0) {
      info.signer.emplace(new_ref(x));
      break;
    }
  }
  if (!info.signer) {  // nothing verifies, but the header can still be echoed in a signed FAILURE
    info.signature_error = "the signer certificate is not in the message";
    return info;
  }
  if (CMS_verify(c, nullptr, nullptr, nullptr, nullptr, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) == 1) {
    info.signature_valid = true;
  } else {
    info.signature_error = ossl_error(Errc::bad_message_check, "signature check failed").detail;
  }
  return info;
}

core::Result<Envelope> Envelope::parse(core::ByteView der) {
  SCEP_TRY_ASSIGN(auto cms, parse_cms(der, NID_pkcs7_enveloped, "EnvelopedData"));
  return Envelope(std::move(cms), envelope_cipher(der));
}

static CMS_RecipientInfo* find_recipient(CMS_ContentInfo* cms, X509* cert) {
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) return ri;
  }
  return nullptr;
}

std::optional<std::size_t> Envelope::recipient_index(const std::vector<Certificate>& candidates) const {
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (find_recipient(m_cms.get(), candidates[i].native())) return i;
  return std::nullopt;
}

KeyTransport Envelope::key_transport(const Certificate& cert) const {
  KeyTransport kt;
  CMS_RecipientInfo* ri = find_recipient(m_cms.get(), cert.native());
  X509_ALGOR* alg = nullptr;
  if (!ri || CMS_RecipientInfo_ktri_get0_algs(ri, nullptr, nullptr, &alg) != 1 || !alg) return kt;
  if (OBJ_obj2nid(alg->algorithm) != NID_rsaesOaep) return kt;
  kt.oaep = true;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(nullptr, &ptype, &pval, alg);
  if (ptype == V_ASN1_SEQUENCE) {
    const ASN1_STRING* seq = static_cast<const ASN1_STRING*>(pval);
    const unsigned char* p = seq->data;
    RsaOaepParamsPtr params(d2i_RSA_OAEP_PARAMS(nullptr, &p, seq->length));
    if (params && params->hashFunc) {
      if (auto d = digest_from_nid(OBJ_obj2nid(params->hashFunc->algorithm))) kt.oaep_digest = *d;
    }
  }
  clear_ossl_errors();
  return kt;
}

core::Result<core::Bytes> Envelope::decrypt(const Certificate& cert, const PrivateKey& key) const {
  BioPtr out = new_memory_bio();
  if (CMS_decrypt(m_cms.get(), key.native(), cert.native(), nullptr, out.get(), CMS_BINARY) != 1)
    return ossl_fail(Errc::decrypt_failed, "cannot decrypt the envelope");
  return bio_contents(out.get());
}

bool can_encrypt_to(const Certificate& recipient) {
  int id = EVP_PKEY_get_base_id(X509_get0_pubkey(recipient.native()));
  return id == EVP_PKEY_RSA || id == EVP_PKEY_EC;
}

core::Result<core::Bytes> make_envelope(core::ByteView content, const Certificate& recipient, ContentCipher cipher,
                                        const KeyTransport& kt) {
  EvpCipherPtr evp(EVP_CIPHER_fetch(nullptr, std::string(cipher_name(cipher)).c_str(), nullptr));
  if (!evp) return ossl_fail(Errc::unsupported_algorithm, std::string(cipher_name(cipher)) + " is not available");
  CmsPtr cms(CMS_encrypt(nullptr, nullptr, evp.get(), CMS_BINARY | CMS_PARTIAL));
  if (!cms) return ossl_fail(Errc::internal, "creating EnvelopedData");
  CMS_RecipientInfo* ri = CMS_add1_recipient_cert(cms.get(), recipient.native(), kt.oaep ? CMS_KEY_PARAM : 0);
  if (!ri) return ossl_fail(Errc::internal, "adding recipient");
  if (kt.oaep) {
    EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx, evp_md(kt.oaep_digest)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, evp_md(kt.oaep_digest)) <= 0)
      return ossl_fail(Errc::internal, "setting RSA-OAEP");
  }
  static const unsigned char empty = 0;
  BioPtr in(BIO_new_mem_buf(content.empty() ? &empty : content.data(), static_cast<int>(content.size())));
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1) return ossl_fail(Errc::internal, "encrypting");
  return to_der(i2d_CMS_ContentInfo, cms.get());
}

core::Result<core::Bytes> make_signed_data(core::ByteView content, const Certificate& signer, const PrivateKey& key,
                                           DigestAlg digest, const std::vector<SignedAttribute>& attributes,
                                           const std::vector<Certificate>& extra_certs, SignaturePadding padding) {
  const int flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
  const bool pss = padding == SignaturePadding::pss;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return ossl_fail(Errc::internal, "creating SignedData");
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer.native(), key.native(), evp_md(digest),
                                       CMS_BINARY | CMS_NOSMIMECAP | (pss ? CMS_KEY_PARAM : 0));
  if (!si)
    return ossl_fail(Errc::unsupported_algorithm, std::string("cannot sign with ") + std::string(digest_name(digest)));
  if (pss) {
    // OpenSSL writes the RSASSA-PSS parameters from these when it signs.
    EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
    if (!pctx || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, evp_md(digest)) <= 0)
      return ossl_fail(Errc::unsupported_algorithm, "cannot sign with RSASSA-PSS");
  }
  for (const auto& a : attributes) {
    Asn1ObjectPtr obj(OBJ_txt2obj(a.oid.c_str(), 1));
    if (!obj || CMS_signed_add1_attr_by_OBJ(si, obj.get(), asn1_type(a.type), a.value.data(),
                                            static_cast<int>(a.value.size())) != 1)
      return ossl_fail(Errc::internal, "adding attribute " + a.oid);
  }
  for (const auto& c : extra_certs)
    if (CMS_add1_cert(cms.get(), c.native()) != 1) return ossl_fail(Errc::internal, "adding certificate");
  static const unsigned char empty = 0;
  BioPtr in(BIO_new_mem_buf(content.empty() ? &empty : content.data(), static_cast<int>(content.size())));
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1) return ossl_fail(Errc::internal, "signing");
  return to_der(i2d_CMS_ContentInfo, cms.get());
}

void enable_legacy_algorithms() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Loading "legacy" alone would drop the implicit default provider.
    OSSL_PROVIDER_load(nullptr, "default");
    OSSL_PROVIDER_load(nullptr, "legacy");
    clear_ossl_errors();
  });
}

}  // namespace crypto
