#pragma once
// CGI/1.1 adapter (RFC 3875): environment + stdin -> Request; Response -> stdout bytes.

#include <expected>
#include <functional>
#include <istream>
#include <string>

#include "web/http.hpp"

namespace web {

/// Looks up a CGI meta-variable; nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

/// Reads the request. On a client error (bad or oversized CONTENT_LENGTH, short
/// body) the error is the Response to send.
std::expected<Request, Response> read_cgi_request(const EnvLookup& env, std::istream& body);

/// The bytes a CGI program writes: a Status header, Content-Type,
/// Content-Length, blank line, body (omitted for HEAD).
std::string cgi_response(const Response& r, Method method);

}  // namespace web
