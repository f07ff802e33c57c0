// PKIOperation: open the message once, decide, answer with a signed CertRep.
#include <fmt/format.h>

#include "crypto/cert_builder.hpp"
#include "crypto/csr.hpp"
#include "crypto/digest.hpp"
#include "scep/ca_context.hpp"
#include "scep/service.hpp"

#include "ca/authority.hpp"
#include "scep/manual.hpp"

namespace scep {

using core::Errc;

namespace {

core::Bytes key_id(const crypto::PublicKey& key) { return crypto::digest(crypto::DigestAlg::sha256, key.spki_der()); }

/// The certificates a request may be encrypted to: the RA's, and the CA's
/// own only when its key is RSA. An EC CA key signs certificates and CRLs
/// and nothing else: an envelope naming it (key transport or a crafted
/// key agreement) is not one this CA opens.
std::vector<crypto::Certificate> recipient_candidates(const CaBundle& ca) {
  std::vector<crypto::Certificate> c;
  if (ca.ra) c.push_back(*ca.ra);
  if (ca.cert.public_key().is_rsa()) c.push_back(ca.cert);
  return c;
}

/// A message encrypted to another generation of the CA (RFC 8894 §5.1: the
/// CA picks its key from the envelope): to a retired CA or RA certificate a
/// client fetched before the activation, or to the next ones it fetched with
/// GetNextCACert. The RA key is the same in every generation. nullopt: the
/// envelope names none of them.
struct OtherRecipient {
  crypto::Certificate cert;
  crypto::PrivateKey key;
};
core::Result<std::optional<OtherRecipient>> other_generation(Catalog& catalog, CaContext& ctx,
                                                             const crypto::Envelope& env) {
  using Found = std::optional<OtherRecipient>;
  const CaBundle& ca = ctx.bundle();
  auto by_ra = [&](const crypto::Certificate& ra) -> core::Result<Found> {
    if (!ca.ra || !(ra.public_key() == ca.ra->public_key())) return Found();
    SCEP_TRY_ASSIGN(auto key, catalog.load_key(ca.name, KeyRole::ra));
    return Found(OtherRecipient{ra, std::move(key)});
  };
  SCEP_TRY_ASSIGN(auto earlier, catalog.earlier_cas(ca.name));
  for (const auto& gen : earlier) {
    if (gen.ra && env.recipient_index({*gen.ra})) return by_ra(*gen.ra);
    if (gen.cert.public_key().is_rsa() && env.recipient_index({gen.cert})) {
      SCEP_TRY_ASSIGN(auto key, catalog.load_earlier_key(ca.name, gen.id));
      return Found(OtherRecipient{gen.cert, std::move(key)});
    }
  }
  if (!catalog.has_next_ca(ca.name)) return Found();
  SCEP_TRY_ASSIGN(auto next, catalog.next_ca(ca.name));
  if (!next) return Found();
  if (next->ra && env.recipient_index({*next->ra})) return by_ra(*next->ra);
  if (next->cert.public_key().is_rsa() && env.recipient_index({next->cert})) {
    SCEP_TRY_ASSIGN(auto key, catalog.load_next_key(ca.name));
    return Found(OtherRecipient{next->cert, std::move(key)});
  }
  return Found();
}

}  // namespace

FailInfo to_fail_info(policy::Refusal r) {
  switch (r) {
    case policy::Refusal::bad_request: return FailInfo::bad_request;
    case policy::Refusal::bad_alg: return FailInfo::bad_alg;
    case policy::Refusal::bad_message_check: return FailInfo::bad_message_check;
  }
  return FailInfo::bad_request;
}

core::Result<CaBundle> Service::select_ca(std::string_view hint, const crypto::Envelope* env) {
  if (!hint.empty() || !env) return m_backend.catalog.find_ca(hint);
  auto fallback = m_backend.catalog.find_ca("");
  if (fallback && env->recipient_index(recipient_candidates(*fallback))) return fallback;
  SCEP_TRY_ASSIGN(auto names, m_backend.catalog.ca_names());
  for (const auto& name : names) {
    if (fallback && name == fallback->name) continue;
    auto ca = m_backend.catalog.find_ca(name);
    if (ca && env->recipient_index(recipient_candidates(*ca))) return ca;
  }
  return fallback;
}

core::Result<void> Service::open_envelope(CaContext& ctx, InboundMessage& in,
                                          const core::Result<crypto::Envelope>& env) {
  const auto& sd = in.signed_data;
  auto failed = [&in](FailInfo f, std::string text) -> core::Result<void> {
    in.failure = Failure{f, std::move(text)};
    return {};
  };
  if (sd.digest && (*sd.digest != crypto::DigestAlg::md5 || ctx.legacy())) in.reply_digest = *sd.digest;
  // An unknown digest cannot verify either: say why.
  if (!sd.digest) return failed(FailInfo::bad_alg, fmt::format("digest algorithm {} is not supported", sd.digest_oid));
  if (!sd.signer) return failed(FailInfo::bad_message_check, sd.signature_error);
  // OpenSSL would only say the signature does not verify.
  if (sd.signature.padding == crypto::SignaturePadding::pss && sd.signature.digest != sd.digest)
    return failed(FailInfo::bad_alg, fmt::format("RSASSA-PSS is taken with the digest of the SignerInfo ({}), "
                                                 "MGF1 over it and trailerField 1",
                                                 crypto::digest_name(*sd.digest)));
  if (!sd.signature_valid) return failed(FailInfo::bad_message_check, "the message signature does not verify");
  // A reply is encrypted to the signer: refuse before anything is decided
  // (a request parked for a key no certificate can be sent to, say).
  if (!crypto::can_encrypt_to(*sd.signer))
    return failed(FailInfo::bad_alg, fmt::format("the signer certificate's key ({}) cannot receive an encrypted reply",
                                                 sd.signer->public_key().description()));
  if (*sd.digest == crypto::DigestAlg::md5 && !ctx.legacy())
    return failed(FailInfo::bad_alg, "MD5 is not allowed by this CA");
  if (!in.header.type)
    return failed(FailInfo::bad_request, fmt::format("messageType {} is not supported", in.header.type_text));
  if (!env) return failed(FailInfo::bad_request, "the message content is not an EnvelopedData");
  if (!env->cipher()) return failed(FailInfo::bad_alg, "the content cipher is not supported");
  if (*env->cipher() == crypto::ContentCipher::des_cbc && !ctx.legacy())
    return failed(FailInfo::bad_alg, "DES is not allowed by this CA");
  in.cipher = *env->cipher();
  auto candidates = recipient_candidates(ctx.bundle());
  auto idx = env->recipient_index(candidates);
  if (!idx) {
    SCEP_TRY_ASSIGN(auto other, other_generation(m_backend.catalog, ctx, *env));
    if (!other) return failed(FailInfo::bad_request, "the message is not encrypted to this CA");
    in.key_transport = env->key_transport(other->cert);
    auto plain = env->decrypt(other->cert, other->key);
    if (!plain) return failed(FailInfo::bad_request, "the envelope cannot be decrypted");
    in.message_data = std::move(*plain);
    return {};
  }
  KeyRole role = ctx.bundle().ra && *idx == 0 ? KeyRole::ra : KeyRole::ca;
  // A key that cannot be loaded is the server's trouble, not the client's:
  // no FAILURE that would tell the device its request was refused.
  SCEP_TRY_ASSIGN(auto key, ctx.key(role));
  in.key_transport = env->key_transport(candidates[*idx]);
  auto plain = env->decrypt(candidates[*idx], *key);
  if (!plain) return failed(FailInfo::bad_request, "the envelope cannot be decrypted");
  in.message_data = std::move(*plain);
  return {};
}

core::Result<core::Bytes> Service::pki_operation(std::string_view ca_hint, core::ByteView der, std::string_view remote,
                                                 PkiSummary* summary) {
  PkiSummary ignored;
  PkiSummary& sum = summary ? *summary : ignored;
  SCEP_TRY_ASSIGN(auto sd, crypto::parse_signed_data(der));
  SCEP_TRY_ASSIGN(auto header, read_header(sd));
  auto env = crypto::Envelope::parse(sd.content);
  SCEP_TRY_ASSIGN(auto bundle, select_ca(ca_hint, env ? &*env : nullptr));
  CaContext ctx(m_backend, std::move(bundle));
  sum.ca = ctx.name();
  sum.message_type = header.type ? std::string(message_type_name(*header.type)) : header.type_text;
  sum.transaction_id = core::to_string(header.transaction_id.value);
  // No CertRep: the client could not have encrypted to this CA.
  SCEP_TRY(check_servable(ctx.bundle()));
  if (ctx.legacy()) crypto::enable_legacy_algorithms();

  InboundMessage in{std::move(sd),
                    std::move(header),
                    std::nullopt,
                    crypto::DigestAlg::sha256,
                    crypto::ContentCipher::aes128_cbc,
                    {},
                    {},
                    std::string(remote)};
  SCEP_TRY(open_envelope(ctx, in, env));
  // The transactionID names records and is logged: short text only.
  // Checked before anything is decided, answered with a signed FAILURE.
  const auto& tid = in.header.transaction_id.value;
  if (!in.failure && tid.size() > max_transaction_id)
    in.failure = Failure{FailInfo::bad_request,
                         fmt::format("the transactionID is longer than {} characters", max_transaction_id)};
  if (!in.failure && !core::is_clean_text(tid))
    in.failure = Failure{FailInfo::bad_request, "the transactionID must be text (UTF-8 without control characters)"};
  if (!in.failure && in.header.sender_nonce.size() > max_nonce)
    in.failure = Failure{FailInfo::bad_request, fmt::format("the senderNonce is longer than {} bytes", max_nonce)};
  // The reply is signed with this key: it must load before anything is
  // decided, or a decision would be made that no reply can carry.
  SCEP_TRY_ASSIGN(auto signer_key, ctx.key(ctx.signer_role()));

  AuditEvent ev;
  ev.time = m_clock.now();
  ev.ca = ctx.name();
  ev.remote = in.remote;
  ev.operation = in.header.type ? std::string(message_type_name(*in.header.type)) : in.header.type_text;
  ev.transaction_id = core::to_string(in.header.transaction_id.value);
  Exchange x{ctx, in, ev, ev.transaction_id};
  auto rep = in.failure ? core::Result<CertRep>(CertRep::fail(in.failure->info, in.failure->text)) : process(x);
  if (!rep) {
    ev.outcome = Outcome::error;
    ev.detail = rep.error().detail;
    m_backend.audit.audit(ev);
    sum.outcome = ev.outcome;
    return std::unexpected(rep.error());
  }
  if (rep->status == PkiStatus::failure) {
    if (ev.outcome != Outcome::rejected) ev.outcome = Outcome::failure;
    ev.fail_info = fail_info_name(rep->failure.info);
    // Keep what was noted on the way (a signer that could not renew).
    ev.detail = ev.detail.empty() ? rep->failure.text : fmt::format("{}; {}", rep->failure.text, ev.detail);
  }
  if (!ev.recorded) m_backend.audit.audit(ev);
  sum.status = rep->status;
  if (rep->status == PkiStatus::failure) sum.fail_info = rep->failure.info;
  sum.outcome = ev.outcome;

  const crypto::Certificate* recipient = in.signed_data.signer ? &*in.signed_data.signer : nullptr;
  ReplyCrypto rc{ctx.signer_cert(), *signer_key, in.reply_digest, recipient, in.cipher, in.key_transport};
  return build_cert_rep(*rep, in.header, rc, m_rng);
}

core::Result<CertRep> Service::process(Exchange& x) {
  switch (*x.in.header.type) {
    case MessageType::pkcs_req: return enroll(x);
    case MessageType::renewal_req: return enroll(x);
    case MessageType::cert_poll: return poll(x);
    case MessageType::get_cert: return send_certificate(x);
    case MessageType::get_crl: return send_crl(x);
    case MessageType::cert_rep:
      return CertRep::fail(FailInfo::bad_request,
                           fmt::format("{} is not supported", message_type_name(*x.in.header.type)));
  }
  return CertRep::fail(FailInfo::bad_request, "unsupported messageType");
}

core::Result<CertRep> Service::answer_existing(Exchange& x, const Transaction& tx, core::ByteView kid) {
  if (!core::equal_constant_time(tx.key_id, kid))
    return CertRep::fail(FailInfo::bad_request, "this transactionID belongs to a request with another key");
  x.event.secret_id = tx.secret_id;
  x.event.policy = tx.policy;
  switch (tx.state) {
    case Transaction::State::pending:
      if (pending_expired(tx.created, x.ca.bundle().options, m_clock.now()))
        return CertRep::fail(FailInfo::bad_request, "the request expired without approval");
      x.event.outcome = Outcome::pending;
      return CertRep::pending();
    case Transaction::State::rejected:
      // A FAILURE like others, but the log and the metrics say why: the operator refused.
      x.event.outcome = Outcome::rejected;
      return CertRep::fail(FailInfo::bad_request,
                           tx.reason.empty() ? "the request was rejected" : "the request was rejected: " + tx.reason);
    case Transaction::State::issued: break;
  }
  SCEP_TRY_ASSIGN(auto found, m_backend.certs.find_certificate(x.ca.name(), tx.serial));
  if (!found)
    return core::fail(Errc::store_io,
                      fmt::format("certificate {} of transaction {} is missing", tx.serial, tx.transaction_id));
  x.event.serial = tx.serial;
  x.event.subject = found->cert.subject();
  // A repeated request must not hand out a certificate the operator revoked since.
  if (found->revocation)
    return CertRep::fail(FailInfo::bad_request, fmt::format("certificate {} has been revoked", tx.serial));
  x.event.outcome = Outcome::reissued;
  return CertRep::success({found->cert});
}

core::Result<CertRep> Service::poll(Exchange& x) {
  SCEP_TRY_ASSIGN(auto tx, m_backend.ledger.find_transaction(x.ca.name(), x.transaction_id));
  if (!tx) return CertRep::fail(FailInfo::bad_cert_id, "no request with this transactionID");
  const crypto::Certificate& signer = *x.in.signed_data.signer;
  // A renewal polls with the certificate it renews, whose key need not be the new one.
  bool renewing = !tx->renewed_from.empty() && tx->renewed_from == signer.serial_hex() &&
                  x.ca.bundle().cert.issued(signer);
  return answer_existing(x, *tx, renewing ? tx->key_id : key_id(signer.public_key()));
}

core::Result<crypto::Certificate> CaContext::sign(crypto::CertSpec& spec, const crypto::PublicKey& key,
                                                  core::Rng& rng) {
  SCEP_TRY_ASSIGN(auto ca_key, this->key(KeyRole::ca));
  return ca::issue(spec, key, m_bundle.cert, *ca_key, rng);
}

core::Result<Recorded> CaContext::record(Issuance& is, crypto::CertSpec& spec, const crypto::PublicKey& key,
                                         core::Rng& rng) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    is.transaction.serial = is.certificate.serial_hex();
    is.event.serial = is.transaction.serial;
    is.event.subject = is.certificate.subject();
    auto r = m_backend.ledger.record_issuance(is);
    if (!r || *r != Recorded::serial_taken) return r;
    SCEP_TRY_ASSIGN(auto again, sign(spec, key, rng));
    is.certificate = std::move(again);
  }
  return core::fail(Errc::internal, "no free serial number after 4 attempts");
}

}  // namespace scep
