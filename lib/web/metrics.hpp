#pragma once
// What a long-lived front end (scepctl serve, scep.cgi under FastCGI) counts
// of the requests it answers, and the Prometheus text of a scrape. Counting
// is lock-free (relaxed atomics) on every request; only the first enrollment
// answer of a new (CA, outcome) pair takes a lock.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.hpp"
#include "scep/roles.hpp"
#include "web/http.hpp"

namespace web {

/// The state read from the store when scraped.
struct CaGauges {
  std::string name;
  std::optional<core::TimePoint> ca_not_after;
  std::optional<core::TimePoint> ra_not_after;
  std::optional<std::size_t> pending;  ///< nullopt: the store could not say
};

/// Reads every CA's gauges (certificates as loaded, pending requests counted).
std::vector<CaGauges> collect_gauges(scep::Backend backend);

class Metrics {
 public:
  /// The request duration histogram's upper bounds, in seconds.
  static constexpr std::array<double, 12> duration_bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                          0.1,   0.25,   0.5,   1,    2.5,   10};

  Metrics();
  /// Counts one answered request. Thread-safe.
  void observe(const RequestFacts& facts, int status, std::chrono::nanoseconds duration);
  /// The exposition text of everything counted, and of `gauges`.
  std::string render(const std::vector<CaGauges>& gauges) const;

 private:
  static constexpr int min_status = 100, max_status = 599;
  /// Requests per operation (index into the operation list) and HTTP status.
  using StatusCounts = std::array<std::atomic<std::uint64_t>, max_status - min_status + 1>;
  std::vector<std::unique_ptr<StatusCounts>> m_requests;
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, duration_bounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  std::vector<std::unique_ptr<Histogram>> m_durations;  ///< per operation class
  /// (CA, message type, outcome, failInfo) -> enrollment answers.
  using EnrollKey = std::tuple<std::string, std::string, std::string, std::string>;
  mutable std::shared_mutex m_enroll_mutex;
  std::map<EnrollKey, std::unique_ptr<std::atomic<std::uint64_t>>> m_enrollments;
};

}  // namespace web
