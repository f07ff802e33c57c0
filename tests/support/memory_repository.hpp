#pragma once
// In-memory twin of store::Repository for protocol tests: same contract
// (atomic secret uses, serial and transaction claims), no files.

#include <map>
#include <mutex>

#include "scep/repository.hpp"

namespace testing {

class MemoryRepository final : public scep::Repository {
 public:
  std::vector<scep::CaBundle> cas;
  std::map<std::string, crypto::PrivateKey> keys;  ///< "CA/ca" or "CA/ra"
  std::map<std::string, policy::Policy> policies;
  std::map<std::string, policy::SecretRecord> secrets;  ///< by hex hash
  std::map<std::string, int> uses_left;                 ///< by hex hash
  std::map<std::string, scep::Transaction> transactions;  ///< by "CA/tid"
  std::map<std::string, scep::IssuedCertificate> certificates;  ///< by "CA/serial"
  std::map<std::string, std::string> renewals;                ///< "CA/serial" -> transactionID
  std::map<std::string, core::Bytes> crls;                    ///< by CA
  std::size_t crls_stored = 0;  ///< CRLs update_crl stored: one per signature
  std::vector<scep::PendingRequest> pending;
  std::vector<scep::AuditEvent> audit_log;

  void add_ca(scep::CaBundle bundle, const crypto::PrivateKey& ca_key, const crypto::PrivateKey* ra_key = nullptr);
  void add_secret(const policy::SecretRecord& r);

  core::Result<scep::CaBundle> find_ca(std::string_view name) override;
  core::Result<std::vector<std::string>> ca_names() override;
  core::Result<crypto::PrivateKey> load_key(std::string_view ca, scep::KeyRole role) override;
  core::Result<policy::Policy> load_policy(std::string_view name) override;
  core::Result<std::optional<policy::SecretRecord>> find_secret(core::ByteView hash) override;
  core::Result<int> secret_uses_left(const policy::SecretRecord& s, std::string_view) override;
  core::Result<scep::LockGuard> lock_transaction(std::string_view ca, std::string_view tid) override;
  core::Result<std::optional<scep::Transaction>> find_transaction(std::string_view ca, std::string_view tid) override;
  core::Result<scep::Recorded> record_issuance(const scep::Issuance& is) override;
  core::Result<void> record_pending(const scep::PendingRequest& p, const scep::Transaction& t,
                                    const scep::AuditEvent& e) override;
  core::Result<void> record_rejection(const scep::Transaction& t, const scep::AuditEvent& e) override;
  core::Result<std::size_t> count_pending(std::string_view ca) override;
  /// Test set-up: records without a decision.
  core::Result<void> add_transaction(const scep::Transaction& t);
  core::Result<void> add_certificate(std::string_view ca, const crypto::Certificate& cert, std::string_view policy);
  core::Result<crypto::Certificate> load_certificate(std::string_view ca, std::string_view serial) override;
  core::Result<std::optional<scep::IssuedCertificate>> find_certificate(std::string_view ca,
                                                                        std::string_view serial) override;
  core::Result<std::vector<crypto::RevokedEntry>> revoked_certificates(std::string_view ca) override;
  core::Result<std::optional<core::Bytes>> load_crl(std::string_view ca) override;
  core::Result<core::Bytes> update_crl(std::string_view ca, const scep::CrlUpdate& update) override;
  core::Result<std::optional<core::Bytes>> try_update_crl(std::string_view ca, const scep::CrlUpdate& update) override;
  /// Marks a stored certificate revoked (what `scepctl revoke` does to the store).
  void revoke(std::string_view ca, const crypto::RevokedEntry& entry);
  void audit(const scep::AuditEvent& e) override;

 private:
  std::mutex m_mutex;
  std::mutex m_crl_mutex;
  core::Result<core::Bytes> update_crl_locked(std::string_view ca, const scep::CrlUpdate& update);
  std::map<std::string, std::shared_ptr<std::mutex>> m_tx_mutexes;  ///< by "CA/tid", never freed (tests)
};

}  // namespace testing
