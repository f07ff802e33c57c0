#pragma once
// pkiMessage vocabulary (RFC 8894 §3) and the two conversions the service
// needs: signed attributes -> typed header, CertRep -> signed bytes.

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/cms.hpp"

namespace scep {

enum class MessageType { cert_rep = 3, renewal_req = 17, pkcs_req = 19, cert_poll = 20, get_cert = 21, get_crl = 22 };
enum class PkiStatus { success = 0, failure = 2, pending = 3 };
enum class FailInfo { bad_alg = 0, bad_message_check = 1, bad_request = 2, bad_time = 3, bad_cert_id = 4 };

std::string_view message_type_name(MessageType t);
std::string_view fail_info_name(FailInfo f);

namespace oid {
inline constexpr std::string_view message_type = "2.16.840.1.113733.1.9.2";
inline constexpr std::string_view pki_status = "2.16.840.1.113733.1.9.3";
inline constexpr std::string_view fail_info = "2.16.840.1.113733.1.9.4";
inline constexpr std::string_view sender_nonce = "2.16.840.1.113733.1.9.5";
inline constexpr std::string_view recipient_nonce = "2.16.840.1.113733.1.9.6";
inline constexpr std::string_view transaction_id = "2.16.840.1.113733.1.9.7";
inline constexpr std::string_view fail_info_text = "1.3.6.1.5.5.7.24.1";
}  // namespace oid

/// Limits on client-controlled attribute sizes. Past the sane limits a
/// request is answered FAILURE badRequest (it echoes both, so a reply can
/// still be made); past the hard ones it is not parsed further (HTTP 400).
inline constexpr std::size_t max_transaction_id = 128;
inline constexpr std::size_t max_nonce = 64;
inline constexpr std::size_t hard_max_transaction_id = 4096;
inline constexpr std::size_t hard_max_nonce = 4096;

/// The SCEP header of a request: what a CertRep must echo.
struct Header {
  std::optional<MessageType> type;  ///< nullopt: a messageType this server does not know
  std::string type_text;
  crypto::SignedAttribute transaction_id;  ///< echoed byte for byte, with its string type
  core::Bytes sender_nonce;
};

/// Reads messageType, transactionID and senderNonce. Missing, multi-valued,
/// mistyped or oversized ones are malformed: no CertRep can echo them.
core::Result<Header> read_header(const crypto::SignedDataInfo& sd);

struct Failure {
  FailInfo info;
  std::string text;
};

/// The content of a reply, before signing.
struct CertRep {
  PkiStatus status = PkiStatus::failure;
  Failure failure{FailInfo::bad_request, {}};  ///< with status failure
  /// success: the issued certificate alone (RFC 8894 §3.3.2 asks for at least
  /// it; clients such as micromdm's take the first certificate of the SET,
  /// which DER sorts, so a second one could be taken for theirs)
  std::vector<crypto::Certificate> certs;
  std::vector<core::Bytes> crls;

  static CertRep fail(FailInfo info, std::string text) { return {PkiStatus::failure, {info, std::move(text)}, {}, {}}; }
  static CertRep pending() { return {PkiStatus::pending, {}, {}, {}}; }
  static CertRep success(std::vector<crypto::Certificate> certs) {
    return {PkiStatus::success, {}, std::move(certs), {}};
  }
};

/// How the reply is protected: mirrors the request's digest, content cipher
/// and key transport. Not its signature scheme: the reply is always signed
/// with PKCS#1 v1.5 (rsaEncryption), which every client verifies, also when
/// the request used RSASSA-PSS (strongSwan 5.9.8 sends PSS with
/// --rsa-padding pss but verifies only rsaEncryption; RFC 8894 names no
/// scheme for the CertRep, and RFC 4056 leaves PSS in CMS optional).
struct ReplyCrypto {
  const crypto::Certificate& signer_cert;
  const crypto::PrivateKey& signer_key;
  crypto::DigestAlg digest;
  const crypto::Certificate* recipient;  ///< the request's signer; null: no envelope possible
  crypto::ContentCipher cipher;
  crypto::KeyTransport key_transport;
};

/// Signs a CertRep: messageType 3, pkiStatus, failInfo(+Text), the echoed
/// transactionID, recipientNonce = request senderNonce, a fresh senderNonce of
/// the same length. SUCCESS content is enveloped to the recipient.
core::Result<core::Bytes> build_cert_rep(const CertRep& rep, const Header& request, const ReplyCrypto& rc,
                                         core::Rng& rng);

/// Builds a request pkiMessage (for tests, benchmarks and scepctl's own client).
struct RequestSpec {
  MessageType type = MessageType::pkcs_req;
  std::string transaction_id;
  core::Bytes sender_nonce;
  core::Bytes message_data;  ///< PKCS#10 DER, IssuerAndSubject, ...
  crypto::DigestAlg digest = crypto::DigestAlg::sha256;
  crypto::SignaturePadding padding = crypto::SignaturePadding::pkcs1;  ///< of the CMS signature
  crypto::ContentCipher cipher = crypto::ContentCipher::aes128_cbc;
  crypto::KeyTransport key_transport;
};
core::Result<core::Bytes> build_request(const RequestSpec& spec, const crypto::Certificate& recipient,
                                        const crypto::Certificate& signer_cert, const crypto::PrivateKey& signer_key);

}  // namespace scep
