#pragma once
// Finding issued certificates by CA and serial, for `certs`, `cert show` and `revoke`.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "store/store.hpp"

namespace scepctl {

/// The CA names an option selects: one (not_found when there is no such CA), or all of them.
core::Result<std::vector<std::string>> selected_cas(const store::Store& st, const std::string& ca);
/// "valid", "expired" or "revoked".
std::string_view status_of(const scep::IssuedCertificate& c, core::TimePoint now);
/// A serial as typed (colons, spaces, any case, leading zeros) in the store's spelling.
core::Result<std::string> canonical_serial(std::string_view text);
/// The CA that issued `serial`: the one named, else the only one that has it.
core::Result<std::string> issuing_ca(const store::Store& st, const std::string& ca, const std::string& serial);

}  // namespace scepctl
