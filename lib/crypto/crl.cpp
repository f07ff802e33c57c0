#include "crypto/crl.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/der.hpp"
#include "crypto/name.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

namespace {

constexpr std::array<std::pair<RevocationReason, std::string_view>, 9> reasons{{
    {RevocationReason::unspecified, "unspecified"},
    {RevocationReason::key_compromise, "keyCompromise"},
    {RevocationReason::ca_compromise, "cACompromise"},
    {RevocationReason::affiliation_changed, "affiliationChanged"},
    {RevocationReason::superseded, "superseded"},
    {RevocationReason::cessation_of_operation, "cessationOfOperation"},
    {RevocationReason::certificate_hold, "certificateHold"},
    {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
    {RevocationReason::aa_compromise, "aACompromise"},
}};

core::Result<void> add_entry(X509_CRL* crl, const RevokedEntry& e) {
  OsslPtr<X509_REVOKED, X509_REVOKED_free> rev(X509_REVOKED_new());
  Asn1IntegerPtr serial = integer_from_hex(e.serial_hex);
  if (!serial)
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a hex serial number", e.serial_hex));
  Asn1TimePtr when(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(e.time)));
  if (!rev || !when || X509_REVOKED_set_serialNumber(rev.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(rev.get(), when.get()) != 1)
    return ossl_fail(Errc::internal, "building a CRL entry");
  if (e.reason != RevocationReason::unspecified) {
    OsslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free> code(ASN1_ENUMERATED_new());
    if (!code || ASN1_ENUMERATED_set(code.get(), static_cast<long>(e.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(rev.get(), NID_crl_reason, code.get(), 0, 0) != 1)
      return ossl_fail(Errc::internal, "adding a CRL reason code");
  }
  if (X509_CRL_add0_revoked(crl, rev.get()) != 1) return ossl_fail(Errc::internal, "adding a CRL entry");
  rev.release();
  return {};
}

}  // namespace

std::string_view reason_name(RevocationReason r) {
  for (const auto& [value, name] : reasons)
    if (value == r) return name;
  return "unspecified";
}

std::optional<RevocationReason> parse_reason(std::string_view name) {
  for (const auto& [value, known] : reasons)
    if (known == name) return value;
  return std::nullopt;
}

std::vector<std::string_view> reason_names() {
  std::vector<std::string_view> out;
  for (const auto& entry : reasons) out.push_back(entry.second);
  return out;
}

core::Result<core::Bytes> build_crl(const CrlSpec& spec, const Certificate& issuer, const PrivateKey& key) {
  X509CrlPtr crl(X509_CRL_new());
  Asn1TimePtr last(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(spec.this_update)));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(spec.next_update)));
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.native())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
    return ossl_fail(Errc::internal, "building a CRL");
  for (const auto& e : spec.revoked) SCEP_TRY(add_entry(crl.get(), e));

  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_uint64(number.get(), spec.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    return ossl_fail(Errc::internal, "adding the CRL number");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.native(), nullptr, nullptr, crl.get(), 0);
  X509ExtPtr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
    return ossl_fail(Errc::internal, "adding the CRL authority key identifier");

  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), key.native(), evp_md(spec.digest)) <= 0)
    return ossl_fail(Errc::internal, "signing the CRL");
  core::Bytes out = to_der(i2d_X509_CRL, crl.get());
  if (out.empty()) return ossl_fail(Errc::internal, "encoding the CRL");
  return out;
}

core::Result<Crl> Crl::parse(core::ByteView data) {
  X509CrlPtr crl;
  if (looks_like_pem(data)) {
    BioPtr bio = memory_bio(data);
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = data.data();
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size())));
    if (crl && p != data.data() + data.size()) crl.reset();
  }
  if (!crl) {
    clear_ossl_errors();
    return core::fail(Errc::invalid_argument, "not a CRL");
  }
  return Crl(std::move(crl));
}

core::Bytes Crl::der() const { return to_der(i2d_X509_CRL, m_crl.get()); }

std::string Crl::pem() const { return pem_encode("X509 CRL", der()); }

std::string Crl::issuer() const { return format_dn(X509_CRL_get_issuer(m_crl.get())); }

std::uint64_t Crl::number() const {
  Asn1IntegerPtr n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(m_crl.get(), NID_crl_number, nullptr, nullptr)));
  std::uint64_t v = 0;
  if (!n || ASN1_INTEGER_get_uint64(&v, n.get()) != 1) v = 0;
  clear_ossl_errors();
  return v;
}

core::TimePoint Crl::this_update() const { return to_time_point(X509_CRL_get0_lastUpdate(m_crl.get())); }

core::TimePoint Crl::next_update() const {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(m_crl.get());
  return t ? to_time_point(t) : core::TimePoint{};
}

std::vector<RevokedEntry> Crl::revoked() const {
  std::vector<RevokedEntry> out;
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(m_crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    const X509_REVOKED* rev = sk_X509_REVOKED_value(entries, i);
    RevokedEntry e{integer_to_hex(X509_REVOKED_get0_serialNumber(rev)),
                   to_time_point(X509_REVOKED_get0_revocationDate(rev)), RevocationReason::unspecified};
    OsslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free> code(
        static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, nullptr, nullptr)));
    if (code) e.reason = static_cast<RevocationReason>(ASN1_ENUMERATED_get(code.get()));
    out.push_back(std::move(e));
  }
  clear_ossl_errors();
  return out;
}

std::vector<std::string> Crl::revoked_serials() const {
  std::vector<std::string> out;
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(m_crl.get());
  out.reserve(static_cast<std::size_t>(std::max(0, sk_X509_REVOKED_num(entries))));
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i)
    out.push_back(integer_to_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i))));
  return out;
}

bool Crl::verify(const Certificate& issuer) const {
  bool ok = X509_NAME_cmp(X509_CRL_get_issuer(m_crl.get()), X509_get_subject_name(issuer.native())) == 0 &&
            X509_CRL_verify(m_crl.get(), X509_get0_pubkey(issuer.native())) == 1;
  clear_ossl_errors();
  return ok;
}

}  // namespace crypto
