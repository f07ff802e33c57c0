#pragma once
// A long-lived server's view of a store's slow-changing part: scep.toml and
// each CA's certificates and keys, parsed once and kept between requests.
// A use re-stats the files behind a value (a few stat(2) calls) and reloads
// the value when one of them changed, so `scepctl ca set`, a new RA
// certificate or an edited scep.toml take effect without a restart. With a
// ChangeWatch (inotify) the stat calls are skipped while the kernel reported
// no change to those files: one non-blocking read(2) instead.
//
// Per-request state (secrets, transactions, pending requests, issued
// certificates) is never cached: other processes change it. The one
// exception is a CA's CRL (recall_crl), and only while inotify reports no
// change to crl.der nor to the entries of revoked/.

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
#include "scep/roles.hpp"
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

/// inotify on the directories of the files a cache depends on. generation()
/// drains the kernel's queue and changes whenever one of those files may have
/// changed: created, replaced (rename), written, deleted, chmod'ed, or its
/// directory moved or deleted. The kernel queues an event before the system
/// call that made the change returns, so a change finished before generation()
/// is called is always seen. Thread-safe.
class ChangeWatch {
 public:
  /// Watches files at or below `top` (a store root); nullptr when inotify
  /// is unavailable (then every use stats).
  static std::unique_ptr<ChangeWatch> create(const std::filesystem::path& top);
  ~ChangeWatch();
  ChangeWatch(const ChangeWatch&) = delete;
  ChangeWatch& operator=(const ChangeWatch&) = delete;

  /// Reports changes to `file` from now on, and the renaming or replacing of
  /// any directory between it and the top. False when that cannot be
  /// promised: a file outside the top, a missing directory, a symbolic link
  /// on the way (its target may change elsewhere), a file with other hard
  /// links, a file bind-mounted on its own, a network file system (other
  /// hosts' changes are not seen).
  bool watch(const std::filesystem::path& file);
  /// watch(dir), and every entry of it: a file created, written, renamed or
  /// removed in `dir`. A directory that does not exist yet is covered by
  /// watch(dir) until it does.
  bool watch_entries(const std::filesystem::path& dir);
  std::uint64_t generation();

 private:
  ChangeWatch(int fd, std::filesystem::path top) : m_fd(fd), m_top(std::move(top)) {}
  void drain_locked();
  bool add_locked(const std::filesystem::path& dir, const std::string& name, std::uint32_t mask);
  int m_fd;
  std::filesystem::path m_top;
  std::mutex m_mutex;
  std::uint64_t m_generation = 1;
  /// watch descriptor -> its directory and the names in it that matter
  std::map<int, std::pair<std::filesystem::path, std::vector<std::string>>> m_dirs;
};

/// Values derived from files, each under a key, with the stamps of the files
/// it was made from. Thread-safe; values are immutable and shared.
template <class T>
class StampedCache {
 public:
  using Loader = std::function<core::Result<T>()>;
  /// The files a value is made from; called only when they must be looked
  /// at (a watched, unchanged store answers without building a path).
  using Files = std::function<std::vector<std::filesystem::path>()>;
  /// Whether a cached value may still be used (a token key whose login a
  /// token reset ended may not); none: always.
  using StillGood = std::function<bool(const T&)>;

  /// The value for `key`: the cached one while none of `files_of()`
  /// changed, else `load()` (errors are returned, never cached).
  /// `generation`: the watch's, read when the request began (0: stat the files).
  core::Result<std::shared_ptr<const T>> get(std::string_view key, const Files& files_of, const Loader& load,
                                             std::uint64_t generation = 0, const StillGood& still_good = {}) {
    if (!m_watch) generation = 0;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_entries.find(key);
      if (it != m_entries.end() && still_good && !still_good(*it->second.value)) m_entries.erase(it);
      else if (generation != 0 && it != m_entries.end() && it->second.generation == generation) return it->second.value;
    }
    const std::vector<std::filesystem::path> files = files_of();
    // Watched before the stat: a change after it is reported.
    bool watched = m_watch != nullptr;
    for (const auto& f : files) watched = watched && m_watch->watch(f);
    if (!watched) generation = 0;
    std::vector<FileStamp> stamps;
    stamps.reserve(files.size());
    for (const auto& f : files) stamps.push_back(stamp_of(f));
    {
      std::lock_guard lock(m_mutex);
      auto it = m_entries.find(key);
      if (it != m_entries.end() && it->second.stamps == stamps) {
        it->second.generation = generation;
        return it->second.value;
      }
    }
    // Loaded outside the lock: a slow key parse must not stall other CAs.
    // Stamps taken before the read: a file replaced meanwhile differs next time.
    auto value = load();
    m_loads.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(m_mutex);
    if (!value) {
      if (auto it = m_entries.find(key); it != m_entries.end()) m_entries.erase(it);
      return std::unexpected(value.error());
    }
    auto shared = std::make_shared<const T>(std::move(*value));
    m_entries.insert_or_assign(std::string(key), Entry{std::move(stamps), shared, generation});
    return shared;
  }

  std::uint64_t loads() const { return m_loads.load(std::memory_order_relaxed); }
  /// Skips the stat calls while `watch` reports no change (it must outlive
  /// this cache; set before the first get()): get() is then given
  /// watch->generation() as read at the start of the request.
  void use_watch(ChangeWatch* watch) { m_watch = watch; }

 private:
  struct Entry {
    std::vector<FileStamp> stamps;
    std::shared_ptr<const T> value;
    std::uint64_t generation = 0;  ///< of the last check; 0: stat next time
  };
  ChangeWatch* m_watch = nullptr;
  std::mutex m_mutex;
  std::map<std::string, Entry, std::less<>> m_entries;
  std::atomic<std::uint64_t> m_loads{0};
};

