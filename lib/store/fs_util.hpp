#pragma once
// Internal to the store: small file-system helpers shared by its sources.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "scep/records.hpp"
#include "store/codec.hpp"
#include "store/file_ops.hpp"

namespace store {

/// Creates `dir` (0750) unless it is there. A symbolic link where the
/// directory should be is an error: the store never writes through one.
inline core::Result<void> ensure_dir(const std::filesystem::path& dir) {
  if (sys::mkdir(dir.c_str(), 0750) == 0) return {};
  if (errno != EEXIST) return sys::io_error("cannot create", dir, errno);
  struct stat sb {};
  if (::lstat(dir.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode)) return {};
  return core::fail(core::Errc::store_io, fmt::format("{} is not a directory (a symbolic link?)", dir.string()));
}

inline std::int64_t unix_seconds(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

inline core::TimePoint from_unix_seconds(std::int64_t s) { return core::TimePoint(std::chrono::seconds(s)); }

/// Serials are upper-case hex: anything else never becomes a path.
inline bool is_serial(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

/// A transaction's key: SHA-256 of its transactionID, lower-case hex. Names
/// its record (tx/KEY.json), its lock byte, and the secret use it spent.
std::string transaction_key(std::string_view transaction_id);
inline bool is_hex_key(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The records' encoding: store/codec.hpp.

}  // namespace store
