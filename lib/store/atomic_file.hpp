#pragma once
// Whole-file writes that readers see complete or not at all (temp file,
// fsync, rename): how every store record is written.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

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
  /// Durable::yes syncs the file, then its directory after the rename.
  /// Durable::file leaves the directory's sync to the caller (who must know
  /// whether the new name is visible before it is synced). Durable::no
  /// syncs nothing: for an index that `scepctl check` rebuilds from the
  /// records, whose own write is the durable one.
  enum class Durable { yes, file, no };
  core::Result<void> commit(Replace replace = Replace::yes, Durable durable = Durable::yes);

 private:
  AtomicFile(std::filesystem::path target, std::filesystem::path temp, int fd)
      : m_target(std::move(target)), m_temp(std::move(temp)), m_fd(fd) {}
  std::filesystem::path m_target, m_temp;
  int m_fd = -1;
};

/// One-shot helper: the whole content at once.
core::Result<void> write_file_atomic(const std::filesystem::path& target, core::ByteView data, unsigned mode = 0640,
                                     AtomicFile::Replace replace = AtomicFile::Replace::yes,
                                     AtomicFile::Durable durable = AtomicFile::Durable::yes);
inline core::Result<void> write_file_atomic(const std::filesystem::path& target, std::string_view text,
                                            unsigned mode = 0640,
                                            AtomicFile::Replace replace = AtomicFile::Replace::yes,
                                            AtomicFile::Durable durable = AtomicFile::Durable::yes) {
  return write_file_atomic(target, core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                           mode, replace, durable);
}

/// The whole file; not_found when it does not exist. A symbolic link is an
/// error (the store follows none).
core::Result<core::Bytes> read_file(const std::filesystem::path& path, std::size_t max_size = 16u << 20);
/// fsync a directory, so a rename in it survives a crash. Threads of one
/// process that sync the same directory at once share fsyncs (SyncGroup).
core::Result<void> sync_directory(const std::filesystem::path& dir);

/// Group commit for one thing to sync (a directory): a caller whose change
/// is already made calls sync(); it returns once a sync that *started after
/// the call* has finished. While one sync runs, callers queue, and the next
/// sync covers all of them: eight enrollments linking into tx/ at once cost
/// two or three fsyncs of tx/ instead of eight. One caller alone costs one.
class SyncGroup {
 public:
  /// `run` performs the sync: 0, or an errno value.
  explicit SyncGroup(std::function<int()> run) : m_run(std::move(run)) {}
  /// 0, or the errno value of the sync that covered this call.
  int sync();
  /// How many times `run` was called, and sync() (for tests and benchmarks).
  std::uint64_t runs() const;
  std::uint64_t calls() const;
  /// Failures kept for callers that have not read them yet (0 once every
  /// caller a failed sync covered has returned).
  std::size_t failures_held() const;

 private:
  std::function<int()> m_run;
  mutable std::mutex m_mutex;
  std::condition_variable m_done;
  std::uint64_t m_issued = 0;   ///< tickets handed out (one per call)
  std::uint64_t m_covered = 0;  ///< highest ticket the last finished sync covers
  /// Failed syncs: the tickets each was the first to cover, and its errno.
  /// A later sync's success does not make up for it (after a write-back
  /// error the kernel may have dropped the dirty pages), so those callers
  /// get the error, however late they wake; the last of them drops it.
  struct Failure {
    std::uint64_t first, last;
    int error;
    std::uint64_t unread;  ///< callers in [first, last] yet to return
  };
  std::vector<Failure> m_failures;
  bool m_running = false;
  std::uint64_t m_runs = 0;
};

}  // namespace store
