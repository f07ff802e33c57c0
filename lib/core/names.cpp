#include "core/names.hpp"

#include <algorithm>

namespace core {

static bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !is_alnum(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

void append_escaped_text(std::string& out, std::string_view text, std::size_t max) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (text.size() > max) out += "...";
}

std::string escape_text(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 8);
  append_escaped_text(out, text, max);
  return out;
}

}  // namespace core
