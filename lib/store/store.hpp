#pragma once
// The store: its records behind one interface. The layout of its directory
// is in store/layout.hpp.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "crypto/pkcs11.hpp"
#include "policy/policy.hpp"
#include "policy/secret.hpp"
#include "scep/roles.hpp"
#include "store/atomic_file.hpp"
#include "store/codec.hpp"
#include "store/layout.hpp"

namespace store {

enum class OpenMode { existing, create };
enum class AtomicReplace { yes, no };
enum class AuditOrigin { live, recovered };

/// The "Transaction: KEY" header of a certificate index file, or empty.
std::string transaction_of_index(std::string_view text);
/// The stems of `dir`'s files ending in `ext` that are serial numbers,
/// sorted; a directory that cannot be listed is an error.
core::Result<std::vector<std::string>> serials_in(const std::filesystem::path& dir, std::string_view ext);

/// The URI of a key.uri / ra-key.uri file (its first line), refused if it
/// holds a PIN (pin-value=).
core::Result<crypto::Pkcs11Uri> parse_stored_key_uri(std::string_view text);

/// An RA certificate and its key.
struct NewRa {
  crypto::Certificate cert;
  crypto::PrivateKey key;
};

struct NewCa {
  crypto::Certificate cert;
  crypto::PrivateKey key;
  std::vector<crypto::Certificate> chain;
  /// Written with the CA, in the same rename: an EC CA is never in the
  /// store without the RSA RA it needs.
  std::optional<NewRa> ra;
};

class Store final : public scep::Ledger,
                    public scep::CertificateRegistry,
                    public scep::CrlStore,
                    public scep::AuditSink {
 public:
  /// Opens (or with OpenMode::create, initialises) the store at `root`.
  static core::Result<Store> open(std::filesystem::path root, OpenMode mode);

  const std::filesystem::path& root() const { return m_layout.root(); }
  /// Where each file of the store is.
  const Layout& layout() const { return m_layout; }
  std::filesystem::path config_path() const { return m_layout.config(); }
  std::filesystem::path ca_dir(std::string_view name) const { return m_layout.ca_dir(name); }
  /// policies/NAME.toml; `name` must be a valid store name.
  std::filesystem::path policy_path(std::string_view name) const { return m_layout.policy(name); }

  core::Result<config::Config> load_config() const;
  core::Result<void> set_default_ca(std::string_view name);
  /// Sets `[ca.NAME] key = value_literal` in scep.toml, keeping comments.
  core::Result<void> set_ca_option(std::string_view name, std::string_view key, std::string_view value_literal);
  /// Several at once: scep.toml is written once, with all of them or none.
  core::Result<void> set_ca_options(std::string_view name,
                                    const std::vector<std::pair<std::string, std::string>>& key_literals);

  core::Result<void> add_ca(std::string_view name, const NewCa& ca);
  core::Result<std::vector<std::string>> ca_names() const;
  /// Certificates of a CA by its store name (not_found / invalid_argument errors).
  core::Result<scep::CaBundle> load_ca(std::string_view name, const config::Config& cfg) const;
  /// The CA's or RA's key: key.pem / ra-key.pem, or on a PKCS#11 token the
  /// key key.uri / ra-key.uri names (logged in once per token and process).
  core::Result<crypto::PrivateKey> load_key(std::string_view name, scep::KeyRole role) const;
  /// Installs an RA certificate and key; refuses to replace one unless told to.
  enum class Replace { yes, no };
  core::Result<void> set_ra(std::string_view name, const crypto::Certificate& cert, const crypto::PrivateKey& key,
                            Replace replace);
  // Generations (rollover.cpp): ca/NAME/next, activating, retired/ID.
  /// Stores the next generation of a CA (cert, key, chain; of `ca.ra` only
  /// the certificate: the RA key stays the one in ra-key.pem) as ca/NAME/next,
  /// in one rename. already_exists while a next one exists, unless `replace`.
  core::Result<void> add_next_ca(std::string_view name, const NewCa& next, Replace replace);
  /// The next generation's certificates, as load_ca gives the current ones.
  core::Result<std::optional<scep::CaBundle>> load_next_ca(std::string_view name, const config::Config& cfg) const;
  /// Whether ca/NAME/next/ holds a certificate (one access(2), no parsing).
  bool has_next_ca(std::string_view name) const;
  /// The next generation's CA key (next/key.pem).
  // PKCS#11: a next/key.uri is read here, as Store::load_key reads ca/NAME/key.uri.
  core::Result<crypto::PrivateKey> load_next_key(std::string_view name) const;
  using RetiredCa = scep::EarlierCa;
  /// The CA's earlier generations, oldest first (by notBefore). A retired/ID
  /// holding the current certificate (an activation that stopped before its
  /// commit point) is not one.
  core::Result<std::vector<RetiredCa>> retired_cas(std::string_view name) const;
  /// retired/ID/key.pem.
  core::Result<crypto::PrivateKey> load_retired_key(std::string_view name, std::string_view id) const;
  /// Makes the next generation current: the current one is kept as
  /// retired/ID (hard links, then one rename), next/ becomes activating/ (the
  /// commit point), and finish_activation moves its files into place.
  /// Returns ID. Run again after a crash, it completes what was begun.
  core::Result<std::string> activate_next(std::string_view name);
  /// Completes an activation whose commit point passed (activating/ exists);
  /// false when there was none. Idempotent: each step may be run again.
  core::Result<bool> finish_activation(std::string_view name);
  /// Whether an activation passed its commit point and is not complete.
  bool activation_pending(std::string_view name) const;

  /// Name of the default CA: server.default_ca, else the only CA.
  core::Result<std::string> default_ca(const config::Config& cfg) const;

  // Policies
  core::Result<void> save_policy(const policy::Policy& p, Replace replace);
  core::Result<policy::Policy> load_policy(std::string_view name) const;
  core::Result<std::vector<std::string>> policy_names() const;

  // Secrets
  core::Result<void> add_secret(const policy::SecretRecord& r);
  core::Result<std::optional<policy::SecretRecord>> find_secret(core::ByteView hash) const override;
  core::Result<std::vector<policy::SecretRecord>> list_secrets() const;
  /// Revokes the secret with this id; its record as it now stands.
  core::Result<policy::SecretRecord> revoke_secret(std::string_view id);
  /// Spends one use of the secret for transaction `holder` (its key): a
  /// token moves to H.spent-HOLDER in one rename, so the use is spent and
  /// attributed at once. True when a use is held for `holder` afterwards
  /// (also when its earlier try spent it); false when none was left.
  core::Result<bool> spend_use(const policy::SecretRecord& r, std::string_view holder);
  /// Gives the use `holder` spent back (nothing recorded for it).
  core::Result<void> return_use(const policy::SecretRecord& r, std::string_view holder);
  std::filesystem::path spent_path(const policy::SecretRecord& r, std::string_view holder) const;
  int secret_uses_left(const policy::SecretRecord& r) const;
  /// The uses left, and the one transaction `tid` holds already, if any.
  core::Result<int> secret_uses_left(const policy::SecretRecord& r, std::string_view tid) const override;

  // Issued certificates and transactions
  std::filesystem::path certificate_path(std::string_view ca, std::string_view serial_hex) const;
  /// A certificate outside any transaction (imports, tests), synced.
  core::Result<void> add_certificate(std::string_view ca, const crypto::Certificate& cert, std::string_view policy);
  /// certs/SERIAL.pem for a certificate recorded by transaction `key`;
  /// already_exists when the serial is taken.
  core::Result<void> write_certificate_index(std::string_view ca, const crypto::Certificate& cert,
                                             std::string_view policy, std::string_view transaction_key,
                                             AtomicFile::Durable durable = AtomicFile::Durable::no);
  core::Result<crypto::Certificate> load_certificate(std::string_view ca, std::string_view serial_hex) const override;
  core::Result<std::optional<scep::IssuedCertificate>> find_certificate(std::string_view ca,
                                                                        std::string_view serial_hex) const override;
  /// Every certificate the CA issued, by serial.
  core::Result<std::vector<scep::IssuedCertificate>> list_certificates(std::string_view ca) const;
  /// Revokes a certificate (the record is the commit point, then the audit
  /// line); not_found for a serial the CA never issued, already_exists when
  /// it is revoked already.
  core::Result<void> revoke(std::string_view ca, const crypto::RevokedEntry& entry,
                            const scep::AuditEvent& event) override;
  core::Result<std::vector<crypto::RevokedEntry>> revoked_certificates(std::string_view ca) const override;
  /// The serials of revoked/ (sorted), from its names alone.
  core::Result<std::vector<std::string>> revoked_serials(std::string_view ca) const override;
  core::Result<std::optional<std::string>> claim_renewal(std::string_view ca, std::string_view serial_hex,
                                                         std::string_view transaction_id);
  /// The stored CRL (DER), if one was made. Takes no lock: crl.der is only
  /// ever replaced whole (rename).
  core::Result<std::optional<core::Bytes>> load_crl(std::string_view ca) const override;
  /// scep::CrlStore::update_crl: crl.lock held (flock), crl.der replaced
  /// atomically.
  core::Result<core::Bytes> update_crl(std::string_view ca, const scep::CrlUpdate& update) override;
  /// The same, or nullopt at once while another holds crl.lock.
  core::Result<std::optional<core::Bytes>> try_update_crl(std::string_view ca, const scep::CrlUpdate& update) override;
  /// The CRL of retired/ID: retired/ID/crl.lock held, retired/ID/crl.der replaced.
  core::Result<core::Bytes> update_earlier_crl(std::string_view ca, std::string_view id,
                                               const scep::CrlUpdate& update) override;
  core::Result<scep::LockGuard> lock_transaction(std::string_view ca, std::string_view tid) const override;
  /// The same lock, by the transaction's key (check --repair knows only that).
  core::Result<scep::LockGuard> lock_transaction_key(std::string_view ca, std::string_view key) const;
  std::filesystem::path transaction_path(std::string_view ca, std::string_view key) const;
  core::Result<std::optional<scep::Transaction>> find_transaction(std::string_view ca,
                                                                  std::string_view tid) const override;
  core::Result<std::optional<StoredTransaction>> load_transaction(std::string_view ca, std::string_view key) const;
  /// A bare record (tests, repair); decisions go through record_*.
  core::Result<void> add_transaction(const scep::Transaction& t);
  core::Result<void> update_transaction(const scep::Transaction& t);

  // Decisions, one commit point each (decisions.cpp; scep::Ledger).
  core::Result<scep::Recorded> record_issuance(const scep::Issuance& issuance) override;
  core::Result<void> record_pending(const scep::PendingRequest& p, const scep::Transaction& t,
                                    const scep::AuditEvent& event) override;
  core::Result<void> record_rejection(const scep::Transaction& t, const scep::AuditEvent& event) override;

  // Pending requests
  core::Result<void> add_pending(const scep::PendingRequest& p);
  core::Result<std::vector<scep::PendingRequest>> list_pending(std::string_view ca) const override;
  core::Result<std::size_t> count_pending(std::string_view ca) const override;
  /// scep::Ledger::claim_pending: F.json -> F.claimed, one rename, so
  /// exactly one operator decides it. A claim a crash left behind is
  /// resolved by `scepctl check --repair`.
  core::Result<std::optional<scep::PendingClaim>> claim_pending(const scep::PendingRequest& p) override;

  /// Appends one JSON line, whole or not at all.
  core::Result<void> append_audit(const scep::AuditEvent& e, AuditOrigin origin = AuditOrigin::live);
  /// append_audit for a decision already made: a line that cannot be written
  /// is reported to the warning sink (the front end's log) and the decision
  /// stands; check --repair appends it from the record.
  void log_decision(const scep::AuditEvent& e);
  /// Where the store reports trouble that does not fail an operation; the
  /// library writes nowhere itself. Unset: such warnings are dropped.
  using WarningSink = std::function<void(std::string_view)>;
  void set_warning_sink(WarningSink sink) { m_warn = std::move(sink); }
  /// scep::AuditSink: log_decision.
  void audit(const scep::AuditEvent& e) override { log_decision(e); }

 protected:
  core::Result<void> finish_pending(const scep::PendingRequest& p) override;
  core::Result<void> release_pending(const scep::PendingRequest& p) override;

 private:
  explicit Store(std::filesystem::path root) : m_layout(std::move(root)) {}
  core::Result<void> check_ca_name(std::string_view name) const;
  /// The key of `role` in `dir` (ca/NAME/ or a generation's directory):
  /// key.uri (a token key) or key.pem, never both.
  core::Result<crypto::PrivateKey> load_key_in(const std::filesystem::path& dir, scep::KeyRole role) const;
  /// load_key_in when both key.pem and key.uri exist: the one that matches
  /// the certificate beside them.
  core::Result<crypto::PrivateKey> load_key_of_two(const std::filesystem::path& dir, scep::KeyRole role) const;
  /// next/ can become current: its key matches its certificate, and its RA
  /// certificate (if any) the RA key that stays.
  core::Result<void> check_next_generation(std::string_view name) const;
  /// Writes `key` into `dir` as load_key_in reads it: its PEM (0600), or for
  /// a key on a token its URI (0640; no PIN).
  static core::Result<void> write_key_in(const std::filesystem::path& dir, scep::KeyRole role,
                                         const crypto::PrivateKey& key);
  /// secrets/H.json
  std::filesystem::path secret_path(core::ByteView hash) const;
  /// secrets/H.use-K: the token for use `k` of the secret with hash H.
  std::filesystem::path use_token_path(core::ByteView hash, int k) const;
  /// The lowest K whose use token H.use-K exists; uses + 1 when none does.
  int first_unspent_use(const policy::SecretRecord& r) const;
  std::filesystem::path pending_path(const scep::PendingRequest& p) const;
  /// update_crl's work once crl.lock is held.
  core::Result<core::Bytes> update_crl_locked(std::string_view ca, const scep::CrlUpdate& update);
  /// Writes a transaction record; `visible` says whether it replaced or
  /// joined the records, which it may have even when the directory's sync
  /// failed afterwards.
  core::Result<void> write_transaction(const scep::Transaction& t, const crypto::Certificate* cert,
                                       const scep::AuditEvent* event, AtomicReplace replace, bool* visible = nullptr);
  Layout m_layout;
  WarningSink m_warn;
};

class StoreCache;

/// The scep::Catalog of one request or command over a Store: it reads
/// scep.toml once, CA files on demand. Over a StoreCache (store/cache.hpp),
/// config, CA certificates and keys come from the cache, which outlives the
/// request and may be shared by many threads; each thread takes its own
/// Session. The other roles are the Store's own.
class Session final : public scep::Catalog {
 public:
  explicit Session(Store& store) : m_store(store) {}
  explicit Session(StoreCache& cache);
  /// The five roles for a request: this catalogue and the store.
  scep::Backend backend() { return {*this, m_store, m_store, m_store, m_store}; }
  Store& store() { return m_store; }

