#pragma once
// The one builder of test requests: PKCS#10 requests, self-signed client
// certificates, well-formed pkiMessages (through the library's own
// scep::build_request) and raw CMS SignedData that may break every rule.
// Used by the unit tests and by scep-bench, so it reports errors as
// core::Result and knows nothing of Boost.Test (support/require.hpp unwraps).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/asn1.h>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/cms.hpp"
#include "crypto/csr.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"
#include "crypto/signature_scheme.hpp"
#include "scep/message.hpp"

namespace testing {

// --- PKCS#10 ---------------------------------------------------------------------

struct CsrSpec {
  std::string subject = "CN=device1,O=Example";  ///< empty: an empty subject
  std::optional<std::string> challenge;
  /// V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING, V_ASN1_IA5STRING or
  /// V_ASN1_BMPSTRING (the ASCII text is widened to UCS-2 for BMP).
  int challenge_type = V_ASN1_PRINTABLESTRING;
  /// "DNS:x", "IP:10.0.0.1", "email:a@b", "URI:u", "otherName:x" (UTF8 value
  /// under the Microsoft UPN OID), "dirName:CN=x", "RID:1.2.3". Values are
  /// taken verbatim, commas too.
  std::vector<std::string> sans;
  std::vector<crypto::RawExtension> extensions;  ///< extra requested extensions, verbatim
  crypto::DigestAlg digest = crypto::DigestAlg::sha256;
  /// pss: RSASSA-PSS over `digest` (salt as long as the digest), as
  /// `openssl req -sigopt rsa_padding_mode:pss` signs.
  crypto::SignaturePadding padding = crypto::SignaturePadding::pkcs1;
  std::optional<crypto::DigestAlg> mgf1_digest{};  ///< pss: MGF1's digest when not `digest`
};

/// A signed PKCS#10 request (DER) for `key`.
core::Result<core::Bytes> build_csr(const CsrSpec& spec, const crypto::PrivateKey& key);

/// The same DER with one bit of its last byte flipped (for a CSR or a
/// certificate: the signature, the last field).
core::Bytes corrupt_last_byte(core::Bytes der);

/// A self-signed certificate on `key`, valid from an hour before `now` for two
/// days: how SCEP clients sign their first request.
core::Result<crypto::Certificate> build_self_signed(const crypto::PrivateKey& key, std::string_view subject,
                                                    core::TimePoint now, core::Bytes serial = {0x01, 0x23, 0x45, 0x67});

// --- well-formed pkiMessages -------------------------------------------------------

/// `n` bytes counting up from `first`: a deterministic senderNonce.
core::Bytes nonce_of(std::size_t n, std::uint8_t first = 0xa0);

/// How a pkiMessage is built (defaults: what a modern client sends).
struct MessageSpec {
  scep::MessageType type = scep::MessageType::pkcs_req;
  std::string transaction_id = "tid-1";
  core::Bytes sender_nonce = nonce_of(16);
  crypto::DigestAlg digest = crypto::DigestAlg::sha256;
  crypto::SignaturePadding padding = crypto::SignaturePadding::pkcs1;  ///< of the CMS signature
  crypto::ContentCipher cipher = crypto::ContentCipher::aes128_cbc;
  crypto::KeyTransport key_transport{};
};

/// A pkiMessage around `message_data` (a PKCS#10, IssuerAndSubject, ...),
/// encrypted to `recipient` and signed by `signer` with `key`.
core::Result<core::Bytes> build_message(core::ByteView message_data, const MessageSpec& spec,
                                        const crypto::Certificate& recipient, const crypto::Certificate& signer,
                                        const crypto::PrivateKey& key);

// --- raw CMS: any attribute set, any number of signers -----------------------------

struct Attr {
  std::string oid;
  int asn1_type;                    ///< V_ASN1_PRINTABLESTRING, V_ASN1_OCTET_STRING, ...
  std::vector<core::Bytes> values;  ///< none: an empty SET
};
Attr printable(std::string_view oid, std::string_view text);
Attr octets(std::string_view oid, core::Bytes value);
/// messageType, transactionID, senderNonce as a conforming client sends them.
std::vector<Attr> scep_attrs(std::string_view type, std::string_view tid, core::Bytes nonce);

struct SignerSpec {
  const crypto::Certificate* cert;
  const crypto::PrivateKey* key;
  crypto::DigestAlg digest = crypto::DigestAlg::sha256;
  std::vector<Attr> attrs;
  bool include_cert = true;
  /// Set: RSASSA-PSS over `digest` with this MGF1 digest (any combination).
  std::optional<crypto::DigestAlg> pss_mgf1{};
};

struct SignOptions {
  const char* econtent_type = nullptr;  ///< dotted; null: id-data
  bool no_signed_attributes = false;    ///< a SignerInfo without signedAttrs
  std::vector<const crypto::Certificate*> extra_certs;
  const EVP_MD* md = nullptr;  ///< overrides every signer's digest (e.g. one SCEP does not know)

  static SignOptions econtent(const char* type);
  static SignOptions without_signed_attributes();
  static SignOptions with_certs(std::vector<const crypto::Certificate*> certs);
  static SignOptions digest(const EVP_MD* md);
};

/// A SignedData over `content` with any signers, attributes and eContentType.
core::Result<core::Bytes> sign_raw(core::ByteView content, const std::vector<SignerSpec>& signers,
                                   const SignOptions& opt = {});

}  // namespace testing
