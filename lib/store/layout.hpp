#pragma once
// The store directory, the one place that spells its names:
//   FORMAT                 "scep-store 1": the layout version
//   scep.toml              configuration (config/config.hpp)
//   ca/NAME/cert.pem       the CA certificate
//   ca/NAME/key.pem        its private key (0600), or
//   ca/NAME/key.uri        the RFC 7512 URI of its key on a PKCS#11 token (0640: one
//                          line, no PIN); exactly one of the two exists
//   ca/NAME/chain.pem      optional: issuers above the CA, nearest first
//   ca/NAME/ra.pem         optional: RA certificate (its presence = RA mode)
//   ca/NAME/ra-key.pem     the RA key (0600), written before ra.pem; or
//   ca/NAME/ra-key.uri     the URI of the RA key on a token, as key.uri
//   ca/NAME/certs/SERIAL.pem  issued certificates, an index of the transaction records;
//                          the file name claims the serial. Header lines before the PEM:
//                          "Policy: NAME", the policy it was issued under, and
//                          "Transaction: KEY", the record it belongs to.
//   ca/NAME/revoked/SERIAL.json  revocations (time, reason, the audit event); the file's
//                          existence revokes
//   ca/NAME/renewed/SERIAL the transactionID that renewed this certificate (its one renewal)
//   ca/NAME/crl.der        the current CRL; ca/NAME/crl.lock serialises its writers
//   ca/NAME/tx/KEY.json    transaction records, KEY = SHA-256(transactionID) hex: the
//                          commit point of every decision on a transaction; an issued
//                          one carries its certificate and audit event (decisions.cpp)
//   ca/NAME/tx.lock        byte-range locks, one byte per transactionID (from H), held
//                          while a request is decided so a retry waits for its first try
//   ca/NAME/pending/F.json requests waiting for approval, F = SHA-256 of the PKCS#10 (hex);
//                          F.claimed while an operator decides it
//   ca/NAME/next/          the next generation while a rollover waits for activation
//                          (`scepctl ca rollover`): cert.pem, key.pem (0600), chain.pem?,
//                          ra.pem? (the same RA key certified by the next CA), and FILES,
//                          the names it holds; built in a temp dir, renamed in in one step
//   ca/NAME/activating/    next/ renamed here: the commit point of `scepctl ca activate`.
//                          While it exists the CA does not load (503); the activation, run
//                          again or by `scepctl check --repair`, moves its files into ca/NAME/
//   ca/NAME/retired/ID/    an earlier generation, ID = its CA certificate's serial (hex):
//                          hard links of its cert.pem, key.pem (or key.uri), chain.pem?,
//                          ra.pem? (not the RA key: it stays in ca/NAME/), and its own
//                          crl.der (+ crl.lock) kept published
//                          until the last certificate it issued expires. Issued certificates
//                          and revocations of every generation stay in certs/ and revoked/.
//   policies/NAME.toml     issuance policies
//   secrets/H.json         secret records, H = hash of the secret (hex)
//   secrets/H.use-K        one token per remaining use (hard links of one empty file)
//   secrets/H.spent-KEY    a spent use: a token renamed to the transaction it paid for
//   audit.log              JSON lines, appended whole under flock; an index of the
//                          decisions, which `scepctl check --repair` completes
// The records' contents are in store/codec.hpp.

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

namespace store {

inline constexpr std::string_view format_line = "scep-store 1";

/// Names inside the store root.
namespace on_disk {
inline constexpr std::string_view format = "FORMAT";
inline constexpr std::string_view config = "scep.toml";
inline constexpr std::string_view cas = "ca";
inline constexpr std::string_view policies = "policies";
inline constexpr std::string_view secrets = "secrets";
inline constexpr std::string_view audit_log = "audit.log";

// Inside ca/NAME/: its files,
inline constexpr std::string_view ca_cert = "cert.pem";
inline constexpr std::string_view ca_key = "key.pem";
inline constexpr std::string_view chain = "chain.pem";
inline constexpr std::string_view ra_cert = "ra.pem";
inline constexpr std::string_view ra_key = "ra-key.pem";
inline constexpr std::string_view ca_key_uri = "key.uri";
inline constexpr std::string_view ra_key_uri = "ra-key.uri";
inline constexpr std::string_view crl = "crl.der";
inline constexpr std::string_view crl_lock = "crl.lock";
inline constexpr std::string_view tx_lock = "tx.lock";
inline constexpr std::string_view generation_files = "FILES";  ///< next/FILES: the names next/ holds
// and its directories.
inline constexpr std::string_view certs = "certs";
inline constexpr std::string_view revoked = "revoked";
inline constexpr std::string_view renewed = "renewed";
inline constexpr std::string_view tx = "tx";
inline constexpr std::string_view pending = "pending";
inline constexpr std::string_view next = "next";
inline constexpr std::string_view activating = "activating";
inline constexpr std::string_view retired = "retired";

// What follows a name in a directory of records.
inline constexpr std::string_view pem_ext = ".pem";          ///< certs/SERIAL.pem
inline constexpr std::string_view record_ext = ".json";      ///< tx/, revoked/, pending/, secrets/
inline constexpr std::string_view claimed_ext = ".claimed";  ///< pending/F.claimed
inline constexpr std::string_view policy_ext = ".toml";      ///< policies/NAME.toml
inline constexpr std::string_view use_infix = ".use-";       ///< secrets/H.use-K
inline constexpr std::string_view spent_infix = ".spent-";   ///< secrets/H.spent-KEY
}  // namespace on_disk

/// The files of ca/NAME/ (optional ones included), as `scepctl check` and
/// the cache see a CA.
inline constexpr std::array<std::string_view, 10> ca_files{on_disk::ca_cert,    on_disk::ca_key,  on_disk::ca_key_uri,
                                                           on_disk::chain,      on_disk::ra_cert, on_disk::ra_key,
                                                           on_disk::ra_key_uri, on_disk::crl,     on_disk::crl_lock,
                                                           on_disk::tx_lock};
/// The files a CA's certificates come from (scep::CaBundle), the optional
/// ones included: their appearance changes the CA too.
inline constexpr std::array<std::string_view, 3> ca_bundle_files{on_disk::ca_cert, on_disk::chain, on_disk::ra_cert};
/// The directories of ca/NAME/ whose writes the transaction locks cover.
inline constexpr std::array<std::string_view, 4> ca_locked_dirs{on_disk::tx, on_disk::certs, on_disk::pending,
                                                                on_disk::renewed};

/// Every path of a store rooted at `root`. An empty root gives the paths
/// relative to the store (for messages). Names are not checked here: the
/// Store checks a CA, policy or serial before it becomes a path.
class Layout {
 public:
  Layout() = default;
  explicit Layout(std::filesystem::path root) : m_root(std::move(root)) {}

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path format_file() const { return m_root / on_disk::format; }
  std::filesystem::path config() const { return m_root / on_disk::config; }
  std::filesystem::path audit_log() const { return m_root / on_disk::audit_log; }

