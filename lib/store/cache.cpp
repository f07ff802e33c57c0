#include "store/cache.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/names.hpp"

namespace store {

namespace fs = std::filesystem;

namespace {

std::int64_t nanoseconds(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

/// File systems whose changes may come from another host, where inotify
/// only sees this host's.
bool is_network_fs(const fs::path& dir) {
  struct statfs sf {};
  if (::statfs(dir.c_str(), &sf) != 0) return true;
  switch (static_cast<unsigned long>(sf.f_type)) {
    case NFS_SUPER_MAGIC:
    case SMB_SUPER_MAGIC:
    case 0xFF534D42UL:  // CIFS
    case 0xFE534D42UL:  // SMB2
    case 0x65735546UL:  // FUSE
    case 0x00C36400UL:  // Ceph
    case V9FS_MAGIC:
    case AFS_SUPER_MAGIC:
    case 0x01161970UL:  // GFS2
    case 0x7461636FUL:  // OCFS2
    case 0x0BD00BD0UL:  // Lustre
    case 0x47504653UL:  // GPFS
    case 0x19830326UL:  // BeeGFS
      return true;
    default: return false;
  }
}

/// A directory that holds watched files: their writes count too.
constexpr std::uint32_t file_dir_mask = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                        IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
/// A directory on the way (up to the store root's parent): only its entries
/// matter, so a log written beside the store wakes nothing.
constexpr std::uint32_t path_dir_mask = IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                        IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

std::unique_ptr<ChangeWatch> ChangeWatch::create(const fs::path& top) {
  std::error_code ec;
  fs::path absolute = fs::absolute(top, ec).lexically_normal();
  if (ec) return nullptr;
  if (!absolute.has_filename()) absolute = absolute.parent_path();  // "a/b/" -> "a/b"
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return nullptr;
  return std::unique_ptr<ChangeWatch>(new ChangeWatch(fd, std::move(absolute)));
}

ChangeWatch::~ChangeWatch() { ::close(m_fd); }

namespace {

/// The mount a path is on, or 0 when the kernel does not say (statx
/// without STATX_MNT_ID): then the check below is skipped.
std::uint64_t mount_id(const fs::path& p) {
  struct statx sx {};
  if (::statx(AT_FDCWD, p.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) != 0) return 0;
  return (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
}

}  // namespace

bool ChangeWatch::watch(const fs::path& file) {
  std::error_code ec;
  fs::path path = fs::absolute(file, ec).lexically_normal();
  if (ec || !path.has_filename()) return false;
  fs::path dir = path.parent_path();
  // Only files at or below the top (the store root), reached without
  // symbolic links: a link's target, or a directory a link points into, can
  // be replaced where nobody watches.
  auto [top_end, dir_end] = std::mismatch(m_top.begin(), m_top.end(), dir.begin(), dir.end());
  if (top_end != m_top.end()) return false;
  if (fs::canonical(dir, ec) != dir || ec) return false;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return false;
    // A file with other names (hard links) can be written through them,
    // in directories nobody watches. (A directory's links are its entries.)
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) return false;
    // A file bind-mounted on its own (a container's config) changes through
    // its other directory.
    auto file_mount = mount_id(path);
    if (file_mount != 0 && file_mount != mount_id(dir)) return false;
  }
  if (is_network_fs(dir)) return false;
  std::lock_guard lock(m_mutex);
  // The file in its directory, then each directory up to the top in its
  // parent: a directory renamed or replaced is an event one level up.
  if (!add_locked(dir, path.filename().string(), file_dir_mask)) return false;
  for (fs::path d = dir; d != m_top && d.has_parent_path() && d != d.parent_path(); d = d.parent_path())
    if (!add_locked(d.parent_path(), d.filename().string(), path_dir_mask)) return false;
  if (m_top.has_parent_path() && m_top != m_top.parent_path())
    return add_locked(m_top.parent_path(), m_top.filename().string(), path_dir_mask);
  return true;
}

namespace {

/// The name that stands for every entry of a watched directory (no file
/// name can contain a slash).
constexpr std::string_view any_entry = "/";

}  // namespace

bool ChangeWatch::watch_entries(const fs::path& dir) {
  if (!watch(dir)) return false;
  std::error_code ec;
  fs::path path = fs::absolute(dir, ec).lexically_normal();
  if (ec || !path.has_filename()) return false;
  struct stat st {};
  // Missing: its creation is an entry event one level up, which watch() covers.
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return false;
  std::lock_guard lock(m_mutex);
  return add_locked(path, std::string(any_entry), file_dir_mask);
}

bool ChangeWatch::add_locked(const fs::path& dir, const std::string& name, std::uint32_t mask) {
  // Asked again each time (this runs only after a reported change): a path
  // that now leads to another directory gets another watch descriptor.
  // IN_MASK_ADD: the store root holds scep.toml and is on the way to ca/.
  int wd = ::inotify_add_watch(m_fd, dir.c_str(), mask | IN_MASK_ADD);
  if (wd < 0) return false;
  for (auto it = m_dirs.begin(); it != m_dirs.end();) {
    if (it->first != wd && it->second.first == dir) {
      ::inotify_rm_watch(m_fd, it->first);
      it = m_dirs.erase(it);
      ++m_generation;
    } else {
      ++it;
    }
  }
  auto& entry = m_dirs[wd];
  if (entry.first.empty()) entry.first = dir;
  if (std::find(entry.second.begin(), entry.second.end(), name) == entry.second.end()) entry.second.push_back(name);
  return true;
}

std::uint64_t ChangeWatch::generation() {
  std::lock_guard lock(m_mutex);
  drain_locked();
  return m_generation;
}

void ChangeWatch::drain_locked() {
  alignas(inotify_event) std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(m_fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: nothing queued
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        ++m_generation;
        continue;
      }
      auto it = m_dirs.find(ev->wd);
      if (it == m_dirs.end()) continue;
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
        // The directory is gone or elsewhere: forget it; the next use stats
        // and watches whatever is at that path then.
        ++m_generation;
        if (!(ev->mask & IN_IGNORED)) ::inotify_rm_watch(m_fd, ev->wd);
        m_dirs.erase(it);
        continue;
      }
      const auto& names = it->second.second;
      std::string_view name = ev->len ? std::string_view(ev->name) : std::string_view();
      if (std::find(names.begin(), names.end(), name) != names.end() ||
          std::find(names.begin(), names.end(), any_entry) != names.end())
        ++m_generation;
    }
  }
}

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

