#include "store/cache.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include "core/names.hpp"

namespace store {

namespace fs = std::filesystem;

namespace {

std::int64_t nanoseconds(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

FileStamp stamp_of(const fs::path& p) {
  struct stat st {};
  // Unreadable and missing look alike here; the loader reports which it was.
  if (::stat(p.c_str(), &st) != 0) return {};
  return FileStamp{true,
                   static_cast<std::uint64_t>(st.st_dev),
                   static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::int64_t>(st.st_size),
                   nanoseconds(st.st_mtim),
                   nanoseconds(st.st_ctim)};
}

core::Result<std::shared_ptr<const config::Config>> StoreCache::config() {
  return m_config.get("scep.toml", {m_store.config_path()}, [this] { return m_store.load_config(); });
}

core::Result<scep::CaBundle> StoreCache::load_ca(std::string_view name, const config::Config& cfg) {
  // A name that is not a store name never becomes a path: the store refuses it.
  if (!core::is_valid_name(name)) return m_store.load_ca(name, cfg);
  fs::path dir = m_store.ca_dir(name);
  // chain.pem and ra.pem may be absent; their appearance changes the stamps too.
  auto bundle = m_cas.get(std::string(name), {dir / "cert.pem", dir / "chain.pem", dir / "ra.pem"},
                          [&] { return m_store.load_ca(name, config::Config{}); });
  if (!bundle) return std::unexpected(bundle.error());
  scep::CaBundle ca = **bundle;
  ca.options = cfg.options_for(name);
  return ca;
}

core::Result<crypto::PrivateKey> StoreCache::load_key(std::string_view name, scep::KeyRole role) {
  if (!core::is_valid_name(name)) return m_store.load_key(name, role);
  const char* file = role == scep::KeyRole::ca ? "key.pem" : "ra-key.pem";
  auto key = m_keys.get(fmt::format("{}/{}", name, file), {m_store.ca_dir(name) / file},
                        [&] { return m_store.load_key(name, role); });
  if (!key) return std::unexpected(key.error());
  return **key;
}

}  // namespace store
