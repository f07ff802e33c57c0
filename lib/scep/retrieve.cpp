// GetCert and GetCRL (RFC 8894 §3.3.3, §3.3.4): an IssuerAndSerialNumber in,
// the certificate or the CA's CRL out, in the certs-only reply.
#include <variant>

#include <fmt/format.h>

#include "core/names.hpp"
#include "crypto/pkcs7.hpp"
#include "scep/ca_context.hpp"
#include "scep/crl.hpp"
#include "scep/service.hpp"

namespace scep {

namespace {

/// The IssuerAndSerialNumber of the message, if it names this CA as issuer;
/// else the FAILURE to answer.
std::variant<crypto::IssuerAndSerial, CertRep> read_issuer_and_serial(const CaContext& ctx, const InboundMessage& in) {
  auto ias = crypto::parse_issuer_and_serial(in.message_data);
  if (!ias) return CertRep::fail(FailInfo::bad_request, "the message does not hold an IssuerAndSerialNumber");
  if (!ias->names_issuer(ctx.bundle().cert))
    return CertRep::fail(FailInfo::bad_cert_id, "the issuer named is not this CA");
  return std::move(*ias);
}

}  // namespace

core::Result<CertRep> Service::send_certificate(Exchange& x) {
  auto read = read_issuer_and_serial(x.ca, x.in);
  if (auto* failure = std::get_if<CertRep>(&read)) return std::move(*failure);
  const auto& ias = std::get<crypto::IssuerAndSerial>(read);
  x.event.serial = ias.serial_hex;
  SCEP_TRY_ASSIGN(auto found, m_backend.certs.find_certificate(x.ca.name(), ias.serial_hex));
  if (!found) return CertRep::fail(FailInfo::bad_cert_id, fmt::format("no certificate with serial {}", ias.serial_hex));
  x.event.subject = found->cert.subject();
  x.event.outcome = Outcome::sent;
  return CertRep::success({found->cert});
}

core::Result<CertRep> Service::send_crl(Exchange& x) {
  auto read = read_issuer_and_serial(x.ca, x.in);
  if (auto* failure = std::get_if<CertRep>(&read)) return std::move(*failure);
  const auto& ias = std::get<crypto::IssuerAndSerial>(read);
  // The CRL of the generation that issued the certificate asked about: after
  // a rollover the subject (the issuer named) is the same for all of them.
  std::optional<EarlierCa> gen;
  SCEP_TRY_ASSIGN(auto found, m_backend.certs.find_certificate(x.ca.name(), ias.serial_hex));
  if (found && !x.ca.bundle().cert.issued(found->cert)) {
    SCEP_TRY_ASSIGN(auto earlier, earlier_issuer(m_backend.catalog, x.ca.name(), found->cert));
    gen = std::move(earlier);
  }
  SCEP_TRY_ASSIGN(auto crl, gen ? earlier_crl(m_backend, x.ca.bundle(), *gen, m_clock)
                                : ca_crl(m_backend, x.ca.bundle(), m_clock));
  x.event.outcome = Outcome::sent;
  CertRep rep = CertRep::success({});
  rep.crls.push_back(std::move(crl));
  return rep;
}

core::Result<core::Bytes> Service::get_crl(std::string_view ca) {
  SCEP_TRY_ASSIGN(auto bundle, m_backend.catalog.find_ca(ca));
  return ca_crl(m_backend, bundle, m_clock);
}

core::Result<core::Bytes> Service::get_earlier_crl(std::string_view ca, std::string_view id) {
  SCEP_TRY_ASSIGN(auto bundle, m_backend.catalog.find_ca(ca));
  // The current generation answers to its ID too (its certificate's
  // serial): relying parties can be given the URL that stays valid after
  // the next activation before it happens.
  if (core::iequals_ascii(id, bundle.cert.serial_hex())) return ca_crl(m_backend, bundle, m_clock);
  SCEP_TRY_ASSIGN(auto earlier, m_backend.catalog.earlier_cas(bundle.name));
  for (const auto& gen : earlier)
    if (gen.id == id) return earlier_crl(m_backend, bundle, gen, m_clock);
  return core::fail(core::Errc::not_found, "no such CA generation");
}

}  // namespace scep
