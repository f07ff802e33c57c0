#include "fastcgi.hpp"

#include <array>
#include <csignal>
#include <cstdlib>
#include <istream>
#include <streambuf>
#include <string>

#include <fcgiapp.h>
#include <unistd.h>

#include <fmt/format.h>

#include "endpoint.hpp"

namespace scepcgi {

namespace {

/// The request body (FCGI_STDIN) as a std::istream, for web::read_cgi_request.
class FcgxInBuf : public std::streambuf {
 public:
  explicit FcgxInBuf(FCGX_Stream* in) : m_in(in) {}

 protected:
  int_type underflow() override {
    int n = FCGX_GetStr(m_buf.data(), static_cast<int>(m_buf.size()), m_in);
    if (n <= 0) return traits_type::eof();
    setg(m_buf.data(), m_buf.data(), m_buf.data() + n);
    return traits_type::to_int_type(m_buf[0]);
  }

 private:
  FCGX_Stream* m_in;
  std::array<char, 16384> m_buf{};
};

/// SIGTERM is only unblocked while we wait for the next request, when no
/// request is in progress (the last one was finished and flushed): exiting
/// at once then is the clean stop. While a request runs, SIGTERM stays
/// pending, so no system call of the request sees EINTR.
extern "C" void exit_on_sigterm(int) { ::_exit(0); }

class SigtermGate {
 public:
  SigtermGate() {
    struct sigaction sa {};
    sa.sa_handler = exit_on_sigterm;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGTERM);
    hold();
  }
  void hold() { ::sigprocmask(SIG_BLOCK, &m_set, nullptr); }
  void release() { ::sigprocmask(SIG_UNBLOCK, &m_set, nullptr); }

 private:
  sigset_t m_set;
};

const char* fallback_store() {
  // The manager's environment (lighttpd bin-environment, spawn-fcgi's own
  // environment); a request's SCEP_STORE parameter overrides it.
  const char* root = std::getenv("SCEP_STORE");
  return root && *root ? root : "/var/lib/scep";
}

/// Reads what is left of a body we refused (413, 400): closing the
/// connection on unread data resets it, and the web server would answer 502
/// instead of our status. A CGI pipe just drops the rest. Bounded, in case
/// the web server sets no limit of its own.
void drain(FCGX_Stream* in) {
  std::array<char, 16384> buf{};
  for (std::size_t total = 0; total < (64u << 20);) {
    int n = FCGX_GetStr(buf.data(), static_cast<int>(buf.size()), in);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

void serve_one(Endpoint& endpoint, FCGX_Request& req) {
  auto env = [&req](const char* name) -> const char* { return FCGX_GetParam(name, req.envp); };
  FcgxInBuf buf(req.in);
  std::istream body(&buf);
  auto log = [&req](std::string_view line) {
    std::string text = fmt::format("scep.cgi: {}\n", line);
    FCGX_PutStr(text.data(), static_cast<int>(text.size()), req.err);
  };
  std::string out = endpoint.respond(env, body, log);
  drain(req.in);
  FCGX_PutStr(out.data(), static_cast<int>(out.size()), req.out);
}

}  // namespace

int run_fastcgi() {
  if (FCGX_Init() != 0) {
    fmt::print(stderr, "scep.cgi: cannot initialise libfcgi\n");
    return 1;
  }
  FCGX_Request req;
  if (FCGX_InitRequest(&req, 0, 0) != 0) {
    fmt::print(stderr, "scep.cgi: cannot initialise a FastCGI request\n");
    return 1;
  }
  Endpoint endpoint(fallback_store(), true);
  SigtermGate sigterm;
  for (;;) {
    sigterm.release();
    int rc = FCGX_Accept_r(&req);
    sigterm.hold();
    if (rc < 0) break;
    serve_one(endpoint, req);
    // Flushed before SIGTERM may strike again.
    FCGX_Finish_r(&req);
  }
  return 0;
}

}  // namespace scepcgi
