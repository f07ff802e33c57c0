#pragma once
// The transport-independent request and response every front end converts to.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace web {

/// Limits on what a client controls (documented in scep.cgi(8)).
inline constexpr std::size_t max_body_bytes = 256 * 1024;
inline constexpr std::size_t max_query_bytes = 128 * 1024;

enum class Method { get, head, post, other };

Method parse_method(std::string_view m);

struct Request {
  Method method = Method::get;
  std::string path;   ///< below the SCEP mount point, percent-encoded as sent: "" or "/NAME/pkiclient.exe"
  std::string query;  ///< raw, still percent-encoded
  core::Bytes body;
  std::string remote_addr;
};

/// What dispatch() made of a request, for the front ends' log lines and
/// metrics: filled where the decision is made, never parsed again. Empty
/// strings: not known (a request refused before it named one).
struct RequestFacts {
  std::string operation;       ///< canonical: "GetCACert", "PKIOperation", "health", ...; "" when none was recognised
  std::string ca;              ///< the CA that answered
  std::string message_type;    ///< PKIOperation: "PKCSReq", "CertPoll", ...
  std::string pki_status;      ///< PKIOperation with a CertRep: "SUCCESS", "FAILURE", "PENDING"
  std::string fail_info;       ///< with "FAILURE": "badRequest", ...
  std::string transaction_id;  ///< as received: client bytes, escaped by the log formatter
  std::string outcome;         ///< PKIOperation: the audit outcome (issued, pending, failure, ...)
};

struct Response {
  int status = 200;
  std::string content_type;
  core::Bytes body;
  std::string allow;    ///< the Allow header of a 405, else empty
  int retry_after = 0;  ///< seconds for a Retry-After header (a 503), 0: none
  std::string log;      ///< for the server's error log (5xx details); never sent
  std::string debug;    ///< a note for the server's log at debug level; never sent
  RequestFacts facts;   ///< for the log line and metrics; never sent

  static Response text(int status, std::string_view message);
};

std::string_view status_text(int status);

/// The origin-form ("/path?query") of an HTTP request target. An absolute-form
/// target ("http://host:port/path?query", RFC 9112 3.2.2: what a client sends
/// when its proxy setting names this server) loses its scheme (http or https,
/// any case) and authority, which are not checked further; an empty path
/// becomes "/". "*" stays as it is. nullopt: not a target this server
/// understands (another form, another scheme, userinfo, an empty or
/// malformed authority): a 400.
std::optional<std::string> origin_form(std::string_view target);

}  // namespace web
