#include "policy/secret.hpp"

#include <charconv>

#include <fmt/format.h>

#include "crypto/digest.hpp"

namespace policy {

using core::Errc;

std::string generate_secret(core::Rng& rng) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::uint8_t bytes[26];
  rng.fill(bytes);
  std::string out;
  for (auto b : bytes) out += alphabet[b & 31];  // 5 bits per character, 130 bits in all
  return out;
}

std::string generate_secret_id(core::Rng& rng) {
  std::uint8_t bytes[6];
  rng.fill(bytes);
  return "s-" + core::to_hex(bytes);
}

core::Bytes secret_hash(std::string_view secret) {
  std::string input = "scep-secret-v1:";
  input += secret;
  return crypto::digest(crypto::DigestAlg::sha256, core::to_bytes(input));
}

core::Result<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return core::fail(Errc::invalid_argument, "empty duration");
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n <= 0) return core::fail(Errc::invalid_argument, fmt::format("bad duration \"{}\"", text));
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = unit.empty() || unit == "s" ? 1
                       : unit == "m"               ? 60
                       : unit == "h"               ? 3600
                       : unit == "d"               ? 86400
                                                   : 0;
  if (scale == 0 || n > 36500LL * 86400 / scale)
    return core::fail(Errc::invalid_argument, fmt::format("bad duration \"{}\" (use e.g. 30d, 12h, 90m)", text));
  return std::chrono::seconds(n * scale);
}

}  // namespace policy
