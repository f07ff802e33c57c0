#include "store/store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/names.hpp"
#include "store/atomic_file.hpp"
#include "store/cache.hpp"
#include "store/fs_util.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;

namespace {

std::string pem_bundle(const std::vector<crypto::Certificate>& certs) {
  std::string out;
  for (const auto& c : certs) out += c.pem();
  return out;
}

core::Result<std::vector<crypto::Certificate>> read_certs(const fs::path& p) {
  SCEP_TRY_ASSIGN(auto bytes, read_file(p));
  auto certs = crypto::Certificate::load_all(bytes);
  if (!certs) return core::fail(Errc::store_io, fmt::format("{}: {}", p.string(), certs.error().detail));
  return certs;
}

}  // namespace

core::Result<Store> Store::open(fs::path root, OpenMode mode) {
  sys::register_root(root);
  const Layout layout(root);
  fs::path format_file = layout.format_file();
  auto format = read_file(format_file, 4096);
  if (format) {
    std::string line = core::to_string(*format);
    line = line.substr(0, line.find('\n'));
    if (line != format_line)
      return core::fail(Errc::store_io, fmt::format("{}: unsupported store format \"{}\" (this program reads \"{}\")",
                                                    root.string(), line, format_line));
    return Store(std::move(root));
  }
  if (format.error().code != Errc::not_found) return std::unexpected(format.error());
  if (mode == OpenMode::existing)
    return core::fail(Errc::not_found,
                      fmt::format("{} is not a scep store (create one with `scepctl init`)", root.string()));
  SCEP_TRY(ensure_dir(root));
  sys::register_root(root);
  SCEP_TRY(ensure_dir(layout.cas_dir()));
  auto cfg = write_file_atomic(layout.config(), config::default_config_text(), 0640, AtomicFile::Replace::no);
  if (!cfg && cfg.error().code != Errc::already_exists) return std::unexpected(cfg.error());
  // FORMAT last: its presence says the store is complete.
  auto r = write_file_atomic(format_file, std::string(format_line) + "\n", 0640, AtomicFile::Replace::no);
  if (!r && r.error().code != Errc::already_exists) return std::unexpected(r.error());
  return Store(std::move(root));
}

core::Result<config::Config> Store::load_config() const {
  SCEP_TRY_ASSIGN(auto text, read_file(config_path(), 1u << 20));
  auto cfg = config::parse_config(core::to_string(text));
  if (!cfg) return core::fail(Errc::config_invalid, fmt::format("{}: {}", config_path().string(), cfg.error().detail));
  return cfg;
}

core::Result<void> Store::set_default_ca(std::string_view name) {
  SCEP_TRY_ASSIGN(auto text, read_file(config_path(), 1u << 20));
  std::string updated = config::set_value(core::to_string(text), "server", "default_ca", config::quote(name));
  SCEP_TRY(config::parse_config(updated));
  return write_file_atomic(config_path(), updated, 0640);
}

core::Result<void> Store::set_ca_option(std::string_view name, std::string_view key, std::string_view value_literal) {
  return set_ca_options(name, {{std::string(key), std::string(value_literal)}});
}

core::Result<void> Store::set_ca_options(std::string_view name,
                                         const std::vector<std::pair<std::string, std::string>>& key_literals) {
  SCEP_TRY(check_ca_name(name));
  SCEP_TRY_ASSIGN(auto text, read_file(config_path(), 1u << 20));
  std::string updated = core::to_string(text);
  for (const auto& [key, literal] : key_literals) updated = config::set_ca_value(updated, name, key, literal);
  SCEP_TRY(config::parse_config(updated));
  return write_file_atomic(config_path(), updated, 0640);
}

core::Result<void> Store::check_ca_name(std::string_view name) const {
  if (!core::is_valid_name(name))
    return core::fail(Errc::invalid_argument,
                      fmt::format("\"{}\" is not a valid CA name ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}})", name));
  return {};
}

