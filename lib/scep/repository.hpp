#pragma once
// What the protocol service needs from persistent state. `store::Repository`
// implements it over the flat-file store; tests can use an in-memory twin.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"

namespace scep {

/// A CA's public side, enough for GetCACaps/GetCACert. Keys are loaded only
/// when an operation needs them.
struct CaBundle {
  std::string name;
  crypto::Certificate cert;
  std::vector<crypto::Certificate> chain;  ///< issuers above `cert`, nearest first, root last
  std::optional<crypto::Certificate> ra;
  config::CaOptions options;
};

enum class KeyRole { ca, ra };

class Repository {
 public:
  virtual ~Repository() = default;
  /// The CA a client asked for by store name; empty `name` means the default CA.
  /// Errc::unknown_ca when there is no such CA.
  virtual core::Result<CaBundle> find_ca(std::string_view name) = 0;
  virtual core::Result<crypto::PrivateKey> load_key(std::string_view ca, KeyRole role) = 0;
};

}  // namespace scep
