#include "web/http.hpp"

#include "core/names.hpp"

namespace web {

Method parse_method(std::string_view m) {
  if (m == "GET") return Method::get;
  if (m == "HEAD") return Method::head;
  if (m == "POST") return Method::post;
  return Method::other;
}

Response Response::text(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = core::to_bytes(message);
  if (r.body.empty() || r.body.back() != '\n') r.body.push_back('\n');
  return r;
}

std::string_view status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// RFC 3986 reg-name / IPv4address characters: unreserved, sub-delims, '%' of
/// a pct-encoded octet (checked by the caller).
bool is_reg_name_char(char c) {
  return is_alpha(c) || is_digit(c) || std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
}

/// host [":" port] of an http(s) URI, without userinfo (RFC 9110 4.2.4: a
/// recipient treats it as an error).
bool is_authority(std::string_view a) {
  std::string_view host = a, port;
  if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : a.substr(1, close - 1))
      if (!is_hex(c) && c != ':' && c != '.' && !is_reg_name_char(c)) return false;  // IPv6 / IPvFuture
    host = a.substr(0, close + 1);
    if (close + 1 < a.size()) {
      if (a[close + 1] != ':') return false;
      port = a.substr(close + 2);
    }
  } else if (auto colon = a.find(':'); colon != std::string_view::npos) {
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
  }
  if (host.empty()) return false;
  if (host.front() != '[') {
    for (std::size_t i = 0; i < host.size(); ++i) {
      if (!is_reg_name_char(host[i])) return false;
      if (host[i] == '%' && (i + 2 >= host.size() || !is_hex(host[i + 1]) || !is_hex(host[i + 2]))) return false;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port)
    if (!is_digit(c)) return false;
  return true;
}

}  // namespace

std::optional<std::string> origin_form(std::string_view target) {
  if (target == "*" || (!target.empty() && target.front() == '/')) return std::string(target);
  auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  auto scheme = target.substr(0, scheme_end);
  if (!core::iequals_ascii(scheme, "http") && !core::iequals_ascii(scheme, "https")) return std::nullopt;
  auto rest = target.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return std::nullopt;  // a fragment is never part of a request target
  auto end = rest.find_first_of("/?");
  if (!is_authority(rest.substr(0, end))) return std::nullopt;
  if (end == std::string_view::npos) return std::string("/");
  std::string out = rest[end] == '?' ? "/" : "";
  out += rest.substr(end);
  return out;
}

}  // namespace web
