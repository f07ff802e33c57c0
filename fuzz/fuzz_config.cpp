// libFuzzer: scep.toml and policy files through their parsers, and the
// in-place editor scepctl uses. Files are operator input, but a typo must
// give an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "policy/policy.hpp"

namespace {

/// A parsed policy renders to text that parses to the same policy.
void check_round_trip(const policy::Policy& p) {
  std::string text = policy::render_policy(p);
  auto again = policy::parse_policy(p.name, text);
  if (!again) {
    std::fprintf(stderr, "render_policy wrote what parse_policy refuses (%s):\n%s\n", again.error().detail.c_str(),
                 text.c_str());
    std::abort();
  }
  if (policy::render_policy(*again) != text) {
    std::fprintf(stderr, "a policy changed on its way through render and parse:\n%s\n", text.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto cfg = config::parse_config(text)) (void)cfg->options_for("corp");
  // scepctl edits the file's text, whether or not it parses (store.cpp checks after).
  (void)config::parse_config(config::set_ca_value(text, "corp", "legacy_algorithms", "true"));
  (void)config::parse_config(config::set_value(text, "server", "default_ca", config::quote("corp")));
  if (auto p = policy::parse_policy("fuzz", text)) check_round_trip(*p);
  return 0;
}
