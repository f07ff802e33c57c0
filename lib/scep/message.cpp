#include "scep/message.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "crypto/pkcs7.hpp"

namespace scep {

using core::Errc;

std::string_view message_type_name(MessageType t) {
  switch (t) {
    case MessageType::cert_rep: return "CertRep";
    case MessageType::renewal_req: return "RenewalReq";
    case MessageType::pkcs_req: return "PKCSReq";
    case MessageType::cert_poll: return "CertPoll";
    case MessageType::get_cert: return "GetCert";
    case MessageType::get_crl: return "GetCRL";
  }
  return "?";
}

std::string_view fail_info_name(FailInfo f) {
  switch (f) {
    case FailInfo::bad_alg: return "badAlg";
    case FailInfo::bad_message_check: return "badMessageCheck";
    case FailInfo::bad_request: return "badRequest";
    case FailInfo::bad_time: return "badTime";
    case FailInfo::bad_cert_id: return "badCertId";
  }
  return "?";
}

namespace {

core::Result<const crypto::SignedAttribute*> single(const crypto::SignedDataInfo& sd, std::string_view oid,
                                                    std::string_view name) {
  int count = 0;
  const crypto::SignedAttribute* found = nullptr;
  for (const auto& a : sd.attributes)
    if (a.oid == oid) {
      ++count;
      found = &a;
    }
  if (count == 0) return core::fail(Errc::malformed_request, fmt::format("the {} attribute is missing", name));
  if (count > 1 || found->values != 1)
    return core::fail(Errc::malformed_request, fmt::format("the {} attribute must have one value", name));
  return found;
}

bool is_string(const crypto::SignedAttribute& a) {
  return a.type == crypto::StringType::printable || a.type == crypto::StringType::utf8 ||
         a.type == crypto::StringType::ia5;
}

std::optional<MessageType> to_message_type(std::string_view text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  switch (v) {
    case 17: return MessageType::renewal_req;
    case 19: return MessageType::pkcs_req;
    case 20: return MessageType::cert_poll;
    case 21: return MessageType::get_cert;
    case 22: return MessageType::get_crl;
    default: return std::nullopt;
  }
}

crypto::SignedAttribute printable(std::string_view oid, std::string_view value) {
  return {std::string(oid), crypto::StringType::printable, core::to_bytes(value), 1};
}

crypto::SignedAttribute octets(std::string_view oid, core::Bytes value) {
  return {std::string(oid), crypto::StringType::octet, std::move(value), 1};
}

}  // namespace

core::Result<Header> read_header(const crypto::SignedDataInfo& sd) {
  SCEP_TRY_ASSIGN(auto type, single(sd, oid::message_type, "messageType"));
  SCEP_TRY_ASSIGN(auto tid, single(sd, oid::transaction_id, "transactionID"));
  SCEP_TRY_ASSIGN(auto nonce, single(sd, oid::sender_nonce, "senderNonce"));
  if (!is_string(*type) || type->value.size() > 4)
    return core::fail(Errc::malformed_request, "messageType is not a short string");
  if (!is_string(*tid)) return core::fail(Errc::malformed_request, "transactionID is not a string");
  if (tid->value.empty() || tid->value.size() > hard_max_transaction_id)
    return core::fail(Errc::malformed_request,
                      fmt::format("transactionID must be 1..{} characters", max_transaction_id));
  if (nonce->type != crypto::StringType::octet || nonce->value.empty() || nonce->value.size() > hard_max_nonce)
    return core::fail(Errc::malformed_request,
                      fmt::format("senderNonce must be an OCTET STRING of 1..{} bytes", max_nonce));
  Header h;
  h.type_text = core::to_string(type->value);
  h.type = to_message_type(h.type_text);
  h.transaction_id = *tid;
  h.sender_nonce = nonce->value;
  return h;
}

core::Result<core::Bytes> build_cert_rep(const CertRep& rep, const Header& request, const ReplyCrypto& rc,
                                         core::Rng& rng) {
  std::vector<crypto::SignedAttribute> attrs;
  attrs.push_back(printable(oid::message_type, "3"));
  attrs.push_back(printable(oid::pki_status, std::to_string(static_cast<int>(rep.status))));
  if (rep.status == PkiStatus::failure) {
    attrs.push_back(printable(oid::fail_info, std::to_string(static_cast<int>(rep.failure.info))));
    if (!rep.failure.text.empty())
      attrs.push_back(
          {std::string(oid::fail_info_text), crypto::StringType::utf8, core::to_bytes(rep.failure.text), 1});
  }
  crypto::SignedAttribute tid = request.transaction_id;
  tid.oid = oid::transaction_id;
  attrs.push_back(tid);
  attrs.push_back(octets(oid::recipient_nonce, request.sender_nonce));
  core::Bytes nonce(request.sender_nonce.size());  // same length: old iOS sends 8 bytes
  rng.fill(nonce);
  attrs.push_back(octets(oid::sender_nonce, std::move(nonce)));

  core::Bytes content;
  if (rep.status == PkiStatus::success) {
    if (!rc.recipient) return core::fail(Errc::internal, "a SUCCESS reply needs a recipient");
    SCEP_TRY_ASSIGN(auto degenerate, crypto::degenerate_pkcs7(rep.certs, rep.crls));
    SCEP_TRY_ASSIGN(auto env, crypto::make_envelope(degenerate, *rc.recipient, rc.cipher, rc.key_transport));
    content = std::move(env);
  }
  return crypto::make_signed_data(content, rc.signer_cert, rc.signer_key, rc.digest, attrs);
}

core::Result<core::Bytes> build_request(const RequestSpec& spec, const crypto::Certificate& recipient,
                                        const crypto::Certificate& signer_cert, const crypto::PrivateKey& signer_key) {
  SCEP_TRY_ASSIGN(auto env, crypto::make_envelope(spec.message_data, recipient, spec.cipher, spec.key_transport));
  std::vector<crypto::SignedAttribute> attrs{
      printable(oid::message_type, std::to_string(static_cast<int>(spec.type))),
      printable(oid::transaction_id, spec.transaction_id),
      octets(oid::sender_nonce, spec.sender_nonce),
  };
  return crypto::make_signed_data(env, signer_cert, signer_key, spec.digest, attrs, {}, spec.padding);
}

}  // namespace scep
