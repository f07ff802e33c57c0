#pragma once
// Encoding plumbing: base64, PEM armour, memory BIOs. All BIO/PEM traffic of
// the library goes through here.

#include <string>
#include <string_view>
#include <type_traits>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

std::string base64_encode(core::ByteView data);
/// Strict standard base64: length a multiple of 4, the standard alphabet, at
/// most two '=' at the end. Anything else is malformed.
core::Result<core::Bytes> base64_decode(std::string_view text);

/// The DER of `value` by an OpenSSL i2d function (i2d_X509, i2d_PKCS7 ...);
/// empty when it does not encode (a DER encoding is never empty). The one
/// place the library copies i2d output out of an OpenSSL buffer.
template <class T>
core::Bytes to_der(int (*i2d)(const T*, unsigned char**), std::type_identity_t<const T>* value) {
  unsigned char* raw = nullptr;
  int n = i2d(value, &raw);
  OsslBytesPtr buf(raw);
  if (n <= 0 || !buf) return {};
  return core::Bytes(buf.get(), buf.get() + n);
}

/// A read-only BIO over `data` (which must outlive it).
BioPtr memory_bio(core::ByteView data);
BioPtr new_memory_bio();
core::Bytes bio_contents(BIO* bio);

/// True when the bytes hold PEM armour (possibly after explanatory text), not DER.
bool looks_like_pem(core::ByteView data);

/// PEM armour of DER with a label (e.g. "CERTIFICATE").
std::string pem_encode(std::string_view label, core::ByteView der);

}  // namespace crypto
