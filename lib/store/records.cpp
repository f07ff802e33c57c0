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

namespace {

std::string_view state_name(scep::Transaction::State s) {
  switch (s) {
    case scep::Transaction::State::issued: return "issued";
    case scep::Transaction::State::pending: return "pending";
    case scep::Transaction::State::rejected: return "rejected";
  }
  return "issued";
}

}  // namespace

core::Result<void> Store::save_policy(const policy::Policy& p, Replace replace) {
  if (!core::is_valid_name(p.name)) return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid policy name", p.name));
  if (auto r = ensure_dir(m_root / "policies"); !r) return r;
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
    if (text.error().code == Errc::not_found) return core::fail(Errc::not_found, fmt::format("no policy called \"{}\"", name));
    return std::unexpected(text.error());
  }
  return policy::parse_policy(name, core::to_string(*text));
}

core::Result<std::vector<std::string>> Store::policy_names() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(m_root / "policies", ec)) {
    if (e.path().extension() != ".toml") continue;
    std::string n = e.path().stem().string();
    if (core::is_valid_name(n)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

fs::path Store::secret_path(core::ByteView hash, std::string_view suffix) const {
  return m_root / "secrets" / (core::to_hex(hash) + std::string(suffix));
}

fs::path Store::use_token_path(core::ByteView hash, int k) const { return secret_path(hash, fmt::format(".use-{}", k)); }

core::Result<void> Store::add_secret(const policy::SecretRecord& r) {
  if (r.uses < 1) return core::fail(Errc::invalid_argument, "a secret needs at least one use");
  if (auto d = ensure_dir(m_root / "secrets"); !d) return d;
  // Tokens first: the record is what makes the secret exist. The tokens are
  // names of one empty file: U uses cost one synced file and U - 1 links,
  // not U files, and spending a use (an unlink) frees no inode until the
  // last one. (On ext4 without a journal every freed inode is skipped, one
  // by one, by each file created in the next minutes.)
  fs::path first = use_token_path(r.hash, 1);
  if (auto t = write_file_atomic(first, "", 0640, AtomicFile::Replace::no); !t) return t;
  for (int k = 2; k <= r.uses; ++k) {
    fs::path token = use_token_path(r.hash, k);
    if (::link(first.c_str(), token.c_str()) != 0) {
      int err = errno;
      for (int j = 1; j < k; ++j) ::unlink(use_token_path(r.hash, j).c_str());
      return core::fail(Errc::store_io, fmt::format("cannot create {}: {}", token.string(), std::strerror(err)));
    }
  }
  if (r.uses > 1)
    if (auto d = sync_directory(m_root / "secrets"); !d) return d;
  return write_file_atomic(secret_path(r.hash, ".json"), policy::render_secret(r), 0640, AtomicFile::Replace::no);
}

core::Result<std::optional<policy::SecretRecord>> Store::find_secret(core::ByteView hash) const {
  auto text = read_file(secret_path(hash, ".json"), 64 * 1024);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::optional<policy::SecretRecord>();
    return std::unexpected(text.error());
  }
  auto rec = policy::parse_secret(core::to_string(*text));
  if (!rec) return std::unexpected(rec.error());
  // The file name found it; the stored hash must agree, compared in constant time.
  if (!core::equal_constant_time(rec->hash, hash)) return std::optional<policy::SecretRecord>();
  return std::optional<policy::SecretRecord>(std::move(*rec));
}

core::Result<std::vector<policy::SecretRecord>> Store::list_secrets() const {
  std::vector<policy::SecretRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(m_root / "secrets", ec)) {
    if (e.path().extension() != ".json" || e.path().filename().string().front() == '.') continue;
    auto text = read_file(e.path(), 64 * 1024);
    if (!text) continue;
    if (auto rec = policy::parse_secret(core::to_string(*text))) out.push_back(std::move(*rec));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created < b.created; });
  return out;
}

core::Result<void> Store::revoke_secret(std::string_view id) {
  auto all = list_secrets();
  if (!all) return std::unexpected(all.error());
  for (auto& rec : *all) {
    if (rec.id != id) continue;
    rec.revoked = true;
    if (auto r = write_file_atomic(secret_path(rec.hash, ".json"), policy::render_secret(rec), 0640); !r) return r;
    for (int k = 1; k <= rec.uses; ++k) ::unlink(use_token_path(rec.hash, k).c_str());
    return {};
  }
  return core::fail(Errc::not_found, fmt::format("no secret with id \"{}\"", id));
}

