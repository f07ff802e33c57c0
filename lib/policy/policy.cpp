#include "policy/policy.hpp"

#include <algorithm>
#include <expected>
#include <regex>
#include <variant>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/config.hpp"
#include "core/names.hpp"
#include "crypto/key_usage.hpp"

namespace policy {

/// A regex of a policy as parse_policy compiled it, with the text it came from.
struct CompiledRegex {
  std::string pattern;
  std::regex re;
};
struct CompiledRegexes {
  std::optional<CompiledRegex> subject, san;
};

using core::Errc;

namespace {

/// Regexes run on client-controlled text: keep the input bounded (std::regex recurses).
constexpr std::size_t max_regex_input = 1024;

/// libstdc++ reads the number of a back-reference ("\\12") and of a repeat
/// count ("{2,5}") into a long without an overflow check (undefined
/// behaviour past 19 digits; found by fuzz_config). No useful pattern needs
/// more than 3 digits for the one or 6 for the other: refuse longer runs
/// before std::regex sees them. Huge counts within that are refused by
/// libstdc++'s own limit on automaton states (error_space).
std::optional<std::string> regex_number_error(std::string_view pattern) {
  auto digits_at = [&](std::size_t i) {
    std::size_t n = 0;
    while (i + n < pattern.size() && pattern[i + n] >= '0' && pattern[i + n] <= '9') ++n;
    return n;
  };
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (digits_at(i + 1) > 3) return "a back-reference number has more than 3 digits";
      ++i;  // the escaped character is literal
    } else if (pattern[i] == '{') {
      for (std::size_t j = i + 1; j < pattern.size() && pattern[j] != '}'; ++j) {
        std::size_t n = digits_at(j);
        if (n > 6) return "a repeat count has more than 6 digits";
        if (n) j += n - 1;
        else if (pattern[j] != ',') break;
      }
    }
  }
  return std::nullopt;
}

/// A pattern compiled, or why it cannot be.
std::expected<std::regex, std::string> compile_regex(std::string_view pattern) {
  if (auto err = regex_number_error(pattern)) return std::unexpected(*err);
  try {
    return std::regex(pattern.begin(), pattern.end(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::unexpected(std::string(e.what()));
  }
}

/// A compiled regex, or nothing when the pattern does not compile (a
/// hand-edited record: it matches nothing, never UB).
using Matcher = std::optional<std::regex>;

Matcher matcher(const std::string& pattern) {
  auto re = compile_regex(pattern);
  return re ? Matcher(std::move(*re)) : std::nullopt;
}

bool full_match(const Matcher& re, const std::string& text) {
  return re && text.size() <= max_regex_input && std::regex_match(text, *re);
}

core::Result<std::vector<std::string>> string_list(const toml::table& t, std::string_view key, std::string_view where) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) return core::fail(Errc::config_invalid, fmt::format("{}: {} must be a list of strings", where, key));
  for (const auto& item : *arr) {
    auto v = item.value<std::string>();
    if (!v) return core::fail(Errc::config_invalid, fmt::format("{}: {} must be a list of strings", where, key));
    out.push_back(*v);
  }
  return out;
}

