#pragma once
// A CA's certificate revocation list: signed on demand, stored, re-signed
// when it is due. GetCRL, the plain-HTTP CRL and `scepctl crl` share it.

#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "scep/repository.hpp"

namespace scep {

enum class CrlRefresh {
  when_due,  ///< re-sign only when there is none, it is past half its life, or it misses revocations
  now,       ///< re-sign in any case (after a revocation, `scepctl crl`)
};

/// The CA's CRL in force (DER), made first if `mode` or its state asks for
/// it. A new CRL carries the next CRL number, is valid for `days` (0: the
/// CA's crl_days) and lists every revocation in the store.
core::Result<core::Bytes> ca_crl(Repository& repo, const CaBundle& ca, const core::Clock& clock,
                                 CrlRefresh mode = CrlRefresh::when_due, int days = 0);

}  // namespace scep
