#include "crypto/cert_builder.hpp"

#include <algorithm>

#include "crypto/der.hpp"
#include "crypto/key_type.hpp"
#include "crypto/name.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

core::Result<core::Bytes> subject_der_from_text(std::string_view text) {
  SCEP_TRY_ASSIGN(auto name, parse_dn(text));
  core::Bytes out = to_der(i2d_X509_NAME, name.get());
  if (out.empty()) return ossl_fail(Errc::internal, "encoding subject");
  return out;
}

core::Result<std::string> subject_text_from_der(core::ByteView der) {
  const unsigned char* p = der.data();
  X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (!name) return ossl_fail(Errc::malformed_request, "bad Name");
  return format_dn(name.get());
}

namespace {

std::string key_usage_text(unsigned mask) {
  std::string out = "critical";
  for (const auto& name : key_usage_names(mask)) out += "," + name;
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

core::Result<void> add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext)
    return ossl_fail(Errc::invalid_argument, std::string("bad ") + OBJ_nid2ln(nid) + " value \"" + value + "\"");
  if (X509_add_ext(cert, ext.get(), -1) != 1) return ossl_fail(Errc::internal, "adding extension");
  return {};
}

/// An extension from its DER value, as it is: no configuration syntax.
core::Result<void> add_der_ext(X509* cert, const RawExtension& raw) {
  Asn1ObjectPtr obj(OBJ_txt2obj(raw.oid.c_str(), 1));
  OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
  if (!obj || !value || ASN1_OCTET_STRING_set(value.get(), raw.value.data(), static_cast<int>(raw.value.size())) != 1)
    return ossl_fail(Errc::internal, "adding extension " + raw.oid);
  X509ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), raw.critical ? 1 : 0, value.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return ossl_fail(Errc::internal, "adding extension " + raw.oid);
  return {};
}

/// The names typed as they were read: never text for OpenSSL's
/// configuration parser, where "email:move" is a directive and ',' a separator.
/// Critical when the subject is empty (RFC 5280 §4.2.1.6).
core::Result<void> add_subject_alt_names(X509* cert, const std::vector<GeneralName>& names) {
  SCEP_TRY_ASSIGN(auto der, encode_general_names(names));
  bool critical = X509_NAME_entry_count(X509_get_subject_name(cert)) == 0;
  return add_der_ext(cert, {"2.5.29.17", critical, std::move(der)});
}

core::Result<void> set_validity(X509* cert, const CertSpec& spec) {
  Asn1TimePtr nb(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(spec.not_before)));
  Asn1TimePtr na(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(spec.not_after)));
  if (!nb || !na || X509_set1_notBefore(cert, nb.get()) != 1 || X509_set1_notAfter(cert, na.get()) != 1)
    return ossl_fail(Errc::internal, "setting validity");
  return {};
}

core::Result<void> add_extensions(X509* cert, const CertSpec& spec, X509* issuer_cert) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  core::Result<void> r = add_ext(cert, &ctx, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (r && spec.key_usage != 0) r = add_ext(cert, &ctx, NID_key_usage, key_usage_text(spec.key_usage));
  if (r && !spec.extended_key_usage.empty()) r = add_ext(cert, &ctx, NID_ext_key_usage, join(spec.extended_key_usage));
  if (r && !spec.subject_alt_names.empty()) r = add_subject_alt_names(cert, spec.subject_alt_names);
  for (const auto& raw : spec.copied_extensions) {
    if (!r) break;
    r = add_der_ext(cert, raw);
  }
  if (r) r = add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
  if (r) r = add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  return r;
}

}  // namespace

/// The subject key as the request carried it, copied: X509_set_pubkey
/// would encode the key again (~160 µs with OpenSSL 3.0's encoders).
static bool set_subject_key(X509* cert, const PublicKey& key) {
  const X509_PUBKEY* src = key.encoded();
  if (!src) return X509_set_pubkey(cert, key.native()) == 1;
  ASN1_OBJECT* alg_oid = nullptr;
  const unsigned char* bits = nullptr;
  int bits_len = 0;
  X509_ALGOR* alg = nullptr;
  if (X509_PUBKEY_get0_param(&alg_oid, &bits, &bits_len, &alg, src) != 1 || alg == nullptr) return false;
  const ASN1_OBJECT* oid = nullptr;
  int ptype = V_ASN1_UNDEF;
  const void* pval = nullptr;
  X509_ALGOR_get0(&oid, &ptype, &pval, alg);
  Asn1ObjectPtr param_oid;  // the parameters: an OID (EC named curve),
  Asn1StringPtr param_seq;  // a SEQUENCE (RSASSA-PSS), or nothing
  if (ptype == V_ASN1_OBJECT) param_oid.reset(OBJ_dup(static_cast<const ASN1_OBJECT*>(pval)));
  else if (ptype == V_ASN1_SEQUENCE) param_seq.reset(ASN1_STRING_dup(static_cast<const ASN1_STRING*>(pval)));
  else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) return X509_set_pubkey(cert, key.native()) == 1;
  void* param = param_oid ? static_cast<void*>(param_oid.get()) : static_cast<void*>(param_seq.get());
  Asn1ObjectPtr oid_copy(OBJ_dup(oid));
  OsslBytesPtr bits_copy(static_cast<unsigned char*>(OPENSSL_memdup(bits, static_cast<std::size_t>(bits_len))));
  bool copied = oid_copy && bits_copy && ((ptype != V_ASN1_OBJECT && ptype != V_ASN1_SEQUENCE) || param);
  if (!copied ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), oid_copy.get(), ptype, param, bits_copy.get(), bits_len) != 1)
    return false;
  // The certificate's key owns the copies now.
  (void)oid_copy.release();
  (void)bits_copy.release();
  (void)param_oid.release();
  (void)param_seq.release();
  return true;
}

core::Result<Certificate> build_certificate(const CertSpec& spec, const PublicKey& subject_key,
                                            const Certificate* issuer, const PrivateKey& signing_key) {
  if (spec.serial.empty() || (spec.serial[0] & 0x80) ||
      std::all_of(spec.serial.begin(), spec.serial.end(), [](auto b) { return b == 0; }))
    return core::fail(Errc::internal, "serial must be positive");
  X509Ptr cert(X509_new());
  const unsigned char* p = spec.subject.data();
  X509NamePtr subject(d2i_X509_NAME(nullptr, &p, static_cast<long>(spec.subject.size())));
  if (!subject) return ossl_fail(Errc::malformed_request, "bad subject Name");
  BignumPtr bn(BN_bin2bn(spec.serial.data(), static_cast<int>(spec.serial.size()), nullptr));
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  X509* issuer_cert = issuer ? issuer->native() : cert.get();
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer->native()) : subject.get()) != 1 ||
      !set_subject_key(cert.get(), subject_key))
    return ossl_fail(Errc::internal, "filling certificate");
  SCEP_TRY(set_validity(cert.get(), spec));
  SCEP_TRY(add_extensions(cert.get(), spec, issuer_cert));
  if (X509_sign(cert.get(), signing_key.native(), evp_md(signing_digest(signing_key))) <= 0)
    return ossl_fail(Errc::internal, "signing certificate");
  return Certificate(std::move(cert));
}

core::Bytes random_serial(core::Rng& rng, std::size_t bytes) {
  core::Bytes serial(bytes);
  do {
    rng.fill(serial);
    serial[0] &= 0x7f;
  } while (serial[0] == 0);  // keep the full length: no leading zero octet, never zero
  return serial;
}

}  // namespace crypto
