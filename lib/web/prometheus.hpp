#pragma once
// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): HELP and
// TYPE lines, samples with escaped label values, histograms. Debian 12 has
// no Prometheus client library for C++; this is all of the format we use.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace web::prometheus {

/// The Content-Type of a scrape's answer.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

/// A label value as the format quotes it: '\\' -> "\\\\", '"' -> "\\\"", newline -> "\\n".
std::string escape_label_value(std::string_view v);
/// HELP text: '\\' -> "\\\\", newline -> "\\n".
std::string escape_help(std::string_view v);
/// A sample value: integers without exponent, "+Inf", "-Inf", "NaN".
std::string format_value(double v);

using Labels = std::vector<std::pair<std::string_view, std::string>>;

class Writer {
 public:
  /// Starts a metric family: its HELP and TYPE lines (counter, gauge, histogram).
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  /// One histogram: `counts[i]` observations fell into bucket i (at most
  /// bounds[i], above bounds[i-1]); counts has one more entry than bounds,
  /// for those above the last bound. Written cumulatively, as _bucket{le=...}
  /// lines ending in le="+Inf", then _sum and _count.
  void histogram(std::string_view name, const Labels& labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum);
  const std::string& text() const { return m_out; }

 private:
  std::string m_out;
};

}  // namespace web::prometheus
