#pragma once
// crypto::Csr: an immutable PKCS#10 request and what policy reads from it
// (subject, key, SANs, challengePassword, extensions).

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "crypto/general_name.hpp"
#include "crypto/keys.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

/// A DER extension copied verbatim from a CSR into a certificate.
struct RawExtension {
  std::string oid;
  bool critical = false;
  core::Bytes value;  ///< the extnValue contents
};

/// An immutable PKCS#10 CertificationRequest. Keeps the exact bytes it was
/// parsed from: fingerprints are taken over them.
class Csr {
 public:
  static core::Result<Csr> from_der(core::ByteView der);
  /// PEM ("CERTIFICATE REQUEST" / "NEW CERTIFICATE REQUEST") or DER.
  static core::Result<Csr> load(core::ByteView data);

  const core::Bytes& der() const { return m_der; }
  bool signature_valid() const;
  /// The digest of the CSR's own signature, if it is a known one (for
  /// RSASSA-PSS, the one its parameters name: signature_scheme.hpp).
  std::optional<DigestAlg> signature_digest() const;
  PublicKey public_key() const;
  core::Bytes subject_der() const;
  std::string subject() const;
  /// Values of one subject attribute type given by short name ("CN").
  std::vector<std::string> subject_values(std::string_view short_name) const;
  /// The type of each subject attribute in order: short name ("O"), or the
  /// dotted OID of a type OpenSSL has no name for.
  std::vector<std::string> subject_attribute_types() const;
  /// The challengePassword in UTF-8, whatever DirectoryString type carried it.
  std::optional<std::string> challenge_password() const { return m_challenge_password; }
  /// The subjectAltNames of the extension request, typed, in their order;
  /// empty without the extension. Two such extensions, or one that does not
  /// decode (leftover bytes included), are malformed.
  core::Result<std::vector<GeneralName>> subject_alt_names() const { return m_subject_alt_names; }
  /// Every requested extension (from extensionRequest, PKCS#9 or Verisign OID).
  std::vector<RawExtension> extensions() const { return m_extensions; }

 private:
  /// `requested`: the extension request of `req`, decoded once by from_der.
  Csr(X509ReqPtr req, core::Bytes der, const STACK_OF(X509_EXTENSION) * requested);
  OsslShared<X509_REQ> m_req;
  core::Bytes m_der;
  /// Decoded once in the constructor: the attributes are not re-parsed per call.
  std::optional<std::string> m_challenge_password;
  std::vector<RawExtension> m_extensions;
  core::Result<std::vector<GeneralName>> m_subject_alt_names;
};

/// Short names and dotted OIDs for extensions and digests used in policies.
std::string oid_text(const ASN1_OBJECT* obj);
/// A short name, long name or dotted OID OpenSSL knows ("clientAuth", "CN", "1.2.3").
bool is_known_object(std::string_view name);
bool is_dotted_oid(std::string_view text);

}  // namespace crypto
