#include "scep/outcome.hpp"

#include <array>
#include <ostream>
#include <utility>

#include "core/names.hpp"

namespace scep {
namespace {

constexpr std::array<std::pair<Outcome, std::string_view>, 13> names{{
    {Outcome::error, "error"},
    {Outcome::issued, "issued"},
    {Outcome::renewed, "renewed"},
    {Outcome::reissued, "reissued"},
    {Outcome::pending, "pending"},
    {Outcome::rejected, "rejected"},
    {Outcome::failure, "failure"},
    {Outcome::sent, "sent"},
    {Outcome::revoked, "revoked"},
    {Outcome::created, "created"},
    {Outcome::replaced, "replaced"},
    {Outcome::changed, "changed"},
    {Outcome::signed_crl, "signed"},
}};

constexpr auto outcomes = [] {
  std::array<Outcome, names.size()> all{};
  for (std::size_t i = 0; i < names.size(); ++i) all[i] = names[i].first;
  return all;
}();

}  // namespace

std::string_view outcome_name(Outcome o) {
  // The table lists every enumerator in order; the check below keeps it so.
  return names[static_cast<std::size_t>(o)].second;
}

std::optional<Outcome> outcome_from_name(std::string_view name) {
  for (const auto& [o, n] : names)
    if (core::iequals_ascii(n, name)) return o;
  return std::nullopt;
}

std::span<const Outcome> all_outcomes() { return outcomes; }

std::ostream& operator<<(std::ostream& os, Outcome o) { return os << outcome_name(o); }

static_assert([] {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (static_cast<std::size_t>(names[i].first) != i) return false;
  return names.back().first == Outcome::signed_crl;
}());

}  // namespace scep
