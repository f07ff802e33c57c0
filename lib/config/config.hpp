#pragma once
// scep.toml: server settings and per-CA options. Parsing is separate from
// editing: `scepctl` changes single values in place so operators' comments stay.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.hpp"

namespace config {

inline constexpr int format_version = 1;

/// Per-CA options; each is a row of ca_option_table() too.
struct CaOptions {
  bool include_root = true;        ///< put the root certificate into GetCACert replies
  bool legacy_algorithms = false;  ///< accept DES-CBC and MD5 (old Cisco, micromdm's client)
  bool manual_enrollment = true;   ///< park requests without a challenge password for approval
  int max_pending = 10000;         ///< past this many waiting requests, new ones are refused
  int pending_days = 7;            ///< unapproved requests expire after this many days
  std::string manual_policy;       ///< policy for approvals without --policy (empty: built-in default)
  int crl_days = 7;                ///< a CRL's nextUpdate is this many days after its thisUpdate
  int renewal_grace_days = 0;      ///< a certificate may still renew this many days after it expired
};

/// One per-CA option of scep.toml's [ca.NAME] table: all that the parser,
/// the default scep.toml, `scepctl ca set` and `ca show` know of it. Its
/// default is the member's initializer in CaOptions. Adding an option is a
/// member of CaOptions, a row of ca_option_table() and its entries in
/// scep.toml(5) and scepctl(1), which a unit test compares with the table.
struct CaOptionInfo {
  enum class Type { boolean, integer, policy_name };
  using Member = std::variant<bool CaOptions::*, int CaOptions::*, std::string CaOptions::*>;
  std::string_view key;   ///< in [ca.NAME]; `ca set --KEY` with '-' for '_'
  std::string_view help;  ///< one line, for `ca set --help` and scep.toml's comments
  Member member;          ///< a std::string option is a policy name ("" for none)
  int min = 0, max = 0;   ///< Type::integer: the values allowed

  Type type() const { return static_cast<Type>(member.index()); }
};

/// Every per-CA option, in the order scep.toml(5) lists them.
std::span<const CaOptionInfo> ca_option_table();
/// The option's value in `o` as a TOML literal: true, 7, "name".
std::string option_literal(const CaOptionInfo& info, const CaOptions& o);

struct ServerConfig {
  std::string listen = "0.0.0.0:8080";
  std::string path = "/scep";
  std::string default_ca;  ///< empty: the only CA, if there is exactly one
  /// A GetCACaps/GetCACert/GetCACertChain whose `message=` names no CA gets
  /// 404 instead of the default CA's answer.
  bool strict_ca_names = false;
  /// `scepctl serve`: open connections at most; 0: from the descriptor limit.
  int max_connections = 0;
  /// `scepctl serve`: open connections from one client (an IPv4 address, an
  /// IPv6 /64) at most; 0: no limit of its own; unset: an eighth of
  /// max_connections, at least 32.
  std::optional<int> max_connections_per_client;
  /// Log lines of `scepctl serve`: "text" (logfmt) or "json".
  std::string log_format = "text";
  /// `scepctl serve`: HOST:PORT of a separate listener for /metrics and
  /// /health; empty: none.
  std::string metrics_listen;
  /// scep.cgi under FastCGI: the path below the SCEP path answered with the
  /// metrics ("/metrics"); empty: none. The web server guards it.
  std::string metrics_path;
};

/// [pkcs11]: keys on tokens (key.uri files; crypto/pkcs11.hpp).
struct Pkcs11Config {
  /// The PKCS#11 module for token keys whose URI has no module-path.
  std::string module;
};

struct Config {
  ServerConfig server;
  Pkcs11Config pkcs11;
  std::map<std::string, CaOptions, std::less<>> cas;

  const CaOptions& options_for(std::string_view ca) const;
};

core::Result<Config> parse_config(std::string_view text);

/// The commented file `scepctl init` writes.
std::string default_config_text();

/// Sets `key = value_literal` in `[section]`, keeping every other line; adds
/// the key (and the section) when missing. `value_literal` is TOML ("\"x\"", "true").
std::string set_value(std::string_view text, std::string_view section, std::string_view key,
                      std::string_view value_literal);

/// The table header of a CA's options: ca.NAME, or ca."NAME" when NAME has a dot.
std::string ca_section(std::string_view ca);
/// Sets one per-CA option, matching the CA's table however it was spelled.
std::string set_ca_value(std::string_view text, std::string_view ca, std::string_view key,
                         std::string_view value_literal);

/// A TOML basic string literal for `s`: quotes, backslashes and every control
/// character escaped, so any string parsed from TOML quotes back to itself.
std::string quote(std::string_view s);

}  // namespace config
