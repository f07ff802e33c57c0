#include "fastcgi.hpp"

#include <array>
#include <csignal>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>
#include <cstdlib>
#include <istream>
#include <streambuf>
#include <string>

#include <fcgiapp.h>
#include <pthread.h>
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

/// Stopping on SIGTERM: at once when no request is in progress, else as
/// soon as the last one in progress has been answered and flushed. SIGTERM
/// is blocked in every thread and taken by sigwait() in the main thread, so
/// no system call of a request ever sees EINTR.
class Stopper {
 public:
  void begin() {
    std::lock_guard lock(m_mutex);
    ++m_in_flight;
  }
  void end() {
    std::lock_guard lock(m_mutex);
    if (--m_in_flight == 0 && m_stopping) ::_exit(0);
  }
  [[noreturn]] void stop() {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
      if (m_in_flight == 0) ::_exit(0);
    }
    for (;;) ::pause();  // end() exits
  }

 private:
  std::mutex m_mutex;
  int m_in_flight = 0;
  bool m_stopping = false;
};

/// SCEP_FASTCGI_THREADS from the manager's environment: requests one
/// process answers at once (enrollments wait on fsync; other threads use
/// the CPU meanwhile). 1 to 64, default 8, as scepctl serve's --workers.
constexpr int default_threads = 8;

int thread_count() {
  const char* text = std::getenv("SCEP_FASTCGI_THREADS");
  if (!text || !*text) return default_threads;
  char* end = nullptr;
  long n = std::strtol(text, &end, 10);
  if (*end != '\0' || n < 1 || n > 64) {
    fmt::print(stderr, "scep.cgi: SCEP_FASTCGI_THREADS={} is not a number from 1 to 64; using {}\n", text, default_threads);
    return default_threads;
  }
  return static_cast<int>(n);
}

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


/// One thread's accept loop; each thread has its own FCGX_Request.
/// libfcgi's accept is serialized, as its threaded example does.
void accept_loop(Endpoint& endpoint, Stopper& stopper, std::mutex& accept_mutex) {
  FCGX_Request req;
  if (FCGX_InitRequest(&req, 0, 0) != 0) {
    fmt::print(stderr, "scep.cgi: cannot initialise a FastCGI request\n");
    stopper.stop();
  }
  for (;;) {
    int rc;
    {
      std::lock_guard lock(accept_mutex);
      rc = FCGX_Accept_r(&req);
    }
    if (rc < 0) stopper.stop();  // the listening socket is gone
    stopper.begin();
    serve_one(endpoint, req);
    FCGX_Finish_r(&req);
    stopper.end();
  }
}

}  // namespace

int run_fastcgi() {
  if (FCGX_Init() != 0) {
    fmt::print(stderr, "scep.cgi: cannot initialise libfcgi\n");
    return 1;
  }
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &term, nullptr);  // inherited by the threads below
  Endpoint endpoint(fallback_store(), true);
  Stopper stopper;
  std::mutex accept_mutex;
  std::vector<std::thread> threads;
  for (int i = thread_count(); i > 0; --i)
    threads.emplace_back(accept_loop, std::ref(endpoint), std::ref(stopper), std::ref(accept_mutex));
  int sig = 0;
  while (::sigwait(&term, &sig) != 0) {
  }
  stopper.stop();
}

}  // namespace scepcgi
