#pragma once
// CMS for SCEP: the signed outer layer (pkiMessage), the enveloped inner layer
// (pkcsPKIEnvelope), and building both for replies (and for test clients).

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"
#include "crypto/signature_scheme.hpp"

namespace crypto {

enum class StringType { printable, utf8, ia5, octet, other };

struct SignedAttribute {
  std::string oid;  ///< dotted
  StringType type = StringType::other;
  core::Bytes value;       ///< contents of the (first) value
  std::size_t values = 1;  ///< how many values the attribute's SET holds
};

/// A parsed SignedData with exactly one SignerInfo. Structural problems are
/// errors; a signature that does not verify is reported, not an error, so the
/// caller can still answer with a signed FAILURE.
struct SignedDataInfo {
  std::optional<Certificate> signer;  ///< nullopt: not in the message (signature_valid is false then)
  std::optional<DigestAlg> digest;    ///< nullopt: an unknown digest algorithm
  std::string digest_oid;
  /// The SignerInfo's signatureAlgorithm: rsaEncryption (PKCS#1 v1.5) or
  /// RSASSA-PSS, whose parameters name a digest that must be `digest`.
  SignatureScheme signature;
  std::vector<SignedAttribute> attributes;
  core::Bytes content;
  bool signature_valid = false;
  std::string signature_error;
  const SignedAttribute* attribute(std::string_view oid) const;
};

core::Result<SignedDataInfo> parse_signed_data(core::ByteView der);

enum class ContentCipher { des_cbc, des3_cbc, aes128_cbc, aes192_cbc, aes256_cbc };
std::string_view cipher_name(ContentCipher c);

struct KeyTransport {
  bool oaep = false;
  DigestAlg oaep_digest = DigestAlg::sha1;  ///< OAEP hash (and MGF1 hash)
};

/// An EnvelopedData, parsed once: who it is for and with what.
class Envelope {
 public:
  static core::Result<Envelope> parse(core::ByteView der);
  /// Index of the first candidate the envelope has a recipient for.
  std::optional<std::size_t> recipient_index(const std::vector<Certificate>& candidates) const;
  /// nullopt: a content cipher this server does not know.
  std::optional<ContentCipher> cipher() const { return m_cipher; }
  /// The key transport of the recipient info for `cert`.
  KeyTransport key_transport(const Certificate& cert) const;
  core::Result<core::Bytes> decrypt(const Certificate& cert, const PrivateKey& key) const;

 private:
  Envelope(CmsPtr cms, std::optional<ContentCipher> cipher) : m_cms(std::move(cms)), m_cipher(cipher) {}
  OsslShared<CMS_ContentInfo> m_cms;
  std::optional<ContentCipher> m_cipher;
};

/// Whether make_envelope can encrypt to the key of `recipient`: RSA (key
/// transport) or EC (key agreement). An RSASSA-PSS key is for signatures
/// only (RFC 4055 §1.2); OpenSSL refuses to encrypt to it, as to EdDSA keys.
bool can_encrypt_to(const Certificate& recipient);

/// EnvelopedData with one KTRI (issuerAndSerialNumber) for `recipient`.
core::Result<core::Bytes> make_envelope(core::ByteView content, const Certificate& recipient, ContentCipher cipher,
                                        const KeyTransport& kt = {});

/// SignedData over `content` (embedded, also when empty) with the given signed
/// attributes next to contentType, messageDigest and signingTime. With
/// SignaturePadding::pss, RSASSA-PSS over `digest` with MGF1-`digest` and a
/// salt as long as the digest; otherwise PKCS#1 v1.5 (rsaEncryption).
core::Result<core::Bytes> make_signed_data(core::ByteView content, const Certificate& signer, const PrivateKey& key,
                                           DigestAlg digest, const std::vector<SignedAttribute>& attributes,
                                           const std::vector<Certificate>& extra_certs = {},
                                           SignaturePadding padding = SignaturePadding::pkcs1);

/// Makes DES-CBC and MD5 usable (OpenSSL's legacy provider, next to the default one).
void enable_legacy_algorithms();

}  // namespace crypto