  core::Result<scep::CaBundle> find_ca(std::string_view name) override;
  core::Result<std::string> resolve_ca(std::string_view name) override;
  bool strict_ca_names() override;
  core::Result<std::vector<std::string>> ca_names() override { return m_store.ca_names(); }
  core::Result<crypto::PrivateKey> load_key(std::string_view ca, scep::KeyRole role) override;
  core::Result<policy::Policy> load_policy(std::string_view name) override;
  /// From the store each time (GetNextCACert and renewals by an earlier
  /// generation's certificates are rare; GetCACaps asks only has_next_ca).
  core::Result<std::optional<scep::CaBundle>> next_ca(std::string_view name) override;
  bool has_next_ca(std::string_view name) override;
  core::Result<std::vector<scep::EarlierCa>> earlier_cas(std::string_view name) override;
  core::Result<crypto::PrivateKey> load_earlier_key(std::string_view name, std::string_view id) override;
  core::Result<crypto::PrivateKey> load_next_key(std::string_view name) override;
  /// Over a StoreCache that watches the store (a long-lived server): the
  /// cache's memo (StoreCache::recall_crl).
  std::shared_ptr<const scep::CrlMemo> recall_crl(std::string_view ca) override;
  void keep_crl(std::string_view ca, std::shared_ptr<const scep::CrlMemo> memo) override;

 private:
  core::Result<const config::Config*> config();
  /// `name`, or the default CA's when empty; checked, not looked up.
  core::Result<std::string> resolve_name(std::string_view name);
  /// find_ca() for a name resolve_name() returned.
  core::Result<scep::CaBundle> load_resolved_ca(const std::string& name);
  Store& m_store;
  StoreCache* m_cache = nullptr;
  /// The cache's change generation when this request began.
  std::uint64_t m_generation = 0;
  /// The config of this request: one view from its first use to its end.
  std::shared_ptr<const config::Config> m_config;
  /// The CA whose CRL files recall_crl() saw watched in this request: a
  /// memo of it may be kept.
  std::string m_crl_watched;
};

}  // namespace store
