#include "store/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "store/file_ops.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;

static std::unexpected<core::Error> io_error(std::string_view what, const fs::path& p, int err = errno) {
  return sys::io_error(what, p, err);
}

core::Result<AtomicFile> AtomicFile::create(fs::path target, unsigned mode) {
  std::string temp = (target.parent_path() / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = sys::mkostemp(temp, 0);
  if (fd < 0) return io_error("cannot create a file in", target.parent_path());
  if (fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return io_error("cannot set the mode of", temp, err);
  }
  return AtomicFile(std::move(target), fs::path(temp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_target(std::move(other.m_target)), m_temp(std::move(other.m_temp)), m_fd(other.m_fd) {
  other.m_fd = -1;
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) {
    ::close(m_fd);
    ::unlink(m_temp.c_str());
  }
}

core::Result<void> AtomicFile::write(core::ByteView data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = sys::write(m_fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot write", m_temp);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

core::Result<void> AtomicFile::commit(Replace replace, Durable durable) {
  if (durable != Durable::no && sys::fsync(m_fd) != 0) return io_error("cannot sync", m_temp);
  ::close(m_fd);
  m_fd = -1;
  int rc = replace == Replace::yes ? sys::rename(m_temp.c_str(), m_target.c_str())
                                   : sys::link(m_temp.c_str(), m_target.c_str());
  int err = errno;
  // A temp file that cannot be removed is left for `scepctl check --repair`.
  if (replace == Replace::no || rc != 0) ::unlink(m_temp.c_str());
  if (rc != 0 && err == EEXIST) return core::fail(Errc::already_exists, m_target.string() + " already exists");
  if (rc != 0) return io_error("cannot create", m_target, err);
  if (durable != Durable::yes) return {};
  return sync_directory(m_target.parent_path());
}

core::Result<void> write_file_atomic(const fs::path& target, core::ByteView data, unsigned mode,
                                     AtomicFile::Replace replace, AtomicFile::Durable durable) {
  SCEP_TRY_ASSIGN(auto file, AtomicFile::create(target, mode));
  SCEP_TRY(file.write(data));
  return file.commit(replace, durable);
}

core::Result<core::Bytes> read_file(const fs::path& path, std::size_t max_size) {
  int fd = sys::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return core::fail(Errc::not_found, path.string() + " does not exist");
    if (errno == ELOOP)
      return core::fail(Errc::store_io, path.string() + " is a symbolic link: the store follows none");
    return io_error("cannot open", path);
  }
  core::Bytes out;
  std::uint8_t buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max_size) {
      ::close(fd);
      return core::fail(Errc::store_io, path.string() + " is too large");
    }
  }
  ::close(fd);
  return out;
}

int SyncGroup::sync() {
  std::unique_lock lock(m_mutex);
  const std::uint64_t ticket = ++m_issued;
  for (;;) {
    // A finished sync started after this ticket was issued; the first such
    // one decides.
    if (m_covered >= ticket) {
      for (auto it = m_failures.begin(); it != m_failures.end(); ++it) {
        if (ticket < it->first || it->last < ticket) continue;
        const int error = it->error;
        // Each covered ticket is one caller that reads its failure once.
        if (--it->unread == 0) m_failures.erase(it);
        return error;
      }
      return 0;
    }
    if (m_running) {
      m_done.wait(lock);
      continue;
    }
    m_running = true;
    ++m_runs;
    const std::uint64_t covers = m_issued;  // every change made before now
    lock.unlock();
    int result;
    try {
      result = m_run();
    } catch (...) {
      result = EIO;
    }
    lock.lock();
    m_running = false;
    if (result != 0) m_failures.push_back({m_covered + 1, covers, result, covers - m_covered});
    m_covered = covers;
    m_done.notify_all();
  }
}

std::uint64_t SyncGroup::runs() const {
  std::lock_guard lock(m_mutex);
  return m_runs;
}

std::uint64_t SyncGroup::calls() const {
  std::lock_guard lock(m_mutex);
  return m_issued;
}

std::size_t SyncGroup::failures_held() const {
  std::lock_guard lock(m_mutex);
  return m_failures.size();
}

namespace {

int fsync_directory(const std::string& dir) {
  int fd = sys::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return errno;
  int rc = sys::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL): nothing more to do.
  return rc != 0 && err != EINVAL ? err : 0;
}

/// One group per directory path. A store has a fixed handful of directories
/// per CA, so the map stays small and entries live as long as the process.
SyncGroup& directory_group(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<SyncGroup>> groups;
  std::lock_guard lock(mutex);
  auto& group = groups[dir];
  if (!group) group = std::make_unique<SyncGroup>([dir] { return fsync_directory(dir); });
  return *group;
}

}  // namespace

core::Result<void> sync_directory(const fs::path& dir) {
  std::string path = dir.empty() ? std::string(".") : dir.lexically_normal().string();
  if (int err = directory_group(path).sync(); err != 0) {
    if (err == ENOTDIR || err == ENOENT || err == EACCES) return io_error("cannot open directory", dir, err);
    return io_error("cannot sync directory", dir, err);
  }
  return {};
}

}  // namespace store