core::Result<void> apply_lists(const toml::table& t, Policy& p, const std::string& where) {
  if (t.get("key_usage")) {
    SCEP_TRY_ASSIGN(auto names, string_list(t, "key_usage", where));
    auto mask = parse_key_usage(names);
    if (!mask) return core::fail(Errc::config_invalid, fmt::format("{}: {}", where, mask.error().detail));
    p.key_usage = *mask;
  }
  if (t.get("extended_key_usage")) {
    SCEP_TRY_ASSIGN(auto eku, string_list(t, "extended_key_usage", where));
    for (const auto& name : eku)
      if (!crypto::is_known_object(name))
        return core::fail(Errc::config_invalid, fmt::format("{}: unknown extended key usage \"{}\"", where, name));
    p.extended_key_usage = eku;
  }
  SCEP_TRY_ASSIGN(auto req, string_list(t, "required_attributes", where));
  SCEP_TRY_ASSIGN(auto copy, string_list(t, "copy_extensions", where));
  for (const auto& oid : copy)
    if (!crypto::is_dotted_oid(oid))
      return core::fail(Errc::config_invalid,
                        fmt::format("{}: copy_extensions takes dotted OIDs, not \"{}\"", where, oid));
  for (const auto& attr : req)
    if (!crypto::is_known_object(attr))
      return core::fail(Errc::config_invalid, fmt::format("{}: unknown subject attribute \"{}\"", where, attr));
  p.required_attributes = req;
  p.copy_extensions = copy;
  if (t.get("allowed_digests")) {
    SCEP_TRY_ASSIGN(auto digests, string_list(t, "allowed_digests", where));
    p.allowed_digests.clear();
    for (const auto& d : digests) {
      auto alg = crypto::digest_from_name(d);
      if (!alg) return core::fail(Errc::config_invalid, fmt::format("{}: unknown digest \"{}\"", where, d));
      p.allowed_digests.push_back(*alg);
    }
  }
  return {};
}

/// Reads an optional value of exactly type T; a value of another type is an error, not a default.
template <class T>
core::Result<void> read_exact(const toml::table& t, std::string_view key, T& out, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto v = n->value_exact<T>();
  if (!v) return core::fail(Errc::config_invalid, fmt::format("{}: {} has the wrong type", where, key));
  out = *v;
  return {};
}

core::Result<void> read_int(const toml::table& t, std::string_view key, int& out, int lo, int hi,
                            const std::string& where) {
  std::int64_t v = out;
  SCEP_TRY(read_exact(t, key, v, where));
  if (v < lo || v > hi)
    return core::fail(Errc::config_invalid, fmt::format("{}: {} must be {}..{}", where, key, lo, hi));
  out = static_cast<int>(v);
  return {};
}

core::Result<void> apply_scalars(const toml::table& t, Policy& p, const std::string& where) {
  std::string san(san_mode_name(p.san_mode)), scope(secret_cn_scope_name(p.secret_cn_scope));
  for (auto r : {read_int(t, "validity_days", p.validity_days, 1, 36500, where),
                 read_int(t, "min_rsa_bits", p.min_rsa_bits, 1024, 16384, where),
                 read_exact(t, "subject_regex", p.subject_regex, where), read_exact(t, "san_regex", p.san_regex, where),
                 read_exact(t, "san", san, where), read_exact(t, "secret_cn_scope", scope, where),
                 read_exact(t, "renewal_subject_change", p.renewal_subject_change, where)})
    if (!r) return r;
  if (san == "copy") p.san_mode = SanMode::copy;
  else if (san == "match") p.san_mode = SanMode::match;
  else if (san == "drop") p.san_mode = SanMode::drop;
  else return core::fail(Errc::config_invalid, fmt::format("{}: san must be copy, match or drop", where));
  if (scope == "names") p.secret_cn_scope = SecretCnScope::names;
  else if (scope == "cn") p.secret_cn_scope = SecretCnScope::cn;
  else return core::fail(Errc::config_invalid, fmt::format("{}: secret_cn_scope must be names or cn", where));
  auto compiled = std::make_shared<CompiledRegexes>();
  if (!p.subject_regex.empty()) {
    auto re = compile_regex(p.subject_regex);
    if (!re) return core::fail(Errc::config_invalid, fmt::format("{}: bad subject_regex: {}", where, re.error()));
    compiled->subject = CompiledRegex{p.subject_regex, std::move(*re)};
  }
  if (p.san_mode == SanMode::match) {
    std::expected<std::regex, std::string> re = std::unexpected(std::string("it is empty"));
    if (!p.san_regex.empty()) re = compile_regex(p.san_regex);
    if (!re)
      return core::fail(Errc::config_invalid,
                        fmt::format("{}: san = \"match\" needs a valid san_regex: {}", where, re.error()));
    compiled->san = CompiledRegex{p.san_regex, std::move(*re)};
  }
  p.compiled = std::move(compiled);
  return {};
}