core::Result<void> Store::add_ca(std::string_view name, const NewCa& ca) {
  SCEP_TRY(check_ca_name(name));
  fs::path target = ca_dir(name);
  if (::access(target.c_str(), F_OK) == 0)
    return core::fail(Errc::already_exists, fmt::format("CA \"{}\" already exists", name));
  // Build the CA in a private directory, then rename it into place in one step.
  std::string temp = (m_layout.cas_dir() / fmt::format(".{}.new-XXXXXX", name)).string();
  if (::mkdtemp(temp.data()) == nullptr)
    return core::fail(Errc::store_io, fmt::format("cannot create a directory in {}: {}", m_layout.cas_dir().string(),
                                                  std::strerror(errno)));
  ::chmod(temp.c_str(), 0750);
  // ca/.NAME.new-XXXXXX is laid out as ca/NAME will be.
  std::string temp_name = fs::path(temp).filename().string();
  auto r = write_key_in(m_layout.ca_dir(temp_name), scep::KeyRole::ca, ca.key);
  if (r) r = write_file_atomic(m_layout.ca_cert(temp_name), ca.cert.pem(), 0640);
  if (r && !ca.chain.empty()) r = write_file_atomic(m_layout.chain(temp_name), pem_bundle(ca.chain), 0640);
  if (r && ca.ra) r = write_key_in(m_layout.ca_dir(temp_name), scep::KeyRole::ra, ca.ra->key);
  if (r && ca.ra) r = write_file_atomic(m_layout.ra_cert(temp_name), ca.ra->cert.pem(), 0640);
  // Made here so the service, whichever user it runs as, finds it with the CA's group and mode.
  if (r) r = write_file_atomic(m_layout.tx_lock(temp_name), "", 0640);
  fs::path dir(temp);
  if (r && ::rename(dir.c_str(), target.c_str()) != 0) {
    int err = errno;
    r = (err == EEXIST || err == ENOTEMPTY)
            ? core::fail(Errc::already_exists, fmt::format("CA \"{}\" already exists", name))
            : core::fail(Errc::store_io, fmt::format("cannot create {}: {}", target.string(), std::strerror(err)));
  }
  if (!r) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    return r;
  }
  return sync_directory(m_layout.cas_dir());
}

