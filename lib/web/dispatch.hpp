#pragma once

#include "scep/service.hpp"
#include "web/http.hpp"

namespace web {

/// Routes one request to the service. Pure: no environment, sockets or clock.
/// Client mistakes become 4xx (or, once signing is possible, a CertRep).
Response dispatch(const Request& req, scep::Service& svc);

/// True when dispatch() answers `req` from loaded CA certificates alone: no
/// decryption, signing or store write (GetCACaps, GetCACert, GetCACertChain,
/// GetNextCACert, refusals). A server may answer these on its I/O thread.
bool is_quick(const Request& req);

/// The CA a request names by path: the first segment below the mount point,
/// unless it is a client's fixed suffix such as "pkiclient.exe".
std::string ca_from_path(std::string_view path);

}  // namespace web