/// The compiled form of `pattern`: the one parse_policy made while it still
/// applies, else compiled now.
Matcher policy_matcher(const CompiledRegex* cached, const std::string& pattern) {
  if (cached && cached->pattern == pattern) return cached->re;  // a copy shares the automaton
  return matcher(pattern);
}

}  // namespace

std::string_view san_mode_name(SanMode m) {
  switch (m) {
    case SanMode::copy: return "copy";
    case SanMode::match: return "match";
    case SanMode::drop: return "drop";
  }
  return "copy";
}

std::string_view secret_cn_scope_name(SecretCnScope s) {
  switch (s) {
    case SecretCnScope::names: return "names";
    case SecretCnScope::cn: return "cn";
  }
  return "names";
}

core::Result<unsigned> parse_key_usage(const std::vector<std::string>& names) {
  unsigned mask = 0;
  for (const auto& n : names) {
    auto bit = crypto::key_usage_bit(n);
    if (!bit) return core::fail(Errc::invalid_argument, fmt::format("unknown key usage \"{}\"", n));
    mask |= *bit;
  }
  return mask;
}

std::vector<std::string> key_usage_names(unsigned mask) { return crypto::key_usage_names(mask); }

std::optional<std::string> regex_error(std::string_view pattern) {
  auto re = compile_regex(pattern);
  return re ? std::nullopt : std::optional<std::string>(re.error());
}

core::Result<Policy> parse_policy(std::string_view name, std::string_view toml_text) {
  std::string where = fmt::format("policy {}", name);
  toml::table t;
  try {
    t = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return core::fail(Errc::config_invalid,
                      fmt::format("{} line {}: {}", where, e.source().begin.line, e.description()));
  }
  static constexpr std::string_view known[] = {"format",
                                               "validity_days",
                                               "key_usage",
                                               "extended_key_usage",
                                               "subject_regex",
                                               "required_attributes",
                                               "san",
                                               "san_regex",
                                               "min_rsa_bits",
                                               "allowed_digests",
                                               "copy_extensions",
                                               "renewal_subject_change",
                                               "secret_cn_scope"};
  for (auto&& [k, v] : t)
    if (std::find(std::begin(known), std::end(known), k.str()) == std::end(known))
      return core::fail(Errc::config_invalid, fmt::format("{}: unknown setting {}", where, k.str()));
  if (auto f = t["format"].value<int64_t>(); !f || *f != format_version)
    return core::fail(Errc::config_invalid,
                      fmt::format("{}: missing or unsupported format (want {})", where, format_version));
  Policy p;
  p.name = std::string(name);
  SCEP_TRY(apply_lists(t, p, where));
  SCEP_TRY(apply_scalars(t, p, where));
  return p;
}

static std::string toml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + config::quote(items[i]);
  return out + "]";
}

std::string render_policy(const Policy& p) {
  std::vector<std::string> digests;
  for (auto d : p.allowed_digests) digests.emplace_back(crypto::digest_name(d));
  std::string out = fmt::format("# issuance policy \"{}\"; see scep.toml(5)\nformat = {}\n", p.name, format_version);
  out += fmt::format("validity_days = {}\n", p.validity_days);
  out += fmt::format("key_usage = {}\n", toml_list(key_usage_names(p.key_usage)));
  out += fmt::format("extended_key_usage = {}\n", toml_list(p.extended_key_usage));
  out += fmt::format("subject_regex = {}\n", config::quote(p.subject_regex));
  out += fmt::format("required_attributes = {}\n", toml_list(p.required_attributes));
  out += fmt::format("san = \"{}\"\n", san_mode_name(p.san_mode));
  out += fmt::format("san_regex = {}\n", config::quote(p.san_regex));
  out += fmt::format("min_rsa_bits = {}\n", p.min_rsa_bits);
  out += fmt::format("allowed_digests = {}\n", toml_list(digests));
  out += fmt::format("copy_extensions = {}\n", toml_list(p.copy_extensions));
  out += fmt::format("renewal_subject_change = {}\n", p.renewal_subject_change);
  out += fmt::format("secret_cn_scope = \"{}\"\n", secret_cn_scope_name(p.secret_cn_scope));
  return out;
}

