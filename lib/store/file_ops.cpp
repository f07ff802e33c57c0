#include "store/file_ops.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
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

}  // namespace

void inject_fault(std::uint64_t nth, int error) {
  g_error.store(error);
  g_count.store(0);
  g_fail_at.store(nth);
}

std::uint64_t operations() { return g_count.load(); }

int open(const char* path, int flags, mode_t mode) {
  if (faulted()) return -1;
  return ::open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

int mkostemp(std::string& templ, int flags) {
  if (faulted()) return -1;
  return ::mkostemp(templ.data(), flags | O_CLOEXEC);
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
  int fd = faulted() ? -1 : ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
