#include "store/fsck.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.hpp"
#include "store/atomic_file.hpp"
#include "store/file_lock.hpp"
#include "store/file_ops.hpp"
#include "store/fs_util.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;
using Fix = Finding::Fix;

namespace {

/// What an audit line says happened, as far as the cross-check needs it.
using AuditKey =
    std::tuple<std::string, std::string, scep::Outcome, std::string>;  // ca, transaction_id, outcome, serial

AuditKey audit_key(const scep::AuditEvent& e) { return {e.ca, e.transaction_id, e.outcome, e.serial}; }

/// An audit line's "time" (RFC 3339, UTC, as crypto::format_time writes it).
std::optional<core::TimePoint> line_time(const nlohmann::json& j) { return crypto::parse_time(j.value("time", "")); }

class Checker {
 public:
  Checker(Store& st, bool repair) : m_st(st), m_repair(repair) {}

  core::Result<std::vector<Finding>> run() {
    struct stat sb {};
    if (::stat(m_st.root().c_str(), &sb) != 0)
      return core::fail(Errc::store_io, fmt::format("cannot stat {}: {}", m_st.root().string(), std::strerror(errno)));
    m_owner = sb.st_uid;
    scan_tree();
    read_audit_log();
    SCEP_TRY_ASSIGN(auto names, m_st.ca_names());
    for (const auto& ca : names) {
      // Every transaction of the CA waits while it is looked at.
      auto all = FileLock::all_bytes(layout().tx_lock(ca));
      if (!all) {
        add(layout().tx_lock(ca), "cannot be locked, so the CA's records are not checked: " + all.error().detail);
        continue;
      }
      check_ca(ca);
    }
    check_secrets();
    return std::move(m_findings);
  }

 private:
  const Layout& layout() const { return m_st.layout(); }
  std::string rel(const fs::path& p) const { return p.lexically_relative(m_st.root()).string(); }

  void add(const fs::path& p, std::string problem, Fix fix = Fix::none, const std::function<bool()>& apply = {}) {
    Finding f{rel(p), std::move(problem), fix, false};
    if (m_repair && fix != Fix::none && apply) f.repaired = apply();
    m_findings.push_back(std::move(f));
  }
  void add_remove(const fs::path& p, std::string problem) {
    add(p, std::move(problem), Fix::remove, [p] { return sys::unlink(p.c_str()) == 0 || errno == ENOENT; });
  }

  /// The directory's names, or a finding when it cannot be listed (and
  /// the view counts as partial: nothing is removed on the strength of it).
  std::vector<std::string> list(const fs::path& dir) {
    auto names = sys::list_dir(dir);
    if (!names) {
      add(dir, names.error().detail);
      m_partial = true;
      return {};
    }
    std::sort(names->begin(), names->end());
    return std::move(*names);
  }

  /// Temp files of interrupted writes, symbolic links, unreadable
  /// directories, world-writable entries, files of another owner.
  void scan_tree() { scan_dir(m_st.root()); }

  void scan_dir(const fs::path& dir) {
    for (const auto& name : list(dir)) {
      fs::path p = dir / name;
      struct stat sb {};
      if (::lstat(p.c_str(), &sb) != 0) continue;  // gone meanwhile
      if (S_ISLNK(sb.st_mode)) {
        // The store makes none and follows none: a link was planted.
        add_remove(p, "is a symbolic link, which the store never follows");
        continue;
      }
      if ((sb.st_mode & S_IWOTH) != 0) add(p, fmt::format("is world-writable (mode {:o})", sb.st_mode & 07777));
      if (sb.st_uid != m_owner)
        add(p, fmt::format("is owned by uid {}, not by the store's owner (uid {}): the service may not read it",
                           sb.st_uid, m_owner));
      if (S_ISDIR(sb.st_mode)) {
        // ca/NAME/.next.new-*, .next-replaced.new-*, retired/.ID.new-*: a
        // rollover or an activation that stopped before its rename (the
        // state it would have changed is untouched); a younger one may be
        // one in progress.
        if (is_generation_temp(dir, name) && std::time(nullptr) - sb.st_mtime >= 60) {
          add(p, "is the temp directory of an interrupted rollover or activation", Fix::remove, [p] {
            std::error_code ec;
            fs::remove_all(p, ec);
            return !ec;
          });
          continue;
        }
        if (::access(p.c_str(), R_OK | X_OK) != 0) add(p, fmt::format("cannot be read: {}", std::strerror(errno)));
        else scan_dir(p);
        continue;
      }
      // Temp files of writes no lock covers (secrets, policies, revocations,
      // the configuration) are garbage once they are a minute old; a younger
      // one may be a write in progress. Those under a CA's transaction locks
      // and its CRL lock are judged with the lock held (check_ca).
      if (is_temp(name) && !under_ca_locks(dir) && std::time(nullptr) - sb.st_mtime >= 60)
        add_remove(p, "is the temp file of an interrupted write");
    }
  }

