#pragma once
// What became of a device's request or an operator's action: the `outcome`
// of an audit event, and a label of the enrollment metrics.

#include <iosfwd>
#include <optional>
#include <span>
#include <string_view>

namespace scep {

enum class Outcome {
  // A device's request (PKIOperation).
  error,     ///< no answer: the server failed (or nothing was decided yet)
  issued,    ///< a new certificate (a secret's use, or an operator's approval)
  renewed,   ///< a new certificate for a renewal
  reissued,  ///< a retry answered with the certificate already issued
  pending,   ///< parked for an operator, or still waiting
  rejected,  ///< an operator refused it
  failure,   ///< a FAILURE CertRep
  sent,      ///< GetCert / GetCRL answered
  // An operator's action (scepctl).
  revoked,
  created,
  replaced,
  changed,
  signed_crl,  ///< "signed": a CRL signed on demand
};

/// The name the audit log and the metrics use ("issued", "signed", ...).
std::string_view outcome_name(Outcome o);
/// The outcome of that name, in any case; nullopt for an unknown name.
std::optional<Outcome> outcome_from_name(std::string_view name);
/// Every outcome, in declaration order (for help texts and checks).
std::span<const Outcome> all_outcomes();

std::ostream& operator<<(std::ostream& os, Outcome o);

}  // namespace scep
