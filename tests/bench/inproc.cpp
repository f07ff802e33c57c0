// scep-bench-inproc: the protocol path alone. PKCSReqs go straight into
// scep::Service::pki_operation over an in-memory repository (no HTTP, no
// files, no fsync), one after another on one thread, and the thread's CPU time
// is set against its floor timed in the same run: three RSA-2048 private
// operations for an RSA-2048 CA (decrypt, sign the certificate, sign the
// CertRep), or, with `--ca ec-p256` (an EC P-256 CA with an RSA-2048 RA),
// two RSA-2048 private operations (the RA decrypts and signs the CertRep)
// and one ECDSA P-256 signature (the CA signs the certificate).
// What serve costs beyond this figure is HTTP and the store; what this costs
// beyond the floor is OpenSSL's and ours. Instruction counts under callgrind
// are steady, so it also serves to profile the protocol path:
//   valgrind --tool=callgrind scep-bench-inproc --count 50

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "cpu.hpp"
#include "crypto/rng.hpp"
#include "policy/secret.hpp"
#include "requests.hpp"
#include "scep/service.hpp"
#include "support/memory_store.hpp"
#include "support/test_pki.hpp"

namespace {

template <class T>
T must(core::Result<T> r) {
  if (!r) throw std::runtime_error(r.error().detail);
  return std::move(*r);
}

int run(std::size_t count, std::size_t warmup, int floor_ops, bool ec, bool json) {
  const auto& pki = testing::test_pki();  // an RSA-2048 CA; an EC P-256 CA with an RSA-2048 RA
  testing::MemoryStore repo;
  if (ec)
    repo.add_ca(scep::CaBundle{"bench", pki.ec_root.cert, {}, pki.ec_ra.cert, {}}, pki.ec_root.key, &pki.ec_ra.key);
  else repo.add_ca(scep::CaBundle{"bench", pki.root.cert, {}, std::nullopt, {}}, pki.root.key);
  policy::Policy pol;
  pol.name = "device";
  pol.validity_days = 30;
  repo.policies["device"] = pol;
  core::SystemClock clock;
  crypto::SystemRng rng;
  const std::string challenge = "inproc-bench-challenge";
  policy::SecretRecord secret;
  secret.id = "s-inproc";
  secret.hash = policy::secret_hash(challenge);
  secret.ca = "bench";
  secret.policy = "device";
  secret.uses = static_cast<int>(count + warmup);
  secret.created = clock.now();
  secret.expires = clock.now() + std::chrono::hours(1);
  repo.add_secret(secret);
  scep::Service service(repo.backend(), clock, rng);

  // Prepared before the clock starts; one client identity, as a device has.
  const bench::CaCerts ca = ec ? bench::CaCerts{pki.ec_ra.cert, pki.ec_root.cert}
                               : bench::CaCerts{pki.root.cert, pki.root.cert};
  const auto who = must(bench::make_identity(2048, "inproc"));
  std::vector<bench::Enrollment> sent;
  for (std::size_t i = 0; i < count + warmup; ++i)
    sent.push_back(must(bench::make_enrollment(who, ca, challenge, fmt::format("inproc-{}", i))));

  // The floor is timed on both sides of the loop: a host that changes speed
  // meanwhile shows as two different figures instead of skewing the ratio.
  const int floor_batch = floor_ops / 5;  // --floor-ops is at least 5
  const double op_before = must(bench::rsa_private_op_seconds(2048, floor_batch));
  const double ec_before = ec ? must(bench::ecdsa_p256_sign_seconds(floor_batch)) : 0.0;
  std::vector<core::Bytes> replies(sent.size());
  for (std::size_t i = 0; i < warmup; ++i) replies[i] = must(service.pki_operation("bench", sent[i].message, "bench"));
  const double cpu0 = bench::thread_cpu_seconds();
  for (std::size_t i = warmup; i < sent.size(); ++i)
    replies[i] = must(service.pki_operation("bench", sent[i].message, "bench"));
  const double cpu = bench::thread_cpu_seconds() - cpu0;
  const double op_after = must(bench::rsa_private_op_seconds(2048, floor_batch));
  const double ec_after = ec ? must(bench::ecdsa_p256_sign_seconds(floor_batch)) : 0.0;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    if (auto ok = bench::check_cert_rep(sent[i], ca, replies[i]); !ok)
      throw std::runtime_error(fmt::format("reply {}: {}", i, ok.error().detail));
  }

  const double op = (op_before + op_after) / 2;
  const double ec_op = (ec_before + ec_after) / 2;
  const double floor = ec ? 2 * op + ec_op : 3 * op;
  const double per = cpu / static_cast<double>(count);
  if (json) {
    nlohmann::json j{{"label", "inproc"},
                     {"mode", "enroll"},
                     {"ca", ec ? "ec-p256+rsa-2048-ra" : "rsa-2048"},
                     {"count", count},
                     {"cpu_ms_per_enrollment", 1e3 * per},
                     {"rsa2048_private_op_ms", 1e3 * op},
                     {"rsa2048_private_op_ms_before", 1e3 * op_before},
                     {"rsa2048_private_op_ms_after", 1e3 * op_after},
                     {"floor_ms", 1e3 * floor},
                     {"cpu_over_floor", per / floor}};
    if (ec) j["ecdsa_p256_sign_ms"] = 1e3 * ec_op;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << fmt::format(
                     "{} enrollments through Service::pki_operation (in memory, one thread, {} CA): "
                     "{:.3f} ms of CPU each\n",
                     count, ec ? "EC P-256 with an RSA-2048 RA" : "RSA-2048", 1e3 * per)
              << fmt::format("RSA-2048 private op {:.3f} ms (before {:.3f}, after {:.3f})", 1e3 * op, 1e3 * op_before,
                             1e3 * op_after)
              << (ec ? fmt::format("; ECDSA P-256 sign {:.3f} ms (before {:.3f}, after {:.3f})", 1e3 * ec_op,
                                   1e3 * ec_before, 1e3 * ec_after)
                     : std::string())
              << fmt::format("; floor ({}) {:.3f} ms; {:.2f}x floor\n", ec ? "2 RSA + 1 ECDSA" : "3 RSA ops",
                             1e3 * floor, per / floor);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scep-bench-inproc: CPU per enrollment of the protocol path alone (no HTTP, no files)"};
  std::size_t count = 1000, warmup = 20;
  int floor_ops = 200;
  bool json = false;
  std::string ca_type = "rsa-2048";
  app.add_option("--count", count, "measured enrollments")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", warmup, "enrollments before the measurement");
  app.add_option("--floor-ops", floor_ops, "RSA-2048 private operations timed for the floor")
      ->check(CLI::Range(5, 100000));
  app.add_option("--ca", ca_type,
                 "the CA: rsa-2048 (default), or ec-p256 (an EC P-256 CA with an RSA-2048 RA; floor: 2 RSA private "
                 "ops + 1 ECDSA signature)")
      ->check(CLI::IsMember({"rsa-2048", "ec-p256"}));
  app.add_flag("--json", json, "one JSON object on stdout");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(count, warmup, floor_ops, ca_type == "ec-p256", json);
  } catch (const std::exception& e) {
    std::cerr << "scep-bench-inproc: " << e.what() << "\n";
    return 1;
  }
}
