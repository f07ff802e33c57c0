#include "crypto/certificate.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "crypto/der.hpp"
#include "crypto/name.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

core::Result<Certificate> Certificate::from_der(core::ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return ossl_fail(Errc::malformed_request, "not a DER certificate");
  if (p != der.data() + der.size()) return core::fail(Errc::malformed_request, "trailing bytes after certificate");
  return Certificate(std::move(cert));
}

core::Result<std::vector<Certificate>> Certificate::load_all(core::ByteView data) {
  std::vector<Certificate> out;
  if (!looks_like_pem(data)) {
    auto cert = from_der(data);
    if (!cert) return core::fail(Errc::invalid_argument, "neither PEM nor a DER certificate");
    out.push_back(std::move(*cert));
    return out;
  }
  BioPtr bio = memory_bio(data);
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(X509Ptr(raw));
  // The loop ends on "no start line" at the end of the input; anything else
  // is a damaged certificate, which must not shorten a chain silently.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  clear_ossl_errors();
  if (!clean_end) return core::fail(Errc::invalid_argument, "a PEM certificate in the input is damaged");
  if (out.empty()) return core::fail(Errc::invalid_argument, "no PEM certificate found");
  return out;
}

core::Bytes Certificate::der() const { return to_der(i2d_X509, m_cert.get()); }

std::string Certificate::pem() const { return pem_encode("CERTIFICATE", der()); }
std::string Certificate::subject() const { return format_dn(X509_get_subject_name(m_cert.get())); }
core::Bytes Certificate::subject_der() const { return to_der(i2d_X509_NAME, X509_get_subject_name(m_cert.get())); }
std::string Certificate::issuer() const { return format_dn(X509_get_issuer_name(m_cert.get())); }

std::string Certificate::serial_hex() const { return integer_to_hex(X509_get0_serialNumber(m_cert.get())); }

std::string integer_to_hex(const ASN1_INTEGER* i) {
  BignumPtr bn(ASN1_INTEGER_to_BN(i, nullptr));
  OsslCharsPtr hex(bn ? BN_bn2hex(bn.get()) : nullptr);
  return hex ? std::string(hex.get()) : std::string();
}

Asn1IntegerPtr integer_from_hex(std::string_view hex) {
  std::string text(hex);
  if (text.empty() || text.size() > 128) return nullptr;
  BIGNUM* raw = nullptr;
  int read = BN_hex2bn(&raw, text.c_str());
  BignumPtr bn(raw);  // owned whether or not all of the text was read
  if (read != static_cast<int>(text.size())) return nullptr;
  return Asn1IntegerPtr(BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

core::TimePoint to_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

core::TimePoint Certificate::not_before() const { return to_time_point(X509_get0_notBefore(m_cert.get())); }
core::TimePoint Certificate::not_after() const { return to_time_point(X509_get0_notAfter(m_cert.get())); }

PublicKey Certificate::public_key() const {
  return PublicKey(EvpPkeyPtr(X509_get_pubkey(m_cert.get())), X509_get_X509_PUBKEY(m_cert.get()));
}

unsigned Certificate::key_usage() const {
  uint32_t ku = X509_get_key_usage(m_cert.get());
  if (ku == UINT32_MAX) return all_key_usages();  // no extension: every use allowed
  return key_usage_from_openssl(ku);
}

std::vector<std::string> Certificate::extended_key_usage() const {
  using EkuPtr = OsslPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
  EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(m_cert.get(), NID_ext_key_usage, nullptr, nullptr)));
  clear_ossl_errors();
  std::vector<std::string> out;
  if (!eku) return out;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const ASN1_OBJECT* obj = sk_ASN1_OBJECT_value(eku.get(), i);
    int nid = OBJ_obj2nid(obj);
    if (const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid)) {
      out.emplace_back(sn);
      continue;
    }
    char buf[128];
    int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
    out.emplace_back(n > 0 ? std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1))
                           : "?");
  }
  return out;
}

bool Certificate::is_ca() const { return X509_check_ca(m_cert.get()) != 0; }

bool Certificate::is_self_issued() const {
  return X509_NAME_cmp(X509_get_subject_name(m_cert.get()), X509_get_issuer_name(m_cert.get())) == 0;
}

bool Certificate::issued(const Certificate& child) const {
  if (X509_NAME_cmp(X509_get_subject_name(m_cert.get()), X509_get_issuer_name(child.native())) != 0) return false;
  EVP_PKEY* key = X509_get0_pubkey(m_cert.get());
  bool ok = key != nullptr && X509_verify(child.native(), key) == 1;
  clear_ossl_errors();
  return ok;
}

bool Certificate::matches(const PrivateKey& key) const {
  bool ok = X509_check_private_key(m_cert.get(), key.native()) == 1;
  clear_ossl_errors();
  return ok;
}

bool Certificate::operator==(const Certificate& other) const { return X509_cmp(m_cert.get(), other.m_cert.get()) == 0; }

std::string format_time(core::TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::optional<core::TimePoint> parse_time(std::string_view text) {
  if (text.size() != 20) return std::nullopt;
  std::string s(text);
  struct tm tm {};
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &n) != 6 ||
      n != 20)
    return std::nullopt;
  struct tm asked = tm;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t t = ::timegm(&tm);
  // timegm normalises (Feb 31 -> Mar 3): a time that does not read back is not one.
  if (t == static_cast<std::time_t>(-1) || tm.tm_year + 1900 != asked.tm_year || tm.tm_mon + 1 != asked.tm_mon ||
      tm.tm_mday != asked.tm_mday || tm.tm_hour != asked.tm_hour || tm.tm_min != asked.tm_min ||
      tm.tm_sec != asked.tm_sec)
    return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace crypto
