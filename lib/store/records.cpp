// Policies, secrets, issued certificates, transactions and the audit log.
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/names.hpp"
#include "crypto/certificate.hpp"
#include "crypto/der.hpp"
#include "crypto/digest.hpp"
#include "store/atomic_file.hpp"
#include "store/file_lock.hpp"
#include "store/fs_util.hpp"
#include "store/store.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;
using nlohmann::json;

core::Result<void> Store::save_policy(const policy::Policy& p, Replace replace) {
  if (!core::is_valid_name(p.name))
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid policy name", p.name));
  SCEP_TRY(ensure_dir(m_layout.policies_dir()));
  auto r = write_file_atomic(policy_path(p.name), policy::render_policy(p), 0640,
                             replace == Replace::yes ? AtomicFile::Replace::yes : AtomicFile::Replace::no);
  if (!r && r.error().code == Errc::already_exists)
    return core::fail(Errc::already_exists, fmt::format("policy \"{}\" already exists (use --replace)", p.name));
  return r;
}

core::Result<policy::Policy> Store::load_policy(std::string_view name) const {
  if (!core::is_valid_name(name)) return core::fail(Errc::not_found, fmt::format("no policy called \"{}\"", name));
  auto text = read_file(policy_path(name), 1u << 20);
  if (!text) {
    if (text.error().code == Errc::not_found)
      return core::fail(Errc::not_found, fmt::format("no policy called \"{}\"", name));
    return std::unexpected(text.error());
  }
  return policy::parse_policy(name, core::to_string(*text));
}

