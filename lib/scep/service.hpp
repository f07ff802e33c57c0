#pragma once
// The SCEP protocol service. It knows nothing of HTTP or files: operations in,
// bytes and typed errors out.

#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "scep/repository.hpp"

namespace scep {

/// GetCACert answers in one of two shapes (RFC 8894 §4.2.1).
enum class CaCertKind {
  single,  ///< one DER certificate: application/x-x509-ca-cert
  bundle,  ///< degenerate PKCS#7, RA/issuing cert first: application/x-x509-ca-ra-cert
};

struct CaCertReply {
  CaCertKind kind;
  core::Bytes body;
};

class Service {
 public:
  Service(Repository& repo, const core::Clock& clock, core::Rng& rng)
      : m_repo(repo), m_clock(clock), m_rng(rng) {}

  /// The GetCACaps keywords for a CA, one per line.
  core::Result<std::string> get_ca_caps(std::string_view ca);
  core::Result<CaCertReply> get_ca_cert(std::string_view ca);
  /// certmonger's GetCAChain / EJBCA's GetCACertChain: always the bundle.
  core::Result<core::Bytes> get_ca_chain(std::string_view ca);

 private:
  Repository& m_repo;
  [[maybe_unused]] const core::Clock& m_clock;
  [[maybe_unused]] core::Rng& m_rng;
};

/// The certificates GetCACert sends, in order: RA (if any), the CA, its chain
/// (a root above an intermediate CA only when `include_root`).
std::vector<crypto::Certificate> ca_cert_list(const CaBundle& ca);

}  // namespace scep
