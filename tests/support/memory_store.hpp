#pragma once
// In-memory twin of the flat-file store for protocol tests: all five roles
// of scep/roles.hpp with the same contract (atomic secret uses, serial and
// transaction claims; tests/store/test_contract.cpp checks it), no files.

#include <map>
#include <mutex>

#include "scep/roles.hpp"

namespace testing {

class MemoryStore final : public scep::Catalog,
                          public scep::Ledger,
                          public scep::CertificateRegistry,
                          public scep::CrlStore,
                          public scep::AuditSink {
 public:
  scep::Backend backend() { return {*this, *this, *this, *this, *this}; }

  std::vector<scep::CaBundle> cas;
  std::map<std::string, crypto::PrivateKey> keys;  ///< "CA/ca" or "CA/ra"
  std::map<std::string, policy::Policy> policies;
  std::map<std::string, policy::SecretRecord> secrets;          ///< by hex hash
  std::map<std::string, int> uses_left;                         ///< by hex hash
  std::map<std::string, scep::Transaction> transactions;        ///< by "CA/tid"
  std::map<std::string, scep::IssuedCertificate> certificates;  ///< by "CA/serial"
  std::map<std::string, std::string> renewals;                  ///< "CA/serial" -> transactionID
  std::map<std::string, core::Bytes> crls;                      ///< by CA
  std::size_t crls_stored = 0;                                  ///< CRLs update_crl stored: one per signature
  std::vector<scep::PendingRequest> pending;
  std::vector<scep::AuditEvent> audit_log;

  void add_ca(scep::CaBundle bundle, const crypto::PrivateKey& ca_key, const crypto::PrivateKey* ra_key = nullptr);
  void add_secret(const policy::SecretRecord& r);

  core::Result<scep::CaBundle> find_ca(std::string_view name) override;
  core::Result<std::vector<std::string>> ca_names() override;
  core::Result<crypto::PrivateKey> load_key(std::string_view ca, scep::KeyRole role) override;
  core::Result<policy::Policy> load_policy(std::string_view name) override;
  core::Result<std::optional<policy::SecretRecord>> find_secret(core::ByteView hash) const override;
  core::Result<int> secret_uses_left(const policy::SecretRecord& s, std::string_view) const override;
  core::Result<scep::LockGuard> lock_transaction(std::string_view ca, std::string_view tid) const override;
  core::Result<std::optional<scep::Transaction>> find_transaction(std::string_view ca,
                                                                  std::string_view tid) const override;
  core::Result<scep::Recorded> record_issuance(const scep::Issuance& is) override;
  core::Result<void> record_pending(const scep::PendingRequest& p, const scep::Transaction& t,
                                    const scep::AuditEvent& e) override;
  core::Result<void> record_rejection(const scep::Transaction& t, const scep::AuditEvent& e) override;
  core::Result<std::size_t> count_pending(std::string_view ca) const override;
  core::Result<std::vector<scep::PendingRequest>> list_pending(std::string_view ca) const override;
  core::Result<std::optional<scep::PendingClaim>> claim_pending(const scep::PendingRequest& p) override;
  /// Test set-up: records without a decision.
  core::Result<void> add_transaction(const scep::Transaction& t);
  core::Result<void> add_certificate(std::string_view ca, const crypto::Certificate& cert, std::string_view policy);
  core::Result<crypto::Certificate> load_certificate(std::string_view ca, std::string_view serial) const override;
  core::Result<std::optional<scep::IssuedCertificate>> find_certificate(std::string_view ca,
                                                                        std::string_view serial) const override;
  core::Result<std::vector<crypto::RevokedEntry>> revoked_certificates(std::string_view ca) const override;
  core::Result<std::optional<core::Bytes>> load_crl(std::string_view ca) const override;
  core::Result<core::Bytes> update_crl(std::string_view ca, const scep::CrlUpdate& update) override;
  core::Result<std::optional<core::Bytes>> try_update_crl(std::string_view ca, const scep::CrlUpdate& update) override;
  core::Result<void> revoke(std::string_view ca, const crypto::RevokedEntry& entry, const scep::AuditEvent& e) override;
  /// Test set-up: marks a stored certificate revoked, no event.
  void revoke(std::string_view ca, const crypto::RevokedEntry& entry);
  void audit(const scep::AuditEvent& e) override;

 protected:
  core::Result<void> finish_pending(const scep::PendingRequest& p) override;
  core::Result<void> release_pending(const scep::PendingRequest& p) override;

 private:
  mutable std::mutex m_mutex;
  std::vector<scep::PendingRequest> m_claimed;
  std::mutex m_crl_mutex;
  core::Result<core::Bytes> update_crl_locked(std::string_view ca, const scep::CrlUpdate& update);
  mutable std::map<std::string, std::shared_ptr<std::mutex>> m_tx_mutexes;  ///< by "CA/tid", never freed (tests)
};

}  // namespace testing
