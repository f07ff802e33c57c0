#pragma once
// Reading operation and message from a query string, and decoding a GET
// PKIOperation message as real clients spell it.

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace web {

/// RFC 3986 percent-decoding; with `plus_is_space`, '+' becomes ' ' (forms).
/// A '%' not followed by two hex digits is kept as it is.
std::string percent_decode(std::string_view text, bool plus_is_space);

struct Query {
  std::string operation;  ///< decoded; empty when absent
  /// Still raw (percent-encoded): a view into the query string given to
  /// parse_query(), which must outlive it. A GET message is not copied.
  std::optional<std::string_view> message;
};

/// Reads `operation` and `message` (names matched case-insensitively, the first
/// occurrence wins); other parameters are ignored.
Query parse_query(std::string_view raw);

/// Decodes a GET PKIOperation `message` the way real clients send it:
/// percent-decoding, '+' that arrived as ' ', line breaks, the URL-safe
/// alphabet and missing padding are all repaired; then strict base64.
core::Result<core::Bytes> decode_message(std::string_view raw);

}  // namespace web