  bool is_generation_temp(const fs::path& dir, std::string_view name) const {
    if (name.size() < 6 || name.front() != '.' || name.find(".new-") == std::string_view::npos) return false;
    bool in_ca = dir.parent_path() == layout().cas_dir();
    bool in_retired = dir.filename() == on_disk::retired && dir.parent_path().parent_path() == layout().cas_dir();
    return in_ca || in_retired;
  }

  static bool is_temp(std::string_view name) {
    return name.size() > 5 && name.front() == '.' && name.find(".tmp-") != std::string_view::npos;
  }

  /// ca/NAME itself (the CRL's temp files) and its ca_locked_dirs.
  bool under_ca_locks(const fs::path& dir) const {
    if (dir.parent_path() == layout().cas_dir()) return true;
    if (dir.parent_path().parent_path() != layout().cas_dir()) return false;
    std::string sub = dir.filename().string();
    return std::find(ca_locked_dirs.begin(), ca_locked_dirs.end(), sub) != ca_locked_dirs.end();
  }

  void ca_temp_files(const std::string& ca) {
    fs::path dir = layout().ca_dir(ca);
    for (auto sub : ca_locked_dirs)
      for (const auto& name : list(dir / sub))
        if (is_temp(name)) add_remove(dir / sub / name, "is the temp file of an interrupted write");
    // crl.der is written under crl.lock, not the transaction locks.
    auto crl = FileLock::whole(layout().crl_lock(ca));
    if (!crl) return add(layout().crl_lock(ca), crl.error().detail);
    for (const auto& name : list(dir))
      if (is_temp(name)) add_remove(dir / name, "is the temp file of an interrupted write");
  }

  /// audit.log: every line JSON; the decisions it records, for the
  /// cross-check with the records.
  void read_audit_log() {
    fs::path path = layout().audit_log();
    auto text = read_file(path, std::size_t{1} << 34);
    if (!text) {
      if (text.error().code != Errc::not_found) add(path, text.error().detail);
      return;
    }
    m_audit_read = text->size();
    struct stat sb {};
    if (::stat(path.c_str(), &sb) == 0) m_audit_ino = sb.st_ino;
    std::string_view all(reinterpret_cast<const char*>(text->data()), text->size());
    std::size_t line_no = 0, pos = 0;
    while (pos < all.size()) {
      auto end = all.find('\n', pos);
      bool last = end == std::string_view::npos;
      std::string_view line = all.substr(pos, last ? std::string_view::npos : end - pos);
      ++line_no;
      pos = last ? all.size() : end + 1;
      if (line.empty()) continue;
      try {
        auto j = nlohmann::json::parse(line);
        m_audited.insert(audit_key(event_from_json(j)));
        if (!m_audit_start) m_audit_start = line_time(j);
      } catch (const nlohmann::json::exception&) {
        if (last) {
          std::size_t keep = all.size() - line.size();
          std::size_t size = all.size();
          ino_t ino = m_audit_ino;
          add(path, fmt::format("line {} is torn (cut short by a crash or a full disk)", line_no), Fix::cut_audit,
              [path, keep, size, ino] { return cut_audit(path, keep, size, ino); });
        } else {
          add(path, fmt::format("line {} is not an audit event this version reads", line_no));
        }
      }
    }
  }

  /// Cuts the torn tail, under the appenders' flock, only if the log is the
  /// file and the size it was when read (an appender since cut it itself).
  static bool cut_audit(const fs::path& path, std::size_t keep, std::size_t size, ino_t ino) {
    int fd = sys::open(path.c_str(), O_RDWR);
    if (fd < 0) return false;
    bool ok = ::flock(fd, LOCK_EX) == 0;
    struct stat sb {};
    ok = ok && ::fstat(fd, &sb) == 0 && sb.st_ino == ino && static_cast<std::size_t>(sb.st_size) == size;
    ok = ok && sys::ftruncate(fd, static_cast<off_t>(keep)) == 0;
    ::close(fd);
    return ok;
  }

