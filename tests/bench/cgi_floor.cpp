// The floor under any CGI program on this machine, for BENCHMARKS.md: a CGI
// process that answers at once, and (built with SCEP_CGI_FLOOR_OPENSSL) one
// that only starts OpenSSL as scep.cgi must before its first operation (the
// library, its configuration, one algorithm fetch), then answers. What
// lighttpd can run of these per second bounds what scep.cgi can reach as CGI.
#include <unistd.h>

#ifdef SCEP_CGI_FLOOR_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#endif

int main() {
#ifdef SCEP_CGI_FLOOR_OPENSSL
  if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) return 1;
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!md) return 1;
  EVP_MD_free(md);
#endif
  static const char reply[] = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nfloor\n";
  return ::write(1, reply, sizeof reply - 1) == static_cast<ssize_t>(sizeof reply - 1) ? 0 : 1;
}
