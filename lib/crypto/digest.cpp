#include "crypto/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace crypto {

static const EVP_MD* evp_md(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::md5: return EVP_md5();
    case DigestAlg::sha1: return EVP_sha1();
    case DigestAlg::sha224: return EVP_sha224();
    case DigestAlg::sha256: return EVP_sha256();
    case DigestAlg::sha384: return EVP_sha384();
    case DigestAlg::sha512: return EVP_sha512();
  }
  return EVP_sha256();
}

std::string_view digest_name(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::md5: return "MD5";
    case DigestAlg::sha1: return "SHA-1";
    case DigestAlg::sha224: return "SHA-224";
    case DigestAlg::sha256: return "SHA-256";
    case DigestAlg::sha384: return "SHA-384";
    case DigestAlg::sha512: return "SHA-512";
  }
  return "?";
}

core::Bytes digest(DigestAlg alg, core::ByteView data) {
  core::Bytes out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, evp_md(alg), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");  // only on allocation failure
  out.resize(n);
  return out;
}

Fingerprints fingerprints(core::ByteView der) {
  return {digest(DigestAlg::md5, der), digest(DigestAlg::sha1, der), digest(DigestAlg::sha256, der)};
}

std::string colon_hex(core::ByteView fp) { return core::to_hex(fp, ':', true); }

}  // namespace crypto