  /// Lines appended since the log was read (decisions made before this
  /// CA's locks were taken), added to what is known.
  void read_audit_tail() {
    fs::path path = layout().audit_log();
    int fd = sys::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    struct stat sb {};
    if (::fstat(fd, &sb) == 0 && sb.st_ino == m_audit_ino && static_cast<std::size_t>(sb.st_size) > m_audit_read) {
      std::string tail(static_cast<std::size_t>(sb.st_size) - m_audit_read, '\0');
      ssize_t n = ::pread(fd, tail.data(), tail.size(), static_cast<off_t>(m_audit_read));
      if (n > 0) {
        tail.resize(static_cast<std::size_t>(n));
        std::size_t pos = 0;
        while (pos < tail.size()) {
          auto end = tail.find('\n', pos);
          if (end == std::string::npos) break;
          try {
            m_audited.insert(audit_key(event_from_json(nlohmann::json::parse(tail.substr(pos, end - pos)))));
          } catch (const nlohmann::json::exception&) {
          }
          pos = end + 1;
        }
        m_audit_read += pos;
      }
    }
    ::close(fd);
  }

  /// The event a record carries has its audit line, or gets it back.
  /// A log rotated away (logrotate) took the lines of older decisions with
  /// it: only decisions from the current log's first line on are expected in
  /// it. A line a crash lost is always among the newest.
  void expect_audited(const fs::path& record, const std::optional<scep::AuditEvent>& event) {
    if (!event || m_audited.count(audit_key(*event))) return;
    if (!m_audit_start || event->time < *m_audit_start) return;
    read_audit_tail();
    if (m_audited.count(audit_key(*event))) return;
    scep::AuditEvent e = *event;
    m_audited.insert(audit_key(e));
    add(record,
        fmt::format("its decision ({} {}) is missing from audit.log", scep::outcome_name(e.outcome),
                    e.serial.empty() ? e.transaction_id : e.serial),
        Fix::append_audit, [this, e] { return m_st.append_audit(e, AuditOrigin::recovered).has_value(); });
  }

  void check_ca(const std::string& ca) {
    const Layout& at = layout();
    m_partial = false;
    ca_temp_files(ca);
    // Serials explained by a record: issued by one, or renewed by one.
    std::set<std::string> explained;
    std::map<std::string, std::string> serial_owner;  // serial -> transaction key
    for (const auto& name : list(at.tx_dir(ca))) {
      if (!name.ends_with(on_disk::record_ext) || name.front() == '.') continue;
      std::string key = name.substr(0, name.size() - on_disk::record_ext.size());
      fs::path path = at.transaction(ca, key);
      auto text = read_file(path, 1u << 20);
      auto rec = text ? parse_transaction(core::to_string(*text)) : std::unexpected(text.error());
      if (!rec) {
        add(path, "is not a transaction record: " + rec.error().detail);
        m_partial = true;
        continue;
      }
      const scep::Transaction& t = rec->transaction;
      if (!t.renewed_from.empty()) explained.insert(t.renewed_from);
      expect_audited(path, rec->event);
      if (t.state != scep::Transaction::State::issued) continue;
      explained.insert(t.serial);
      auto [it, fresh] = serial_owner.emplace(t.serial, key);
      if (!fresh) add(path, fmt::format("records serial {}, which transaction {} records too", t.serial, it->second));
      check_index(ca, path, key, *rec);
    }
    for (const auto& name : list(at.renewed_dir(ca)))
      if (is_serial(name)) explained.insert(name);
    for (const auto& name : list(at.certs_dir(ca))) {
      if (!name.ends_with(on_disk::pem_ext) || name.front() == '.') continue;
      std::string serial = name.substr(0, name.size() - on_disk::pem_ext.size());
      fs::path path = at.certs_dir(ca) / name;
      auto text = read_file(path, 1u << 20);
      if (!text) {
        add(path, text.error().detail);
        continue;
      }
      auto certs = crypto::Certificate::load_all(*text);
      if (!certs) {
        if (!serial_owner.count(serial)) add(path, "is not a readable certificate");
        continue;  // else check_index rewrote it
      }
      std::string key = transaction_of_index(core::to_string(*text));
      if (key.empty() || explained.count(serial)) continue;
      // Written by an issuance that never reached its commit point: the
      // certificate was never handed out. Removed only on a whole view of
      // the records, and when its own record is absent or names another.
      std::string problem = "is a certificate no transaction record names (its issuance did not complete)";
      auto own = m_st.load_transaction(ca, key);
      if (m_partial || !own) add(path, problem + "; not removed: some records could not be read");
      else if (!*own || ((*own)->transaction.serial != serial && (*own)->transaction.renewed_from != serial))
        add_remove(path, problem);
    }
    check_revocations(at.revoked_dir(ca));
    check_pending(ca, at.pending_dir(ca));
    check_renewals(ca, at.renewed_dir(ca));
  }

