#pragma once
// Which CA a command acts on when none is named.

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace scepctl {

/// `name`, else the default CA: server.default_ca, else the only CA.
/// Several CAs and no default is a usage error (exit 2) that says to name
/// one; a store without CAs is not_found.
core::Result<std::string> target_ca(const store::Store& st, const config::Config& cfg, std::string_view name);

}  // namespace scepctl
