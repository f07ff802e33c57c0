// scep.cgi: the SCEP endpoint as a CGI/1.1 program, or as a FastCGI
// responder when a FastCGI manager started it (see scep.cgi(8), FASTCGI).
// The store is $SCEP_STORE, else /var/lib/scep.

#include <cstdlib>
#include <iostream>

#include <fcgiapp.h>

#include "crypto/pkcs11.hpp"
#include "endpoint.hpp"
#include "fastcgi.hpp"

namespace {

int run_cgi() {
  std::ios::sync_with_stdio(false);
  // In CGI the request's meta-variables are the process environment.
  scepcgi::Endpoint endpoint("/var/lib/scep", false,
                             scepcgi::LogSettings{web::LogLevel::error,
                                                  web::stderr_is_journal(std::getenv("JOURNAL_STREAM"))});
  auto log = [](std::string_view lines) { std::cerr << lines << std::flush; };
  std::cout << endpoint.respond([](const char* n) { return std::getenv(n); }, std::cin, log);
  std::cout.flush();
  return 0;
}

}  // namespace

int main() {
  // The PIN of keys on a PKCS#11 token whose URI names no PIN file: the
  // process's environment (SetEnv, systemd), never a request's.
  if (const char* pin = std::getenv(crypto::pkcs11_pin_env.data())) crypto::set_pkcs11_environment_pin(pin);
  // libfcgi: fd 0 is a listening socket when a FastCGI manager started us.
  return FCGX_IsCGI() ? run_cgi() : scepcgi::run_fastcgi();
}
