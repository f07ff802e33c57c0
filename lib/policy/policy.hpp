#pragma once
// Issuance policies: what a certificate issued under a name looks like and
// which requests qualify. Evaluation is pure: CSR + policy in, Decision out.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/cert_builder.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/digest.hpp"

namespace policy {

inline constexpr int format_version = 1;

/// What happens to the subjectAltNames a request asks for.
enum class SanMode { copy, match, drop };

/// What a secret bound to a name (`secret create --cn NAME`) limits: every
/// name of the certificate (the subject's other attributes and the SANs
/// too), or only the CN, the rest following the policy as for any secret.
enum class SecretCnScope { names, cn };

struct CompiledRegexes;  // policy.cpp

struct Policy {
  std::string name;
  int validity_days = 365;
  unsigned key_usage = crypto::ku_digital_signature | crypto::ku_key_encipherment;
  std::vector<std::string> extended_key_usage{"clientAuth"};
  std::string subject_regex;                     ///< ECMAScript, whole DN text ("CN=a,O=b"); empty: any
  std::vector<std::string> required_attributes;  ///< subject attribute short names that must be present
  SanMode san_mode = SanMode::copy;
  std::string san_regex;  ///< with SanMode::match: SANs (crypto::to_text: "DNS:x") not matching are dropped
  SecretCnScope secret_cn_scope = SecretCnScope::names;
  int min_rsa_bits = 2048;
  std::vector<crypto::DigestAlg> allowed_digests{crypto::DigestAlg::sha1, crypto::DigestAlg::sha256,
                                                 crypto::DigestAlg::sha384, crypto::DigestAlg::sha512};
  std::vector<std::string> copy_extensions;  ///< dotted OIDs copied verbatim from the request
  bool renewal_subject_change = false;       ///< a renewal may ask for another subject than the old certificate's
  /// subject_regex and san_regex compiled once by parse_policy. Used while
  /// the strings still equal what was compiled; a Policy built or edited
  /// by hand compiles its regexes once per evaluation instead.
  std::shared_ptr<const CompiledRegexes> compiled;
};

/// The policy of approvals when neither the operator nor the CA names one:
/// the defaults above, called "manual-default".
inline constexpr std::string_view builtin_policy_name = "manual-default";
inline Policy builtin_policy() {
  Policy p;
  p.name = std::string(builtin_policy_name);
  return p;
}

/// The TOML spellings: "copy", "match", "drop"; "names", "cn".
std::string_view san_mode_name(SanMode m);
std::string_view secret_cn_scope_name(SecretCnScope s);

core::Result<Policy> parse_policy(std::string_view name, std::string_view toml_text);

/// Why `pattern` cannot be a policy or secret regex (ECMAScript), or nothing.
std::optional<std::string> regex_error(std::string_view pattern);
std::string render_policy(const Policy& p);

/// Key usage names <-> mask ("digitalSignature,keyEncipherment").
core::Result<unsigned> parse_key_usage(const std::vector<std::string>& names);
std::vector<std::string> key_usage_names(unsigned mask);

/// Extra limits a secret carries on top of its policy.
struct SecretConstraints {
  /// The bound name: the CN, and with SecretCnScope::names the only name
  /// the certificate carries beyond what the policy's explicit rules allow:
  /// other subject attributes need a subject_regex (the policy's or the
  /// secret's) or required_attributes; SANs must equal it (DNS, email, URI,
  /// IP) or, with SanMode::match, match san_regex. Others are refused.
  std::optional<std::string> common_name;
  std::optional<std::string> subject_regex;
};

/// Why a request was refused, in protocol terms the service maps to failInfo.
enum class Refusal { bad_request, bad_alg, bad_message_check };

struct Decision {
  bool issue = false;
  Refusal refusal = Refusal::bad_request;
  std::string detail;     ///< for the client's failInfoText and the audit log
  crypto::CertSpec spec;  ///< when issuing: everything but the serial
};

/// Checks `csr` against the policy (and secret limits) and, when it passes,
/// fills the certificate spec: validity capped at the CA's notAfter.
Decision evaluate(const Policy& p, const crypto::Csr& csr, const SecretConstraints& limits,
                  const crypto::Certificate& ca_cert, core::TimePoint now);

}  // namespace policy
