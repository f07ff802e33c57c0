#pragma once
// support/request_builder.hpp for Boost.Test cases: each builder's result
// unwrapped, a failure to build failing the test with its reason.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/request_builder.hpp"

namespace testing {

/// The value of `r`; a failed test when there is none.
template <class T>
T require(core::Result<T> r, std::string_view what) {
  BOOST_REQUIRE_MESSAGE(r, what << ": " << (r ? std::string() : r.error().detail));
  return std::move(*r);
}

/// A signed PKCS#10 request (DER) for `key`.
inline core::Bytes make_csr(const CsrSpec& spec, const crypto::PrivateKey& key) {
  return require(build_csr(spec, key), "build_csr");
}

/// A self-signed certificate on `key`, the way SCEP clients sign their first request.
inline crypto::Certificate self_signed(const crypto::PrivateKey& key, const std::string& subject = "CN=SCEP SIGNER") {
  return require(build_self_signed(key, subject, std::chrono::system_clock::now()), "build_self_signed");
}

/// A raw SignedData (support/request_builder.hpp: sign_raw).
inline core::Bytes cms_sign(core::ByteView content, const std::vector<SignerSpec>& signers,
                            const SignOptions& opt = {}) {
  return require(sign_raw(content, signers, opt), "sign_raw");
}

/// A pkiMessage around `message_data` (support/request_builder.hpp: build_message).
inline core::Bytes make_message(core::ByteView message_data, const MessageSpec& spec,
                                const crypto::Certificate& recipient, const crypto::Certificate& signer,
                                const crypto::PrivateKey& key) {
  return require(build_message(message_data, spec, recipient, signer, key), "build_message");
}

/// An RSA key of `Bits` made once per process (RSA key generation is the
/// slowest thing a test can do); another `Slot` gives another key.
template <int Bits, int Slot = 0>
const crypto::PrivateKey& rsa_key_once() {
  static const crypto::PrivateKey key = [] {
    auto k = crypto::PrivateKey::generate_rsa(Bits);
    if (!k) throw std::runtime_error(k.error().detail);
    return std::move(*k);
  }();
  return key;
}

/// A 1024-bit RSA key: too small for the default policy.
inline const crypto::PrivateKey& small_rsa_key() { return rsa_key_once<1024>(); }

}  // namespace testing
