#include "requests.hpp"

#include <chrono>

#include <fmt/format.h>

#include "crypto/cms.hpp"
#include "crypto/pkcs7.hpp"
#include "crypto/rng.hpp"
#include "scep/message.hpp"
#include "support/request_builder.hpp"

namespace bench {

using core::Errc;

core::Result<CaCerts> parse_ca_certs(core::ByteView body) {
  if (auto one = crypto::Certificate::from_der(body)) return CaCerts{*one, *one};
  auto certs = crypto::certificates_of_pkcs7(body);
  if (!certs) return std::unexpected(certs.error());
  const crypto::Certificate* ca = nullptr;
  const crypto::Certificate* ra = nullptr;
  for (const auto& c : *certs) {
    if (c.is_ca() && !ca) ca = &c;
    if (!c.is_ca() && !ra) ra = &c;
  }
  if (!ca) return core::fail(Errc::malformed_request, "GetCACert: no CA certificate in the PKCS#7");
  return CaCerts{ra ? *ra : *ca, *ca};
}

static core::Bytes random_bytes(std::size_t n) {
  core::Bytes b(n);
  crypto::SystemRng().fill(b);
  return b;
}

core::Result<Identity> make_identity(int key_bits, const std::string& tag) {
  auto key = crypto::PrivateKey::generate_rsa(key_bits);
  if (!key) return std::unexpected(key.error());
  core::Bytes serial = random_bytes(8);
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x01);
  auto cert = testing::build_self_signed(*key, "CN=scep-bench signer " + tag, std::chrono::system_clock::now(),
                                         std::move(serial));
  if (!cert) return std::unexpected(cert.error());
  return Identity{std::move(*key), std::move(*cert)};
}

core::Result<Enrollment> make_enrollment(const Identity& who, const CaCerts& ca, const std::string& challenge,
                                         const std::string& cn) {
  testing::CsrSpec csr_spec;
  csr_spec.subject = "CN=" + cn + ",O=scep-bench";
  if (!challenge.empty()) csr_spec.challenge = challenge;
  csr_spec.challenge_type = V_ASN1_UTF8STRING;
  auto csr = testing::build_csr(csr_spec, who.key);
  if (!csr) return std::unexpected(csr.error());
  Enrollment e{&who, cn, core::to_hex(random_bytes(16)), random_bytes(16), {}};
  testing::MessageSpec spec;
  spec.transaction_id = e.transaction_id;
  spec.sender_nonce = e.sender_nonce;
  auto der = testing::build_message(*csr, spec, ca.recipient, who.cert, who.key);
  if (!der) return std::unexpected(der.error());
  e.message = std::move(*der);
  return e;
}

static std::string attr_text(const crypto::SignedDataInfo& sd, std::string_view oid) {
  auto* a = sd.attribute(oid);
  return a ? core::to_string(a->value) : std::string("<absent>");
}

static core::Result<void> bad(const Enrollment& e, std::string what) {
  return core::fail(Errc::malformed_request, fmt::format("{} ({}): {}", e.subject_cn, e.transaction_id, what));
}

core::Result<void> check_cert_rep(const Enrollment& e, const CaCerts& ca, core::ByteView reply) {
  auto sd = crypto::parse_signed_data(reply);
  if (!sd) return bad(e, "reply is not a SignedData: " + sd.error().detail);
  if (!sd->signature_valid) return bad(e, "reply signature does not verify: " + sd->signature_error);
  if (!sd->signer || !(*sd->signer == ca.recipient || *sd->signer == ca.ca))
    return bad(e, "reply not signed by the CA/RA");
  if (attr_text(*sd, scep::oid::message_type) != "3") return bad(e, "messageType is not CertRep");
  std::string status = attr_text(*sd, scep::oid::pki_status);
  if (status != "0")
    return bad(e, fmt::format("pkiStatus {} failInfo {} {}", status, attr_text(*sd, scep::oid::fail_info),
                              attr_text(*sd, scep::oid::fail_info_text)));
  if (attr_text(*sd, scep::oid::transaction_id) != e.transaction_id) return bad(e, "transactionID not echoed");
  auto* rn = sd->attribute(scep::oid::recipient_nonce);
  if (!rn || rn->value != e.sender_nonce) return bad(e, "recipientNonce is not our senderNonce");
  auto env = crypto::Envelope::parse(sd->content);
  if (!env) return bad(e, "content is not an EnvelopedData: " + env.error().detail);
  auto plain = env->decrypt(e.who->cert, e.who->key);
  if (!plain) return bad(e, "envelope does not decrypt: " + plain.error().detail);
  auto certs = crypto::certificates_of_pkcs7(*plain);
  if (!certs || certs->empty()) return bad(e, "no certificate in the reply");
  const crypto::Certificate& issued = certs->front();
  if (!ca.ca.issued(issued)) return bad(e, "certificate does not verify against the CA: " + issued.issuer());
  if (!(issued.public_key() == e.who->key.public_key())) return bad(e, "certificate is not for the request's key");
  if (issued.subject().find(e.subject_cn) == std::string::npos)
    return bad(e, "certificate subject " + issued.subject());
  return {};
}

}  // namespace bench
