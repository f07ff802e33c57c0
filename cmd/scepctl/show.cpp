#include "show.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/names.hpp"
#include "crypto/general_name.hpp"

namespace scepctl {

std::vector<std::string> cert_sans(const crypto::Certificate& cert) {
  auto sans = crypto::subject_alt_names(cert);
  if (!sans) return {"(the subjectAltName extension is malformed)"};
  return crypto::to_display(*sans);
}

std::vector<std::string> printable_sans(const std::vector<std::string>& sans) {
  std::vector<std::string> shown;
  for (const auto& s : sans) {
    bool clean = std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
    shown.push_back(clean ? s : core::escape_text(s, 1024));
  }
  return shown;
}

std::string san_list(const std::vector<std::string>& sans) {
  std::string out;
  for (const auto& s : printable_sans(sans)) out += fmt::format("{}\"{}\"", out.empty() ? "" : " ", s);
  return out;
}

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
      {"sans", cert_sans(cert)},
  };
}

void print_cert(std::ostream& out, const crypto::Certificate& cert, std::string_view indent) {
  auto j = cert_json(cert);
  for (const char* key : {"subject", "issuer", "serial", "not_before", "not_after", "key", "md5", "sha1", "sha256"}) {
    std::string label = std::string(key) + ":";
    out << fmt::format("{}{:<12}{}\n", indent, label, j[key].get<std::string>());
  }
  if (!j["sans"].empty()) out << fmt::format("{}{:<12}{}\n", indent, "sans:", san_list(j["sans"]));
}

nlohmann::json option_json(const config::CaOptionInfo& info, const config::CaOptions& o) {
  return std::visit([&](auto member) { return nlohmann::json(o.*member); }, info.member);
}

nlohmann::json options_json(const config::CaOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& info : config::ca_option_table()) j[std::string(info.key)] = option_json(info, o);
  return j;
}

void print_options(std::ostream& out, const config::CaOptions& o,
                   const std::function<std::string_view(std::string_view key)>& mark) {
  for (const auto& info : config::ca_option_table())
    out << fmt::format("  {:<19} = {}{}\n", info.key, option_json(info, o).dump(), mark ? mark(info.key) : "");
}

}  // namespace scepctl