/// One per server and store, shared by all its requests and threads;
/// `store::Session(cache)` is the per-request view over it.
class StoreCache {
 public:
  explicit StoreCache(Store store) : m_store(std::move(store)) {}
  /// For a long-lived process: inotify instead of stat(2) while nothing
  /// changes (falls back to stat where inotify cannot promise to see changes).
  void watch_changes();
  /// Whether watch_changes() was called: a long-lived process, which keeps
  /// values loaded (checked by inotify, or by stat(2) where inotify failed).
  bool long_lived() const { return m_long_lived; }
  StoreCache(const StoreCache&) = delete;
  StoreCache& operator=(const StoreCache&) = delete;

  /// The store itself (a path: safe to share between threads).
  Store& store() { return m_store; }

  /// Read once when a request begins and passed to the getters below: what
  /// changed before it is seen. 0 without watch_changes().
  std::uint64_t generation() { return m_watch ? m_watch->generation() : 0; }

  core::Result<std::shared_ptr<const config::Config>> config(std::uint64_t generation = 0);
  /// As Store::load_ca: the CA's certificates with its options from `cfg`.
  core::Result<scep::CaBundle> load_ca(std::string_view name, const config::Config& cfg, std::uint64_t generation = 0);
  /// As Store::load_key. A key on a token stays loaded (its login kept)
  /// while it is usable(); after a token reset it is loaded again.
  core::Result<crypto::PrivateKey> load_key(std::string_view name, scep::KeyRole role, std::uint64_t generation = 0);
  /// As Store::load_policy: parsed once, again only when policies/NAME.toml changes.
  core::Result<policy::Policy> load_policy(std::string_view name, std::uint64_t generation = 0);

  /// What recall_crl found: the memo, if still good, and whether the
  /// caller may keep a memo made from what it reads next.
  struct CrlRecall {
    std::shared_ptr<const scep::CrlMemo> memo;
    bool may_keep = false;
  };
  /// The memo keep_crl() left for CA `name` at `generation`, the watch's at
  /// the start of the calling request: nothing the watch covers changed
  /// since. Without one, watches ca/NAME/crl.der and the entries of
  /// ca/NAME/revoked/ (may_keep: they are watched). Nothing without
  /// watch_changes() or where inotify cannot promise to see changes.
  CrlRecall recall_crl(std::string_view name, std::uint64_t generation);
  /// Keeps a memo made after recall_crl() said may_keep, by a request that
  /// began at `generation`; a memo kept by a later request stays.
  void keep_crl(std::string_view name, std::shared_ptr<const scep::CrlMemo> memo, std::uint64_t generation);
  /// How many recall_crl() calls found a memo (tests: an unchanged store is
  /// not read).
  std::uint64_t crl_recalls() const { return m_crl_recalls.load(std::memory_order_relaxed); }

  /// How many times a value was (re)loaded from disk since construction:
  /// lets tests see that an unchanged store is not read again.
  std::uint64_t loads() const { return m_config.loads() + m_cas.loads() + m_keys.loads() + m_policies.loads(); }

 private:
  Store m_store;
  bool m_long_lived = false;
  std::unique_ptr<ChangeWatch> m_watch;
  StampedCache<config::Config> m_config;
  StampedCache<scep::CaBundle> m_cas;  ///< options left default: they come from the config of the moment
  StampedCache<crypto::PrivateKey> m_keys;
  StampedCache<policy::Policy> m_policies;
  std::mutex m_crl_mutex;
  /// CA name -> the generation it was kept at, the memo
  std::map<std::string, std::pair<std::uint64_t, std::shared_ptr<const scep::CrlMemo>>, std::less<>> m_crls;
  std::atomic<std::uint64_t> m_crl_recalls{0};
};

}  // namespace store