namespace {

Decision refuse(Refusal r, std::string detail) {
  Decision d;
  d.refusal = r;
  d.detail = std::move(detail);
  return d;
}

std::optional<Decision> check_key_and_signature(const Policy& p, const crypto::Csr& csr) {
  if (!csr.signature_valid()) return refuse(Refusal::bad_request, "the PKCS#10 signature does not verify");
  auto digest = csr.signature_digest();
  if (!digest) return refuse(Refusal::bad_alg, "the PKCS#10 signature algorithm is not supported");
  if (std::find(p.allowed_digests.begin(), p.allowed_digests.end(), *digest) == p.allowed_digests.end())
    return refuse(Refusal::bad_alg, fmt::format("the PKCS#10 signature digest {} is not allowed by the policy",
                                                crypto::digest_name(*digest)));
  auto key = csr.public_key();
  if (!key.is_rsa())
    return refuse(Refusal::bad_alg, fmt::format("key type {} is not allowed (RSA only)", key.description()));
  if (key.bits() < p.min_rsa_bits)
    return refuse(Refusal::bad_request,
                  fmt::format("RSA key of {} bits is below the policy minimum of {}", key.bits(), p.min_rsa_bits));
  return std::nullopt;
}

/// The bound name when the secret limits every name of the certificate.
const std::string* bound_name(const Policy& p, const SecretConstraints& limits) {
  return limits.common_name && p.secret_cn_scope == SecretCnScope::names ? &*limits.common_name : nullptr;
}

/// With a bound name and no subject regex to say otherwise, the subject may
/// hold the CN and the policy's required attributes, nothing else.
std::optional<Decision> check_bound_subject(const Policy& p, const crypto::Csr& csr, const SecretConstraints& limits) {
  const std::string* bound = bound_name(p, limits);
  if (!bound || !p.subject_regex.empty() || limits.subject_regex) return std::nullopt;
  for (const auto& type : csr.subject_attribute_types()) {
    if (type == "CN" ||
        std::find(p.required_attributes.begin(), p.required_attributes.end(), type) != p.required_attributes.end())
      continue;
    return refuse(
        Refusal::bad_request,
        fmt::format("the subject attribute {} is not allowed for this challenge password: it is bound to CN \"{}\"",
                    type, core::escape_text(*bound)));
  }
  return std::nullopt;
}

std::optional<Decision> check_subject(const Policy& p, const crypto::Csr& csr, const SecretConstraints& limits) {
  std::string subject = csr.subject();
  if (subject.size() > max_regex_input) return refuse(Refusal::bad_request, "the subject is too long");
  for (const auto& attr : p.required_attributes)
    if (csr.subject_values(attr).empty())
      return refuse(Refusal::bad_request, fmt::format("the subject has no {}", attr));
  if (!p.subject_regex.empty() &&
      !full_match(policy_matcher(p.compiled && p.compiled->subject ? &*p.compiled->subject : nullptr, p.subject_regex),
                  subject))
    return refuse(Refusal::bad_request, fmt::format("subject \"{}\" is not allowed by the policy", subject));
  if (limits.subject_regex && !full_match(matcher(*limits.subject_regex), subject))
    return refuse(Refusal::bad_request,
                  fmt::format("subject \"{}\" is not allowed for this challenge password", subject));
  if (limits.common_name) {
    auto cns = csr.subject_values("CN");
    if (cns.size() != 1 || cns.front() != *limits.common_name)
      return refuse(Refusal::bad_request, "the subject CN is not the one this challenge password was issued for");
  }
  return check_bound_subject(p, csr, limits);
}

/// A SAN that names exactly the bound name: a dNSName, rfc822Name or URI of
/// that very text, or the iPAddress it spells.
bool names_bound(const crypto::GeneralName& name, const std::string& bound) {
  switch (name.type) {
    case crypto::NameType::dns:
    case crypto::NameType::email:
    case crypto::NameType::uri: return name.value == bound;
    case crypto::NameType::ip_address: return crypto::ip_name(bound) == name;
    default: return false;
  }
}

/// The types san = "copy" copies; the others need san = "match" and a regex naming them.
bool copied_by_default(crypto::NameType t) {
  return t == crypto::NameType::dns || t == crypto::NameType::email || t == crypto::NameType::uri ||
         t == crypto::NameType::ip_address;
}

/// SANs to issue, typed as requested, or a refusal.
std::variant<std::vector<crypto::GeneralName>, Decision> select_sans(const Policy& p, const crypto::Csr& csr,
                                                                     const SecretConstraints& limits) {
  constexpr std::size_t max_sans = 100;
  using Names = std::vector<crypto::GeneralName>;
  if (p.san_mode == SanMode::drop) return Names{};
  auto sans = csr.subject_alt_names();
  if (!sans) return refuse(Refusal::bad_request, "the subjectAltName extension of the request is malformed");
  if (sans->size() > max_sans)
    return refuse(Refusal::bad_request, fmt::format("too many subjectAltNames (limit {})", max_sans));
  const std::string* bound = bound_name(p, limits);
  Matcher san_re;  // compiled at most once per evaluation, and not at all after parse_policy
  if (p.san_mode == SanMode::match)
    san_re = policy_matcher(p.compiled && p.compiled->san ? &*p.compiled->san : nullptr, p.san_regex);
  Names out;
  for (auto& name : *sans) {
    if (auto problem = crypto::general_name_problem(name))
      return refuse(Refusal::bad_request, fmt::format("a subjectAltName cannot be issued: {}", *problem));
    if (bound && names_bound(name, *bound)) {
      out.push_back(std::move(name));
    } else if (p.san_mode == SanMode::match) {
      if (full_match(san_re, crypto::to_text(name))) out.push_back(std::move(name));
    } else if (bound) {
      return refuse(Refusal::bad_request,
                    fmt::format("subjectAltName {} is not allowed for this challenge password: it is bound to \"{}\"",
                                crypto::to_display(name), core::escape_text(*bound)));
    } else if (!copied_by_default(name.type)) {
      return refuse(Refusal::bad_request,
                    fmt::format("subjectAltName {} is of a type that san = \"copy\" does not copy",
                                crypto::to_display(name)));
    } else {
      out.push_back(std::move(name));
    }
  }
  return out;
}

}  // namespace

