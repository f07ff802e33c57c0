#pragma once
// The production core::Rng: the operating system's CSPRNG (tests inject others).

#include "core/clock.hpp"

namespace crypto {

/// The operating system's CSPRNG through OpenSSL's DRBG.
class SystemRng final : public core::Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace crypto
