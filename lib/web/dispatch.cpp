#include "web/dispatch.hpp"

#include <fmt/format.h>

#include "core/names.hpp"
#include "web/query.hpp"

namespace web {

using core::Errc;

int http_status(Errc code) {
  switch (code) {
    case Errc::malformed_request: return 400;
    case Errc::decrypt_failed: return 400;
    case Errc::unsupported_algorithm: return 400;
    case Errc::bad_message_check: return 400;
    case Errc::policy_rejected: return 400;
    case Errc::invalid_argument: return 400;
    case Errc::unknown_ca: return 404;
    case Errc::not_found: return 404;
    case Errc::too_large: return 413;
    case Errc::already_exists: return 409;
    case Errc::store_busy: return 503;
    case Errc::store_io: return 500;
    case Errc::config_invalid: return 500;
    case Errc::unavailable: return 503;
    case Errc::internal: return 500;
  }
  return 500;
}

namespace {

Response error_response(const core::Error& e) {
  int status = http_status(e.code);
  // Server-side trouble is logged by the front end; the client gets no internals.
  if (e.code == Errc::unavailable) {
    // The operator must act (the detail names the CA and what it lacks, no
    // paths); no Retry-After: retrying will not help until then.
    Response r = Response::text(503, core::client_text(e));
    r.log = e.detail;
    return r;
  }
  if (status >= 500) {
    Response r = Response::text(status, status == 503 ? "service busy, retry later" : "internal error");
    r.log = e.detail;
    // A store that is busy or full (ENOSPC) takes the retry once it has room;
    // nothing was spent for this request.
    if (status == 503) r.retry_after = 30;
    return r;
  }
  // A client's mistake: a short reason; what only helps the operator (OpenSSL's
  // error queue) goes to the log at debug level, so that junk from the
  // network cannot fill the error log.
  Response r = Response::text(status, core::client_text(e));
  if (e.detail.find(core::log_only_mark) != std::string::npos) r.debug = e.detail;
  return r;
}

Response binary(std::string content_type, core::Bytes body) {
  Response r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

/// The CA a request names: by path first (set by the administrator in the
/// enrollment URL), else by `message=`, else the default.
std::string requested_ca(const Request& req, const Query& q) {
  std::string by_path = ca_from_path(req.path);
  if (!by_path.empty()) return by_path;
  return q.message ? percent_decode(*q.message, true) : std::string();
}

/// The CA of GetCACaps, GetCACert and GetCACertChain. A name in the path is
/// exact; a `message=` CA identifier that names no CA selects the default CA
/// (unless the store is strict about names), which `note` then says.
core::Result<std::string> ca_for_certificates(scep::Service& svc, const Request& req, const Query& q,
                                              std::string& note) {
  std::string by_path = ca_from_path(req.path);
  if (!by_path.empty()) return by_path;
  // No message=: the default CA, by name, so that the log says which.
  std::string identifier = q.message ? percent_decode(*q.message, true) : std::string();
  SCEP_TRY_ASSIGN(auto choice, svc.ca_by_identifier(identifier));
  if (choice.fallback)
    note = fmt::format("CA identifier \"{}\" names no CA: answered for the default CA \"{}\"",
                       core::escape_text(identifier, 64), choice.name);
  return std::move(choice.name);
}

std::string_view pki_status_name(scep::PkiStatus s) {
  switch (s) {
    case scep::PkiStatus::success: return "SUCCESS";
    case scep::PkiStatus::failure: return "FAILURE";
    case scep::PkiStatus::pending: return "PENDING";
  }
  return "?";
}

Response pki_operation(scep::Service& svc, const Request& req, core::ByteView der) {
  // PKIOperation finds its CA by path, else by recipient; never by message=.
  scep::PkiSummary sum;
  auto reply = svc.pki_operation(ca_from_path(req.path), der, req.remote_addr, &sum);
  Response r = reply ? binary("application/x-pki-message", std::move(*reply)) : error_response(reply.error());
  RequestFacts& f = r.facts;
  f.ca = std::move(sum.ca);
  f.message_type = std::move(sum.message_type);
  f.transaction_id = std::move(sum.transaction_id);
  if (sum.outcome) f.outcome = scep::outcome_name(*sum.outcome);
  if (sum.status) f.pki_status = pki_status_name(*sum.status);
  if (sum.fail_info) f.fail_info = scep::fail_info_name(*sum.fail_info);
  return r;
}

/// GET /health below the mount point (no operation): 200 "ok" when every
/// CA can answer, else 503 with the reason.
Response health(scep::Service& svc) {
  auto problem = svc.health();
  if (!problem) return Response::text(200, "ok");
  Response r = Response::text(503, problem->reason);
  // A load balancer polls every second: the detail is a debug note, not an error line each time.
  r.debug = fmt::format("health: {}{}{}", problem->reason, problem->detail.empty() ? "" : ": ", problem->detail);
  return r;
}

bool is_health_path(std::string_view path) { return path == "/health" || path == "/health/"; }

/// The canonical name of a known operation, else "".
std::string_view canonical_operation(std::string_view op) {
  for (std::string_view name :
       {"GetCACaps", "GetCACert", "GetCACertChain", "GetCAChain", "GetNextCACert", "GetCRL", "PKIOperation"})
    if (core::iequals_ascii(op, name)) return name;
  return {};
}

Response get_ca_cert(scep::Service& svc, const std::string& ca) {
  auto reply = svc.get_ca_cert(ca);
  if (!reply) return error_response(reply.error());
  return binary(reply->kind == scep::CaCertKind::single ? "application/x-x509-ca-cert"
                                                        : "application/x-x509-ca-ra-cert",
                std::move(reply->body));
}

Response get_ca_caps(scep::Service& svc, const std::string& ca) {
  auto caps = svc.get_ca_caps(ca);
  if (!caps) return error_response(caps.error());
  return binary("text/plain", core::to_bytes(*caps));
}

Response get_ca_chain(scep::Service& svc, const std::string& ca) {
  auto chain = svc.get_ca_chain(ca);
  if (!chain) return error_response(chain.error());
  return binary("application/x-x509-ca-ra-cert-chain", std::move(*chain));
}

Response get_next_ca_cert(scep::Service& svc, const std::string& ca) {
  auto reply = svc.get_next_ca_cert(ca);
  if (!reply) return error_response(reply.error());
  // No rollover in progress: GetCACaps did not offer the operation.
  if (!*reply) return Response::text(403, "no rollover certificate: the CA has no next certificate");
  return binary("application/x-x509-next-ca-cert", std::move(**reply));
}

Response get_crl(scep::Service& svc, const std::string& ca) {
  auto crl = svc.get_crl(ca);
  if (!crl) return error_response(crl.error());
  return binary("application/pkix-crl", std::move(*crl));
}

/// "/NAME/crl": the CRL of CA NAME, for use as a CRL distribution point;
/// "/NAME/crl/ID": the CRL of its earlier generation ID (after a rollover).
/// The ID, when there is one, goes to `generation` (percent-decoded; the
/// service compares it with the generations it has, it never becomes a path).
bool is_crl_path(std::string_view path, std::string* generation = nullptr) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  std::string_view rest = path.substr(slash + 1);
  if (rest == "crl") return true;
  if (!rest.starts_with("crl/")) return false;
  std::string_view id = rest.substr(4);
  if (id.empty() || id.find('/') != std::string_view::npos) return false;
  if (generation) *generation = percent_decode(id, false);
  return true;
}

Response get_earlier_crl(scep::Service& svc, const std::string& ca, const std::string& id) {
  auto crl = svc.get_earlier_crl(ca, id);
  if (!crl) return error_response(crl.error());
  return binary("application/pkix-crl", std::move(*crl));
}

}  // namespace

std::string ca_from_path(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string_view first = path.substr(0, path.find('/'));
  if (first.empty() || core::iequals_ascii(first, "pkiclient.exe")) return {};
  return percent_decode(first, false);
}

namespace {

bool is_quick(Method method, std::string_view path, std::string_view query) {
  if (method == Method::post) return false;
  if (method == Method::other) return true;
  Query q = parse_query(query);
  if (q.operation.empty()) return !is_crl_path(path);
  // GetNextCACert reads files and signs: not for the event-loop thread.
  return !core::iequals_ascii(q.operation, "PKIOperation") && !core::iequals_ascii(q.operation, "GetCRL") &&
         !core::iequals_ascii(q.operation, "GetNextCACert");
}

}  // namespace

bool is_quick(const Request& req) { return is_quick(req.method, req.path, req.query); }

bool is_quick(const Request& req, std::string_view base) {
  auto path = path_below(req.path, base);
  return !path || is_quick(req.method, *path, req.query);
}

std::optional<std::string_view> path_below(std::string_view path, std::string_view base) {
  while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
  if (path.size() < base.size() || !core::iequals_ascii(path.substr(0, base.size()), base)) return std::nullopt;
  std::string_view rest = path.substr(base.size());
  if (!rest.empty() && rest.front() != '/' && base != "/") return std::nullopt;
  return rest;
}

namespace {

Response route(const Request& req, scep::Service& svc, const Query& q, const std::string& ca) {
  if (req.method == Method::other) {
    Response r = Response::text(405, "method not allowed");
    r.allow = "GET, HEAD, POST";
    return r;
  }
  if (req.method == Method::post) {
    if (!q.operation.empty() && !core::iequals_ascii(q.operation, "PKIOperation")) {
      Response r = Response::text(405, fmt::format("{} needs GET", q.operation));
      r.allow = "GET, HEAD";
      return r;
    }
    if (req.body.empty()) return Response::text(400, "empty PKIOperation body");
    return pki_operation(svc, req, req.body);
  }
  const std::string& op = q.operation;
  if (std::string generation; op.empty() && is_crl_path(req.path, &generation))
    return generation.empty() ? get_crl(svc, ca) : get_earlier_crl(svc, ca, generation);
  if (op.empty() && is_health_path(req.path)) return health(svc);
  if (op.empty()) return Response::text(400, "missing operation parameter");
  bool caps = core::iequals_ascii(op, "GetCACaps"), cert = core::iequals_ascii(op, "GetCACert"),
       chain = core::iequals_ascii(op, "GetCACertChain") || core::iequals_ascii(op, "GetCAChain"),
       next = core::iequals_ascii(op, "GetNextCACert");
  if (caps || cert || chain || next) {
    std::string note;
    auto named = ca_for_certificates(svc, req, q, note);
    Response r = !named ? error_response(named.error())
                 : caps ? get_ca_caps(svc, *named)
                 : cert ? get_ca_cert(svc, *named)
                 : next ? get_next_ca_cert(svc, *named)
                        : get_ca_chain(svc, *named);
    r.debug = std::move(note);
    // The CA that answered, not a message= identifier that fell back ("" = the default).
    if (named) r.facts.ca = *named;
    return r;
  }
  if (core::iequals_ascii(op, "GetCRL")) return get_crl(svc, ca);
  if (core::iequals_ascii(op, "PKIOperation")) {
    if (!q.message || q.message->empty()) return Response::text(400, "PKIOperation needs a message");
    auto der = decode_message(*q.message);
    if (!der) return error_response(der.error());
    if (der->size() > max_body_bytes) return Response::text(413, "message too large");
    return pki_operation(svc, req, *der);
  }
  return Response::text(400, "unknown operation");
}

}  // namespace

Response dispatch(const Request& req, scep::Service& svc) {
  if (req.query.size() > max_query_bytes) return Response::text(414, "query string too long");
  if (req.body.size() > max_body_bytes) return Response::text(413, "request body too large");
  Query q = parse_query(req.query);
  std::string ca = requested_ca(req, q);
  Response r = route(req, svc, q, ca);
  RequestFacts& f = r.facts;
  if (f.operation.empty()) {
    if (!q.operation.empty()) f.operation = canonical_operation(q.operation);
    else if (req.method == Method::post) f.operation = "PKIOperation";
    else if (is_crl_path(req.path)) f.operation = "GetCRL";
    else if (is_health_path(req.path)) f.operation = "health";
  }
  // GetCACaps, GetCACert and the chain set the CA that answered themselves;
  // health is about every CA.
  bool certificates = f.operation.starts_with("GetCACaps") || f.operation.starts_with("GetCACert") ||
                      f.operation == "GetCAChain" || f.operation == "GetNextCACert";
  if (f.ca.empty() && !certificates && f.operation != "health") f.ca = std::move(ca);
  return r;
}

}  // namespace web
