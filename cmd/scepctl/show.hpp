#pragma once
// Shared presentation of certificates for `ca list/show` and `export`.

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "crypto/certificate.hpp"

namespace scepctl {

/// The certificate's subjectAltNames as crypto::to_display writes them (escaped).
std::vector<std::string> cert_sans(const crypto::Certificate& cert);
/// Names escaped by crypto::to_display as they are; those from a record
/// written before names were escaped, escaped now.
std::vector<std::string> printable_sans(const std::vector<std::string>& sans);
/// printable_sans on one line, each quoted: `"DNS:a" "email:b"` (escaped
/// names hold no '"').
std::string san_list(const std::vector<std::string>& sans);

nlohmann::json cert_json(const crypto::Certificate& cert);
/// A per-CA option's value in `o`: a boolean, a number or a string.
nlohmann::json option_json(const config::CaOptionInfo& info, const config::CaOptions& o);
/// Every per-CA option of `o`, by key (`ca set`, `ca show`).
nlohmann::json options_json(const config::CaOptions& o);
/// "  key = value" lines of every per-CA option, `mark(key)` after each.
void print_options(std::ostream& out, const config::CaOptions& o,
                   const std::function<std::string_view(std::string_view key)>& mark = {});
/// Aligned "label: value" lines, each prefixed by `indent`.
void print_cert(std::ostream& out, const crypto::Certificate& cert, std::string_view indent = "");

}  // namespace scepctl
