#pragma once
// Distinguished names as operators type them and as the tools print them.

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

/// Parses a distinguished name typed by an operator, either "CN=a,O=b" (commas,
/// '\' escapes) or OpenSSL's "/CN=a/O=b". Attributes are kept in the order given.
core::Result<X509NamePtr> parse_dn(std::string_view text);

/// "CN=a,O=b" in encoding order, UTF-8, RFC 4514 escaping.
std::string format_dn(const X509_NAME* name);

}  // namespace crypto
