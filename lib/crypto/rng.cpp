#include "crypto/rng.hpp"

#include <stdexcept>

#include <openssl/rand.h>

namespace crypto {

void SystemRng::fill(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("the random number generator failed");
}

}  // namespace crypto
