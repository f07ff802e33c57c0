#include "table.hpp"

#include <algorithm>

#include "env.hpp"

namespace scepctl {

namespace {

/// Columns a cell takes: UTF-8 code points (subjects may hold any).
std::size_t width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void print_row(std::ostream& out, const std::vector<std::string>& row, const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t i = 0; i < row.size(); ++i) {
    line += row[i];
    if (i + 1 < row.size()) line += std::string(widths[i] - width(row[i]) + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out << line << "\n";
}

}  // namespace

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(m_header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  };
  measure(m_header);
  for (const auto& r : m_rows) measure(r);
  print_row(out, m_header, widths);
  for (const auto& r : m_rows) print_row(out, r, widths);
}

void print_listing(Env& env, const Table& table, std::string_view none) {
  if (table.empty()) {
    env.err << none << "\n";
    return;
  }
  table.print(env.out);
}

}  // namespace scepctl
