#pragma once
// GeneralNames (RFC 5280 §4.2.1.6) as typed values: read from a request,
// matched by a policy, written into a certificate as they were read. Never
// joined into text for OpenSSL's configuration parser, where "email:move"
// or a ',' in a dNSName would be a directive, not a name.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace crypto {

class Certificate;

/// The CHOICE tags of GeneralName, in their tag order.
enum class NameType {
  other_name,
  email,
  dns,
  x400_address,
  directory_name,
  edi_party_name,
  uri,
  ip_address,
  registered_id
};

struct GeneralName {
  NameType type = NameType::dns;
  /// email, dns, uri: the IA5String's bytes as they were encoded.
  /// ip_address: the 4 or 16 address octets (other lengths are kept as read).
  /// registered_id, other_name: the dotted OID (other_name: its type-id).
  std::string value;
  /// other_name: the DER of its value; directory_name: the DER of the Name;
  /// x400_address, edi_party_name: the DER of the whole GeneralName.
  core::Bytes der;

  friend bool operator==(const GeneralName&, const GeneralName&) = default;
};

GeneralName dns_name(std::string_view host);
GeneralName email_name(std::string_view address);
GeneralName uri_name(std::string_view uri);
/// An iPAddress from its text form ("192.0.2.1", "2001:db8::1"); nullopt for other text.
std::optional<GeneralName> ip_name(std::string_view address);

/// The name as policies match it and the audit log records it, unescaped:
/// "DNS:host", "email:a@b", "URI:u", "IP:192.0.2.1", "IP:2001:db8::1",
/// "dirName:CN=a,O=b", "RID:1.2.3", "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@d"
/// (a value of another type: ";DER:" and its hex), "x400Address:" /
/// "ediPartyName:" and hex. The prefix comes from the type alone, so a regex
/// anchored on it cannot be fooled by the value.
std::string to_text(const GeneralName& name);
/// to_text made safe for a terminal or a log line (core::escape_text).
std::string to_display(const GeneralName& name);
std::vector<std::string> to_display(const std::vector<GeneralName>& names);

/// Parses the text forms of the four common types ("DNS:", "email:", "URI:",
/// "IP:"); the value after the first ':' is taken verbatim.
core::Result<GeneralName> general_name_from_text(std::string_view text);

/// Why `name` cannot go into a certificate as it is, or nullopt: an iPAddress
/// of other than 4 or 16 octets, a NUL or a non-ASCII byte in an IA5String
/// (the "evil.com\0.example.com" trick), x400Address and ediPartyName.
std::optional<std::string> general_name_problem(const GeneralName& name);

/// The DER of a GeneralNames SEQUENCE (a subjectAltName extension's value).
core::Result<core::Bytes> encode_general_names(const std::vector<GeneralName>& names);
/// Parses the DER of a GeneralNames SEQUENCE; leftover bytes are an error.
core::Result<std::vector<GeneralName>> decode_general_names(core::ByteView der);

/// The subjectAltNames of an issued certificate (empty when it has none).
core::Result<std::vector<GeneralName>> subject_alt_names(const Certificate& cert);

}  // namespace crypto
