#include "support/test_pki.hpp"

#include <stdexcept>

#include "crypto/cert_builder.hpp"

namespace testing {

core::TimePoint fixed_time() { return std::chrono::system_clock::from_time_t(1767225600); }

void CountingRng::fill(std::span<std::uint8_t> out) {
  for (auto& b : out) {
    m_state ^= m_state << 13;
    m_state ^= m_state >> 7;
    m_state ^= m_state << 17;
    b = static_cast<std::uint8_t>(m_state);
  }
}

template <class T>
static T must(core::Result<T> r) {
  if (!r) throw std::runtime_error("test PKI: " + r.error().detail);
  return std::move(*r);
}

static ca::KeyPairCert make_intermediate(const ca::KeyPairCert& root, const core::Clock& clock, core::Rng& rng) {
  auto key = must(crypto::PrivateKey::generate_rsa(2048));
  crypto::CertSpec spec;
  spec.subject = must(crypto::subject_der_from_text("CN=Test Intermediate CA"));
  spec.serial = crypto::random_serial(rng);
  spec.not_before = clock.now() - std::chrono::hours(1);
  spec.not_after = clock.now() + std::chrono::days(3000);
  spec.ca = true;
  spec.key_usage = crypto::ku_key_cert_sign | crypto::ku_crl_sign | crypto::ku_digital_signature |
                   crypto::ku_key_encipherment;
  auto cert = must(crypto::build_certificate(spec, key.public_key(), &root.cert, root.key));
  return ca::KeyPairCert{std::move(cert), std::move(key)};
}

const TestPki& test_pki() {
  static const TestPki pki = [] {
    core::SystemClock clock;  // real time, so certificates are valid now
    CountingRng rng(7);
    auto root = must(ca::create_root({"CN=Test Root CA", crypto::KeyType::rsa_2048, 3650}, clock, rng));
    auto ra = must(ca::create_ra({"CN=Test RA", crypto::KeyType::rsa_2048, 365}, root.cert, root.key, clock, rng));
    auto inter = make_intermediate(root, clock, rng);
    auto client = must(crypto::PrivateKey::generate_rsa(2048));
    auto ec_root = must(ca::create_root({"CN=Test EC CA", crypto::KeyType::ec_p256, 3650}, clock, rng));
    auto ec_ra = must(
        ca::create_ra({"CN=Test EC RA", crypto::KeyType::rsa_2048, 365}, ec_root.cert, ec_root.key, clock, rng));
    return TestPki{std::move(root),   std::move(ra),      std::move(inter),
                   std::move(client), std::move(ec_root), std::move(ec_ra)};
  }();
  return pki;
}

}  // namespace testing
