#include "scep/service.hpp"

#include <fmt/format.h>

#include "crypto/key_type.hpp"
#include "crypto/pkcs7.hpp"

namespace scep {

std::vector<crypto::Certificate> ca_cert_list(const CaBundle& ca) {
  std::vector<crypto::Certificate> certs;
  if (ca.ra) certs.push_back(*ca.ra);
  certs.push_back(ca.cert);
  for (const auto& c : ca.chain) certs.push_back(c);
  // Only a root above the issuing CA may be left out; a self-signed issuing CA
  // is what clients verify against and always goes out.
  if (!ca.options.include_root && !ca.chain.empty() && certs.back().is_self_issued()) certs.pop_back();
  return certs;
}

core::Result<void> check_servable(const CaBundle& ca) {
  if (ca.ra && !ca.ra->public_key().is_rsa())
    return core::fail(core::Errc::unavailable,
                      fmt::format("the RA of CA \"{}\" is not RSA ({}); SCEP clients need an RSA RA: run \"scepctl "
                                  "ra create {} --replace\"",
                                  ca.name, ca.ra->public_key().description(), ca.name));
  if (!ca.ra && !ca.cert.public_key().is_rsa())
    return core::fail(core::Errc::unavailable,
                      fmt::format("CA \"{}\" ({}) has no RSA RA for SCEP clients to encrypt to: run \"scepctl ra "
                                  "create {}\"",
                                  ca.name, ca.cert.public_key().description(), ca.name));
  return {};
}

core::Result<CaChoice> Service::ca_by_identifier(std::string_view identifier) {
  auto named = m_backend.catalog.resolve_ca(identifier);
  if (named) return CaChoice{std::move(*named), false};
  if (identifier.empty() || named.error().code != core::Errc::unknown_ca || m_backend.catalog.strict_ca_names())
    return std::unexpected(named.error());
  auto fallback = m_backend.catalog.resolve_ca("");
  // No default either (several CAs, none chosen): the name was the problem.
  if (!fallback)
    return std::unexpected(fallback.error().code == core::Errc::unknown_ca ? named.error() : fallback.error());
  return CaChoice{std::move(*fallback), true};
}

core::Result<std::string> Service::get_ca_caps(std::string_view ca) {
  // Nothing here depends on the certificates: do not parse them (a CGI
  // process would also load OpenSSL's configuration for it).
  SCEP_TRY_ASSIGN(auto name, m_backend.catalog.resolve_ca(ca));
  // Only what is implemented. Explicit AES/POSTPKIOperation/SHA-256 for Apple,
  // which ignores SCEPStandard; DES3 and SHA-1 keep clients off DES and MD5.
  // Renewal makes certmonger and macOS sign renewals with the old certificate.
  // SHA-384 (accepted for the CMS signature and by the default policy for
  // the PKCS#10; sscep knows the keyword, the RFC's clients ignore it) is
  // what lets strongSwan 5.9.8 find AES: it tests bit SCEP_CAPS_AES = 0 and
  // bit SCEP_CAPS_SCEPSTANDARD = 8, i.e. 1 << 3, the bit it sets for SHA-384
  // (strongswan/strongswan#1607). SHA-224 is not listed: the default policy
  // refuses PKCS#10 requests signed with it.
  std::string caps("POSTPKIOperation\nRenewal\nAES\nDES3\nSHA-1\nSHA-256\nSHA-384\nSHA-512\nSCEPStandard\n");
  // Only while a rollover waits for its activation (as EJBCA does): a client
  // that sees it asks GetNextCACert, and sscep's getnextca finds nothing
  // otherwise. Clients ignore keywords they do not know (RFC 8894 §3.5.2).
  if (m_backend.catalog.has_next_ca(name)) caps += "GetNextCACert\n";
  return caps;
}

core::Result<std::optional<core::Bytes>> Service::get_next_ca_cert(std::string_view ca) {
  SCEP_TRY_ASSIGN(auto bundle, m_backend.catalog.find_ca(ca));
  SCEP_TRY_ASSIGN(auto next, m_backend.catalog.next_ca(bundle.name));
  if (!next) return std::optional<core::Bytes>();
  // RFC 8894 §4.7.1: a SignedData signed by the current CA key whose content
  // is a degenerate SignedData of the next certificates (RA first, as in
  // GetCACert). sscep verifies the signature and reads the content; jscep
  // reads the outer certificates: they carry the next ones too.
  auto certs = ca_cert_list(*next);
  SCEP_TRY_ASSIGN(auto inner, crypto::degenerate_pkcs7(certs));
  SCEP_TRY_ASSIGN(auto key, m_backend.catalog.load_key(bundle.name, KeyRole::ca));
  SCEP_TRY_ASSIGN(auto signed_data,
                  crypto::make_signed_data(inner, bundle.cert, key, crypto::signing_digest(key), {}, certs));
  return std::optional<core::Bytes>(std::move(signed_data));
}

core::Result<CaCertReply> Service::get_ca_cert(std::string_view ca) {
  SCEP_TRY_ASSIGN(auto bundle, m_backend.catalog.find_ca(ca));
  SCEP_TRY(check_servable(bundle));
  auto certs = ca_cert_list(bundle);
  if (certs.size() == 1 && !bundle.ra) return CaCertReply{CaCertKind::single, certs.front().der()};
  SCEP_TRY_ASSIGN(auto p7, crypto::degenerate_pkcs7(certs));
  return CaCertReply{CaCertKind::bundle, std::move(p7)};
}

core::Result<core::Bytes> Service::get_ca_chain(std::string_view ca) {
  SCEP_TRY_ASSIGN(auto bundle, m_backend.catalog.find_ca(ca));
  SCEP_TRY(check_servable(bundle));
  return crypto::degenerate_pkcs7(ca_cert_list(bundle));
}

std::optional<HealthProblem> Service::health() {
  auto names = m_backend.catalog.ca_names();
  if (!names) return HealthProblem{"the store cannot be read", names.error().detail};
  if (names->empty()) return HealthProblem{"the store has no CA", {}};
  for (const auto& name : *names) {
    auto ca = m_backend.catalog.find_ca(name);
    if (!ca) return HealthProblem{fmt::format("CA {}: its certificate does not load", name), ca.error().detail};
    if (auto key = m_backend.catalog.load_key(name, KeyRole::ca); !key)
      return HealthProblem{fmt::format("CA {}: its key does not load", name), key.error().detail};
    if (auto ok = check_servable(*ca); !ok)
      return HealthProblem{fmt::format("CA {}: cannot serve SCEP clients", name), ok.error().detail};
    if (!ca->ra) continue;
    if (auto key = m_backend.catalog.load_key(name, KeyRole::ra); !key)
      return HealthProblem{fmt::format("CA {}: its RA key does not load", name), key.error().detail};
  }
  return std::nullopt;
}

}  // namespace scep
