#include "fastcgi.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <istream>
#include <mutex>
#include <streambuf>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcgiapp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
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

/// Stopping on SIGTERM (or libfcgi's SIGUSR1): no request is accepted any
/// more, and the process exits at once when none is in progress, else as
/// soon as the last one has been answered and flushed. The signals are
/// blocked in every thread and taken by sigwait() in the main thread, so no
/// system call of a request ever sees EINTR.
class Stopper {
 public:
  Stopper() : m_wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  /// Readable once stop() was called: wakes a thread waiting to accept.
  int wake_fd() const { return m_wake; }
  /// A request was accepted. Called under the accept mutex.
  void begin() {
    std::lock_guard lock(m_mutex);
    ++m_in_flight;
  }
  void end() {
    std::lock_guard lock(m_mutex);
    if (--m_in_flight == 0 && m_stopping) ::_exit(m_status);
  }
  bool stopping() {
    std::lock_guard lock(m_mutex);
    return m_stopping;
  }
  /// Stop with `status` once the requests in progress are answered; this
  /// thread accepts nothing more.
  [[noreturn]] void stop(int status = 0) {
    {
      std::lock_guard lock(m_mutex);
      if (!m_stopping) m_status = status;
      m_stopping = true;
      if (m_in_flight == 0) ::_exit(m_status);
      std::uint64_t one = 1;
      if (m_wake >= 0) (void)!::write(m_wake, &one, sizeof one);
    }
    for (;;) ::pause();  // end() exits
  }

 private:
  std::mutex m_mutex;
  int m_in_flight = 0;
  bool m_stopping = false;
  int m_status = 0;
  int m_wake;
};

/// SCEP_FASTCGI_THREADS from the manager's environment: requests one
/// process answers at once (enrollments wait on fsync; other threads use
/// the CPU meanwhile). 1 to 64, default 8 (scepctl serve's --workers
/// default is at least 8 too).
constexpr int default_threads = 8;

int thread_count() {
  const char* text = std::getenv("SCEP_FASTCGI_THREADS");
  if (!text || !*text) return default_threads;
  char* end = nullptr;
  long n = std::strtol(text, &end, 10);
  if (*end != '\0' || n < 1 || n > 64) {
    fmt::print(stderr, "scep.cgi: SCEP_FASTCGI_THREADS={} is not a number from 1 to 64; using {}\n", text,
               default_threads);
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

/// The process's standard error (the journal under scep-fastcgi.service),
/// one request's lines in one piece whichever threads write at once.
void write_stderr(std::string_view lines) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  while (!lines.empty()) {
    ssize_t n = ::write(2, lines.data(), lines.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a log that cannot be written must not stop the answer
    lines.remove_prefix(static_cast<std::size_t>(n));
  }
}

void serve_one(Endpoint& endpoint, FCGX_Request& req) {
  auto env = [&req](const char* name) -> const char* { return FCGX_GetParam(name, req.envp); };
  FcgxInBuf buf(req.in);
  std::istream body(&buf);
  auto log = [](std::string_view lines) { write_stderr(lines); };
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
    stopper.stop(1);
  }
  for (;;) {
    int rc;
    {
      std::unique_lock lock(accept_mutex);
      // Wait for a connection or a stop without blocking in accept(2): after
      // a stop nothing more is accepted, and what waits in the socket's
      // queue is left to the web server (502, or another process).
      pollfd fds[2] = {{0, POLLIN, 0}, {stopper.wake_fd(), POLLIN, 0}};
      while (::poll(fds, stopper.wake_fd() >= 0 ? 2 : 1, -1) < 0 && errno == EINTR) {
      }
      if (stopper.stopping()) {
        lock.unlock();
        stopper.stop();
      }
      rc = FCGX_Accept_r(&req);
      if (rc >= 0) {
        // The next request of a kept connection would be read in
        // FCGX_Accept_r, under this mutex: one request per connection.
        req.keepConnection = 0;
        stopper.begin();
      }
    }
    if (rc < 0) {
      fmt::print(stderr, "scep.cgi: cannot accept a FastCGI connection (error {}); stopping\n", -rc);
      stopper.stop(1);
    }
    serve_one(endpoint, req);
    FCGX_Finish_r(&req);
    stopper.end();
  }
}

}  // namespace

int run_fastcgi() {
  // Blocked before libfcgi installs its own SIGTERM/SIGUSR1 handlers (which
  // only set a flag it reads when accept fails), and inherited by every
  // thread below: the main thread takes them with sigwait().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  if (FCGX_Init() != 0) {
    fmt::print(stderr, "scep.cgi: cannot initialise libfcgi\n");
    return 1;
  }
  static web::Metrics metrics;  // static: the detached threads may outlive this frame until _exit
  Endpoint endpoint(fallback_store(), true,
                    LogSettings{web::LogLevel::info, web::stderr_is_journal(std::getenv("JOURNAL_STREAM"))}, &metrics);
  Stopper stopper;
  std::mutex accept_mutex;
  std::vector<std::thread> threads;
  const int wanted = thread_count();
  try {
    for (int i = 0; i < wanted; ++i)
      threads.emplace_back(accept_loop, std::ref(endpoint), std::ref(stopper), std::ref(accept_mutex));
  } catch (const std::system_error& e) {
    fmt::print(stderr, "scep.cgi: started {} of {} threads: {}\n", threads.size(), wanted, e.what());
    if (threads.empty()) return 1;
  }
  for (auto& t : threads) t.detach();  // they end with the process (_exit)
  int sig = 0;
  while (::sigwait(&stop_signals, &sig) != 0) {
  }
  stopper.stop();
}

}  // namespace scepcgi
