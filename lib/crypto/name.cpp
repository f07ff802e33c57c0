#include "crypto/name.hpp"

#include <vector>

#include "crypto/der.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

namespace {

/// Splits on unescaped `sep`, keeping escapes so trimming can tell "\ " from " ".
std::vector<std::string> split_raw(std::string_view text, char sep) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      parts.back() += text.substr(i, 2);
      ++i;
    } else if (text[i] == sep) {
      parts.emplace_back();
    } else {
      parts.back() += text[i];
    }
  }
  return parts;
}

/// Drops unescaped spaces and tabs at both ends.
std::string trim_raw(std::string s) {
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  std::size_t e = s.size();
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t') && !(e >= 2 && s[e - 2] == '\\')) --e;
  return s.substr(b, e - b);
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

/// Position of the first unescaped '='.
std::size_t find_equals(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '=') return i;
  }
  return std::string_view::npos;
}

}  // namespace

core::Result<X509NamePtr> parse_dn(std::string_view text) {
  std::vector<std::string> rdns;
  if (!text.empty() && text.front() == '/') {
    rdns = split_raw(text.substr(1), '/');
  } else {
    rdns = split_raw(text, ',');
  }
  X509NamePtr name(X509_NAME_new());
  for (auto& raw : rdns) {
    std::string rdn = trim_raw(raw);
    if (rdn.empty())
      return core::fail(core::Errc::invalid_argument, "empty attribute in subject \"" + std::string(text) + "\"");
    auto eq = find_equals(rdn);
    if (eq == std::string::npos || eq == 0)
      return core::fail(core::Errc::invalid_argument, "subject attribute \"" + unescape(rdn) + "\" is not TYPE=value");
    std::string type = unescape(trim_raw(rdn.substr(0, eq)));
    std::string value = unescape(trim_raw(rdn.substr(eq + 1)));
    if (value.empty())
      return core::fail(core::Errc::invalid_argument, "subject attribute " + type + " has an empty value");
    if (X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()),
                                   -1, 0) != 1)
      return ossl_fail(core::Errc::invalid_argument, "bad subject attribute \"" + rdn + "\"");
  }
  if (X509_NAME_entry_count(name.get()) == 0) return core::fail(core::Errc::invalid_argument, "empty subject");
  return name;
}

std::string format_dn(const X509_NAME* name) {
  BioPtr bio = new_memory_bio();
  const unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  X509_NAME_print_ex(bio.get(), name, 0, flags);
  return core::to_string(bio_contents(bio.get()));
}

}  // namespace crypto
