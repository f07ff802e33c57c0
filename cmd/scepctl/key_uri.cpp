#include "key_uri.hpp"

#include <fmt/format.h>

namespace scepctl {

core::Result<crypto::Pkcs11Uri> parse_key_uri_option(std::string_view text) {
  auto uri = store::parse_stored_key_uri(text);
  if (!uri) return core::fail(core::Errc::invalid_argument, fmt::format("--key-uri: {}", uri.error().detail));
  return uri;
}

core::Result<TokenKey> token_key(const store::Store& st, const crypto::Pkcs11Uri& uri, MakeKey make,
                                 std::optional<crypto::KeyType> wanted, crypto::KeyType fallback) {
  SCEP_TRY_ASSIGN(auto cfg, st.load_config());
  bool generated = false;
  if (make == MakeKey::if_missing) {
    // Raw PKCS#11 before libp11 loads the module in this process.
    SCEP_TRY_ASSIGN(auto prepared, crypto::prepare_pkcs11_key(uri, cfg.pkcs11.module, wanted, fallback));
    generated = prepared.generated;
  }
  auto key = crypto::load_pkcs11_key(uri, cfg.pkcs11.module);
  if (!key) return std::unexpected(generated ? note_generated(key.error(), uri) : key.error());
  return TokenKey{std::move(*key), generated};
}

core::Error note_generated(core::Error error, const crypto::Pkcs11Uri& uri) {
  error.detail += fmt::format(" (the key generated on the token stays there, unused: {})", uri.text());
  return error;
}

}  // namespace scepctl
