#include "config/config.hpp"

#include <array>
#include <sstream>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/names.hpp"

namespace config {

using core::Errc;

const CaOptions& Config::options_for(std::string_view ca) const {
  static const CaOptions defaults;
  auto it = cas.find(ca);
  return it == cas.end() ? defaults : it->second;
}

namespace {

const std::array<CaOptionInfo, 8> ca_options{{
    {"include_root", "send the root above an intermediate CA in GetCACert replies", &CaOptions::include_root, 0, 0},
    {"legacy_algorithms", "accept DES-CBC and MD5 (old Cisco, micromdm's scepclient)", &CaOptions::legacy_algorithms, 0,
     0},
    {"manual_enrollment", "park requests without a challenge password for approval", &CaOptions::manual_enrollment, 0,
     0},
    {"max_pending", "refuse new pending requests past this many", &CaOptions::max_pending, 0, 10'000'000},
    {"pending_days", "unapproved requests expire after this many days", &CaOptions::pending_days, 1, 3650},
    {"manual_policy", "policy of `scepctl approve` without --policy (\"\": built-in defaults)",
     &CaOptions::manual_policy, 0, 0},
    {"crl_days", "days a CRL is valid (nextUpdate - thisUpdate); re-signed at half-life", &CaOptions::crl_days, 1,
     3650},
    {"renewal_grace_days", "days after expiry a certificate may still renew", &CaOptions::renewal_grace_days, 0, 3650},
}};

}  // namespace

std::span<const CaOptionInfo> ca_option_table() { return ca_options; }

std::string option_literal(const CaOptionInfo& info, const CaOptions& o) {
  return std::visit(
      [&](auto member) -> std::string {
        const auto& v = o.*member;
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, int>) return std::to_string(v);
        else return quote(v);
      },
      info.member);
}

namespace {

template <class T>
core::Result<void> read(const toml::table& t, std::string_view key, T& out, std::string_view where) {
  const toml::node* node = t.get(key);
  if (!node) return {};
  auto v = node->value_exact<T>();  // no 0 for false, no 2.0 for 2
  if (!v) return core::fail(Errc::config_invalid, fmt::format("{}.{} has the wrong type", where, key));
  out = *v;
  return {};
}

template <class Keys>
core::Result<void> check_keys(const toml::table& t, const Keys& known, std::string_view where) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) return core::fail(Errc::config_invalid, fmt::format("unknown setting {}.{}", where, k.str()));
  }
  return {};
}

core::Result<void> parse_server(const toml::table& t, ServerConfig& s) {
  if (auto r = check_keys(t,
                          std::initializer_list<std::string_view>{"listen", "path", "default_ca", "strict_ca_names",
                                                                  "max_connections", "max_connections_per_client",
                                                                  "log_format", "metrics_listen", "metrics_path"},
                          "server");
      !r)
    return r;
  SCEP_TRY(read(t, "listen", s.listen, "server"));
  SCEP_TRY(read(t, "path", s.path, "server"));
  SCEP_TRY(read(t, "default_ca", s.default_ca, "server"));
  SCEP_TRY(read(t, "strict_ca_names", s.strict_ca_names, "server"));
  SCEP_TRY(read(t, "log_format", s.log_format, "server"));
  SCEP_TRY(read(t, "metrics_listen", s.metrics_listen, "server"));
  SCEP_TRY(read(t, "metrics_path", s.metrics_path, "server"));
  if (s.log_format != "text" && s.log_format != "json")
    return core::fail(Errc::config_invalid, "server.log_format must be \"text\" or \"json\"");
  if (!s.metrics_path.empty() && (s.metrics_path.front() != '/' || s.metrics_path == "/"))
    return core::fail(Errc::config_invalid, "server.metrics_path must start with '/' and name a path");
  int64_t max_connections = s.max_connections, per_client = s.max_connections_per_client.value_or(0);
  SCEP_TRY(read(t, "max_connections", max_connections, "server"));
  SCEP_TRY(read(t, "max_connections_per_client", per_client, "server"));
  if (max_connections < 0 || max_connections > 1'000'000)
    return core::fail(Errc::config_invalid, "server.max_connections must be 0..1000000");
  if (per_client < 0 || per_client > 1'000'000)
    return core::fail(Errc::config_invalid, "server.max_connections_per_client must be 0..1000000");
  s.max_connections = static_cast<int>(max_connections);
  if (t.contains("max_connections_per_client")) s.max_connections_per_client = static_cast<int>(per_client);
  if (s.path.empty() || s.path.front() != '/')
    return core::fail(Errc::config_invalid, "server.path must start with '/'");
  if (!s.default_ca.empty() && !core::is_valid_name(s.default_ca))
    return core::fail(Errc::config_invalid, "server.default_ca is not a valid CA name");
  return {};
}

