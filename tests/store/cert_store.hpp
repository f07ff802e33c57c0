#pragma once
// A store with one CA and certificates under chosen serials, for store tests.

#include <boost/test/unit_test.hpp>

#include "crypto/cert_builder.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace {

namespace fs = std::filesystem;

/// A store with CA "main" (the test root); certificates are leaf certificates
/// the root signs under serials chosen by the test.
struct CertStore {
  testing::TempDir dir;
  store::Store st = open_with_ca(dir.path() / "store");

  static store::Store open_with_ca(const fs::path& root) {
    auto st = store::Store::open(root, store::OpenMode::create);
    BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
    const auto& pki = testing::test_pki();
    auto key = crypto::PrivateKey::load(core::to_bytes(pki.root.key.to_pem()));  // PrivateKey is move-only
    BOOST_REQUIRE(key);
    BOOST_REQUIRE(st->add_ca("main", store::NewCa{pki.root.cert, std::move(*key), {}}));
    return std::move(*st);
  }

  fs::path ca_dir() const { return st.ca_dir("main"); }

  static crypto::Certificate leaf(core::Bytes serial, const std::string& subject = "CN=leaf") {
    const auto& pki = testing::test_pki();
    crypto::CertSpec spec;
    auto der = crypto::subject_der_from_text(subject);
    BOOST_REQUIRE(der);
    spec.subject = *der;
    spec.serial = std::move(serial);
    spec.not_before = testing::fixed_time();
    spec.not_after = testing::fixed_time() + std::chrono::days(30);
    auto cert = crypto::build_certificate(spec, pki.client_key.public_key(), &pki.root.cert, pki.root.key);
    BOOST_REQUIRE_MESSAGE(cert, (cert ? "" : cert.error().detail));
    return *cert;
  }

  crypto::Certificate add(core::Bytes serial, std::string_view policy = "phones") {
    auto cert = leaf(std::move(serial));
    auto r = st.add_certificate("main", cert, policy);
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
    return cert;
  }

  scep::IssuedCertificate must_find(std::string_view serial) {
    auto found = st.find_certificate("main", serial);
    BOOST_REQUIRE_MESSAGE(found, (found ? "" : found.error().detail));
    BOOST_REQUIRE_MESSAGE(*found, "no certificate " << serial);
    return std::move(**found);
  }
};

}  // namespace
