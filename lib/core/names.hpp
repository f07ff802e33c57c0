#pragma once

#include <string_view>

namespace core {

/// CA (and policy) store names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. Such a name is
/// safe to use as a single path component: no '/', never "." or "..".
bool is_valid_name(std::string_view name);

}  // namespace core
