#include "show.hpp"

#include <fmt/format.h>

namespace scepctl {

nlohmann::json cert_json(const crypto::Certificate& cert) {
  return {
      {"subject", cert.subject()},
      {"issuer", cert.issuer()},
      {"serial", cert.serial_hex()},
      {"not_before", crypto::format_time(cert.not_before())},
      {"not_after", crypto::format_time(cert.not_after())},
      {"key", cert.public_key().description()},
      {"md5", crypto::colon_hex(cert.fingerprint(crypto::DigestAlg::md5))},
      {"sha1", crypto::colon_hex(cert.fingerprint(crypto::DigestAlg::sha1))},
      {"sha256", crypto::colon_hex(cert.fingerprint(crypto::DigestAlg::sha256))},
  };
}

void print_cert(std::ostream& out, const crypto::Certificate& cert, std::string_view indent) {
  auto j = cert_json(cert);
  for (const char* key : {"subject", "issuer", "serial", "not_before", "not_after", "key", "md5", "sha1", "sha256"}) {
    std::string label = std::string(key) + ":";
    out << fmt::format("{}{:<12}{}\n", indent, label, j[key].get<std::string>());
  }
}

}  // namespace scepctl