core::Result<std::vector<std::string>> Store::ca_names() const {
  SCEP_TRY_ASSIGN(auto entries, sys::list_dir(m_layout.cas_dir()));
  std::vector<std::string> names;
  for (auto& n : entries) {
    struct stat sb {};
    // A CA is a directory; a symbolic link is not followed.
    if (core::is_valid_name(n) && ::lstat(m_layout.ca_dir(n).c_str(), &sb) == 0 && S_ISDIR(sb.st_mode))
      names.push_back(std::move(n));
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

core::Result<void> not_activating(const Store& st, std::string_view name) {
  if (st.activation_pending(name))
    return core::fail(Errc::store_busy,
                      fmt::format("CA \"{}\" is being activated (`scepctl ca activate {}` completes it)", name, name));
  return {};
}

}  // namespace

core::Result<scep::CaBundle> Store::load_ca(std::string_view name, const config::Config& cfg) const {
  SCEP_TRY(check_ca_name(name));
  // Between its commit point and its end an activation moves files: the
  // certificate and the key may be of different generations.
  SCEP_TRY(not_activating(*this, name));
  auto certs = read_certs(m_layout.ca_cert(name));
  if (!certs) {
    if (certs.error().code == Errc::not_found)
      return core::fail(Errc::not_found, fmt::format("no CA called \"{}\"", name));
    return std::unexpected(certs.error());
  }
  scep::CaBundle ca{std::string(name), certs->front(), {}, std::nullopt, cfg.options_for(name)};
  if (auto chain = read_certs(m_layout.chain(name))) ca.chain = std::move(*chain);
  else if (chain.error().code != Errc::not_found) return std::unexpected(chain.error());
  if (auto ra = read_certs(m_layout.ra_cert(name))) ca.ra = ra->front();
  else if (ra.error().code != Errc::not_found) return std::unexpected(ra.error());
  return ca;
}

core::Result<crypto::Pkcs11Uri> parse_stored_key_uri(std::string_view text) {
  std::string line(text.substr(0, text.find('\n')));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  SCEP_TRY_ASSIGN(auto uri, crypto::Pkcs11Uri::parse(line));
  if (!uri.pin_value.empty())
    return core::fail(Errc::invalid_argument,
                      "a stored key URI must not hold the PIN (pin-value=): put the PIN in a file and name it with "
                      "pin-source=file:PATH, or set SCEP_PKCS11_PIN");
  return uri;
}

core::Result<crypto::PrivateKey> Store::load_key(std::string_view name, scep::KeyRole role) const {
  SCEP_TRY(check_ca_name(name));
  SCEP_TRY(not_activating(*this, name));
  return load_key_in(m_layout.ca_dir(name), role);
}

core::Result<crypto::PrivateKey> Store::load_key_in(const fs::path& dir, scep::KeyRole role) const {
  bool ca = role == scep::KeyRole::ca;
  fs::path p = dir / (ca ? on_disk::ca_key : on_disk::ra_key);
  fs::path uri_file = dir / (ca ? on_disk::ca_key_uri : on_disk::ra_key_uri);
  auto uri_text = read_file(uri_file, 4096);
  if (uri_text && ::access(p.c_str(), F_OK) == 0) return load_key_of_two(dir, role);
  if (uri_text) {
    auto uri = parse_stored_key_uri(core::to_string(*uri_text));
    if (!uri) return core::fail(Errc::store_io, fmt::format("{}: {}", uri_file.string(), uri.error().detail));
    SCEP_TRY_ASSIGN(auto cfg, load_config());
    auto key = crypto::load_pkcs11_key(*uri, cfg.pkcs11.module);
    if (!key) return core::fail(key.error().code, fmt::format("{}: {}", uri_file.string(), key.error().detail));
    return key;
  }
  if (uri_text.error().code != Errc::not_found) return std::unexpected(uri_text.error());
  SCEP_TRY_ASSIGN(auto bytes, read_file(p, 1u << 20));
  auto key = crypto::PrivateKey::load(bytes);
  if (!key) return core::fail(Errc::store_io, fmt::format("{}: {}", p.string(), key.error().detail));
  return key;
}

core::Result<crypto::PrivateKey> Store::load_key_of_two(const fs::path& dir, scep::KeyRole role) const {
  // Both kinds: a key replaced by one of the other kind (ra create
  // --key-uri --replace) stopped between its steps. The key its certificate
  // certifies is the key; `scepctl check --repair` removes the other.
  bool ca = role == scep::KeyRole::ca;
  fs::path p = dir / (ca ? on_disk::ca_key : on_disk::ra_key);
  fs::path uri_file = dir / (ca ? on_disk::ca_key_uri : on_disk::ra_key_uri);
  SCEP_TRY_ASSIGN(auto certs, read_certs(dir / (ca ? on_disk::ca_cert : on_disk::ra_cert)));
  auto both = core::fail(Errc::store_io,
                         fmt::format("both {} and {} exist and neither matches {}", p.string(),
                                     uri_file.filename().string(), ca ? on_disk::ca_cert : on_disk::ra_cert));
  if (auto bytes = read_file(p, 1u << 20))
    if (auto key = crypto::PrivateKey::load(*bytes); key && certs.front().matches(*key)) return key;
  SCEP_TRY_ASSIGN(auto text, read_file(uri_file, 4096));
  SCEP_TRY_ASSIGN(auto uri, parse_stored_key_uri(core::to_string(text)));
  SCEP_TRY_ASSIGN(auto cfg, load_config());
  SCEP_TRY_ASSIGN(auto key, crypto::load_pkcs11_key(uri, cfg.pkcs11.module));
  if (!certs.front().matches(key)) return std::unexpected(both.error());
  return key;
}

core::Result<void> Store::write_key_in(const fs::path& dir, scep::KeyRole role, const crypto::PrivateKey& key) {
  bool ca = role == scep::KeyRole::ca;
  if (key.on_token())
    return write_file_atomic(dir / (ca ? on_disk::ca_key_uri : on_disk::ra_key_uri), key.location() + "\n", 0640);
  return write_file_atomic(dir / (ca ? on_disk::ca_key : on_disk::ra_key), key.to_pem(), 0600);
}

core::Result<void> Store::set_ra(std::string_view name, const crypto::Certificate& cert, const crypto::PrivateKey& key,
                                 Replace replace) {
  SCEP_TRY(check_ca_name(name));
  if (replace == Replace::no && ::access(m_layout.ra_cert(name).c_str(), F_OK) == 0)
    return core::fail(Errc::already_exists,
                      fmt::format("CA \"{}\" already has an RA certificate (use --replace)", name));
  // The key goes first: ra.pem is what switches RA mode on.
  auto r = write_key_in(m_layout.ca_dir(name), scep::KeyRole::ra, key);
  // The key it replaces, if of the other kind, goes before ra.pem changes:
  // exactly one of ra-key.pem and ra-key.uri stays (a crash between leaves
  // the new key beside the old certificate, as replacing a key file does).
  if (r) {
    fs::path other = key.on_token() ? m_layout.ra_key(name) : m_layout.ra_key_uri(name);
    if (::unlink(other.c_str()) != 0 && errno != ENOENT)
      return core::fail(Errc::store_io, fmt::format("cannot remove {}: {}", other.string(), std::strerror(errno)));
  }
  if (r) r = write_file_atomic(m_layout.ra_cert(name), cert.pem(), 0640);
  return r;
}

core::Result<std::string> Store::default_ca(const config::Config& cfg) const {
  if (!cfg.server.default_ca.empty()) return cfg.server.default_ca;
  SCEP_TRY_ASSIGN(auto names, ca_names());
  if (names.size() == 1) return names.front();
  return core::fail(Errc::unknown_ca, names.empty() ? "the store has no CA" : "no default CA is configured");
}

Session::Session(StoreCache& cache) : m_store(cache.store()), m_cache(&cache), m_generation(cache.generation()) {}

core::Result<const config::Config*> Session::config() {
  if (!m_config) {
    if (m_cache) {
      SCEP_TRY_ASSIGN(auto cfg, m_cache->config(m_generation));
      m_config = std::move(cfg);
    } else {
      SCEP_TRY_ASSIGN(auto cfg, m_store.load_config());
      m_config = std::make_shared<const config::Config>(std::move(cfg));
    }
  }
  return m_config.get();
}

core::Result<std::string> Session::resolve_name(std::string_view name) {
  SCEP_TRY_ASSIGN(auto cfg, config());
  std::string resolved(name);
  if (resolved.empty()) {
    SCEP_TRY_ASSIGN(auto d, m_store.default_ca(*cfg));
    resolved = d;
  }
  if (!core::is_valid_name(resolved)) return core::fail(Errc::unknown_ca, "no such CA");
  return resolved;
}

core::Result<scep::CaBundle> Session::find_ca(std::string_view name) {
  SCEP_TRY_ASSIGN(auto resolved, resolve_name(name));
  return load_resolved_ca(resolved);
}

core::Result<scep::CaBundle> Session::load_resolved_ca(const std::string& name) {
  SCEP_TRY_ASSIGN(auto cfg, config());
  auto ca = m_cache ? m_cache->load_ca(name, *cfg, m_generation) : m_store.load_ca(name, *cfg);
  if (!ca && ca.error().code == Errc::not_found)
    return core::fail(Errc::unknown_ca, fmt::format("no CA called \"{}\"", name));
  return ca;
}

core::Result<std::string> Session::resolve_ca(std::string_view name) {
  SCEP_TRY_ASSIGN(auto resolved, resolve_name(name));
  // A long-lived process has the CA loaded (or loads it once): no system
  // call. Should the bundle not load (a damaged chain.pem), the file test
  // below decides. A one-request process (CGI) goes straight to the test:
  // parsing the certificates would cost it more than the rest of GetCACaps.
  if (m_cache && m_cache->long_lived() && load_resolved_ca(resolved)) return resolved;
  // A CA is its certificate file: that it exists is enough here.
  if (::access(m_store.layout().ca_cert(resolved).c_str(), F_OK) != 0)
    return core::fail(Errc::unknown_ca, fmt::format("no CA called \"{}\"", resolved));
  return resolved;
}

bool Session::strict_ca_names() {
  auto cfg = config();
  return cfg && (*cfg)->server.strict_ca_names;
}

core::Result<crypto::PrivateKey> Session::load_key(std::string_view ca, scep::KeyRole role) {
  return m_cache ? m_cache->load_key(ca, role, m_generation) : m_store.load_key(ca, role);
}

core::Result<std::optional<scep::CaBundle>> Session::next_ca(std::string_view name) {
  SCEP_TRY_ASSIGN(auto cfg, config());
  return m_store.load_next_ca(name, *cfg);
}

bool Session::has_next_ca(std::string_view name) { return m_store.has_next_ca(name); }

core::Result<std::vector<scep::EarlierCa>> Session::earlier_cas(std::string_view name) {
  return m_store.retired_cas(name);
}

core::Result<crypto::PrivateKey> Session::load_next_key(std::string_view name) { return m_store.load_next_key(name); }

core::Result<crypto::PrivateKey> Session::load_earlier_key(std::string_view name, std::string_view id) {
  return m_store.load_retired_key(name, id);
}

core::Result<policy::Policy> Session::load_policy(std::string_view name) {
  return m_cache ? m_cache->load_policy(name, m_generation) : m_store.load_policy(name);
}

std::shared_ptr<const scep::CrlMemo> Session::recall_crl(std::string_view ca) {
  if (!m_cache) return nullptr;
  auto recalled = m_cache->recall_crl(ca, m_generation);
  if (recalled.may_keep) m_crl_watched = ca;
  return recalled.memo;
}

void Session::keep_crl(std::string_view ca, std::shared_ptr<const scep::CrlMemo> memo) {
  if (m_cache && !m_crl_watched.empty() && m_crl_watched == ca) m_cache->keep_crl(ca, std::move(memo), m_generation);
}

}  // namespace store
