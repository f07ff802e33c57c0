#pragma once
// Message digests by name, and the fingerprints operators compare out of band.

#include <optional>
#include <string_view>

#include <openssl/types.h>

#include "core/bytes.hpp"

namespace crypto {

enum class DigestAlg { md5, sha1, sha224, sha256, sha384, sha512 };

core::Bytes digest(DigestAlg alg, core::ByteView data);
const EVP_MD* evp_md(DigestAlg alg);
std::optional<DigestAlg> digest_from_nid(int nid);
/// "SHA-256", "sha256", "SHA256" -> sha256.
std::optional<DigestAlg> digest_from_name(std::string_view name);
std::string_view digest_name(DigestAlg alg);

/// The three fingerprints operators compare out of band.
struct Fingerprints {
  core::Bytes md5, sha1, sha256;
};
Fingerprints fingerprints(core::ByteView der);

/// "AB:CD:..." — the spelling devices and Cisco-style consoles show.
std::string colon_hex(core::ByteView fp);

}  // namespace crypto
