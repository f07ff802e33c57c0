#pragma once
// `--key-uri URI`: a CA's or RA's key on a PKCS#11 token, for `ca create`,
// `ca import` and `ra create` (and whatever else makes a key: one place).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// Where a CA's or RA's key is and whether it works, for `ca show` and `check`.
struct KeyReport {
  std::string location;      ///< the token URI, or the key file relative to the store
  std::string summary;       ///< "RSA 2048, matches certificate", or what is wrong
  bool ok = false;           ///< loads and matches its certificate
  bool unavailable = false;  ///< the token cannot be reached (Errc::unavailable)
};
KeyReport describe_key(const store::Store& st, std::string_view ca, scep::KeyRole role,
                       const crypto::Certificate& cert);

/// --cert / --chain FILE: every certificate in a PEM (or DER) file; a file
/// that cannot be read or parsed is the operator's mistake (invalid_argument).
core::Result<std::vector<crypto::Certificate>> read_cert_option(const std::string& path);
/// --cert FILE [--chain FILE]: the CA certificate (the first in --cert) and
/// its chain (the certificates after it in --cert, then those of --chain).
struct CertAndChain {
  crypto::Certificate cert;
  std::vector<crypto::Certificate> chain;
};
core::Result<CertAndChain> read_cert_and_chain_options(const std::string& cert_file, const std::string& chain_file);
/// --key FILE: an unencrypted private key (PEM or DER), as read_cert_option.
core::Result<crypto::PrivateKey> read_key_option(const std::string& path);

/// `error` with a note that the key made on the token stays there.
core::Error note_generated(core::Error error, const crypto::Pkcs11Uri& uri);

}  // namespace scepctl
