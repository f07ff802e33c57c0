#define BOOST_TEST_MODULE SCEP_TEST_LAYER
#include <boost/test/unit_test.hpp>

#include <openssl/crypto.h>

namespace {

/// OpenSSL's cleanup at exit loses what the legacy provider (DES, MD5)
/// allocated (openssl/openssl#16516): LeakSanitizer reports ~32 KB lost by
/// every test executable that used it. Without that cleanup OpenSSL's state
/// stays reachable, and leaks of our own are still reported.
[[maybe_unused]] const bool openssl_no_atexit = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;

}  // namespace
