#pragma once
// Certificate revocation lists (RFC 5280 §5): build one, read one back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"

namespace crypto {

/// CRLReason (RFC 5280 §5.3.1); 7 is unused.
enum class RevocationReason {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  certificate_hold = 6,
  privilege_withdrawn = 9,
  aa_compromise = 10,
};

/// "keyCompromise", "superseded", ... as RFC 5280 spells them.
std::string_view reason_name(RevocationReason r);
std::optional<RevocationReason> parse_reason(std::string_view name);
/// Every reason name, for help texts.
std::vector<std::string_view> reason_names();

struct RevokedEntry {
  std::string serial_hex;  ///< upper-case hex, as Certificate::serial_hex()
  core::TimePoint time{};
  RevocationReason reason = RevocationReason::unspecified;
};

struct CrlSpec {
  std::uint64_t number = 1;
  core::TimePoint this_update{}, next_update{};
  std::vector<RevokedEntry> revoked;
  DigestAlg digest = DigestAlg::sha256;
};

/// A v2 CRL signed by `issuer`: cRLNumber and authorityKeyIdentifier
/// extensions, a reasonCode on each entry except `unspecified` (RFC 5280
/// §5.3.1 says leave it out then). DER.
core::Result<core::Bytes> build_crl(const CrlSpec& spec, const Certificate& issuer, const PrivateKey& key);

/// A parsed CRL.
class Crl {
 public:
  /// DER, or PEM ("X509 CRL").
  static core::Result<Crl> parse(core::ByteView data);
  core::Bytes der() const;
  std::string pem() const;
  std::string issuer() const;    ///< "CN=a,O=b", as Certificate::issuer()
  std::uint64_t number() const;  ///< 0 when the extension is missing
  core::TimePoint this_update() const;
  core::TimePoint next_update() const;
  std::vector<RevokedEntry> revoked() const;
  /// The serials alone (upper-case hex, in the CRL's order): cheaper than
  /// revoked() for a CRL of thousands, which GetCRL compares with the store.
  std::vector<std::string> revoked_serials() const;
  /// Signed by this certificate's key, and issued under its subject name.
  bool verify(const Certificate& issuer) const;
  X509_CRL* native() const { return m_crl.get(); }

 private:
  explicit Crl(X509CrlPtr crl) : m_crl(std::move(crl)) {}
  X509CrlPtr m_crl;
};

}  // namespace crypto
