#pragma once
// The text form of every listing: a header row, columns aligned, and a word
// on standard error instead of an empty table.

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace scepctl {

struct Env;

class Table {
 public:
  explicit Table(std::vector<std::string> header) : m_header(std::move(header)) {}
  /// One row; as many cells as the header has.
  void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
  bool empty() const { return m_rows.empty(); }
  /// Header and rows, each column padded to its widest cell and two spaces
  /// apart; the last column is not padded (it may hold spaces: subjects).
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> m_header;
  std::vector<std::vector<std::string>> m_rows;
};

/// The table on standard output; for no rows, `none` ("no pending
/// requests") on standard error and nothing on standard output, so a script
/// that reads the rows reads none.
void print_listing(Env& env, const Table& table, std::string_view none);

}  // namespace scepctl
