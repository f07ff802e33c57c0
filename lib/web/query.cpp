#include "web/query.hpp"

#include "core/names.hpp"
#include "crypto/der.hpp"

namespace web {

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Query parse_query(std::string_view raw) {
  Query q;
  bool have_operation = false;
  while (!raw.empty()) {
    auto amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    auto eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq), true);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (core::iequals_ascii(name, "operation") && !have_operation) {
      q.operation = percent_decode(value, true);
      have_operation = true;
    } else if (core::iequals_ascii(name, "message") && !q.message) {
      q.message = value;
    }
  }
  return q;
}

core::Result<core::Bytes> decode_message(std::string_view raw) {
  std::string text = percent_decode(raw, false);
  std::string b64;
  b64.reserve(text.size() + 3);
  for (char c : text) {
    switch (c) {
      case ' ': b64 += '+'; break;  // '+' sent unescaped and form-decoded on the way
      case '\r':
      case '\n':
      case '\t': break;
      case '-': b64 += '+'; break;  // base64url
      case '_': b64 += '/'; break;
      default: b64 += c;
    }
  }
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  if (b64.size() % 4 == 1) return core::fail(core::Errc::malformed_request, "message is not valid base64");
  while (b64.size() % 4 != 0) b64 += '=';
  auto der = crypto::base64_decode(b64);
  if (!der) return core::fail(core::Errc::malformed_request, "message is not valid base64");
  return der;
}

}  // namespace web
