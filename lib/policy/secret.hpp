#pragma once
// One-time challenge secrets. The secret itself is shown once and never
// stored: records carry a hash, looked up by name and compared in constant time.
// How a record is stored: store/codec.hpp.

#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace policy {

struct SecretRecord {
  std::string id;    ///< public handle for `secret list/revoke`
  core::Bytes hash;  ///< secret_hash(secret)
  std::string ca;
  std::string policy;
  std::optional<std::string> common_name;
  std::optional<std::string> subject_regex;
  int uses = 1;
  core::TimePoint created{};
  core::TimePoint expires{};
  bool revoked = false;
};

/// 26 characters of [A-Z2-7] (130 bits), valid in a PrintableString.
std::string generate_secret(core::Rng& rng);
/// A short random id ("s-" + 12 hex digits).
std::string generate_secret_id(core::Rng& rng);
core::Bytes secret_hash(std::string_view secret);

/// "30d", "12h", "90m", "3600s" or plain seconds.
core::Result<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace policy
