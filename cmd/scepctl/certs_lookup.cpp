#include "certs_lookup.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scepctl {

using core::Errc;

core::Result<std::vector<std::string>> selected_cas(const store::Store& st, const std::string& ca) {
  if (!ca.empty()) {
    SCEP_TRY_ASSIGN(auto names, st.ca_names());
    if (std::find(names.begin(), names.end(), ca) == names.end())
      return core::fail(Errc::not_found, fmt::format("no CA called \"{}\"", ca));
    return std::vector<std::string>{ca};
  }
  return st.ca_names();
}

std::string_view status_of(const scep::IssuedCertificate& c, core::TimePoint now) {
  if (c.revocation) return "revoked";
  if (now > c.cert.not_after()) return "expired";
  return "valid";
}

core::Result<std::string> canonical_serial(std::string_view text) {
  std::string hex;
  for (char c : text)
    if (c != ':' && c != ' ') hex += c;
  auto integer = crypto::integer_from_hex(hex);
  if (!integer) return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a hex serial number", text));
  return crypto::integer_to_hex(integer.get());
}

core::Result<std::string> issuing_ca(const store::Store& st, const std::string& ca, const std::string& serial) {
  SCEP_TRY_ASSIGN(auto cas, selected_cas(st, ca));
  std::vector<std::string> holders;
  for (const auto& name : cas) {
    SCEP_TRY_ASSIGN(auto found, st.find_certificate(name, serial));
    if (found) holders.push_back(name);
  }
  if (holders.empty()) return core::fail(Errc::not_found, fmt::format("no certificate with serial {}", serial));
  if (holders.size() > 1)
    return core::fail(Errc::invalid_argument,
                      fmt::format("serial {} exists at CAs {}: add --ca", serial, fmt::join(holders, ", ")));
  return holders.front();
}

}  // namespace scepctl
