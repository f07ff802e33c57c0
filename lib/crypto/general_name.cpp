#include "crypto/general_name.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>
#include <openssl/x509v3.h>

#include "core/names.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/der.hpp"
#include "crypto/name.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

namespace {

using GeneralNamePtr = OsslPtr<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralNamesPtr = OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;

std::string string_of(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

GeneralName from_native(const GENERAL_NAME* gn) {
  GeneralName out;
  out.type = static_cast<NameType>(gn->type);
  switch (gn->type) {
    case GEN_EMAIL: out.value = string_of(gn->d.rfc822Name); break;
    case GEN_DNS: out.value = string_of(gn->d.dNSName); break;
    case GEN_URI: out.value = string_of(gn->d.uniformResourceIdentifier); break;
    case GEN_IPADD: out.value = string_of(gn->d.iPAddress); break;
    case GEN_RID: out.value = oid_text(gn->d.registeredID); break;
    case GEN_DIRNAME: out.der = to_der(i2d_X509_NAME, gn->d.directoryName); break;
    case GEN_OTHERNAME:
      out.value = oid_text(gn->d.otherName->type_id);
      out.der = to_der(i2d_ASN1_TYPE, gn->d.otherName->value);
      break;
    default: out.der = to_der(i2d_GENERAL_NAME, gn); break;  // x400Address, ediPartyName
  }
  return out;
}

core::Result<GeneralNamePtr> to_native(const GeneralName& name) {
  auto bad = [&] { return ossl_fail(Errc::malformed_request, "cannot encode subjectAltName " + to_display(name)); };
  GeneralNamePtr gn(GENERAL_NAME_new());
  if (!gn) return bad();
  const auto* der = name.der.data();
  auto der_len = static_cast<long>(name.der.size());
  switch (name.type) {
    case NameType::email:
    case NameType::dns:
    case NameType::uri:
    case NameType::ip_address: {
      OsslPtr<ASN1_STRING, ASN1_STRING_free> s(
          ASN1_STRING_type_new(name.type == NameType::ip_address ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING));
      if (!s || ASN1_STRING_set(s.get(), name.value.data(), static_cast<int>(name.value.size())) != 1) return bad();
      GENERAL_NAME_set0_value(gn.get(), static_cast<int>(name.type), s.release());
      return gn;
    }
    case NameType::registered_id: {
      Asn1ObjectPtr oid(OBJ_txt2obj(name.value.c_str(), 1));
      if (!oid) return bad();
      GENERAL_NAME_set0_value(gn.get(), GEN_RID, oid.release());
      return gn;
    }
    case NameType::directory_name: {
      X509NamePtr dn(d2i_X509_NAME(nullptr, &der, der_len));
      if (!dn) return bad();
      GENERAL_NAME_set0_value(gn.get(), GEN_DIRNAME, dn.release());
      return gn;
    }
    case NameType::other_name: {
      Asn1ObjectPtr oid(OBJ_txt2obj(name.value.c_str(), 1));
      OsslPtr<ASN1_TYPE, ASN1_TYPE_free> value(d2i_ASN1_TYPE(nullptr, &der, der_len));
      if (!oid || !value || GENERAL_NAME_set0_othername(gn.get(), oid.get(), value.get()) != 1) return bad();
      (void)oid.release();  // the GENERAL_NAME owns both now
      (void)value.release();
      return gn;
    }
    case NameType::x400_address:
    case NameType::edi_party_name: {
      GeneralNamePtr whole(d2i_GENERAL_NAME(nullptr, &der, der_len));
      if (!whole || whole->type != static_cast<int>(name.type)) return bad();
      return whole;
    }
  }
  return bad();
}

std::string ip_text(std::string_view octets) {
  char text[INET6_ADDRSTRLEN] = {};
  int family = octets.size() == 4 ? AF_INET : octets.size() == 16 ? AF_INET6 : 0;
  if (family != 0 && inet_ntop(family, octets.data(), text, sizeof text)) return text;
  return "invalid:" + core::to_hex(core::to_bytes(octets));
}

std::string other_name_text(const GeneralName& name) {
  const auto* p = name.der.data();
  OsslPtr<ASN1_TYPE, ASN1_TYPE_free> value(d2i_ASN1_TYPE(nullptr, &p, static_cast<long>(name.der.size())));
  clear_ossl_errors();
  if (value && value->type == V_ASN1_UTF8STRING) return name.value + ";UTF8:" + string_of(value->value.utf8string);
  return name.value + ";DER:" + core::to_hex(name.der);
}

std::string dir_name_text(const GeneralName& name) {
  const auto* p = name.der.data();
  X509NamePtr dn(d2i_X509_NAME(nullptr, &p, static_cast<long>(name.der.size())));
  clear_ossl_errors();
  return dn ? format_dn(dn.get()) : "invalid:" + core::to_hex(name.der);
}

bool is_ia5(NameType t) { return t == NameType::email || t == NameType::dns || t == NameType::uri; }

}  // namespace

GeneralName dns_name(std::string_view host) { return {NameType::dns, std::string(host), {}}; }
GeneralName email_name(std::string_view address) { return {NameType::email, std::string(address), {}}; }
GeneralName uri_name(std::string_view uri) { return {NameType::uri, std::string(uri), {}}; }

std::optional<GeneralName> ip_name(std::string_view address) {
  std::string text(address);
  unsigned char octets[16];
  if (inet_pton(AF_INET, text.c_str(), octets) == 1)
    return GeneralName{NameType::ip_address, std::string(reinterpret_cast<char*>(octets), 4), {}};
  if (inet_pton(AF_INET6, text.c_str(), octets) == 1)
    return GeneralName{NameType::ip_address, std::string(reinterpret_cast<char*>(octets), 16), {}};
  return std::nullopt;
}

std::string to_text(const GeneralName& name) {
  switch (name.type) {
    case NameType::dns: return "DNS:" + name.value;
    case NameType::email: return "email:" + name.value;
    case NameType::uri: return "URI:" + name.value;
    case NameType::ip_address: return "IP:" + ip_text(name.value);
    case NameType::registered_id: return "RID:" + name.value;
    case NameType::directory_name: return "dirName:" + dir_name_text(name);
    case NameType::other_name: return "otherName:" + other_name_text(name);
    case NameType::x400_address: return "x400Address:" + core::to_hex(name.der);
    case NameType::edi_party_name: return "ediPartyName:" + core::to_hex(name.der);
  }
  return "unknown";
}

std::string to_display(const GeneralName& name) { return core::escape_text(to_text(name), 1024); }

std::vector<std::string> to_display(const std::vector<GeneralName>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(to_display(n));
  return out;
}

core::Result<GeneralName> general_name_from_text(std::string_view text) {
  auto colon = text.find(':');
  std::string_view kind = text.substr(0, colon), value = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (colon == std::string_view::npos)
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not TYPE:value", core::escape_text(text)));
  if (kind == "DNS") return dns_name(value);
  if (kind == "email") return email_name(value);
  if (kind == "URI") return uri_name(value);
  if (kind == "IP") {
    if (auto ip = ip_name(value)) return *ip;
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not an IP address", core::escape_text(value)));
  }
  return core::fail(Errc::invalid_argument,
                    fmt::format("unknown name type \"{}\" (DNS, email, URI or IP)", core::escape_text(kind)));
}

std::optional<std::string> general_name_problem(const GeneralName& name) {
  if (name.type == NameType::ip_address && name.value.size() != 4 && name.value.size() != 16)
    return fmt::format("an iPAddress of {} octets", name.value.size());
  if (is_ia5(name.type)) {
    if (name.value.find('\0') != std::string::npos) return fmt::format("{} contains a NUL byte", to_display(name));
    if (std::any_of(name.value.begin(), name.value.end(), [](unsigned char c) { return c > 0x7f; }))
      return fmt::format("{} is not ASCII", to_display(name));
  }
  if (name.type == NameType::x400_address || name.type == NameType::edi_party_name)
    return fmt::format("{} names are not supported",
                       name.type == NameType::x400_address ? "x400Address" : "ediPartyName");
  return std::nullopt;
}

core::Result<core::Bytes> encode_general_names(const std::vector<GeneralName>& names) {
  GeneralNamesPtr stack(sk_GENERAL_NAME_new_null());
  if (!stack) return ossl_fail(Errc::internal, "allocating GeneralNames");
  for (const auto& name : names) {
    SCEP_TRY_ASSIGN(auto gn, to_native(name));
    if (sk_GENERAL_NAME_push(stack.get(), gn.get()) <= 0) return ossl_fail(Errc::internal, "allocating GeneralNames");
    (void)gn.release();  // the stack owns it now
  }
  core::Bytes out = to_der(i2d_GENERAL_NAMES, stack.get());
  if (out.empty()) return ossl_fail(Errc::malformed_request, "encoding subjectAltNames");
  return out;
}

core::Result<std::vector<GeneralName>> decode_general_names(core::ByteView der) {
  const unsigned char* p = der.data();
  GeneralNamesPtr names(d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(der.size())));
  if (!names) return ossl_fail(Errc::malformed_request, "the subjectAltName extension does not decode");
  if (p != der.data() + der.size())
    return core::fail(Errc::malformed_request, "trailing bytes after the subjectAltNames");
  std::vector<GeneralName> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i)
    out.push_back(from_native(sk_GENERAL_NAME_value(names.get(), i)));
  return out;
}

core::Result<std::vector<GeneralName>> subject_alt_names(const Certificate& cert) {
  X509* x = cert.native();
  int at = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
  if (at < 0) return std::vector<GeneralName>{};
  if (X509_get_ext_by_NID(x, NID_subject_alt_name, at) >= 0)
    return core::fail(Errc::malformed_request, "the certificate has two subjectAltName extensions");
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(X509_get_ext(x, at));
  return decode_general_names(core::ByteView(v->data, static_cast<std::size_t>(v->length)));
}

}  // namespace crypto
