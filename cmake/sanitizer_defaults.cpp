// Linked into scepctl, scep.cgi and the unit tests of a sanitizer build
// (SCEP_SANITIZE or SCEP_FUZZ; the fuzz targets report through libFuzzer).
//
// Reports go to files under the build tree, not stderr: a CGI program's
// stderr ends in a web server's error log, which no test reads when the
// request itself succeeded. `make -f Makefile.dist sanitize` fails when
// SCEP_SANITIZER_LOG_DIR holds any report. ASAN_OPTIONS/UBSAN_OPTIONS in the
// environment still override single flags.
#include <openssl/crypto.h>

extern "C" const char* __asan_default_options() {
  return "log_path=" SCEP_SANITIZER_LOG_DIR "/report:detect_leaks=1";
}

extern "C" const char* __ubsan_default_options() {
  return "log_path=" SCEP_SANITIZER_LOG_DIR "/report:print_stacktrace=1:halt_on_error=1";
}

namespace {

/// OpenSSL's cleanup at exit loses what the legacy provider (DES, MD5)
/// allocated (openssl/openssl#16516), which LeakSanitizer would report in
/// every process that decrypted a DES request. Skipping that cleanup keeps
/// OpenSSL's state reachable; leaks of our own are still reported.
[[maybe_unused]] const bool openssl_no_atexit = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;

}  // namespace
