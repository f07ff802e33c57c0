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

#include "core/clock.hpp"
#include "core/error.hpp"
#include "scep/repository.hpp"

namespace store {

inline core::Result<void> ensure_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) return {};
  return core::fail(core::Errc::store_io, fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno)));
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

/// A pending record (pending/F.json or F.claimed), as records.cpp writes it.
core::Result<scep::PendingRequest> parse_pending(std::string_view text);

}  // namespace store