  /// An issued record's certificate has its index file, the same one.
  void check_index(const std::string& ca, const fs::path& record, const std::string& key,
                   const StoredTransaction& rec) {
    const scep::Transaction& t = rec.transaction;
    fs::path index = m_st.certificate_path(ca, t.serial);
    auto text = read_file(index, 1u << 20);
    auto certs = text ? crypto::Certificate::load_all(*text) : std::unexpected(text.error());
    if (certs && (!rec.certificate || certs->front() == *rec.certificate)) return;
    if (!rec.certificate) {
      add(record, fmt::format("records certificate {}, which is not in certs/", t.serial));
      return;
    }
    std::string problem = fmt::format("records certificate {}, which is {} in certs/", t.serial,
                                      certs ? "another certificate" : "missing or unreadable");
    if (certs) {  // a different certificate under the serial: needs the operator
      add(record, problem);
      return;
    }
    crypto::Certificate cert = *rec.certificate;
    std::string policy = t.policy;
    add(record, problem, Fix::write_index, [this, ca, cert, policy, key, index] {
      (void)sys::unlink(index.c_str());
      return m_st.write_certificate_index(ca, cert, policy, key, AtomicFile::Durable::yes).has_value();
    });
  }

  void check_revocations(const fs::path& dir) {
    for (const auto& name : list(dir)) {
      if (!name.ends_with(on_disk::record_ext) || name.front() == '.') continue;
      auto text = read_file(dir / name, 1u << 16);
      if (!text) {
        add(dir / name, text.error().detail);
        continue;
      }
      auto event = revocation_event(core::to_string(*text));
      if (!event) add(dir / name, "is not a revocation record");
      else if (*event) expect_audited(dir / name, *event);
    }
  }

  void check_pending(const std::string& ca, const fs::path& dir) {
    for (const auto& name : list(dir)) {
      fs::path path = dir / name;
      std::string ext = path.extension().string();
      if ((ext != on_disk::record_ext && ext != on_disk::claimed_ext) || name.front() == '.') continue;
      auto text = read_file(path, 1u << 20);
      auto p = text ? parse_pending(core::to_string(*text)) : std::unexpected(text.error());
      if (!p) {
        add(path, "is not a pending request: " + p.error().detail);
        continue;
      }
      auto tx = m_st.find_transaction(ca, p->transaction_id);
      if (!tx) {
        add(path, "its transaction record cannot be read: " + tx.error().detail);
        continue;
      }
      if (!*tx) {
        if (ext == on_disk::claimed_ext) continue;
        // Parked, then the process died before the transaction was written.
        auto csr = crypto::Csr::from_der(p->csr_der);
        if (!csr) continue;
        scep::Transaction t{ca,
                            p->transaction_id,
                            scep::Transaction::State::pending,
                            crypto::digest(crypto::DigestAlg::sha256, csr->public_key().spki_der()),
                            {},
                            {},
                            {},
                            {},
                            p->created,
                            {},
                            {}};
        add(path, "waits without a transaction record", Fix::write_tx,
            [this, t] { return m_st.add_transaction(t).has_value(); });
        continue;
      }
      bool waiting = (*tx)->state == scep::Transaction::State::pending;
      if (ext == on_disk::record_ext) {
        // Decided (the record says so), then put back by a command that
        // took the decision for failed: the device has its answer.
        if (!waiting) add_remove(path, "waits, but its transaction was decided");
        continue;
      }
      if (waiting) {
        fs::path to = path;
        to.replace_extension(on_disk::record_ext);
        add(path, "was taken by an approval that did not finish", Fix::restore,
            [path, to] { return sys::rename(path.c_str(), to.c_str()) == 0; });
      } else {
        add_remove(path, "was decided, but not cleared away");
      }
    }
  }

