#pragma once
// Internal to the store: every system call that touches the store goes
// through here, for two reasons.
//  - No symbolic link inside the store is followed when a file is opened
//    (O_NOFOLLOW everywhere); directories are checked by ensure_dir and
//    listed without following links.
//  - A fault-injection seam for tests: "fail the Nth operation from now with
//    ENOSPC" walks a decision through every step at which a disk can fail.
//    Inert unless a test arms it (one relaxed atomic increment per call).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/error.hpp"

namespace store::sys {

/// Registers a store's root: every path below it is opened without
/// following a symbolic link in any component (openat2 RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS). Store::open calls it.
void register_root(const std::filesystem::path& root);

/// Tests only: the `nth` store operation from now (1 = the next one) fails
/// with `error` (ENOSPC, EIO, ...); every later one succeeds. 0 disarms.
void inject_fault(std::uint64_t nth, int error);
/// Operations counted since the last inject_fault (armed or not).
std::uint64_t operations();

/// open(2) with O_NOFOLLOW | O_CLOEXEC; below a registered root, through
/// no symbolic link at all (ELOOP).
int open(const char* path, int flags, mode_t mode = 0);
/// mkostemp(3) through open() above.
int mkostemp(std::string& templ, int flags);
ssize_t write(int fd, const void* data, std::size_t size);
int fsync(int fd);
int ftruncate(int fd, off_t size);
int rename(const char* from, const char* to);
/// rename(2) that fails with EEXIST instead of replacing `to`.
int rename_noreplace(const char* from, const char* to);
/// renameat2(RENAME_EXCHANGE): `from` and `to` swap names in one step.
int rename_exchange(const char* from, const char* to);
int link(const char* from, const char* to);
int unlink(const char* path);
int mkdir(const char* path, mode_t mode);

/// The names in `dir` (no "." or ".."), unsorted. A directory that does not
/// exist is empty; any other failure (EACCES, EIO, a symlink where the
/// directory should be) is an error: a partial view is never returned.
core::Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir);

/// errno as a store error: ENOSPC and EDQUOT are store_busy (a 503 with
/// Retry-After: the client's retry succeeds once there is room), the rest
/// store_io.
std::unexpected<core::Error> io_error(std::string_view what, const std::filesystem::path& p, int err);

}  // namespace store::sys
