#pragma once
// A test PKI made once per process (RSA key generation is slow), a fixed
// clock, and a deterministic RNG.

#include <cstdint>

#include "ca/authority.hpp"
#include "core/clock.hpp"

namespace testing {

/// 2026-01-01T00:00:00Z
core::TimePoint fixed_time();

/// xorshift: deterministic, for serials and nonces in tests only.
class CountingRng final : public core::Rng {
 public:
  explicit CountingRng(std::uint64_t seed = 42) : m_state(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t m_state;
};

struct TestPki {
  ca::KeyPairCert root;           ///< self-signed CA, "CN=Test Root CA"
  ca::KeyPairCert ra;             ///< RA signed by root
  ca::KeyPairCert inter;          ///< intermediate CA signed by root, "CN=Test Intermediate CA"
  crypto::PrivateKey client_key;  ///< a spare RSA-2048 key
  ca::KeyPairCert ec_root;        ///< self-signed EC P-256 CA, "CN=Test EC CA"
  ca::KeyPairCert ec_ra;          ///< its RSA-2048 RA, "CN=Test EC RA"
};

/// The shared test PKI (made on first use).
const TestPki& test_pki();

}  // namespace testing
