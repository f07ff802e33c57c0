#include "crypto/pkcs7.hpp"

#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

core::Result<core::Bytes> degenerate_pkcs7(const std::vector<Certificate>& certs, const std::vector<core::Bytes>& crls) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 || PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1)
    return ossl_fail(Errc::internal, "creating PKCS#7");
  PKCS7_set_detached(p7.get(), 1);  // encapContentInfo{id-data} without content
  for (const auto& c : certs)
    if (PKCS7_add_certificate(p7.get(), c.native()) != 1) return ossl_fail(Errc::internal, "adding certificate");
  for (const auto& der : crls) {
    const unsigned char* p = der.data();
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (!crl || PKCS7_add_crl(p7.get(), crl.get()) != 1) return ossl_fail(Errc::internal, "adding CRL");
  }
  unsigned char* buf = nullptr;
  int n = i2d_PKCS7(p7.get(), &buf);
  if (n <= 0) return ossl_fail(Errc::internal, "encoding PKCS#7");
  core::Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

core::Result<std::vector<Certificate>> certificates_of_pkcs7(core::ByteView der) {
  const unsigned char* p = der.data();
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7 || !PKCS7_type_is_signed(p7.get())) return ossl_fail(Errc::malformed_request, "not a PKCS#7 SignedData");
  if (p != der.data() + der.size()) return core::fail(Errc::malformed_request, "trailing bytes after the PKCS#7");
  std::vector<Certificate> out;
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; certs && i < sk_X509_num(certs); ++i) {
    X509* c = sk_X509_value(certs, i);
    X509_up_ref(c);
    out.emplace_back(X509Ptr(c));
  }
  return out;
}

}  // namespace crypto
