#include "crypto/pkcs7.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "crypto/der.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

bool der_set_order(core::ByteView a, core::ByteView b) {
  std::size_t common = std::min(a.size(), b.size());
  if (common > 0)
    if (int c = std::memcmp(a.data(), b.data(), common); c != 0) return c < 0;
  // Equal up to the shorter one, which counts as padded with zero octets.
  return std::any_of(b.begin() + static_cast<std::ptrdiff_t>(common), b.end(), [](auto v) { return v != 0; });
}

namespace {

/// `items` in DER SET OF order (stable, so equal encodings keep their order).
template <class T, class Der>
std::vector<const T*> in_set_order(const std::vector<T>& items, Der der_of) {
  // One item (a CertRep's certificate, GetCRL's CRL) is in order as it is:
  // no copy of its encoding to sort by.
  if (items.size() < 2) {
    std::vector<const T*> out;
    for (const auto& item : items) out.push_back(&item);
    return out;
  }
  std::vector<std::pair<core::Bytes, const T*>> keyed;
  keyed.reserve(items.size());
  for (const auto& item : items) keyed.emplace_back(der_of(item), &item);
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& x, const auto& y) { return der_set_order(x.first, y.first); });
  std::vector<const T*> out;
  out.reserve(keyed.size());
  for (auto& k : keyed) out.push_back(k.second);
  return out;
}

}  // namespace

core::Result<core::Bytes> degenerate_pkcs7(const std::vector<Certificate>& certs,
                                           const std::vector<core::Bytes>& crls) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 || PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1)
    return ossl_fail(Errc::internal, "creating PKCS#7");
  PKCS7_set_detached(p7.get(), 1);  // encapContentInfo{id-data} without content
  // OpenSSL encodes PKCS#7 `certificates` and `crls` as SEQUENCE OF, in the
  // order added; both are SET OF (RFC 2315 §9.1), so DER wants them sorted.
  for (const Certificate* c : in_set_order(certs, [](const Certificate& x) { return x.der(); }))
    if (PKCS7_add_certificate(p7.get(), c->native()) != 1) return ossl_fail(Errc::internal, "adding certificate");
  for (const core::Bytes* der : in_set_order(crls, [](const core::Bytes& x) { return x; })) {
    const unsigned char* p = der->data();
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
    if (!crl || PKCS7_add_crl(p7.get(), crl.get()) != 1) return ossl_fail(Errc::internal, "adding CRL");
  }
  core::Bytes out = to_der(i2d_PKCS7, p7.get());
  if (out.empty()) return ossl_fail(Errc::internal, "encoding PKCS#7");
  return out;
}

namespace {

core::Result<Pkcs7Ptr> parse_signed(core::ByteView der) {
  const unsigned char* p = der.data();
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7 || !PKCS7_type_is_signed(p7.get())) return ossl_fail(Errc::malformed_request, "not a PKCS#7 SignedData");
  if (p != der.data() + der.size()) return core::fail(Errc::malformed_request, "trailing bytes after the PKCS#7");
  return p7;
}

}  // namespace

core::Result<std::vector<Certificate>> certificates_of_pkcs7(core::ByteView der) {
  SCEP_TRY_ASSIGN(auto p7, parse_signed(der));
  std::vector<Certificate> out;
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; certs && i < sk_X509_num(certs); ++i) out.emplace_back(new_ref(sk_X509_value(certs, i)));
  return out;
}

core::Result<std::vector<core::Bytes>> crls_of_pkcs7(core::ByteView der) {
  SCEP_TRY_ASSIGN(auto p7, parse_signed(der));
  std::vector<core::Bytes> out;
  STACK_OF(X509_CRL)* crls = p7->d.sign->crl;
  for (int i = 0; crls && i < sk_X509_CRL_num(crls); ++i) {
    core::Bytes crl = to_der(i2d_X509_CRL, sk_X509_CRL_value(crls, i));
    if (crl.empty()) return ossl_fail(Errc::internal, "encoding a CRL");
    out.push_back(std::move(crl));
  }
  return out;
}

bool IssuerAndSerial::names_issuer(const Certificate& ca) const {
  return issuer && X509_NAME_cmp(issuer.get(), X509_get_subject_name(ca.native())) == 0;
}

core::Result<IssuerAndSerial> parse_issuer_and_serial(core::ByteView der) {
  const unsigned char* p = der.data();
  OsslPtr<PKCS7_ISSUER_AND_SERIAL, PKCS7_ISSUER_AND_SERIAL_free> ias(
      d2i_PKCS7_ISSUER_AND_SERIAL(nullptr, &p, static_cast<long>(der.size())));
  if (!ias || p != der.data() + der.size()) {
    clear_ossl_errors();
    return core::fail(Errc::malformed_request, "not an IssuerAndSerialNumber");
  }
  IssuerAndSerial out{X509NamePtr(X509_NAME_dup(ias->issuer)), integer_to_hex(ias->serial)};
  if (out.serial_hex.empty()) return ossl_fail(Errc::malformed_request, "bad serial number");
  if (!out.issuer) return ossl_fail(Errc::internal, "copying a name");
  return out;
}

core::Result<core::Bytes> encode_issuer_and_serial(const Certificate& issuer, std::string_view serial_hex) {
  OsslPtr<PKCS7_ISSUER_AND_SERIAL, PKCS7_ISSUER_AND_SERIAL_free> ias(PKCS7_ISSUER_AND_SERIAL_new());
  Asn1IntegerPtr serial = integer_from_hex(serial_hex);
  if (!ias || !serial) return core::fail(Errc::invalid_argument, "not a hex serial number");
  Asn1IntegerPtr replaced(std::exchange(ias->serial, serial.release()));  // ias owns the new one
  if (X509_NAME_set(&ias->issuer, X509_get_subject_name(issuer.native())) != 1)
    return ossl_fail(Errc::internal, "building an IssuerAndSerialNumber");
  core::Bytes out = to_der(i2d_PKCS7_ISSUER_AND_SERIAL, ias.get());
  if (out.empty()) return ossl_fail(Errc::internal, "encoding an IssuerAndSerialNumber");
  return out;
}

}  // namespace crypto