void StoreCache::watch_changes() {
  if (m_long_lived) return;
  m_long_lived = true;
  m_watch = ChangeWatch::create(m_store.root());
  m_config.use_watch(m_watch.get());
  m_cas.use_watch(m_watch.get());
  m_keys.use_watch(m_watch.get());
  m_policies.use_watch(m_watch.get());
}

StoreCache::CrlRecall StoreCache::recall_crl(std::string_view name, std::uint64_t generation) {
  if (!m_watch || generation == 0 || !core::is_valid_name(name)) return {};
  {
    std::lock_guard lock(m_crl_mutex);
    auto it = m_crls.find(name);
    if (it != m_crls.end() && it->second.first == generation) {
      m_crl_recalls.fetch_add(1, std::memory_order_relaxed);
      return {it->second.second, false};
    }
  }
  // Watched before the caller reads: a change after this is reported.
  const Layout& layout = m_store.layout();
  bool watched = m_watch->watch(layout.crl(name)) && m_watch->watch_entries(layout.revoked_dir(name));
  return {nullptr, watched};
}

void StoreCache::keep_crl(std::string_view name, std::shared_ptr<const scep::CrlMemo> memo, std::uint64_t generation) {
  if (!m_watch || generation == 0 || !memo) return;
  std::lock_guard lock(m_crl_mutex);
  auto it = m_crls.find(name);
  if (it == m_crls.end()) m_crls.emplace(std::string(name), std::pair(generation, std::move(memo)));
  else if (it->second.first <= generation) it->second = {generation, std::move(memo)};
}

core::Result<std::shared_ptr<const config::Config>> StoreCache::config(std::uint64_t generation) {
  return m_config.get(
      std::string(on_disk::config), [this] { return std::vector<fs::path>{m_store.config_path()}; },
      [this] { return m_store.load_config(); }, generation);
}

core::Result<scep::CaBundle> StoreCache::load_ca(std::string_view name, const config::Config& cfg,
                                                 std::uint64_t generation) {
  // A name that is not a store name never becomes a path: the store refuses it.
  if (!core::is_valid_name(name)) return m_store.load_ca(name, cfg);
  // While an activation is incomplete the CA is not served (Store::load_ca
  // says why); a cached generation is no exception.
  if (m_store.activation_pending(name)) return m_store.load_ca(name, cfg);
  // chain.pem and ra.pem may be absent; their appearance changes the stamps too.
  auto files = [&] {
    std::vector<fs::path> out;
    for (auto file : ca_bundle_files) out.push_back(m_store.ca_dir(name) / file);
    return out;
  };
  SCEP_TRY_ASSIGN(auto bundle, m_cas.get(
                                   name, files, [&] { return m_store.load_ca(name, config::Config{}); }, generation));
  scep::CaBundle ca = *bundle;
  ca.options = cfg.options_for(name);
  return ca;
}

core::Result<crypto::PrivateKey> StoreCache::load_key(std::string_view name, scep::KeyRole role,
                                                      std::uint64_t generation) {
  if (!core::is_valid_name(name) || m_store.activation_pending(name)) return m_store.load_key(name, role);
  const Layout& at = m_store.layout();
  bool ca = role == scep::KeyRole::ca;
  // key.pem or key.uri, and for a token key scep.toml (its [pkcs11] module).
  auto files = [&] {
    std::vector<fs::path> out{ca ? at.ca_key(name) : at.ra_key(name), ca ? at.ca_key_uri(name) : at.ra_key_uri(name)};
    if (::access(out.back().c_str(), F_OK) == 0) out.push_back(m_store.config_path());
    return out;
  };
  SCEP_TRY_ASSIGN(auto key, m_keys.get(
                                fmt::format("{}/{}", name, ca ? on_disk::ca_key : on_disk::ra_key), files,
                                [&] { return m_store.load_key(name, role); }, generation,
                                [](const crypto::PrivateKey& k) { return k.usable(); }));
  return *key;
}

core::Result<policy::Policy> StoreCache::load_policy(std::string_view name, std::uint64_t generation) {
  if (!core::is_valid_name(name)) return m_store.load_policy(name);
  SCEP_TRY_ASSIGN(auto pol, m_policies.get(
                                name, [&] { return std::vector<fs::path>{m_store.policy_path(name)}; },
                                [&] { return m_store.load_policy(name); }, generation));
  return *pol;
}

}  // namespace store