// A secret with U uses has tokens H.use-1 .. H.use-U. Every consumer takes
// the lowest token it finds and tokens never come back, so the tokens left
// are always a run H.use-(m+1) .. H.use-U: a binary search finds m in
// log2(U) stat calls, however many uses were spent.
int Store::first_unspent_use(const policy::SecretRecord& r) const {
  auto exists = [&](int k) { return ::access(use_token_path(r.hash, k).c_str(), F_OK) == 0; };
  int lo = 1, hi = r.uses + 1;  // the answer is in [lo, hi]; hi: none left
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (exists(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

core::Result<bool> Store::consume_secret(const policy::SecretRecord& r) {
  // unlink is atomic: of many concurrent callers exactly one removes a token.
  for (int k = first_unspent_use(r); k <= r.uses; ++k) {
    if (::unlink(use_token_path(r.hash, k).c_str()) == 0) return true;
    if (errno != ENOENT) return core::fail(Errc::store_io, fmt::format("cannot use secret {}: {}", r.id, std::strerror(errno)));
  }
  return false;
}

int Store::secret_uses_left(const policy::SecretRecord& r) const { return r.uses + 1 - first_unspent_use(r); }

static fs::path tx_path(const fs::path& ca_dir, std::string_view tid) {
  auto h = crypto::digest(crypto::DigestAlg::sha256, core::to_bytes(tid));
  return ca_dir / "tx" / (core::to_hex(h) + ".json");
}

core::Result<scep::LockGuard> Store::lock_transaction(std::string_view ca, std::string_view tid) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  auto h = crypto::digest(crypto::DigestAlg::sha256, core::to_bytes(tid));
  std::uint64_t offset = 0;
  for (int i = 0; i < 8; ++i) offset = offset << 8 | h[i];
  auto lock = FileLock::byte(ca_dir(ca) / "tx.lock", offset);
  if (!lock) return std::unexpected(lock.error());
  return std::make_shared<FileLock>(std::move(*lock));
}

core::Result<std::optional<scep::Transaction>> Store::find_transaction(std::string_view ca, std::string_view tid) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  auto text = read_file(tx_path(ca_dir(ca), tid), 1u << 20);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::optional<scep::Transaction>();
    return std::unexpected(text.error());
  }
  try {
    json j = json::parse(core::to_string(*text));
    if (j.at("format").get<int>() != 1) return core::fail(Errc::store_io, "unsupported transaction record format");
    scep::Transaction t;
    t.ca = j.at("ca").get<std::string>();
    t.transaction_id = j.at("transaction_id").get<std::string>();
    if (t.transaction_id != tid) return std::optional<scep::Transaction>();  // a hash collision, however unlikely
    std::string state = j.at("state").get<std::string>();
    t.state = state == "pending" ? scep::Transaction::State::pending
              : state == "rejected" ? scep::Transaction::State::rejected : scep::Transaction::State::issued;
    if (!core::from_hex(j.at("key_id").get<std::string>(), t.key_id)) return core::fail(Errc::store_io, "bad transaction key id");
    t.serial = j.value("serial", "");
    t.secret_id = j.value("secret_id", "");
    t.policy = j.value("policy", "");
    t.reason = j.value("reason", "");
    t.renewed_from = j.value("renewed_from", "");
    t.created = core::TimePoint(std::chrono::seconds(j.value("created", std::int64_t{0})));
    return std::optional<scep::Transaction>(std::move(t));
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad transaction record: {}", e.what()));
  }
}

core::Result<void> Store::add_transaction(const scep::Transaction& t) { return write_transaction(t, AtomicReplace::no); }
core::Result<void> Store::update_transaction(const scep::Transaction& t) { return write_transaction(t, AtomicReplace::yes); }

core::Result<void> Store::write_transaction(const scep::Transaction& t, AtomicReplace replace) {
  if (auto r = check_ca_name(t.ca); !r) return r;
  if (auto r = ensure_dir(ca_dir(t.ca) / "tx"); !r) return r;
  json j = {{"format", 1},          {"ca", t.ca},           {"transaction_id", t.transaction_id},
            {"state", state_name(t.state)}, {"key_id", core::to_hex(t.key_id)}, {"serial", t.serial},
            {"secret_id", t.secret_id}, {"policy", t.policy}, {"reason", t.reason},
            {"renewed_from", t.renewed_from}, {"created", unix_seconds(t.created)}};
  return write_file_atomic(tx_path(ca_dir(t.ca), t.transaction_id), j.dump() + "\n", 0640,
                           replace == AtomicReplace::yes ? AtomicFile::Replace::yes : AtomicFile::Replace::no);
}

fs::path Store::pending_path(const scep::PendingRequest& p) const {
  return ca_dir(p.ca) / "pending" / (core::to_hex(crypto::digest(crypto::DigestAlg::sha256, p.csr_der)) + ".json");
}

