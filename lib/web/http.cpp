#include "web/http.hpp"

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

}  // namespace web
