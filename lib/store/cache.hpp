#pragma once
// A long-lived server's view of a store's slow-changing part: scep.toml and
// each CA's certificates and keys, parsed once and kept between requests.
// Every use re-stats the files behind a value (a few stat(2) calls) and
// reloads the value when one of them changed, so `scepctl ca set`, a new RA
// certificate or an edited scep.toml take effect without a restart.
//
// Per-request state (secrets, transactions, pending requests, issued
// certificates, CRLs) is never cached: other processes change it.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/keys.hpp"
#include "scep/repository.hpp"
#include "store/store.hpp"

namespace store {

/// What stat(2) says about a path. Any difference means the file was
/// replaced (new inode: our atomic writes rename), rewritten (size, mtime)
/// or touched in place (ctime, which utime cannot set back).
struct FileStamp {
  bool exists = false;
  std::uint64_t device = 0, inode = 0;
  std::int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const std::filesystem::path& p);

/// Values derived from files, each under a key, with the stamps of the files
/// it was made from. Thread-safe; values are immutable and shared.
template <class T>
class StampedCache {
 public:
  using Loader = std::function<core::Result<T>()>;

  /// The value for `key`: the cached one while none of `files` changed,
  /// else `load()` (errors are returned, never cached).
  core::Result<std::shared_ptr<const T>> get(const std::string& key, const std::vector<std::filesystem::path>& files,
                                             const Loader& load) {
    std::vector<FileStamp> stamps;
    stamps.reserve(files.size());
    for (const auto& f : files) stamps.push_back(stamp_of(f));
    {
      std::lock_guard lock(m_mutex);
      auto it = m_entries.find(key);
      if (it != m_entries.end() && it->second.stamps == stamps) return it->second.value;
    }
    // Loaded outside the lock: a slow key parse must not stall other CAs.
    // Stamps taken before the read: a file replaced meanwhile differs next time.
    auto value = load();
    m_loads.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(m_mutex);
    if (!value) {
      m_entries.erase(key);
      return std::unexpected(value.error());
    }
    auto shared = std::make_shared<const T>(std::move(*value));
    m_entries.insert_or_assign(key, Entry{std::move(stamps), shared});
    return shared;
  }

  std::uint64_t loads() const { return m_loads.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::vector<FileStamp> stamps;
    std::shared_ptr<const T> value;
  };
  std::mutex m_mutex;
  std::map<std::string, Entry, std::less<>> m_entries;
  std::atomic<std::uint64_t> m_loads{0};
};

/// One per server and store, shared by all its requests and threads;
/// `store::Repository(cache)` is the per-request view over it.
class StoreCache {
 public:
  explicit StoreCache(Store store) : m_store(std::move(store)) {}
  StoreCache(const StoreCache&) = delete;
  StoreCache& operator=(const StoreCache&) = delete;

  /// The store itself (a path: safe to share between threads).
  Store& store() { return m_store; }

  core::Result<std::shared_ptr<const config::Config>> config();
  /// As Store::load_ca: the CA's certificates with its options from `cfg`.
  core::Result<scep::CaBundle> load_ca(std::string_view name, const config::Config& cfg);
  /// As Store::load_key.
  core::Result<crypto::PrivateKey> load_key(std::string_view name, scep::KeyRole role);

  /// How many times a value was (re)loaded from disk since construction:
  /// lets tests see that an unchanged store is not read again.
  std::uint64_t loads() const { return m_config.loads() + m_cas.loads() + m_keys.loads(); }

 private:
  Store m_store;
  StampedCache<config::Config> m_config;
  StampedCache<scep::CaBundle> m_cas;  ///< options left default: they come from the config of the moment
  StampedCache<crypto::PrivateKey> m_keys;
};

}  // namespace store
