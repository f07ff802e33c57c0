#pragma once
// Byte strings (Bytes, ByteView) and the hex, text and constant-time
// comparison helpers every layer uses on them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(ByteView b) { return std::string(b.begin(), b.end()); }

/// Lower-case hex, optionally with a separator between bytes ("ab:cd").
std::string to_hex(ByteView data, char separator = '\0', bool upper = false);

/// Strict hex decoding (even length, hex digits only); nullopt-like empty on error.
bool from_hex(std::string_view hex, Bytes& out);

/// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
/// without control characters (C0, DEL): text a record or a log line may hold.
bool is_clean_text(ByteView text);

/// Compares two byte strings in time that depends only on their lengths.
bool equal_constant_time(ByteView a, ByteView b);

}  // namespace core