core::Result<void> Store::add_pending(const scep::PendingRequest& p) {
  if (auto r = check_ca_name(p.ca); !r) return r;
  if (auto r = ensure_dir(ca_dir(p.ca) / "pending"); !r) return r;
  json j = {{"format", 1}, {"ca", p.ca}, {"transaction_id", p.transaction_id}, {"remote", p.remote},
            {"csr", crypto::base64_encode(p.csr_der)}, {"created", unix_seconds(p.created)}};
  if (!p.subject.empty()) j["subject"] = p.subject;
  if (!p.key.empty()) j["key"] = p.key;
  if (!p.sans.empty()) j["sans"] = p.sans;
  return write_file_atomic(pending_path(p), j.dump() + "\n", 0640, AtomicFile::Replace::no);
}

core::Result<scep::PendingRequest> parse_pending(std::string_view text) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<int>() != 1) return core::fail(Errc::store_io, "unsupported pending record format");
    auto csr = crypto::base64_decode(j.at("csr").get<std::string>());
    if (!csr) return core::fail(Errc::store_io, "bad CSR in pending record");
    return scep::PendingRequest{j.at("ca").get<std::string>(), j.at("transaction_id").get<std::string>(),
                                j.value("remote", ""), std::move(*csr),
                                core::TimePoint(std::chrono::seconds(j.value("created", std::int64_t{0}))),
                                j.value("subject", ""),
                                j.value("sans", std::vector<std::string>{}),
                                j.value("key", "")};
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad pending record: {}", e.what()));
  }
}

core::Result<std::vector<scep::PendingRequest>> Store::list_pending(std::string_view ca) const {
  std::vector<scep::PendingRequest> out;
  std::vector<std::string> cas;
  if (!ca.empty()) {
    if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
    cas.emplace_back(ca);
  } else {
    auto names = ca_names();
    if (!names) return std::unexpected(names.error());
    cas = std::move(*names);
  }
  for (const auto& name : cas) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(ca_dir(name) / "pending", ec)) {
      if (e.path().extension() != ".json" || e.path().filename().string().front() == '.') continue;
      auto text = read_file(e.path(), 1u << 20);
      if (!text) continue;  // taken by an approver meanwhile
      auto p = parse_pending(core::to_string(*text));
      if (!p) return std::unexpected(core::Error{Errc::store_io, e.path().string() + ": " + p.error().detail});
      out.push_back(std::move(*p));
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created < b.created; });
  return out;
}

core::Result<std::size_t> Store::count_pending(std::string_view ca) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ca_dir(ca) / "pending", ec))
    if (e.path().extension() == ".json") ++n;
  return n;
}

static fs::path claimed_path(fs::path pending) { return pending.replace_extension(".claimed"); }

core::Result<bool> Store::claim_pending(const scep::PendingRequest& p) {
  fs::path from = pending_path(p);
  if (::rename(from.c_str(), claimed_path(from).c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return core::fail(Errc::store_io, fmt::format("cannot take pending request: {}", std::strerror(errno)));
}

core::Result<void> Store::finish_pending(const scep::PendingRequest& p) {
  if (::unlink(claimed_path(pending_path(p)).c_str()) == 0 || errno == ENOENT) return {};
  return core::fail(Errc::store_io, fmt::format("cannot remove a decided request: {}", std::strerror(errno)));
}

core::Result<void> Store::release_pending(const scep::PendingRequest& p) {
  fs::path to = pending_path(p);
  if (::rename(claimed_path(to).c_str(), to.c_str()) == 0) return {};
  return core::fail(Errc::store_io, fmt::format("cannot put a request back: {}", std::strerror(errno)));
}

core::Result<void> Store::append_audit(const scep::AuditEvent& e) {
  json j = {{"time", crypto::format_time(e.time)}, {"ca", e.ca},        {"remote", e.remote},
            {"operation", e.operation},            {"transaction_id", e.transaction_id},
            {"subject", e.subject},                {"secret_id", e.secret_id}, {"policy", e.policy},
            {"outcome", e.outcome},                {"serial", e.serial},  {"fail_info", e.fail_info},
            {"detail", e.detail}};
  std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  int fd = ::open((m_root / "audit.log").c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return core::fail(Errc::store_io, fmt::format("cannot open audit.log: {}", std::strerror(errno)));
  // One write per line: O_APPEND keeps concurrent writers' lines whole.
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) return core::fail(Errc::store_io, fmt::format("cannot append to audit.log: {}", std::strerror(err)));
  return {};
}

}  // namespace store