  std::filesystem::path cas_dir() const { return m_root / on_disk::cas; }
  std::filesystem::path ca_dir(std::string_view ca) const { return cas_dir() / std::string(ca); }
  std::filesystem::path ca_cert(std::string_view ca) const { return ca_dir(ca) / on_disk::ca_cert; }
  std::filesystem::path ca_key(std::string_view ca) const { return ca_dir(ca) / on_disk::ca_key; }
  std::filesystem::path chain(std::string_view ca) const { return ca_dir(ca) / on_disk::chain; }
  std::filesystem::path ra_cert(std::string_view ca) const { return ca_dir(ca) / on_disk::ra_cert; }
  std::filesystem::path ra_key(std::string_view ca) const { return ca_dir(ca) / on_disk::ra_key; }
  std::filesystem::path ca_key_uri(std::string_view ca) const { return ca_dir(ca) / on_disk::ca_key_uri; }
  std::filesystem::path ra_key_uri(std::string_view ca) const { return ca_dir(ca) / on_disk::ra_key_uri; }
  std::filesystem::path crl(std::string_view ca) const { return ca_dir(ca) / on_disk::crl; }
  std::filesystem::path crl_lock(std::string_view ca) const { return ca_dir(ca) / on_disk::crl_lock; }
  std::filesystem::path tx_lock(std::string_view ca) const { return ca_dir(ca) / on_disk::tx_lock; }

  /// A CA's generations other than the current one: their directories are laid
  /// out as ca/NAME/ is for cert.pem, key.pem, chain.pem, ra.pem, ra-key.pem, crl.der.
  std::filesystem::path next_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::next; }
  std::filesystem::path activating_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::activating; }
  std::filesystem::path retired_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::retired; }
  /// retired/ID; `id` must be a valid store name (the Store checks it).
  std::filesystem::path retired(std::string_view ca, std::string_view id) const {
    return retired_dir(ca) / std::string(id);
  }

  std::filesystem::path certs_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::certs; }
  std::filesystem::path certificate(std::string_view ca, std::string_view serial) const {
    return certs_dir(ca) / (std::string(serial) + std::string(on_disk::pem_ext));
  }
  std::filesystem::path revoked_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::revoked; }
  std::filesystem::path revocation(std::string_view ca, std::string_view serial) const {
    return revoked_dir(ca) / (std::string(serial) + std::string(on_disk::record_ext));
  }
  std::filesystem::path renewed_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::renewed; }
  std::filesystem::path renewal(std::string_view ca, std::string_view serial) const {
    return renewed_dir(ca) / std::string(serial);
  }
  std::filesystem::path tx_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::tx; }
  std::filesystem::path transaction(std::string_view ca, std::string_view key) const {
    return tx_dir(ca) / (std::string(key) + std::string(on_disk::record_ext));
  }
  std::filesystem::path pending_dir(std::string_view ca) const { return ca_dir(ca) / on_disk::pending; }
  /// pending/F.json; `fingerprint` is F, hex.
  std::filesystem::path pending(std::string_view ca, std::string_view fingerprint) const {
    return pending_dir(ca) / (std::string(fingerprint) + std::string(on_disk::record_ext));
  }
  /// pending/F.claimed for a pending/F.json.
  static std::filesystem::path claimed(std::filesystem::path pending) {
    return pending.replace_extension(on_disk::claimed_ext);
  }

  std::filesystem::path policies_dir() const { return m_root / on_disk::policies; }
  std::filesystem::path policy(std::string_view policy) const {
    return policies_dir() / (std::string(policy) + std::string(on_disk::policy_ext));
  }

  std::filesystem::path secrets_dir() const { return m_root / on_disk::secrets; }
  /// secrets/H.json; `hash` is H, hex.
  std::filesystem::path secret(std::string_view hash) const {
    return secrets_dir() / (std::string(hash) + std::string(on_disk::record_ext));
  }
  /// secrets/H.use-K: the token for use `k`.
  std::filesystem::path secret_use(std::string_view hash, int k) const {
    return secrets_dir() / (std::string(hash) + std::string(on_disk::use_infix) + std::to_string(k));
  }
  /// secrets/H.spent-KEY: the use transaction KEY spent.
  std::filesystem::path secret_spent(std::string_view hash, std::string_view holder) const {
    return secrets_dir() / (std::string(hash) + std::string(on_disk::spent_infix) + std::string(holder));
  }

 private:
  std::filesystem::path m_root;
};

}  // namespace store
