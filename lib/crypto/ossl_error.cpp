#include "crypto/ossl_error.hpp"

#include <openssl/err.h>

namespace crypto {

core::Error ossl_error(core::Errc code, std::string_view what) {
  std::string detail(what);
  unsigned long e;
  std::string_view sep = core::log_only_mark;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += sep;
    detail += buf;
    sep = "; ";
  }
  if (sep != core::log_only_mark) detail += ')';
  return core::Error{code, std::move(detail)};
}

void clear_ossl_errors() { ERR_clear_error(); }

}  // namespace crypto
