#include "crypto/name.hpp"

#include <vector>

#include "crypto/der.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

namespace {

/// Splits on `sep`, honouring backslash escapes; unescapes the parts.
std::vector<std::string> split_escaped(std::string_view text, char sep) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      parts.back() += text[++i];
    } else if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

core::Result<X509NamePtr> parse_dn(std::string_view text) {
  std::vector<std::string> rdns;
  if (!text.empty() && text.front() == '/') {
    rdns = split_escaped(text.substr(1), '/');
  } else {
    rdns = split_escaped(text, ',');
  }
  X509NamePtr name(X509_NAME_new());
  for (auto& raw : rdns) {
    std::string rdn = trim(raw);
    if (rdn.empty()) return core::fail(core::Errc::invalid_argument, "empty attribute in subject \"" + std::string(text) + "\"");
    auto eq = rdn.find('=');
    if (eq == std::string::npos || eq == 0)
      return core::fail(core::Errc::invalid_argument, "subject attribute \"" + rdn + "\" is not TYPE=value");
    std::string type = trim(rdn.substr(0, eq));
    std::string value = trim(rdn.substr(eq + 1));
    if (value.empty()) return core::fail(core::Errc::invalid_argument, "subject attribute " + type + " has an empty value");
    if (X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
      return ossl_fail(core::Errc::invalid_argument, "bad subject attribute \"" + rdn + "\"");
  }
  if (X509_NAME_entry_count(name.get()) == 0) return core::fail(core::Errc::invalid_argument, "empty subject");
  return name;
}

std::string format_dn(const X509_NAME* name) {
  BioPtr bio = new_memory_bio();
  const unsigned long flags =
      (XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  X509_NAME_print_ex(bio.get(), name, 0, flags);
  return core::to_string(bio_contents(bio.get()));
}

}  // namespace crypto
