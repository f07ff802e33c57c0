#include "config/config.hpp"

#include <sstream>
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

template <class T>
core::Result<void> read(const toml::table& t, std::string_view key, T& out, std::string_view where) {
  const toml::node* node = t.get(key);
  if (!node) return {};
  auto v = node->value_exact<T>();  // no 0 for false, no 2.0 for 2
  if (!v) return core::fail(Errc::config_invalid, fmt::format("{}.{} has the wrong type", where, key));
  out = *v;
  return {};
}

core::Result<void> check_keys(const toml::table& t, std::initializer_list<std::string_view> known, std::string_view where) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) return core::fail(Errc::config_invalid, fmt::format("unknown setting {}.{}", where, k.str()));
  }
  return {};
}

core::Result<void> parse_server(const toml::table& t, ServerConfig& s) {
  if (auto r = check_keys(t, {"listen", "path", "default_ca", "strict_ca_names", "max_connections",
                               "max_connections_per_client", "log_format", "metrics_listen", "metrics_path"},
                          "server");
      !r)
    return r;
  if (auto r = read(t, "listen", s.listen, "server"); !r) return r;
  if (auto r = read(t, "path", s.path, "server"); !r) return r;
  if (auto r = read(t, "default_ca", s.default_ca, "server"); !r) return r;
  if (auto r = read(t, "strict_ca_names", s.strict_ca_names, "server"); !r) return r;
  if (auto r = read(t, "log_format", s.log_format, "server"); !r) return r;
  if (auto r = read(t, "metrics_listen", s.metrics_listen, "server"); !r) return r;
  if (auto r = read(t, "metrics_path", s.metrics_path, "server"); !r) return r;
  if (s.log_format != "text" && s.log_format != "json")
    return core::fail(Errc::config_invalid, "server.log_format must be \"text\" or \"json\"");
  if (!s.metrics_path.empty() && (s.metrics_path.front() != '/' || s.metrics_path == "/"))
    return core::fail(Errc::config_invalid, "server.metrics_path must start with '/' and name a path");
  int64_t max_connections = s.max_connections, per_client = s.max_connections_per_client.value_or(0);
  if (auto r = read(t, "max_connections", max_connections, "server"); !r) return r;
  if (auto r = read(t, "max_connections_per_client", per_client, "server"); !r) return r;
  if (max_connections < 0 || max_connections > 1'000'000)
    return core::fail(Errc::config_invalid, "server.max_connections must be 0..1000000");
  if (per_client < 0 || per_client > 1'000'000)
    return core::fail(Errc::config_invalid, "server.max_connections_per_client must be 0..1000000");
  s.max_connections = static_cast<int>(max_connections);
  if (t.contains("max_connections_per_client")) s.max_connections_per_client = static_cast<int>(per_client);
  if (s.path.empty() || s.path.front() != '/') return core::fail(Errc::config_invalid, "server.path must start with '/'");
  if (!s.default_ca.empty() && !core::is_valid_name(s.default_ca))
    return core::fail(Errc::config_invalid, "server.default_ca is not a valid CA name");
  return {};
}

core::Result<void> parse_ca(std::string_view name, const toml::table& t, CaOptions& o) {
  std::string where = fmt::format("ca.{}", name);
  if (!core::is_valid_name(name)) return core::fail(Errc::config_invalid, fmt::format("[{}]: not a valid CA name", where));
  if (auto r = check_keys(t, {"include_root", "legacy_algorithms", "manual_enrollment", "max_pending", "pending_days",
                               "manual_policy", "crl_days", "renewal_grace_days"}, where);
      !r)
    return r;
  int64_t max_pending = o.max_pending, pending_days = o.pending_days, crl_days = o.crl_days,
          grace = o.renewal_grace_days;
  for (auto r : {read(t, "legacy_algorithms", o.legacy_algorithms, where), read(t, "include_root", o.include_root, where),
                 read(t, "manual_enrollment", o.manual_enrollment, where), read(t, "max_pending", max_pending, where),
                 read(t, "pending_days", pending_days, where), read(t, "manual_policy", o.manual_policy, where),
                 read(t, "crl_days", crl_days, where), read(t, "renewal_grace_days", grace, where)})
    if (!r) return r;
  if (max_pending < 0 || max_pending > 10'000'000) return core::fail(Errc::config_invalid, fmt::format("{}.max_pending is out of range", where));
  if (pending_days < 1 || pending_days > 3650) return core::fail(Errc::config_invalid, fmt::format("{}.pending_days must be 1..3650", where));
  if (!o.manual_policy.empty() && !core::is_valid_name(o.manual_policy))
    return core::fail(Errc::config_invalid, fmt::format("{}.manual_policy is not a valid policy name", where));
  if (crl_days < 1 || crl_days > 3650) return core::fail(Errc::config_invalid, fmt::format("{}.crl_days must be 1..3650", where));
  if (grace < 0 || grace > 3650) return core::fail(Errc::config_invalid, fmt::format("{}.renewal_grace_days must be 0..3650", where));
  o.max_pending = static_cast<int>(max_pending);
  o.crl_days = static_cast<int>(crl_days);
  o.renewal_grace_days = static_cast<int>(grace);
  o.pending_days = static_cast<int>(pending_days);
  return {};
}

}  // namespace

core::Result<Config> parse_config(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return core::fail(Errc::config_invalid, fmt::format("scep.toml line {}: {}", e.source().begin.line, e.description()));
  }
  Config cfg;
  if (auto r = check_keys(root, {"format", "server", "ca"}, "scep.toml"); !r) return std::unexpected(r.error());
  if (root.contains("format")) {
    auto f = root["format"].value_exact<int64_t>();
    if (!f) return core::fail(Errc::config_invalid, "scep.toml format must be an integer");
    if (*f != format_version)
      return core::fail(Errc::config_invalid, fmt::format("scep.toml format {} is not supported (this program reads format {})", *f, format_version));
  }
  for (const char* table : {"server", "ca"})
    if (root.contains(table) && !root[table].is_table())
      return core::fail(Errc::config_invalid, fmt::format("scep.toml: {} must be a table ([{}])", table, table));
  if (const toml::table* s = root["server"].as_table())
    if (auto r = parse_server(*s, cfg.server); !r) return std::unexpected(r.error());
  if (const toml::table* cas = root["ca"].as_table()) {
    for (auto&& [name, node] : *cas) {
      const toml::table* t = node.as_table();
      if (!t) return core::fail(Errc::config_invalid, fmt::format("ca.{} must be a table", name.str()));
      if (auto r = parse_ca(name.str(), *t, cfg.cas[std::string(name.str())]); !r) return std::unexpected(r.error());
    }
  }
  return cfg;
}

std::string default_config_text() {
  return R"(# scep store configuration; see scep.toml(5).
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

# Per-CA options, one table per CA store name:
# [ca.NAME]
# include_root = true         # send the root certificate in GetCACert replies
# legacy_algorithms = false   # accept DES-CBC and MD5 (old Cisco, micromdm scepclient)
# manual_enrollment = true     # park requests without a challenge password for approval
# max_pending = 10000          # refuse new pending requests past this many
# pending_days = 7             # unapproved requests expire after this many days
# manual_policy = ""           # policy used by `scepctl approve` without --policy
# crl_days = 7                 # a CRL is valid this long; it is re-signed at half-life
# renewal_grace_days = 0       # an expired certificate may still renew this many days
)";
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

std::string set_ca_value(std::string_view text, std::string_view ca, std::string_view key, std::string_view value_literal) {
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
    if (close != std::string::npos && t.find('#', close) != std::string::npos) t = trim(t.substr(0, t.find('#', close)));
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