Decision evaluate(const Policy& p, const crypto::Csr& csr, const SecretConstraints& limits,
                  const crypto::Certificate& ca_cert, core::TimePoint now) {
  if (auto r = check_key_and_signature(p, csr)) return *r;
  if (auto r = check_subject(p, csr, limits)) return *r;
  auto sans = select_sans(p, csr, limits);
  if (auto* refusal = std::get_if<Decision>(&sans)) return *refusal;
  Decision d;
  d.issue = true;
  d.spec.subject = csr.subject_der();
  d.spec.not_before = now - std::chrono::minutes(5);
  d.spec.not_after = std::min(now + std::chrono::days(p.validity_days), ca_cert.not_after());
  d.spec.key_usage = p.key_usage;
  d.spec.extended_key_usage = p.extended_key_usage;
  d.spec.subject_alt_names = std::move(std::get<std::vector<crypto::GeneralName>>(sans));
  for (const auto& ext : csr.extensions())
    if (std::find(p.copy_extensions.begin(), p.copy_extensions.end(), ext.oid) != p.copy_extensions.end())
      d.spec.copied_extensions.push_back(ext);
  if (d.spec.not_after <= d.spec.not_before) return refuse(Refusal::bad_request, "the CA certificate has expired");
  return d;
}

}  // namespace policy
