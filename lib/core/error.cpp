#include "core/error.hpp"

#include <ostream>

namespace core {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::malformed_request: return "malformed_request";
    case Errc::unknown_ca: return "unknown_ca";
    case Errc::decrypt_failed: return "decrypt_failed";
    case Errc::too_large: return "too_large";
    case Errc::unsupported_algorithm: return "unsupported_algorithm";
    case Errc::bad_message_check: return "bad_message_check";
    case Errc::policy_rejected: return "policy_rejected";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::store_io: return "store_io";
    case Errc::store_busy: return "store_busy";
    case Errc::config_invalid: return "config_invalid";
    case Errc::unavailable: return "unavailable";
    case Errc::internal: return "internal";
  }
  return "internal";
}

std::ostream& operator<<(std::ostream& os, Errc code) { return os << errc_name(code); }

std::string client_text(const Error& e) {
  constexpr std::size_t max_bytes = 200;
  std::string_view text = e.detail;
  text = text.substr(0, text.find(log_only_mark));
  text = text.substr(0, text.find_first_of("\r\n"));
  if (text.size() <= max_bytes) return std::string(text);
  std::string cut(text.substr(0, max_bytes - 3));
  return cut + "...";
}

}  // namespace core
