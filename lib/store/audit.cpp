// The audit log: one JSON line per decision, whole or not at all.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "store/file_ops.hpp"
#include "store/fs_util.hpp"
#include "store/store.hpp"

namespace store {

using core::Errc;

std::string transaction_key(std::string_view transaction_id) {
  return core::to_hex(crypto::digest(crypto::DigestAlg::sha256, core::to_bytes(transaction_id)));
}

namespace {

/// Where the log's last whole line ends: `size` when it ends in a newline,
/// else the end of the last newline in the final 64 KiB (0 when the file is
/// one torn line), else nullopt (a tail too long to be a torn line).
std::optional<off_t> whole_end(int fd, off_t size) {
  char last = '\n';
  if (size == 0 || ::pread(fd, &last, 1, size - 1) != 1 || last == '\n') return size;
  off_t from = std::max<off_t>(0, size - 65536);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  if (::pread(fd, tail.data(), tail.size(), from) != static_cast<ssize_t>(tail.size())) return std::nullopt;
  auto nl = tail.rfind('\n');
  if (nl != std::string::npos) return from + static_cast<off_t>(nl) + 1;
  return from == 0 ? std::optional<off_t>(0) : std::nullopt;
}

/// Appends `line` to the open log whole, or not at all. Writers hold the
/// log's flock for the few system calls this takes, and a line cut short (a
/// full disk) is cut off again; so a torn tail found under the lock was left
/// by a writer that died (an older version, a power loss): it is cut off
/// (check --repair appends its event again from the record). A tail too long
/// to cut is ended with a newline instead, never glued to the next line.
core::Result<void> append_whole(int fd, std::string line, const std::string& path) {
  while (::flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) return sys::io_error("cannot lock", path, errno);
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) return sys::io_error("cannot stat", path, errno);
  auto end = whole_end(fd, sb.st_size);
  if (!end) line.insert(line.begin(), '\n');
  else if (*end < sb.st_size && sys::ftruncate(fd, *end) == 0) sb.st_size = *end;
  else if (*end < sb.st_size) line.insert(line.begin(), '\n');
  ssize_t n = sys::write(fd, line.data(), line.size());
  if (n == static_cast<ssize_t>(line.size())) return {};
  int err = n < 0 ? errno : ENOSPC;
  if (n > 0) (void)sys::ftruncate(fd, sb.st_size);
  return sys::io_error("cannot append to", path, err);
}

}  // namespace

core::Result<void> Store::append_audit(const scep::AuditEvent& e, AuditOrigin origin) {
  std::string line = encode_audit_line(e, origin == AuditOrigin::recovered);
  std::string path = m_layout.audit_log().string();
  int fd = sys::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT, 0640);
  if (fd < 0) {
    if (errno == ELOOP) return core::fail(Errc::store_io, path + " is a symbolic link: the store follows none");
    return sys::io_error("cannot open", path, errno);
  }
  auto r = append_whole(fd, std::move(line), path);
  ::close(fd);  // drops the lock
  return r;
}

void Store::log_decision(const scep::AuditEvent& e) {
  if (auto r = append_audit(e); !r && m_warn) m_warn("audit: " + r.error().detail);
}

}  // namespace store
