#include "key_uri.hpp"

#include <fmt/format.h>

#include "store/atomic_file.hpp"

namespace scepctl {

core::Result<crypto::Pkcs11Uri> parse_key_uri_option(std::string_view text) {
  auto uri = store::parse_stored_key_uri(text);
  if (!uri) return core::fail(core::Errc::invalid_argument, fmt::format("--key-uri: {}", uri.error().detail));
  return uri;
}

core::Result<std::vector<crypto::Certificate>> read_cert_option(const std::string& path) {
  auto bytes = store::read_file(path, 4u << 20);
  if (!bytes) return core::fail(core::Errc::invalid_argument, bytes.error().detail);
  auto certs = crypto::Certificate::load_all(*bytes);
  if (!certs) return core::fail(core::Errc::invalid_argument, fmt::format("{}: {}", path, certs.error().detail));
  return certs;
}

core::Result<CertAndChain> read_cert_and_chain_options(const std::string& cert_file, const std::string& chain_file) {
  SCEP_TRY_ASSIGN(auto certs, read_cert_option(cert_file));
  CertAndChain out{certs.front(), std::vector<crypto::Certificate>(certs.begin() + 1, certs.end())};
  if (!chain_file.empty()) {
    SCEP_TRY_ASSIGN(auto more, read_cert_option(chain_file));
    out.chain.insert(out.chain.end(), more.begin(), more.end());
  }
  return out;
}

core::Result<crypto::PrivateKey> read_key_option(const std::string& path) {
  auto bytes = store::read_file(path, 1u << 20);
  if (!bytes) return core::fail(core::Errc::invalid_argument, bytes.error().detail);
  auto key = crypto::PrivateKey::load(*bytes);
  if (!key) return core::fail(core::Errc::invalid_argument, fmt::format("{}: {}", path, key.error().detail));
  return key;
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

KeyReport describe_key(const store::Store& st, std::string_view ca, scep::KeyRole role,
                       const crypto::Certificate& cert) {
  bool is_ca = role == scep::KeyRole::ca;
  const store::Layout relative;
  KeyReport rep;
  auto uri_file = is_ca ? st.layout().ca_key_uri(ca) : st.layout().ra_key_uri(ca);
  rep.location = (is_ca ? relative.ca_key(ca) : relative.ra_key(ca)).string();
  if (auto text = store::read_file(uri_file, 4096)) {
    auto uri = store::parse_stored_key_uri(core::to_string(*text));
    rep.location = uri ? uri->text() : (is_ca ? relative.ca_key_uri(ca) : relative.ra_key_uri(ca)).string();
  }
  auto key = st.load_key(ca, role);
  if (!key) {
    rep.unavailable = key.error().code == core::Errc::unavailable;
    rep.summary = key.error().detail;
    return rep;
  }
  rep.ok = cert.matches(*key);
  rep.summary = fmt::format("{}, {}", key->public_key().description(),
                            rep.ok ? "matches certificate" : "does NOT match the certificate");
  return rep;
}

core::Error note_generated(core::Error error, const crypto::Pkcs11Uri& uri) {
  error.detail += fmt::format(" (the key generated on the token stays there, unused: {})", uri.text());
  return error;
}

}  // namespace scepctl
