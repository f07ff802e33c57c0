#pragma once
// Internal to the store: locks that the kernel drops when the holder exits,
// so a killed CGI process never leaves one behind.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

#include "core/error.hpp"

namespace store {

/// An exclusive lock, held until destruction: either the whole file (flock)
/// or one byte of it (an open-file-description lock, so two threads of one
/// process exclude each other as two processes do).
class FileLock {
 public:
  /// flock(LOCK_EX) on `path`, created 0640 if missing.
  static core::Result<FileLock> whole(const std::filesystem::path& path);
  /// flock(LOCK_EX | LOCK_NB): nullopt at once while another holds it.
  static core::Result<std::optional<FileLock>> try_whole(const std::filesystem::path& path);
  /// F_OFD_SETLKW on the byte at `offset` (< 2^62) of `path`: holders of
  /// different offsets do not wait for each other.
  static core::Result<FileLock> byte(const std::filesystem::path& path, std::uint64_t offset);
  /// F_OFD_SETLKW on every byte of `path`: waits for each byte holder and
  /// keeps new ones waiting (check --repair over one CA's transactions).
  static core::Result<FileLock> all_bytes(const std::filesystem::path& path);

  FileLock(FileLock&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : m_fd(fd) {}
  static core::Result<FileLock> range(const std::filesystem::path& path, std::uint64_t start, std::uint64_t length);
  int m_fd;
};

}  // namespace store
