#include "store/file_ops.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <map>
#include <mutex>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

namespace store::sys {

namespace {

std::atomic<std::uint64_t> g_count{0};
std::atomic<std::uint64_t> g_fail_at{0};
std::atomic<int> g_error{0};

/// Counts one operation; true when this one is to fail (errno is set).
bool faulted() {
  std::uint64_t n = g_count.fetch_add(1, std::memory_order_relaxed) + 1;
  std::uint64_t at = g_fail_at.load(std::memory_order_relaxed);
  if (at == 0 || n != at) return false;
  errno = g_error.load(std::memory_order_relaxed);
  return true;
}

/// Store roots and a descriptor of each: paths below a root are opened
/// relative to it with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no
/// component below the root is a symbolic link. (The root itself may be
/// one: /var/lib/scep -> /srv/scep is the administrator's choice.)
struct Root {
  int fd = -1;  ///< O_PATH descriptor of the directory the root named when last looked at
  dev_t dev = 0;
  ino_t ino = 0;
};

struct Roots {
  std::mutex mutex;
  std::map<std::string, Root> by_path;  ///< root path as the store spells it
};

Roots& roots() {
  static Roots r;
  return r;
}

/// The descriptor of the root `path` lies below, and the rest of the path:
/// {-1, ""} if none. One stat(2) tells whether the root is still the same
/// directory (a store may be replaced whole, by a rename, while a long-lived
/// process serves it); if not, it is opened again. An old descriptor may be
/// in use by another thread this moment, so it is left open (one per
/// replacement, for the life of the process).
std::pair<int, std::string_view> beneath(std::string_view path) {
  auto& r = roots();
  std::lock_guard lock(r.mutex);
  for (auto& [root, entry] : r.by_path) {
    if (path.size() <= root.size() + 1 || !path.starts_with(root) || path[root.size()] != '/') continue;
    struct stat sb {};
    if (::stat(root.c_str(), &sb) != 0) return {-1, {}};
    if (entry.fd < 0 || sb.st_dev != entry.dev || sb.st_ino != entry.ino) {
      int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return {-1, {}};
      entry = {fd, sb.st_dev, sb.st_ino};
    }
    return {entry.fd, path.substr(root.size() + 1)};
  }
  return {-1, {}};
}

}  // namespace

void register_root(const std::filesystem::path& root) {
  std::string key = root.string();
  while (key.size() > 1 && key.back() == '/') key.pop_back();
  auto& r = roots();
  std::lock_guard lock(r.mutex);
  r.by_path.emplace(key, Root{});
}

void inject_fault(std::uint64_t nth, int error) {
  g_error.store(error);
  g_count.store(0);
  g_fail_at.store(nth);
}

std::uint64_t operations() { return g_count.load(); }

int open(const char* path, int flags, mode_t mode) {
  if (faulted()) return -1;
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (auto [root, rest] = beneath(path); root >= 0) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    std::string rel(rest);
    int fd = static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
    // A symbolic link on the way is ELOOP (as O_NOFOLLOW gives for the last
    // component). A kernel before 5.6 has no openat2 (ENOSYS), and some
    // seccomp filters refuse it (EPERM): by path, as below.
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return fd;
  }
  return ::open(path, flags, mode);
}

int mkostemp(std::string& templ, int flags) {
  // mkostemp(3)'s contract, through open() above: the six X's at the end
  // become random letters until O_EXCL creates a new file.
  static constexpr char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  if (templ.size() < 6 || templ.compare(templ.size() - 6, 6, "XXXXXX") != 0) {
    errno = EINVAL;
    return -1;
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    unsigned char r[6];
    if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) return -1;
    for (int i = 0; i < 6; ++i) templ[templ.size() - 6 + i] = letters[r[i] % (sizeof letters - 1)];
    int fd = open(templ.c_str(), flags | O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

ssize_t write(int fd, const void* data, std::size_t size) {
  if (faulted()) return -1;
  return ::write(fd, data, size);
}

int fsync(int fd) {
  if (faulted()) return -1;
  return ::fsync(fd);
}

int ftruncate(int fd, off_t size) {
  if (faulted()) return -1;
  return ::ftruncate(fd, size);
}

int rename(const char* from, const char* to) {
  if (faulted()) return -1;
  return ::rename(from, to);
}

int rename_noreplace(const char* from, const char* to) {
  if (faulted()) return -1;
  return ::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int rename_exchange(const char* from, const char* to) {
  if (faulted()) return -1;
  return ::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE);
}

int link(const char* from, const char* to) {
  if (faulted()) return -1;
  return ::link(from, to);
}

int unlink(const char* path) {
  if (faulted()) return -1;
  return ::unlink(path);
}

int mkdir(const char* path, mode_t mode) {
  if (faulted()) return -1;
  return ::mkdir(path, mode);
}

std::unexpected<core::Error> io_error(std::string_view what, const std::filesystem::path& p, int err) {
  auto code = err == ENOSPC || err == EDQUOT ? core::Errc::store_busy : core::Errc::store_io;
  return core::fail(code, fmt::format("{} {}: {}", what, p.string(), std::strerror(err)));
}

core::Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    if (errno == ENOENT) return names;
    // O_NOFOLLOW on a symlink gives ELOOP (or ENOTDIR with O_DIRECTORY).
    if (errno == ELOOP || errno == ENOTDIR)
      return core::fail(core::Errc::store_io, fmt::format("{} is not a directory (a symbolic link?)", dir.string()));
    return io_error("cannot list", dir, errno);
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    return io_error("cannot list", dir, err);
  }
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (!e) break;
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return io_error("cannot list", dir, err);
  return names;
}

}  // namespace store::sys
