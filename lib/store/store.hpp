#pragma once
// The store directory:
//   FORMAT                 "scep-store 1": the layout version
//   scep.toml              configuration (config/config.hpp)
//   ca/NAME/cert.pem       the CA certificate
//   ca/NAME/key.pem        its private key (0600)
//   ca/NAME/chain.pem      optional: issuers above the CA, nearest first
//   ca/NAME/ra.pem         optional: RA certificate (its presence = RA mode)
//   ca/NAME/ra-key.pem     the RA key (0600), written before ra.pem

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "scep/repository.hpp"

namespace store {

inline constexpr std::string_view format_line = "scep-store 1";

enum class OpenMode { existing, create };

struct NewCa {
  crypto::Certificate cert;
  crypto::PrivateKey key;
  std::vector<crypto::Certificate> chain;
};

class Store {
 public:
  /// Opens (or with OpenMode::create, initialises) the store at `root`.
  static core::Result<Store> open(std::filesystem::path root, OpenMode mode);

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path config_path() const { return m_root / "scep.toml"; }
  std::filesystem::path ca_dir(std::string_view name) const { return m_root / "ca" / std::string(name); }

  core::Result<config::Config> load_config() const;
  core::Result<void> set_default_ca(std::string_view name);

  core::Result<void> add_ca(std::string_view name, const NewCa& ca);
  core::Result<std::vector<std::string>> ca_names() const;
  /// Certificates of a CA by its store name (not_found / invalid_argument errors).
  core::Result<scep::CaBundle> load_ca(std::string_view name, const config::Config& cfg) const;
  core::Result<crypto::PrivateKey> load_key(std::string_view name, scep::KeyRole role) const;
  /// Installs an RA certificate and key; refuses to replace one unless told to.
  enum class Replace { yes, no };
  core::Result<void> set_ra(std::string_view name, const crypto::Certificate& cert, const crypto::PrivateKey& key,
                            Replace replace);
  /// Name of the default CA: server.default_ca, else the only CA.
  core::Result<std::string> default_ca(const config::Config& cfg) const;

 private:
  explicit Store(std::filesystem::path root) : m_root(std::move(root)) {}
  core::Result<void> check_ca_name(std::string_view name) const;
  std::filesystem::path m_root;
};

/// scep::Repository over a Store. Reads scep.toml once, CA files on demand.
class Repository final : public scep::Repository {
 public:
  explicit Repository(const Store& store) : m_store(store) {}
  core::Result<scep::CaBundle> find_ca(std::string_view name) override;
  core::Result<crypto::PrivateKey> load_key(std::string_view ca, scep::KeyRole role) override;

 private:
  core::Result<const config::Config*> config();
  const Store& m_store;
  std::optional<config::Config> m_config;
};

}  // namespace store
