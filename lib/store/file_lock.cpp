#include "store/file_lock.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include "store/file_ops.hpp"

namespace store {

namespace {

core::Result<int> open_lock_file(const std::filesystem::path& path) {
  int fd = sys::open(path.c_str(), O_RDWR | O_CREAT, 0640);
  if (fd < 0) return sys::io_error("cannot open", path, errno);
  return fd;
}

core::Error lock_failed(const std::filesystem::path& path, int fd) {
  int err = errno;
  ::close(fd);
  return sys::io_error("cannot lock", path, err).error();
}

}  // namespace

core::Result<FileLock> FileLock::whole(const std::filesystem::path& path) {
  SCEP_TRY_ASSIGN(auto fd, open_lock_file(path));
  while (::flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) return std::unexpected(lock_failed(path, fd));
  return FileLock(fd);
}

core::Result<std::optional<FileLock>> FileLock::try_whole(const std::filesystem::path& path) {
  SCEP_TRY_ASSIGN(auto fd, open_lock_file(path));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      ::close(fd);
      return std::optional<FileLock>();
    }
    if (errno != EINTR) return std::unexpected(lock_failed(path, fd));
  }
  return std::optional<FileLock>(FileLock(fd));
}

core::Result<FileLock> FileLock::byte(const std::filesystem::path& path, std::uint64_t offset) {
  return range(path, offset & ((std::uint64_t{1} << 62) - 1), 1);
}

core::Result<FileLock> FileLock::all_bytes(const std::filesystem::path& path) { return range(path, 0, 0); }

core::Result<FileLock> FileLock::range(const std::filesystem::path& path, std::uint64_t start, std::uint64_t length) {
  SCEP_TRY_ASSIGN(auto fd, open_lock_file(path));
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(start);
  fl.l_len = static_cast<off_t>(length);  // 0: to the end of any file size
  while (::fcntl(fd, F_OFD_SETLKW, &fl) != 0)
    if (errno != EINTR) return std::unexpected(lock_failed(path, fd));
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);  // closing the last descriptor drops either lock
}

}  // namespace store
