#include "policy/secret.hpp"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.hpp"

namespace policy {

using core::Errc;
using nlohmann::json;

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

static std::int64_t unix_seconds(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
static core::TimePoint from_unix(std::int64_t s) { return core::TimePoint(std::chrono::seconds(s)); }

std::string render_secret(const SecretRecord& r) {
  json j = {{"format", 1},         {"id", r.id},     {"hash", core::to_hex(r.hash)},
            {"ca", r.ca},          {"policy", r.policy}, {"uses", r.uses},
            {"created", unix_seconds(r.created)}, {"expires", unix_seconds(r.expires)}, {"revoked", r.revoked}};
  if (r.common_name) j["cn"] = *r.common_name;
  if (r.subject_regex) j["subject_regex"] = *r.subject_regex;
  return j.dump() + "\n";
}

core::Result<SecretRecord> parse_secret(std::string_view text) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<int>() != 1) return core::fail(Errc::store_io, "unsupported secret record format");
    SecretRecord r;
    r.id = j.at("id").get<std::string>();
    if (!core::from_hex(j.at("hash").get<std::string>(), r.hash)) return core::fail(Errc::store_io, "bad secret hash");
    r.ca = j.at("ca").get<std::string>();
    r.policy = j.at("policy").get<std::string>();
    r.uses = j.at("uses").get<int>();
    r.created = from_unix(j.at("created").get<std::int64_t>());
    r.expires = from_unix(j.at("expires").get<std::int64_t>());
    r.revoked = j.value("revoked", false);
    if (j.contains("cn")) r.common_name = j["cn"].get<std::string>();
    if (j.contains("subject_regex")) r.subject_regex = j["subject_regex"].get<std::string>();
    return r;
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad secret record: {}", e.what()));
  }
}

core::Result<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return core::fail(Errc::invalid_argument, "empty duration");
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n <= 0) return core::fail(Errc::invalid_argument, fmt::format("bad duration \"{}\"", text));
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (scale == 0 || n > 36500LL * 86400 / scale)
    return core::fail(Errc::invalid_argument, fmt::format("bad duration \"{}\" (use e.g. 30d, 12h, 90m)", text));
  return std::chrono::seconds(n * scale);
}

}  // namespace policy
