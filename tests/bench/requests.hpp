#pragma once
// What scep-bench sends and how it checks what comes back: PKCSReq messages
// built with the library's client-side builder before the clock starts, and a
// strict reading of each CertRep after it stops.

#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"

namespace bench {

/// The CA as GetCACert showed it: who requests are encrypted to, and who
/// must have issued the certificates.
struct CaCerts {
  crypto::Certificate recipient;  ///< the RA when there is one, else the CA
  crypto::Certificate ca;
};
/// Reads a GetCACert body: one DER certificate, or a degenerate PKCS#7 (RA + CA).
core::Result<CaCerts> parse_ca_certs(core::ByteView body);

/// One worker's identity: its RSA key and the self-signed certificate that
/// signs its requests (SCEP clients sign their first request this way).
struct Identity {
  crypto::PrivateKey key;
  crypto::Certificate cert;
};
core::Result<Identity> make_identity(int key_bits, const std::string& tag);

/// One prepared PKCSReq.
struct Enrollment {
  const Identity* who = nullptr;
  std::string subject_cn;
  std::string transaction_id;
  core::Bytes sender_nonce;
  core::Bytes message;  ///< the pkiMessage (DER), ready to POST
};

/// A PKCSReq for `who` with a fresh, unique CN and transactionID carrying
/// `challenge`, encrypted (AES-128-CBC) to `ca.recipient`, signed with SHA-256
/// (support/request_builder.hpp).
core::Result<Enrollment> make_enrollment(const Identity& who, const CaCerts& ca, const std::string& challenge,
                                         const std::string& cn);

/// Checks a CertRep completely: signature, messageType 3, echoed
/// transactionID and nonce, pkiStatus SUCCESS, the envelope decrypts with the
/// worker's key, and the first certificate is issued by the CA, has the
/// request's CN and carries the request's public key.
core::Result<void> check_cert_rep(const Enrollment& e, const CaCerts& ca, core::ByteView reply);

}  // namespace bench
