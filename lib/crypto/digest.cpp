#include "crypto/digest.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

namespace crypto {

const EVP_MD* evp_md(DigestAlg alg) {
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

std::optional<DigestAlg> digest_from_nid(int nid) {
  switch (nid) {
    case NID_md5: return DigestAlg::md5;
    case NID_sha1: return DigestAlg::sha1;
    case NID_sha224: return DigestAlg::sha224;
    case NID_sha256: return DigestAlg::sha256;
    case NID_sha384: return DigestAlg::sha384;
    case NID_sha512: return DigestAlg::sha512;
    default: return std::nullopt;
  }
}

std::optional<DigestAlg> digest_from_name(std::string_view name) {
  std::string n;
  for (char c : name)
    if (c != '-') n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto alg :
       {DigestAlg::md5, DigestAlg::sha1, DigestAlg::sha224, DigestAlg::sha256, DigestAlg::sha384, DigestAlg::sha512}) {
    std::string candidate;
    for (char c : digest_name(alg))
      if (c != '-') candidate += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (candidate == n) return alg;
  }
  return std::nullopt;
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
