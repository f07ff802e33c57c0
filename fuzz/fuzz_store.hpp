#pragma once
// What the fuzz targets share: the wire-capture CA of tests/data/scepclient
// (certmonger's capture used the same one) and a real flat-file store serving it.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "scep/service.hpp"
#include "store/store.hpp"

namespace fuzz {

/// Prints "fuzz setup: WHAT: DETAIL" and aborts: a broken fixture is not a finding.
[[noreturn]] void die(std::string_view what, std::string_view detail);

/// Frees what OpenSSL's per-thread error queue keeps from this run's
/// decoding errors (the function names and data of errors it raised and
/// popped again). Those allocations outlive the run, and libFuzzer runs a full
/// leak check after every run that freed less than it allocated: without this
/// the fuzzers run several times slower.
void end_run();

/// Client input must never cause local trouble (store_io, store_busy,
/// config_invalid, internal: an HTTP 5xx): prints the error and aborts, so the
/// fuzzer keeps the input.
void require_client_error(const core::Error& e, std::string_view where);

/// The CA that tests/data/{scepclient,certmonger}/pkcsreq.der were encrypted to.
struct WireCa {
  crypto::Certificate cert;
  core::Bytes key_pem;                  ///< loaded afresh for every store (a PrivateKey is move-only)
  std::vector<std::string> challenges;  ///< the secrets inside the two captures' PKCS#10
};
const WireCa& wire_ca();

/// A time inside the CA's validity (and the scepclient signer's hour).
core::TimePoint wire_time();

/// Deterministic xorshift for serials: the same input takes the same path.
class XorShiftRng final : public core::Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
  void reset() { m_state = 0x9e3779b97f4a7c15u; }

 private:
  std::uint64_t m_state = 0x9e3779b97f4a7c15u;
};

/// A store holding CA "wire" (the default, legacy algorithms on), policy
/// "wire" and the captures' secrets, and a Service over it. A run may add
/// files (a certificate, a transaction, a pending request, an audit line), so
/// every `runs_per_store` runs the store is deleted and made afresh: disk use
/// stays bounded, and the secrets never run out (a new transaction needs a new
/// signature, so a fuzzed message hardly ever spends a use: the seeds spend
/// one each). The directory is removed at exit (not after a crash).
class FuzzStore {
 public:
  static constexpr int runs_per_store = 1000;
  static constexpr int uses_per_secret = 100;

  /// The process's one instance.
  static FuzzStore& instance();
  /// The service for the next run.
  scep::Service& next_run();

 private:
  FuzzStore();
  void recreate();

  std::filesystem::path m_root;
  int m_runs = 0;
  core::FixedClock m_clock{wire_time()};
  XorShiftRng m_rng;
  std::optional<store::Store> m_store;
  std::optional<store::Session> m_repo;
  std::optional<scep::Service> m_service;
};

}  // namespace fuzz
