#include "target.hpp"

#include <fmt/format.h>

namespace scepctl {

core::Result<std::string> target_ca(const store::Store& st, const config::Config& cfg, std::string_view name) {
  if (!name.empty()) return std::string(name);
  if (!cfg.server.default_ca.empty()) return cfg.server.default_ca;
  SCEP_TRY_ASSIGN(auto names, st.ca_names());
  if (names.size() == 1) return names.front();
  if (names.empty()) return core::fail(core::Errc::not_found, "the store has no CA");
  return core::fail(core::Errc::invalid_argument,
                    fmt::format("there are {} CAs ({}) and no default CA (server.default_ca in scep.toml): name one",
                                names.size(), fmt::join(names, ", ")));
}

}  // namespace scepctl
