#include "crypto/der.hpp"

#include <algorithm>
#include <climits>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/ossl_error.hpp"

namespace crypto {

std::string base64_encode(core::ByteView data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

static bool is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

core::Result<core::Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return core::fail(core::Errc::malformed_request, "base64 length is not a multiple of 4");
  if (text.size() > INT_MAX) return core::fail(core::Errc::too_large, "base64 text too long");
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  auto body = text.substr(0, text.size() - pad);
  if (!std::all_of(body.begin(), body.end(), is_b64_char))
    return core::fail(core::Errc::malformed_request, "invalid base64 character");
  if (text.empty()) return core::Bytes{};
  core::Bytes out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) {
    clear_ossl_errors();
    return core::fail(core::Errc::malformed_request, "invalid base64");
  }
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

BioPtr memory_bio(core::ByteView data) { return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))); }

BioPtr new_memory_bio() { return BioPtr(BIO_new(BIO_s_mem())); }

core::Bytes bio_contents(BIO* bio) {
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  if (n <= 0 || p == nullptr) return {};
  return core::Bytes(p, p + n);
}

bool looks_like_pem(core::ByteView data) {
  // DER always starts with a SEQUENCE; PEM may follow explanatory text (RFC 7468 §2).
  if (data.empty() || data[0] == 0x30) return false;
  static constexpr std::string_view begin = "-----BEGIN ";
  return std::search(data.begin(), data.end(), begin.begin(), begin.end()) != data.end();
}

std::string pem_encode(std::string_view label, core::ByteView der) {
  std::string b64 = base64_encode(der);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out += b64.substr(i, 64);
    out += '\n';
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

}  // namespace crypto