/// Reads one per-CA option, if present, and checks its value.
core::Result<void> read_option(const toml::table& t, const CaOptionInfo& info, CaOptions& o, std::string_view where) {
  return std::visit(
      [&](auto member) -> core::Result<void> {
        auto& v = o.*member;
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int>) {
          int64_t wide = v;
          SCEP_TRY(read(t, info.key, wide, where));
          if (wide < info.min || wide > info.max)
            return core::fail(Errc::config_invalid,
                              fmt::format("{}.{} must be {}..{}", where, info.key, info.min, info.max));
          v = static_cast<int>(wide);
          return {};
        } else {
          SCEP_TRY(read(t, info.key, v, where));
          if constexpr (std::is_same_v<V, std::string>)
            if (!v.empty() && !core::is_valid_name(v))
              return core::fail(Errc::config_invalid, fmt::format("{}.{} is not a valid policy name", where, info.key));
          return {};
        }
      },
      info.member);
}

core::Result<void> parse_ca(std::string_view name, const toml::table& t, CaOptions& o) {
  std::string where = fmt::format("ca.{}", name);
  if (!core::is_valid_name(name))
    return core::fail(Errc::config_invalid, fmt::format("[{}]: not a valid CA name", where));
  std::vector<std::string_view> keys;
  for (const auto& info : ca_options) keys.push_back(info.key);
  SCEP_TRY(check_keys(t, keys, where));
  for (const auto& info : ca_options) SCEP_TRY(read_option(t, info, o, where));
  return {};
}

}  // namespace

core::Result<Config> parse_config(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return core::fail(Errc::config_invalid,
                      fmt::format("scep.toml line {}: {}", e.source().begin.line, e.description()));
  }
  Config cfg;
  SCEP_TRY(check_keys(root, std::initializer_list<std::string_view>{"format", "server", "ca", "pkcs11"}, "scep.toml"));
  if (root.contains("format")) {
    auto f = root["format"].value_exact<int64_t>();
    if (!f) return core::fail(Errc::config_invalid, "scep.toml format must be an integer");
    if (*f != format_version)
      return core::fail(Errc::config_invalid,
                        fmt::format("scep.toml format {} is not supported (this program reads format {})", *f,
                                    format_version));
  }
  for (const char* table : {"server", "ca", "pkcs11"})
    if (root.contains(table) && !root[table].is_table())
      return core::fail(Errc::config_invalid, fmt::format("scep.toml: {} must be a table ([{}])", table, table));
  if (const toml::table* s = root["server"].as_table()) SCEP_TRY(parse_server(*s, cfg.server));
  if (const toml::table* p = root["pkcs11"].as_table()) {
    SCEP_TRY(check_keys(*p, std::initializer_list<std::string_view>{"module"}, "pkcs11"));
    SCEP_TRY(read(*p, "module", cfg.pkcs11.module, "pkcs11"));
    if (!cfg.pkcs11.module.empty() && cfg.pkcs11.module.front() != '/')
      return core::fail(Errc::config_invalid, "pkcs11.module must be an absolute path");
  }
  if (const toml::table* cas = root["ca"].as_table()) {
    for (auto&& [name, node] : *cas) {
      const toml::table* t = node.as_table();
      if (!t) return core::fail(Errc::config_invalid, fmt::format("ca.{} must be a table", name.str()));
      SCEP_TRY(parse_ca(name.str(), *t, cfg.cas[std::string(name.str())]));
    }
  }
  return cfg;
}

