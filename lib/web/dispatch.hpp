#pragma once
// The one handler every front end calls (CGI, FastCGI, scepctl serve, tests):
// a web::Request in, a web::Response out.

#include <optional>
#include <string_view>

#include "scep/service.hpp"
#include "web/http.hpp"

namespace web {

/// Routes one request to the service. Pure: no environment, sockets or clock.
/// Client mistakes become 4xx (or, once signing is possible, a CertRep).
Response dispatch(const Request& req, scep::Service& svc);

/// The HTTP status of a library error that prevented a CertRep: 4xx for a
/// client's mistake, 5xx for the server's own trouble (logged, never shown).
int http_status(core::Errc code);

/// True when dispatch() answers `req` from loaded CA certificates alone: no
/// decryption, signing or store write (GetCACaps, GetCACert, GetCACertChain,
/// GetNextCACert, refusals). A server may answer these on its I/O thread.
/// `req.path` is below the mount point, as dispatch() sees it.
bool is_quick(const Request& req);
/// The same for a request whose path still has the mount point `base` in
/// front; a path outside it (a 404) is quick.
bool is_quick(const Request& req, std::string_view base);

/// The part of `path` below the mount point `base` (compared ignoring ASCII
/// case, as clients spell "/SCEP"), or nullopt when outside it.
std::optional<std::string_view> path_below(std::string_view path, std::string_view base);

/// The CA a request names by path: the first segment below the mount point,
/// unless it is a client's fixed suffix such as "pkiclient.exe".
std::string ca_from_path(std::string_view path);

}  // namespace web
