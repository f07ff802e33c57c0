#pragma once
// Keys on a PKCS#11 token (an HSM, a smart card, SoftHSM), named by an
// RFC 7512 URI: the parser, loading a key through libp11 (an EVP_PKEY whose
// private operations run on the token; the key never leaves it), and making
// a key pair on the token (raw PKCS#11 through p11-kit: libp11 0.4.12
// generates RSA only, and deprecated). One place for all of it, so that
// `ca create`, `ca import`, `ra create` and a CA rollover load keys alike.
//
// A process-wide registry keeps one loaded module per path and one
// logged-in slot per token for the life of the process: a server logs in
// once, a CGI process once per request. A key loaded from it keeps its
// token's entry alive and says whether its login still holds
// (PrivateKey::usable): after a token reset the caller loads it again,
// which logs in again.

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/key_type.hpp"
#include "crypto/keys.hpp"

namespace crypto {

/// The environment variable a PIN may come from (read by the front ends,
/// handed over with set_pkcs11_environment_pin: nothing in lib/ reads the
/// environment).
inline constexpr std::string_view pkcs11_pin_env = "SCEP_PKCS11_PIN";

/// An RFC 7512 "pkcs11:" URI naming a private key. Path attributes token,
/// object, id (percent-encoded bytes), manufacturer, serial, model, slot-id;
/// query attributes pin-source, pin-value, module-path. Any other attribute
/// is refused (a typo must not select another key).
struct Pkcs11Uri {
  std::string token, object, manufacturer, serial, model;
  std::optional<core::Bytes> id;
  std::optional<unsigned long> slot_id;
  std::string pin_source, pin_value, module_path;

  static core::Result<Pkcs11Uri> parse(std::string_view text);
  /// The URI, attributes percent-encoded as needed, pin-value left out:
  /// what messages and `ca show` print.
  std::string text() const;
};

/// The PIN of SCEP_PKCS11_PIN (or none); the front end sets it once at start.
void set_pkcs11_environment_pin(std::optional<std::string> pin);

/// The private key `uri` names, on its token, logged in (once per token and
/// process). `default_module` is scep.toml's [pkcs11] module; the URI's
/// module-path wins. PIN: the URI's pin-value, else its pin-source
/// (file:/path or /path), else SCEP_PKCS11_PIN. Errc::unavailable for a
/// module, token, PIN or key object that is not there or does not work
/// (each message says which); invalid_argument for a URI that names no key.
core::Result<PrivateKey> load_pkcs11_key(const Pkcs11Uri& uri, std::string_view default_module);

/// What prepare_pkcs11_key found or made.
struct Pkcs11Prepared {
  KeyType type;
  bool generated = false;  ///< made now (a failure later leaves it on the token)
};

/// Makes sure the token holds the private key `uri` names: an existing one
/// is kept (its type wins; `wanted`, when given and different, is
/// invalid_argument), else a key pair of `wanted` (or `fallback`) is made
/// on the token: sensitive, not extractable, labelled `object`, with the
/// URI's id (or a random one). Call before the module is loaded through
/// load_pkcs11_key in this process (it initialises and finalises it).
core::Result<Pkcs11Prepared> prepare_pkcs11_key(const Pkcs11Uri& uri, std::string_view default_module,
                                                std::optional<KeyType> wanted, KeyType fallback);

/// Tests: logs every token in the registry out, as a token reset would:
/// keys loaded before say !usable() and loading again logs in again.
void pkcs11_logout_all();

}  // namespace crypto