  /// renewed/SERIAL holds the transactionID of the renewal. A renewal that
  /// died before it was recorded left that transaction missing, or still on
  /// SERIAL itself (a client that keeps its key keeps its transactionID, so
  /// later renewals move the same record on: any other serial is fine).
  void check_renewals(const std::string& ca, const fs::path& dir) {
    for (const auto& serial : list(dir)) {
      if (!is_serial(serial)) continue;
      auto text = read_file(dir / serial, 4096);
      if (!text) continue;
      auto tx = m_st.find_transaction(ca, core::to_string(*text));
      if (!tx || (*tx && (*tx)->serial != serial)) continue;
      add_remove(dir / serial, "claims a renewal that was never recorded");
    }
  }

  /// secrets/H.use-K tokens belong to a secrets/H.json record; a spent use
  /// H.spent-KEY belongs to the transaction KEY that recorded a certificate
  /// paid with it, or goes back.
  void check_secrets() {
    fs::path dir = layout().secrets_dir();
    // By hash (hex): the record, nullopt when there is none, an error when
    // it cannot be read (then its tokens are left alone).
    std::map<std::string, core::Result<std::optional<policy::SecretRecord>>> secrets;
    auto secret = [&](const std::string& hash) -> const core::Result<std::optional<policy::SecretRecord>>& {
      auto it = secrets.find(hash);
      if (it != secrets.end()) return it->second;
      core::Bytes h;
      core::Result<std::optional<policy::SecretRecord>> rec = std::optional<policy::SecretRecord>();
      if (core::from_hex(hash, h)) rec = m_st.find_secret(h);
      if (!rec) add(layout().secret(hash), "cannot be read, so its uses are not checked: " + rec.error().detail);
      return secrets.emplace(hash, std::move(rec)).first->second;
    };
    // `secret add` links the tokens before it writes the record: a token
    // younger than a minute may belong to a secret being made.
    auto young = [](const fs::path& p) {
      struct stat sb {};
      return ::lstat(p.c_str(), &sb) == 0 && std::time(nullptr) - sb.st_mtime < 60;
    };
    for (const auto& name : list(dir)) {
      if (name.front() == '.') continue;  // temp files: scan_tree
      auto dot = name.find('.');
      if (dot == std::string::npos) continue;
      std::string hash = name.substr(0, dot), rest = name.substr(dot);
      const auto& rec = secret(hash);
      if (!rec) continue;
      if (rest.starts_with(on_disk::use_infix)) {
        if (!*rec && !young(dir / name)) add_remove(dir / name, "is a use of a secret that was never recorded");
      } else if (rest.starts_with(on_disk::spent_infix)) {
        check_spent(dir / name, *rec, rest.substr(on_disk::spent_infix.size()));
      }
    }
  }

  void check_spent(const fs::path& path, const std::optional<policy::SecretRecord>& secret, const std::string& key) {
    if (!secret) return add_remove(path, "is a spent use of a secret that was never recorded");
    if (!is_hex_key(key)) return add(path, "is not a spent use");
    auto held = m_st.lock_transaction_key(secret->ca, key);
    if (!held) return add(path, held.error().detail);
    auto rec = m_st.load_transaction(secret->ca, key);
    if (!rec) return add(path, rec.error().detail);
    if (*rec && (*rec)->transaction.secret_hash == secret->hash) return;
    policy::SecretRecord s = *secret;
    add(path, fmt::format("is a use of secret {} that no recorded certificate took", secret->id), Fix::return_use,
        [this, s, key] { return m_st.return_use(s, key).has_value(); });
  }

  Store& m_st;
  bool m_repair;
  uid_t m_owner = 0;
  std::vector<Finding> m_findings;
  std::set<AuditKey> m_audited;
  std::optional<core::TimePoint> m_audit_start;  ///< the time of the log's first line
  std::size_t m_audit_read = 0;                  ///< bytes of the log read so far
  ino_t m_audit_ino = 0;
  bool m_partial = false;  ///< a listing or record of the CA being checked could not be read
};

}  // namespace

core::Result<std::vector<Finding>> check_records(Store& st, bool repair) { return Checker(st, repair).run(); }

}  // namespace store
