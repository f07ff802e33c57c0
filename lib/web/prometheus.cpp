#include "web/prometheus.hpp"

#include <cmath>

#include <fmt/format.h>

namespace web::prometheus {

namespace {

std::string escape(std::string_view v, bool quotes) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

void put_labels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    fmt::format_to(std::back_inserter(out), "{}{}=\"{}\"", first ? "" : ",", name, escape_label_value(value));
    first = false;
  }
  out += '}';
}

}  // namespace

std::string escape_label_value(std::string_view v) { return escape(v, true); }
std::string escape_help(std::string_view v) { return escape(v, false); }

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Counts and Unix times are integers: no exponent, no ".0".
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

void Writer::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(m_out), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void Writer::sample(std::string_view name, const Labels& labels, double value) {
  m_out += name;
  put_labels(m_out, labels);
  fmt::format_to(std::back_inserter(m_out), " {}\n", format_value(value));
}

void Writer::histogram(std::string_view name, const Labels& labels, std::span<const double> bounds,
                       std::span<const std::uint64_t> counts, double sum) {
  std::uint64_t cumulative = 0;
  std::string bucket = fmt::format("{}_bucket", name);
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    Labels with_le = labels;
    with_le.emplace_back("le", i < bounds.size() ? format_value(bounds[i]) : "+Inf");
    sample(bucket, with_le, static_cast<double>(cumulative));
  }
  sample(fmt::format("{}_sum", name), labels, sum);
  sample(fmt::format("{}_count", name), labels, static_cast<double>(cumulative));
}

}  // namespace web::prometheus
