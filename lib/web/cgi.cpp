#include "web/cgi.hpp"

#include <charconv>

#include <fmt/format.h>

namespace web {

static std::string get(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v ? std::string(v) : std::string();
}

/// PATH_INFO arrives decoded (RFC 3875 §4.1.5), but Request::path is the raw
/// target that dispatch decodes once, as under `serve`. Quoting '%' again
/// makes that one decoding a no-op: "/%2561" (PATH_INFO "/%61") stays "%61".
static std::string requote_percent(std::string_view decoded) {
  std::string out;
  out.reserve(decoded.size());
  for (char c : decoded) {
    if (c == '%') out += "%25";
    else out += c;
  }
  return out;
}

std::expected<Request, Response> read_cgi_request(const EnvLookup& env, std::istream& body) {
  Request req;
  req.method = parse_method(get(env, "REQUEST_METHOD"));
  req.path = requote_percent(get(env, "PATH_INFO"));
  req.query = get(env, "QUERY_STRING");
  req.remote_addr = get(env, "REMOTE_ADDR");
  std::string length_text = get(env, "CONTENT_LENGTH");
  if (length_text.empty()) return req;
  std::size_t length = 0;
  auto [end, ec] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (ec == std::errc::result_out_of_range) return std::unexpected(Response::text(413, "request body too large"));
  if (ec != std::errc() || end != length_text.data() + length_text.size())
    return std::unexpected(Response::text(400, "bad Content-Length"));
  if (length > max_body_bytes) return std::unexpected(Response::text(413, "request body too large"));
  req.body.resize(length);
  body.read(reinterpret_cast<char*>(req.body.data()), static_cast<std::streamsize>(length));
  if (static_cast<std::size_t>(body.gcount()) != length)
    return std::unexpected(Response::text(400, "request body shorter than Content-Length"));
  return req;
}

std::string cgi_response(const Response& r, Method method) {
  std::string out = fmt::format("Status: {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", r.status,
                                status_text(r.status), r.content_type, r.body.size());
  if (!r.allow.empty()) out += fmt::format("Allow: {}\r\n", r.allow);
  if (r.retry_after > 0) out += fmt::format("Retry-After: {}\r\n", r.retry_after);
  out += "\r\n";
  if (method != Method::head) out.append(r.body.begin(), r.body.end());
  return out;
}

}  // namespace web
