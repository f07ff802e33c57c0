#pragma once
// scep.cgi as a FastCGI responder (libfcgi): one process answers request
// after request on the socket its manager (lighttpd's bin-path, spawn-fcgi,
// systemd) passed as file descriptor 0.

namespace scepcgi {

/// Serves until SIGTERM (the request in progress is finished first) or
/// until the listening socket fails. Returns the exit status.
int run_fastcgi();

}  // namespace scepcgi
