#pragma once
// Store names (CAs, policies), escaping client text for logs, and ASCII
// case-insensitive comparison of protocol tokens.

#include <cstddef>
#include <string>
#include <string_view>

namespace core {

/// CA (and policy) store names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. Such a name is
/// safe to use as a single path component: no '/', never "." or "..".
bool is_valid_name(std::string_view name);

/// Client text made safe for a log line or a quoted message: bytes outside
/// printable ASCII, `"` and `\` become `\xNN`; past `max` input bytes the
/// rest is replaced by "...".
std::string escape_text(std::string_view text, std::size_t max = 256);
/// escape_text() appended to `out` (a log line built without a string per field).
void append_escaped_text(std::string& out, std::string_view text, std::size_t max = 256);

/// Equal ignoring ASCII case (protocol tokens: operation names, HTTP header
/// values); other bytes compare exactly, whatever the locale.
constexpr bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace core
