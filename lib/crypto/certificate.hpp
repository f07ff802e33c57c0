#pragma once
// crypto::Certificate: an immutable X.509 certificate, so that nothing above
// crypto/ handles an X509*.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "crypto/key_usage.hpp"
#include "crypto/keys.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

/// An immutable X.509 certificate. Copies share the underlying object (OsslShared).
class Certificate {
 public:
  static core::Result<Certificate> from_der(core::ByteView der);
  /// Every certificate in a PEM bundle, or the one certificate of a DER file.
  static core::Result<std::vector<Certificate>> load_all(core::ByteView data);
  explicit Certificate(X509Ptr cert) : m_cert(std::move(cert)) {}

  core::Bytes der() const;
  std::string pem() const;
  std::string subject() const;
  /// DER of the subject Name (a next CA certificate keeps it byte for byte).
  core::Bytes subject_der() const;
  std::string issuer() const;
  /// Upper-case hex of the serial number's magnitude, no separators.
  std::string serial_hex() const;
  core::TimePoint not_before() const;
  core::TimePoint not_after() const;
  core::Bytes fingerprint(DigestAlg alg) const { return digest(alg, der()); }
  PublicKey public_key() const;
  /// Key usage mask; all bits set when the extension is absent.
  unsigned key_usage() const;
  /// Extended key usages as OpenSSL's short names ("clientAuth"), else
  /// dotted OIDs; empty when the extension is absent.
  std::vector<std::string> extended_key_usage() const;
  bool is_ca() const;
  bool is_self_issued() const;
  /// True when `child` names this certificate's subject as issuer and its
  /// signature verifies with this certificate's key.
  bool issued(const Certificate& child) const;
  bool matches(const PrivateKey& key) const;
  bool operator==(const Certificate& other) const;

  X509* native() const { return m_cert.get(); }

 private:
  OsslShared<X509> m_cert;
};

/// Formats a time as "2026-11-24T05:00:00Z".
std::string format_time(core::TimePoint t);
/// Reads what format_time writes, and nothing else: nullopt for any other
/// text (a date alone, a time zone, trailing bytes, a 31st of February).
std::optional<core::TimePoint> parse_time(std::string_view text);
/// Serial numbers: upper-case hex <-> ASN.1 INTEGER. Null for text that is
/// not hex.
Asn1IntegerPtr integer_from_hex(std::string_view hex);
std::string integer_to_hex(const ASN1_INTEGER* i);
/// An ASN.1 time as a time point (the epoch when it cannot be read).
core::TimePoint to_time_point(const ASN1_TIME* t);

}  // namespace crypto
