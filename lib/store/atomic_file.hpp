#pragma once

#include <filesystem>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace store {

/// Writes a file so that readers see either the old or the whole new content:
/// a temp file in the same directory, fsync, rename, fsync of the directory.
/// Nothing is visible before commit(); the destructor discards an uncommitted file.
class AtomicFile {
 public:
  static core::Result<AtomicFile> create(std::filesystem::path target, unsigned mode = 0640);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  core::Result<void> write(core::ByteView data);
  core::Result<void> write(std::string_view text) {
    return write(core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  /// Replaces the target. With `Replace::no`, an existing target is kept and
  /// the call fails with already_exists (link + unlink, atomic).
  enum class Replace { yes, no };
  core::Result<void> commit(Replace replace = Replace::yes);

 private:
  AtomicFile(std::filesystem::path target, std::filesystem::path temp, int fd)
      : m_target(std::move(target)), m_temp(std::move(temp)), m_fd(fd) {}
  std::filesystem::path m_target, m_temp;
  int m_fd = -1;
};

/// One-shot helper: the whole content at once.
core::Result<void> write_file_atomic(const std::filesystem::path& target, core::ByteView data, unsigned mode = 0640,
                                     AtomicFile::Replace replace = AtomicFile::Replace::yes);
inline core::Result<void> write_file_atomic(const std::filesystem::path& target, std::string_view text,
                                            unsigned mode = 0640,
                                            AtomicFile::Replace replace = AtomicFile::Replace::yes) {
  return write_file_atomic(target, core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                           mode, replace);
}

core::Result<core::Bytes> read_file(const std::filesystem::path& path, std::size_t max_size = 16u << 20);
/// fsync a directory, so a rename in it survives a crash.
core::Result<void> sync_directory(const std::filesystem::path& dir);

}  // namespace store
