#pragma once
// Shared presentation of certificates for `ca list/show` and `export`.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string_view>

#include "crypto/certificate.hpp"

namespace scepctl {

nlohmann::json cert_json(const crypto::Certificate& cert);
/// Aligned "label: value" lines, each prefixed by `indent`.
void print_cert(std::ostream& out, const crypto::Certificate& cert, std::string_view indent = "");

}  // namespace scepctl
