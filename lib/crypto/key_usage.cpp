#include "crypto/key_usage.hpp"

#include <openssl/x509v3.h>

namespace crypto {

const std::array<KeyUsage, 7> key_usages = {{
    {ku_digital_signature, "digitalSignature", KU_DIGITAL_SIGNATURE},
    {ku_non_repudiation, "nonRepudiation", KU_NON_REPUDIATION},
    {ku_key_encipherment, "keyEncipherment", KU_KEY_ENCIPHERMENT},
    {ku_data_encipherment, "dataEncipherment", KU_DATA_ENCIPHERMENT},
    {ku_key_agreement, "keyAgreement", KU_KEY_AGREEMENT},
    {ku_key_cert_sign, "keyCertSign", KU_KEY_CERT_SIGN},
    {ku_crl_sign, "cRLSign", KU_CRL_SIGN},
}};

unsigned all_key_usages() {
  unsigned out = 0;
  for (const auto& ku : key_usages) out |= ku.bit;
  return out;
}

std::optional<KeyUsageBit> key_usage_bit(std::string_view name) {
  for (const auto& ku : key_usages)
    if (ku.name == name) return ku.bit;
  return std::nullopt;
}

std::vector<std::string> key_usage_names(unsigned mask) {
  std::vector<std::string> out;
  for (const auto& ku : key_usages)
    if (mask & ku.bit) out.emplace_back(ku.name);
  return out;
}

unsigned key_usage_from_openssl(std::uint32_t flags) {
  unsigned out = 0;
  for (const auto& ku : key_usages)
    if (flags & ku.openssl) out |= ku.bit;
  return out;
}

}  // namespace crypto
