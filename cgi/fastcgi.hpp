#pragma once
// scep.cgi as a FastCGI responder (libfcgi): one process answers requests,
// SCEP_FASTCGI_THREADS of them at once, on the socket its manager
// (lighttpd's bin-path, spawn-fcgi, systemd) passed as file descriptor 0.

namespace scepcgi {

/// Serves until SIGTERM (the requests in progress are finished first) or
/// until the listening socket fails, then exits with status 0. Returns 1
/// only when libfcgi cannot be initialised.
int run_fastcgi();

}  // namespace scepcgi
