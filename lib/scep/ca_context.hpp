#pragma once
// Internal to the service: one CA for the length of a request.

#include <optional>

#include <fmt/format.h>

#include "crypto/cert_builder.hpp"
#include "scep/roles.hpp"

namespace scep {

/// One CA for the length of a request; keys are loaded on first use.
class CaContext {
 public:
  CaContext(Backend backend, CaBundle bundle) : m_backend(backend), m_bundle(std::move(bundle)) {}
  const CaBundle& bundle() const { return m_bundle; }
  const std::string& name() const { return m_bundle.name; }
  bool legacy() const { return m_bundle.options.legacy_algorithms; }

  core::Result<const crypto::PrivateKey*> key(KeyRole role) {
    auto& slot = role == KeyRole::ca ? m_ca_key : m_ra_key;
    if (!slot) {
      SCEP_TRY_ASSIGN(auto k, m_backend.catalog.load_key(m_bundle.name, role));
      // The certificates were read when the request began; a `ca activate`
      // since then switched the key. A certificate naming one generation
      // signed by the other's key would verify nowhere: the client retries.
      const crypto::Certificate* cert = role == KeyRole::ca ? &m_bundle.cert : m_bundle.ra ? &*m_bundle.ra : nullptr;
      if (cert && !cert->matches(k))
        return core::fail(core::Errc::unavailable,
                          fmt::format("the key of CA \"{}\" changed during the request (ca activate): retry",
                                      m_bundle.name));
      slot.emplace(std::move(k));
    }
    return &*slot;
  }
  /// The certificate that signs CertReps: the RA's in RA mode.
  const crypto::Certificate& signer_cert() const { return m_bundle.ra ? *m_bundle.ra : m_bundle.cert; }
  KeyRole signer_role() const { return m_bundle.ra ? KeyRole::ra : KeyRole::ca; }

  /// Signs a certificate under a fresh random serial (not stored yet).
  core::Result<crypto::Certificate> sign(crypto::CertSpec& spec, const crypto::PublicKey& key, core::Rng& rng);
  /// Records an issuance (Ledger::record_issuance) of the certificate
  /// in `is`; a serial another certificate took means signing again under a
  /// new one. The transaction's and the event's serial follow the certificate.
  core::Result<Recorded> record(Issuance& is, crypto::CertSpec& spec, const crypto::PublicKey& key, core::Rng& rng);

 private:
  Backend m_backend;
  CaBundle m_bundle;
  std::optional<crypto::PrivateKey> m_ca_key, m_ra_key;
};

}  // namespace scep
