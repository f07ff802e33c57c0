#pragma once
// One error vocabulary for the whole library. Each front end maps an Errc to
// its own face (failInfo, HTTP status, exit code) with an exhaustive switch.

#include <expected>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace core {

enum class Errc {
  // The request cannot be answered with a signed CertRep: HTTP 4xx.
  malformed_request,
  unknown_ca,
  decrypt_failed,
  too_large,
  // A signed CertRep FAILURE with a failInfo.
  unsupported_algorithm,
  bad_message_check,
  policy_rejected,
  // Local trouble: operator input, the store, the configuration.
  invalid_argument,
  not_found,
  already_exists,
  store_io,
  store_busy,
  config_invalid,
  /// A CA that cannot serve SCEP as it stands (an EC CA without its RSA
  /// RA) until the operator acts: HTTP 503 with the reason.
  unavailable,
  internal,
};

struct Error {
  Errc code;
  std::string detail;  ///< for logs and stderr; never shown to a client verbatim unless safe
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string detail) {
  return std::unexpected(Error{code, std::move(detail)});
}

/// Passes the error of `expr` (a Result) on to the caller of the enclosing
/// function, which returns a Result too; the value, if any, is dropped.
/// The model is ccache's util/expected.hpp TRY:
///   SCEP_TRY(write_file_atomic(path, text, 0644));
/// A value that is used goes through SCEP_TRY_ASSIGN below; a Result whose
/// error is inspected, or which is passed on whole, stays a named Result.
#define SCEP_TRY(expr)                                             \
  do {                                                             \
    if (auto scep_try_result_ = (expr); !scep_try_result_)         \
      return std::unexpected(std::move(scep_try_result_).error()); \
  } while (false)

#define SCEP_TRY_CONCAT_(a, b) a##b
#define SCEP_TRY_NAME_(line) SCEP_TRY_CONCAT_(scep_try_assign_, line)

/// Declares `decl` from the value of `expr` (a Result), or passes its error
/// on to the caller as SCEP_TRY does. The model is ccache's TRY_ASSIGN:
///   SCEP_TRY_ASSIGN(auto held, ledger.lock_transaction(ca, tid));
/// `decl` names the value, not the Result: `held` above is what `*r` was,
/// so a value that is itself an optional, a pointer or a bool keeps its own
/// operator* and operator bool. The macro is several statements in the
/// enclosing scope, so it never goes after an unbraced if/else/for/while;
/// and it takes one line's name, so only one use per line.
#define SCEP_TRY_ASSIGN(decl, expr)                                                                   \
  auto SCEP_TRY_NAME_(__LINE__) = (expr);                                                             \
  if (!SCEP_TRY_NAME_(__LINE__)) return std::unexpected(std::move(SCEP_TRY_NAME_(__LINE__)).error()); \
  decl = std::move(*SCEP_TRY_NAME_(__LINE__))

/// Where an error's detail turns from what a client may read into what only
/// the log may: crypto::ossl_error() appends OpenSSL's error queue after it.
inline constexpr std::string_view log_only_mark = " (OpenSSL: ";

/// The part of `e.detail` fit for a client: the text before log_only_mark,
/// cut to one line of at most 200 bytes.
std::string client_text(const Error& e);

/// A short stable name, used in logs and JSON output.
std::string_view errc_name(Errc code);
std::ostream& operator<<(std::ostream& os, Errc code);

}  // namespace core
