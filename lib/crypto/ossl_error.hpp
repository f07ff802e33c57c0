#pragma once
// The one way a failed OpenSSL call becomes a core::Error.

#include <string_view>

#include "core/error.hpp"

namespace crypto {

/// Builds an Error from a failed OpenSSL call: `what` plus the whole (drained)
/// OpenSSL error queue, so later calls never see stale errors. The queue goes
/// after core::log_only_mark: logs show it, clients (core::client_text) not.
core::Error ossl_error(core::Errc code, std::string_view what);

inline std::unexpected<core::Error> ossl_fail(core::Errc code, std::string_view what) {
  return std::unexpected(ossl_error(code, what));
}

/// Empties the OpenSSL error queue (after an expected failure).
void clear_ossl_errors();

}  // namespace crypto
