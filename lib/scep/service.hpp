#pragma once
// The SCEP protocol service. It knows nothing of HTTP or files: operations in,
// bytes and typed errors out. Errors mean "no CertRep possible" (HTTP 4xx/5xx);
// everything that can be answered is answered with a signed CertRep.

#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/cms.hpp"
#include "crypto/csr.hpp"
#include "scep/message.hpp"
#include "scep/roles.hpp"

namespace scep {

/// GetCACert answers in one of two shapes (RFC 8894 §4.2.1).
enum class CaCertKind {
  single,  ///< one DER certificate: application/x-x509-ca-cert
  bundle,  ///< degenerate PKCS#7, RA/issuing cert first: application/x-x509-ca-ra-cert
};

struct CaCertReply {
  CaCertKind kind;
  core::Bytes body;
};

/// A request as received, parsed and checked once; every later step reads it.
struct InboundMessage {
  crypto::SignedDataInfo signed_data;
  Header header;
  std::optional<Failure> failure;  ///< a check failed: the answer is this FAILURE
  crypto::DigestAlg reply_digest = crypto::DigestAlg::sha256;
  crypto::ContentCipher cipher = crypto::ContentCipher::aes128_cbc;
  crypto::KeyTransport key_transport;
  core::Bytes message_data;  ///< the decrypted pkcsPKIEnvelope
  std::string remote;
};

class CaContext;

/// One PKIOperation on its way through the service, passed to each step:
/// the CA that answers, the message as opened, its transactionID (text, its
/// length and characters checked), and the audit event in which the steps
/// note what they decided (it becomes the log line, the metrics and the
/// summary).
struct Exchange {
  CaContext& ca;
  const InboundMessage& in;
  AuditEvent& event;
  std::string transaction_id;
};

/// The CA a `message=` CA identifier selects.
struct CaChoice {
  std::string name;
  /// The identifier names no CA: `name` is the default CA (clients send
  /// fixed values: certmonger "0", sscep "CAIdentifier", Apple the profile name).
  bool fallback = false;
};

/// What pki_operation decided, for the server's log and metrics (never sent).
/// Filled as far as the request got: a message that does not parse leaves
/// it empty; one that got no CertRep (a server error) has no status.
struct PkiSummary {
  std::string ca;                     ///< the CA that answered
  std::string message_type;           ///< "PKCSReq", "CertPoll", ... (or the number received)
  std::string transaction_id;         ///< as received: client bytes, escape before printing
  std::optional<PkiStatus> status;    ///< the CertRep's pkiStatus
  std::optional<FailInfo> fail_info;  ///< with status failure
  std::optional<Outcome> outcome;     ///< the audit event's, once the message parsed
};

/// What health() found wrong.
struct HealthProblem {
  std::string reason;  ///< short, for whoever asks: the CA's name and what failed, no paths
  std::string detail;  ///< the repository's error, for the server's log
};

/// The largest PKCS#10 request parked for an operator (it is stored whole).
inline constexpr std::size_t max_parked_request = 32 * 1024;

class Service {
 public:
  Service(Backend backend, const core::Clock& clock, core::Rng& rng) : m_backend(backend), m_clock(clock), m_rng(rng) {}

  /// The CA of that name; else, unless the repository is strict about
  /// names, the default CA. Errc::unknown_ca when neither exists.
  core::Result<CaChoice> ca_by_identifier(std::string_view identifier);
  /// The GetCACaps keywords for a CA, one per line.
  core::Result<std::string> get_ca_caps(std::string_view ca);
  core::Result<CaCertReply> get_ca_cert(std::string_view ca);
  /// certmonger's GetCAChain / EJBCA's GetCACertChain: always the bundle.
  core::Result<core::Bytes> get_ca_chain(std::string_view ca);
  /// GetNextCACert (RFC 8894 §4.7): the next CA (and RA) certificates in a
  /// SignedData signed by the current CA; nullopt while there is no rollover.
  core::Result<std::optional<core::Bytes>> get_next_ca_cert(std::string_view ca);
  /// A pkiMessage in, a CertRep out. `ca` is the CA named by the URL path
  /// (empty: find it by the envelope's recipient, else the default CA).
  /// `summary`, when given, receives what was decided.
  core::Result<core::Bytes> pki_operation(std::string_view ca, core::ByteView der, std::string_view remote,
                                          PkiSummary* summary = nullptr);
  /// The CRL of the CA's earlier generation `id` (/NAME/crl/ID); not_found
  /// for an ID that names none.
  core::Result<core::Bytes> get_earlier_crl(std::string_view ca, std::string_view id);
  /// The CA's current CRL (DER) for plain HTTP, re-signed first when due.
  core::Result<core::Bytes> get_crl(std::string_view ca);
  /// Why the service cannot answer every CA, or nullopt when it can: the
  /// store lists its CAs, and each CA's certificates and keys (CA, RA) load.
  /// As cheap as the repository keeps them loaded (a server's cache: no
  /// parsing while nothing changed).
  std::optional<HealthProblem> health();

 private:
  core::Result<CaBundle> select_ca(std::string_view hint, const crypto::Envelope* env);
  /// Checks and decrypts the message; a check that fails sets in.failure.
  /// Errors are the server's (a key that does not load).
  core::Result<void> open_envelope(CaContext& ctx, InboundMessage& in, const core::Result<crypto::Envelope>& env);
  core::Result<CertRep> process(Exchange& x);
  core::Result<CertRep> enroll(Exchange& x);
  core::Result<CertRep> poll(Exchange& x);
  /// Why a signer certificate cannot renew.
  struct SignerProblem {
    Failure failure{FailInfo::bad_request, {}};
    bool of_this_ca = false;   ///< the CA issued it: a PKCSReq must not pass over this in silence
    bool compromised = false;  ///< revoked for keyCompromise, cACompromise or aACompromise
  };
  /// The certificate of this CA that signed the message, when it may renew
  /// now; else nullopt and `why` says why.
  core::Result<std::optional<IssuedCertificate>> renewal_signer(CaContext& ctx, const crypto::Certificate& signer,
                                                                SignerProblem& why);
  core::Result<CertRep> renew(Exchange& x, const crypto::Csr& csr, const IssuedCertificate& old);
  core::Result<CertRep> send_certificate(Exchange& x);
  core::Result<CertRep> send_crl(Exchange& x);
  core::Result<CertRep> answer_existing(Exchange& x, const Transaction& tx, core::ByteView key_id);
  /// The SUCCESS for a recorded issuance; `ev` becomes its recorded event.
  static CertRep issued(const Issuance& is, AuditEvent& ev);
  /// `note` goes into the pending record for the operator (why a signer
  /// certificate did not renew, say).
  core::Result<CertRep> park(Exchange& x, const crypto::Csr& csr, core::ByteView key_id, std::string_view note);

  Backend m_backend;
  const core::Clock& m_clock;
  core::Rng& m_rng;
};

/// The failInfo of a policy refusal.
FailInfo to_fail_info(policy::Refusal r);

/// Whether the CA can answer SCEP clients: the certificate they encrypt to
/// (the RA's, else the CA's) must be RSA, the only key transport clients
/// have (RFC 8894 §3.1). An EC CA without an RSA RA is Errc::unavailable
/// (HTTP 503), whose detail tells the operator what to run; no paths.
core::Result<void> check_servable(const CaBundle& ca);

/// The certificates GetCACert sends, in order: RA (if any), the CA, its chain
/// (a root above an intermediate CA only when `include_root`).
std::vector<crypto::Certificate> ca_cert_list(const CaBundle& ca);

}  // namespace scep
