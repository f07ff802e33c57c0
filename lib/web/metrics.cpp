#include "web/metrics.hpp"

#include <mutex>

#include "web/prometheus.hpp"

#ifndef SCEP_VERSION
#define SCEP_VERSION "unknown"
#endif

namespace web {

namespace {

/// The operation label's values; a request for none of them counts as "other".
constexpr std::array<std::string_view, 9> operations{"GetCACaps",    "GetCACert",     "GetCACertChain",
                                                     "GetCAChain",   "GetNextCACert", "GetCRL",
                                                     "PKIOperation", "health",        "other"};
/// The duration histogram's classes: what a request costs differs by kind.
constexpr std::array<std::string_view, 4> classes{"certificates", "pki", "crl", "other"};

std::size_t operation_index(std::string_view op) {
  for (std::size_t i = 0; i + 1 < operations.size(); ++i)
    if (operations[i] == op) return i;
  return operations.size() - 1;
}

std::size_t class_index(std::string_view op) {
  if (op == "PKIOperation") return 1;
  if (op == "GetCRL") return 2;
  if (op.starts_with("GetCA") || op == "GetNextCACert") return 0;
  return 3;
}

/// The messages that are enrollments: a new request and its polls.
bool is_enrollment(std::string_view message_type) {
  return message_type == "PKCSReq" || message_type == "RenewalReq" || message_type == "CertPoll";
}

double unix_seconds(core::TimePoint t) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace

Metrics::Metrics() {
  for (std::size_t i = 0; i < operations.size(); ++i) m_requests.push_back(std::make_unique<StatusCounts>());
  for (std::size_t i = 0; i < classes.size(); ++i) m_durations.push_back(std::make_unique<Histogram>());
}

void Metrics::observe(const RequestFacts& facts, int status, std::chrono::nanoseconds duration) {
  if (status >= min_status && status <= max_status)
    (*m_requests[operation_index(facts.operation)])[static_cast<std::size_t>(status - min_status)].fetch_add(
        1, std::memory_order_relaxed);
  Histogram& h = *m_durations[class_index(facts.operation)];
  double seconds = std::chrono::duration<double>(duration).count();
  std::size_t bucket = 0;
  while (bucket < duration_bounds.size() && seconds > duration_bounds[bucket]) ++bucket;
  h.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count())),
                     std::memory_order_relaxed);

  // Only answered enrollments (a CertRep): a CA from the store, a bounded set of outcomes.
  if (facts.pki_status.empty() || !is_enrollment(facts.message_type)) return;
  EnrollKey key{facts.ca, facts.message_type, facts.outcome, facts.fail_info};
  {
    std::shared_lock lock(m_enroll_mutex);
    if (auto it = m_enrollments.find(key); it != m_enrollments.end()) {
      it->second->fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  std::unique_lock lock(m_enroll_mutex);
  auto& counter = m_enrollments[key];
  if (!counter) counter = std::make_unique<std::atomic<std::uint64_t>>(0);
  counter->fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render(const std::vector<CaGauges>& gauges) const {
  prometheus::Writer w;
  w.family("scep_build_info", "gauge", "The scep version that answers (always 1).");
  w.sample("scep_build_info", {{"version", SCEP_VERSION}}, 1);

  w.family("scep_requests_total", "counter", "HTTP requests answered, by SCEP operation and HTTP status.");
  for (std::size_t op = 0; op < operations.size(); ++op)
    for (int status = min_status; status <= max_status; ++status) {
      auto n = (*m_requests[op])[static_cast<std::size_t>(status - min_status)].load(std::memory_order_relaxed);
      if (n == 0) continue;
      w.sample("scep_requests_total", {{"operation", std::string(operations[op])}, {"status", std::to_string(status)}},
               static_cast<double>(n));
    }

  w.family("scep_request_duration_seconds", "histogram",
           "Time from the whole request read to the response handed over, by operation class.");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const Histogram& h = *m_durations[c];
    std::array<std::uint64_t, duration_bounds.size() + 1> counts{};
    for (std::size_t b = 0; b < counts.size(); ++b) counts[b] = h.buckets[b].load(std::memory_order_relaxed);
    double sum = static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9;
    w.histogram("scep_request_duration_seconds", {{"class", std::string(classes[c])}}, duration_bounds, counts, sum);
  }

  w.family("scep_enrollments_total", "counter",
           "PKIOperation answers to PKCSReq, RenewalReq and CertPoll, by CA, message type and outcome "
           "(issued, renewed, reissued, pending, failure with its failInfo).");
  {
    std::shared_lock lock(m_enroll_mutex);
    for (const auto& [key, counter] : m_enrollments) {
      const auto& [ca, type, outcome, fail_info] = key;
      prometheus::Labels labels{{"ca", ca}, {"message_type", type}, {"outcome", outcome}};
      if (!fail_info.empty()) labels.emplace_back("fail_info", fail_info);
      w.sample("scep_enrollments_total", labels, static_cast<double>(counter->load(std::memory_order_relaxed)));
    }
  }

  w.family("scep_pending_requests", "gauge",
           "Requests waiting for an operator's approval, per CA (read when scraped).");
  for (const auto& g : gauges)
    if (g.pending) w.sample("scep_pending_requests", {{"ca", g.name}}, static_cast<double>(*g.pending));

  w.family("scep_certificate_not_after_seconds", "gauge",
           "The notAfter of each CA's certificate (role ca) and RA certificate (role ra), in Unix seconds.");
  for (const auto& g : gauges) {
    if (g.ca_not_after)
      w.sample("scep_certificate_not_after_seconds", {{"ca", g.name}, {"role", "ca"}}, unix_seconds(*g.ca_not_after));
    if (g.ra_not_after)
      w.sample("scep_certificate_not_after_seconds", {{"ca", g.name}, {"role", "ra"}}, unix_seconds(*g.ra_not_after));
  }
  return w.text();
}

std::vector<CaGauges> collect_gauges(scep::Backend backend) {
  std::vector<CaGauges> out;
  auto names = backend.catalog.ca_names();
  if (!names) return out;
  for (const auto& name : *names) {
    CaGauges g{name, std::nullopt, std::nullopt, std::nullopt};
    if (auto ca = backend.catalog.find_ca(name)) {
      g.ca_not_after = ca->cert.not_after();
      if (ca->ra) g.ra_not_after = ca->ra->not_after();
    }
    if (auto n = backend.ledger.count_pending(name)) g.pending = *n;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace web