core::Result<std::vector<std::string>> Store::policy_names() const {
  SCEP_TRY_ASSIGN(auto files, sys::list_dir(m_layout.policies_dir()));
  std::vector<std::string> names;
  for (const auto& f : files) {
    if (!f.ends_with(on_disk::policy_ext)) continue;
    std::string n = f.substr(0, f.size() - on_disk::policy_ext.size());
    if (core::is_valid_name(n)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

fs::path Store::secret_path(core::ByteView hash) const { return m_layout.secret(core::to_hex(hash)); }

fs::path Store::use_token_path(core::ByteView hash, int k) const { return m_layout.secret_use(core::to_hex(hash), k); }

core::Result<void> Store::add_secret(const policy::SecretRecord& r) {
  if (r.uses < 1) return core::fail(Errc::invalid_argument, "a secret needs at least one use");
  SCEP_TRY(ensure_dir(m_layout.secrets_dir()));
  // Tokens first: the record is what makes the secret exist. The tokens are
  // names of one empty file: U uses cost one synced file and U - 1 links,
  // not U files, and spending a use (an unlink) frees no inode until the
  // last one. (On ext4 without a journal every freed inode is skipped, one
  // by one, by each file created in the next minutes.)
  fs::path first = use_token_path(r.hash, 1);
  SCEP_TRY(write_file_atomic(first, "", 0640, AtomicFile::Replace::no));
  for (int k = 2; k <= r.uses; ++k) {
    fs::path token = use_token_path(r.hash, k);
    if (sys::link(first.c_str(), token.c_str()) != 0) {
      int err = errno;
      for (int j = 1; j < k; ++j) ::unlink(use_token_path(r.hash, j).c_str());
      return core::fail(Errc::store_io, fmt::format("cannot create {}: {}", token.string(), std::strerror(err)));
    }
  }
  if (r.uses > 1) SCEP_TRY(sync_directory(m_layout.secrets_dir()));
  return write_file_atomic(secret_path(r.hash), encode_secret(r), 0640, AtomicFile::Replace::no);
}

core::Result<std::optional<policy::SecretRecord>> Store::find_secret(core::ByteView hash) const {
  auto text = read_file(secret_path(hash), 64 * 1024);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::optional<policy::SecretRecord>();
    return std::unexpected(text.error());
  }
  SCEP_TRY_ASSIGN(auto rec, parse_secret(core::to_string(*text)));
  // The file name found it; the stored hash must agree, compared in constant time.
  if (!core::equal_constant_time(rec.hash, hash)) return std::optional<policy::SecretRecord>();
  return std::optional<policy::SecretRecord>(std::move(rec));
}

core::Result<std::vector<policy::SecretRecord>> Store::list_secrets() const {
  SCEP_TRY_ASSIGN(auto files, sys::list_dir(m_layout.secrets_dir()));
  std::vector<policy::SecretRecord> out;
  for (const auto& f : files) {
    if (!f.ends_with(on_disk::record_ext) || f.front() == '.') continue;
    SCEP_TRY_ASSIGN(auto text, read_file(m_layout.secrets_dir() / f, 64 * 1024));
    auto rec = parse_secret(core::to_string(text));
    if (!rec)
      return core::fail(Errc::store_io,
                        fmt::format("{}: {}", (Layout().secrets_dir() / f).string(), rec.error().detail));
    out.push_back(std::move(*rec));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created < b.created; });
  return out;
}

core::Result<policy::SecretRecord> Store::revoke_secret(std::string_view id) {
  SCEP_TRY_ASSIGN(auto all, list_secrets());
  for (auto& rec : all) {
    if (rec.id != id) continue;
    rec.revoked = true;
    SCEP_TRY(write_file_atomic(secret_path(rec.hash), encode_secret(rec), 0640));
    for (int k = 1; k <= rec.uses; ++k) ::unlink(use_token_path(rec.hash, k).c_str());
    return std::move(rec);
  }
  return core::fail(Errc::not_found, fmt::format("no secret with id \"{}\"", id));
}

// A secret with U uses has tokens H.use-1 .. H.use-U. Every spender takes
// the lowest token it finds, and a use given back (a decision that spent one
// failed) goes just below the run, so the tokens left are a run
// H.use-(m+1) .. H.use-U: a binary search finds m in log2(U) stat calls,
// however many uses were spent. Should a give-back race a spender and leave
// a hole, the full scan spend_use makes before it reports the secret used
// up still finds every token.
/// Whether `p` exists, a symbolic link not followed (it counts as there).
static bool exists_here(const fs::path& p) { return ::faccessat(AT_FDCWD, p.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0; }

int Store::first_unspent_use(const policy::SecretRecord& r) const {
  auto exists = [&](int k) { return exists_here(use_token_path(r.hash, k)); };
  int lo = 1, hi = r.uses + 1;  // the answer is in [lo, hi]; hi: none left
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (exists(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

fs::path Store::spent_path(const policy::SecretRecord& r, std::string_view holder) const {
  return m_layout.secret_spent(core::to_hex(r.hash), holder);
}

core::Result<bool> Store::spend_use(const policy::SecretRecord& r, std::string_view holder) {
  if (!is_hex_key(holder)) return core::fail(Errc::invalid_argument, "a use is held by a transaction key");
  fs::path to = spent_path(r, holder);
  // The holder's earlier try, cut short before its decision was recorded,
  // already spent a use for it.
  if (exists_here(to)) return true;
  // rename is atomic: of many spenders exactly one moves a given token, and
  // the use is spent and attributed in one step.
  auto take = [&](int k) -> core::Result<bool> {
    if (sys::rename(use_token_path(r.hash, k).c_str(), to.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    return sys::io_error("cannot use secret", to, errno);
  };
  int first = first_unspent_use(r);
  for (int k = first; k <= r.uses; ++k)
    if (auto t = take(k); !t || *t) return t;
  for (int k = 1; k < first; ++k)
    if (auto t = take(k); !t || *t) return t;
  return false;
}

core::Result<void> Store::return_use(const policy::SecretRecord& r, std::string_view holder) {
  fs::path from = spent_path(r, holder);
  // Just below the run of tokens left, so that the run stays one (the count
  // and the next spender's search rely on it). Should spenders and other
  // give-backs race it, any free slot will do: the full scan finds it.
  auto put_back = [&](int k) -> std::optional<core::Result<void>> {
    if (sys::rename_noreplace(from.c_str(), use_token_path(r.hash, k).c_str()) == 0) return core::Result<void>();
    if (errno == ENOENT) return core::Result<void>();  // nothing held
    if (errno != EEXIST) return core::Result<void>(sys::io_error("cannot give back a use of", from, errno));
    return std::nullopt;
  };
  int first = first_unspent_use(r);
  for (int k = first - 1; k >= 1; --k)
    if (auto done = put_back(k)) return *done;
  for (int k = first; k <= r.uses; ++k)
    if (auto done = put_back(k)) return *done;
  // All U tokens are there: this use is not one of them (a secret made anew).
  if (sys::unlink(from.c_str()) == 0 || errno == ENOENT) return {};
  return sys::io_error("cannot remove", from, errno);
}

core::Result<int> Store::secret_uses_left(const policy::SecretRecord& r, std::string_view tid) const {
  bool held = exists_here(spent_path(r, transaction_key(tid)));
  return secret_uses_left(r) + (held ? 1 : 0);
}

int Store::secret_uses_left(const policy::SecretRecord& r) const {
  int left = r.uses + 1 - first_unspent_use(r);
  if (left > 0) return left;
  // None in the run: a use given back below it still counts.
  for (int k = 1; k <= r.uses; ++k)
    if (exists_here(use_token_path(r.hash, k))) ++left;
  return left;
}

fs::path Store::pending_path(const scep::PendingRequest& p) const {
  return m_layout.pending(p.ca, core::to_hex(crypto::digest(crypto::DigestAlg::sha256, p.csr_der)));
}

core::Result<void> Store::add_pending(const scep::PendingRequest& p) {
  SCEP_TRY(check_ca_name(p.ca));
  SCEP_TRY(ensure_dir(m_layout.pending_dir(p.ca)));
  return write_file_atomic(pending_path(p), encode_pending(p), 0640, AtomicFile::Replace::no);
}

core::Result<std::vector<scep::PendingRequest>> Store::list_pending(std::string_view ca) const {
  std::vector<scep::PendingRequest> out;
  std::vector<std::string> cas;
  if (!ca.empty()) {
    SCEP_TRY(check_ca_name(ca));
    cas.emplace_back(ca);
  } else {
    SCEP_TRY_ASSIGN(auto names, ca_names());
    cas = std::move(names);
  }
  for (const auto& name : cas) {
    fs::path dir = m_layout.pending_dir(name);
    SCEP_TRY_ASSIGN(auto files, sys::list_dir(dir));
    for (const auto& f : files) {
      if (!f.ends_with(on_disk::record_ext) || f.front() == '.') continue;
      auto text = read_file(dir / f, 1u << 20);
      if (!text && text.error().code == Errc::not_found) continue;  // taken by an approver meanwhile
      if (!text) return std::unexpected(text.error());
      auto p = parse_pending(core::to_string(*text));
      if (!p) return std::unexpected(core::Error{Errc::store_io, (dir / f).string() + ": " + p.error().detail});
      out.push_back(std::move(*p));
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created < b.created; });
  return out;
}

core::Result<std::size_t> Store::count_pending(std::string_view ca) const {
  SCEP_TRY(check_ca_name(ca));
  SCEP_TRY_ASSIGN(auto files, sys::list_dir(m_layout.pending_dir(ca)));
  return static_cast<std::size_t>(std::count_if(files.begin(), files.end(), [](const std::string& f) {
    return f.ends_with(on_disk::record_ext) && f.front() != '.';
  }));
}

static fs::path claimed_path(fs::path pending) { return Layout::claimed(std::move(pending)); }

core::Result<std::optional<scep::PendingClaim>> Store::claim_pending(const scep::PendingRequest& p) {
  fs::path from = pending_path(p);
  if (sys::rename(from.c_str(), claimed_path(from).c_str()) == 0)
    return std::optional<scep::PendingClaim>(std::in_place, *this, p);
  if (errno == ENOENT) return std::optional<scep::PendingClaim>();
  return core::fail(Errc::store_io, fmt::format("cannot take pending request: {}", std::strerror(errno)));
}

core::Result<void> Store::finish_pending(const scep::PendingRequest& p) {
  if (sys::unlink(claimed_path(pending_path(p)).c_str()) == 0 || errno == ENOENT) return {};
  return core::fail(Errc::store_io, fmt::format("cannot remove a decided request: {}", std::strerror(errno)));
}

core::Result<void> Store::release_pending(const scep::PendingRequest& p) {
  fs::path to = pending_path(p);
  if (sys::rename(claimed_path(to).c_str(), to.c_str()) == 0) return {};
  return core::fail(Errc::store_io, fmt::format("cannot put a request back: {}", std::strerror(errno)));
}

}  // namespace store
