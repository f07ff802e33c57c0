#pragma once
// `--key-uri URI`: a CA's or RA's key on a PKCS#11 token, for `ca create`,
// `ca import` and `ra create` (and whatever else makes a key: one place).

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "crypto/key_type.hpp"
#include "crypto/pkcs11.hpp"
#include "store/store.hpp"

namespace scepctl {

/// The key a --key-uri named, loaded from its token.
struct TokenKey {
  crypto::PrivateKey key;
  bool generated = false;  ///< made on the token by this command
};

/// --key-uri checked: an RFC 7512 URI that names a key and holds no PIN
/// (the URI is stored in the CA's directory).
core::Result<crypto::Pkcs11Uri> parse_key_uri_option(std::string_view text);

enum class MakeKey { if_missing, never };

/// The token key `uri` names (the module default from the store's
/// scep.toml): with MakeKey::if_missing made on the token first when it has
/// none (`wanted`, else `fallback`), else the one there (its type wins;
/// `wanted` must agree).
core::Result<TokenKey> token_key(const store::Store& st, const crypto::Pkcs11Uri& uri, MakeKey make,
                                 std::optional<crypto::KeyType> wanted, crypto::KeyType fallback);

/// `error` with a note that the key made on the token stays there.
core::Error note_generated(core::Error error, const crypto::Pkcs11Uri& uri);

}  // namespace scepctl