std::string default_config_text() {
  std::string text = R"(# scep store configuration; see scep.toml(5).
format = 1

[server]
# Address and port `scepctl serve` listens on.
listen = "0.0.0.0:8080"
# URL path of the SCEP endpoint; /scep/NAME selects the CA called NAME.
path = "/scep"
# The CA used when a request names none. Empty: the only CA, if there is one.
default_ca = ""
# A message= CA identifier that names no CA (certmonger sends "0", sscep
# "CAIdentifier") gets the default CA's GetCACaps/GetCACert; true: 404.
strict_ca_names = false
# `scepctl serve`: open connections at most (0: the descriptor limit less
# room for the store), and at most from one client address (an IPv6 /64;
# unset: an eighth of max_connections, at least 32; 0: no per-client limit,
# as behind a reverse proxy, from which every connection comes).
max_connections = 0
# max_connections_per_client = 32
# Log lines of `scepctl serve`: "text" (key=value) or "json".
log_format = "text"
# `scepctl serve`: a separate listener for /metrics (Prometheus) and /health,
# off when empty; keep it on loopback.
# metrics_listen = "127.0.0.1:9180"
# scep.cgi under FastCGI: answer the metrics at this path below the SCEP
# path (/scep/metrics); let the web server allow only the scraper.
# metrics_path = "/metrics"

# Keys on a PKCS#11 token (ca/NAME/key.uri): the module for URIs without
# module-path=. The PIN: pin-source=file:PATH in the URI, or SCEP_PKCS11_PIN.
# [pkcs11]
# module = "/usr/lib/softhsm/libsofthsm2.so"

# Per-CA options, one table per CA store name:
# [ca.NAME]
)";
  const CaOptions defaults;
  for (const auto& info : ca_options)
    text += fmt::format("# {:<27} # {}\n", fmt::format("{} = {}", info.key, option_literal(info, defaults)), info.help);
  return text;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        // TOML forbids other control characters raw in a basic string.
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\u{:04X}", u);
        else out += c;
    }
  }
  return out + "\"";
}

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

static std::string set_value_in(std::string_view text, const std::vector<std::string>& sections, std::string_view key,
                                std::string_view value_literal);

std::string set_value(std::string_view text, std::string_view section, std::string_view key,
                      std::string_view value_literal) {
  return set_value_in(text, {std::string(section)}, key, value_literal);
}

std::string ca_section(std::string_view ca) {
  return ca.find('.') == std::string_view::npos ? fmt::format("ca.{}", ca) : fmt::format("ca.{}", quote(ca));
}

std::string set_ca_value(std::string_view text, std::string_view ca, std::string_view key,
                         std::string_view value_literal) {
  return set_value_in(text, {ca_section(ca), fmt::format("ca.{}", quote(ca))}, key, value_literal);
}

/// `sections` are equivalent spellings of one table header; the first is used
/// when the table has to be added.
static std::string set_value_in(std::string_view text, const std::vector<std::string>& sections, std::string_view key,
                                std::string_view value_literal) {
  std::vector<std::string> lines = split_lines(text);
  std::string header = fmt::format("[{}]", sections.front());
  std::string assignment = fmt::format("{} = {}", key, value_literal);
  std::size_t i = 0;
  auto is_header = [&](const std::string& line) {
    std::string t = trim(line);
    auto close = t.find(']');
    if (close != std::string::npos && t.find('#', close) != std::string::npos)
      t = trim(t.substr(0, t.find('#', close)));
    for (const auto& sec : sections)
      if (t == fmt::format("[{}]", sec)) return true;
    return false;
  };
  while (i < lines.size() && !is_header(lines[i])) ++i;
  if (i == lines.size()) {
    if (!lines.empty() && !trim(lines.back()).empty()) lines.emplace_back();
    lines.push_back(header);
    lines.push_back(assignment);
  } else {
    std::size_t insert_at = i + 1;
    for (std::size_t j = i + 1; j < lines.size(); ++j) {
      std::string t = trim(lines[j]);
      if (!t.empty() && t.front() == '[') break;
      if (!t.empty() && t.front() != '#') insert_at = j + 1;
      auto eq = t.find('=');
      if (eq != std::string::npos && t.front() != '#' && trim(t.substr(0, eq)) == key) {
        lines[j] = assignment;
        insert_at = 0;
        break;
      }
    }
    if (insert_at != 0) lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(insert_at), assignment);
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace config
