#pragma once
// Key usage (RFC 5280 §4.2.1.3): the one table of its bits, their names (as
// policies, `scepctl` and the certificate builder spell them) and OpenSSL's flags.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crypto {

/// Key usage bits as in RFC 5280 (digitalSignature = bit 0 ...), as a mask.
enum KeyUsageBit : unsigned {
  ku_digital_signature = 1u << 0,
  ku_non_repudiation = 1u << 1,
  ku_key_encipherment = 1u << 2,
  ku_data_encipherment = 1u << 3,
  ku_key_agreement = 1u << 4,
  ku_key_cert_sign = 1u << 5,
  ku_crl_sign = 1u << 6,
};

struct KeyUsage {
  KeyUsageBit bit;
  std::string_view name;  ///< RFC 5280's name, also OpenSSL's configuration name
  std::uint32_t openssl;  ///< the flag X509_get_key_usage reports it with (KU_*)
};

/// In bit order, the order names are listed and written in.
extern const std::array<KeyUsage, 7> key_usages;

/// The mask of every usage above: what a certificate without the extension allows.
unsigned all_key_usages();
/// The bit of a name ("keyEncipherment"); exact spelling, nullopt otherwise.
std::optional<KeyUsageBit> key_usage_bit(std::string_view name);
/// The names of the bits set in `mask`, in table order.
std::vector<std::string> key_usage_names(unsigned mask);
/// Our mask from X509_get_key_usage's flags.
unsigned key_usage_from_openssl(std::uint32_t flags);

}  // namespace crypto
