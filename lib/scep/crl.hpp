#pragma once
// A CA's certificate revocation list: signed on demand, stored, re-signed
// when it is due. GetCRL, the plain-HTTP CRL and `scepctl crl` share it.
//
// GetCRL serves the stored crl.der while it is fresh: it lists exactly the
// serials in revoked/ (their names, not the records, are compared), verifies
// under the CA certificate, and is in the first half of its life. A
// long-lived server keeps the CRL it found fresh in memory and serves it
// without a system call while inotify reports no change to crl.der or
// revoked/ (Catalog::recall_crl). A revocation by another process
// (`scepctl revoke`) therefore shows in the next GetCRL, and a damaged or
// torn crl.der is signed again, never served.
//
// Signing happens under the CA's CRL lock, once: past half its life a CRL is
// re-signed by whoever takes the lock first while the others serve the old
// one (still valid); a CRL that misses a revocation, or is damaged, expired
// or absent, is waited for.

#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "scep/roles.hpp"

namespace scep {

enum class CrlRefresh {
  when_due,  ///< re-sign only when there is none, it is damaged, past half its life, or misses revocations
  now,       ///< re-sign in any case (after a revocation, `scepctl crl`)
};

/// The CA's CRL in force (DER), made first if `mode` or its state asks for
/// it. A new CRL carries the next CRL number, is valid for `days` (0: the
/// CA's crl_days) and lists every revocation in the store.
core::Result<core::Bytes> ca_crl(Backend backend, const CaBundle& ca, const core::Clock& clock,
                                 CrlRefresh mode = CrlRefresh::when_due, int days = 0);

/// The CRL of the CA's earlier generation `gen` (after a rollover): signed by
/// that generation's key, listing the revoked certificates it issued (the
/// store keeps every generation's certificates and revocations together).
/// Re-signed, under that generation's own lock, when it is absent, damaged,
/// past half its life or misses a revocation, or with CrlRefresh::now. It
/// loads each revoked certificate to see who issued it: a retired CRL is
/// fetched rarely, so nothing is memoised.
core::Result<core::Bytes> earlier_crl(Backend backend, const CaBundle& ca, const EarlierCa& gen,
                                      const core::Clock& clock, CrlRefresh mode = CrlRefresh::when_due, int days = 0);

/// The earlier generation of `ca` that issued `cert`, if any.
core::Result<std::optional<EarlierCa>> earlier_issuer(Catalog& catalog, std::string_view ca,
                                                      const crypto::Certificate& cert);

}  // namespace scep
