#pragma once
// Encoding plumbing: base64, PEM armour, memory BIOs. All BIO/PEM traffic of
// the library goes through here.

#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

std::string base64_encode(core::ByteView data);
/// Strict standard base64: length a multiple of 4, the standard alphabet, at
/// most two '=' at the end. Anything else is malformed.
core::Result<core::Bytes> base64_decode(std::string_view text);

/// A read-only BIO over `data` (which must outlive it).
BioPtr memory_bio(core::ByteView data);
BioPtr new_memory_bio();
core::Bytes bio_contents(BIO* bio);

/// True when the bytes hold PEM armour (possibly after explanatory text), not DER.
bool looks_like_pem(core::ByteView data);

/// PEM armour of DER with a label (e.g. "CERTIFICATE").
std::string pem_encode(std::string_view label, core::ByteView der);

}  // namespace crypto
