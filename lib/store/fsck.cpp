#include "store/fsck.hpp"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.hpp"
#include "store/atomic_file.hpp"
#include "store/fs_util.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;

namespace {

class Checker {
 public:
  Checker(Store& st, bool repair) : m_st(st), m_repair(repair) {}

  core::Result<std::vector<Finding>> run() {
    scan_tree();
    auto names = m_st.ca_names();
    if (!names) return std::unexpected(names.error());
    for (const auto& ca : *names) check_ca(ca);
    check_secrets();
    return std::move(m_findings);
  }

 private:
  std::string rel(const fs::path& p) const { return p.lexically_relative(m_st.root()).string(); }

  void add(const fs::path& p, std::string problem, Finding::Fix fix = Finding::Fix::none) {
    Finding f{rel(p), std::move(problem), fix, false};
    if (m_repair && fix != Finding::Fix::none) f.repaired = apply(p, fix);
    m_findings.push_back(std::move(f));
  }

  bool apply(const fs::path& p, Finding::Fix fix) {
    switch (fix) {
      case Finding::Fix::remove: return ::unlink(p.c_str()) == 0;
      case Finding::Fix::restore: {
        fs::path to = p;
        to.replace_extension(".json");
        return ::rename(p.c_str(), to.c_str()) == 0;
      }
      case Finding::Fix::write_tx: return m_pending_tx && m_st.add_transaction(*m_pending_tx).has_value();
      case Finding::Fix::none: break;
    }
    return false;
  }

  /// Temp files of interrupted atomic writes, and world-writable entries.
  void scan_tree() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(m_st.root(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const fs::path& p = it->path();
      std::string name = p.filename().string();
      struct stat sb {};
      if (::lstat(p.c_str(), &sb) != 0) continue;
      if ((sb.st_mode & S_IWOTH) != 0 && !S_ISLNK(sb.st_mode))
        add(p, fmt::format("is world-writable (mode {:o})", sb.st_mode & 07777));
      if (S_ISREG(sb.st_mode) && name.size() > 12 && name.front() == '.' && name.find(".tmp-") != std::string::npos)
        add(p, "is the temp file of an interrupted write", Finding::Fix::remove);
    }
  }

  std::optional<scep::Transaction> transaction(const std::string& ca, const std::string& tid, const fs::path& from) {
    auto tx = m_st.find_transaction(ca, tid);
    if (!tx) {
      add(from, "its transaction record cannot be read: " + tx.error().detail);
      return std::nullopt;
    }
    return *tx;
  }

  void check_ca(const std::string& ca) {
    fs::path dir = m_st.ca_dir(ca);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "tx", ec)) {
      if (e.path().extension() != ".json") continue;
      auto text = read_file(e.path(), 1u << 20);
      std::string tid;
      try {
        tid = nlohmann::json::parse(text ? core::to_string(*text) : "").at("transaction_id").get<std::string>();
      } catch (const nlohmann::json::exception&) {
        add(e.path(), "is not a transaction record");
        continue;
      }
      auto tx = transaction(ca, tid, e.path());
      if (tx && tx->state == scep::Transaction::State::issued && !m_st.find_certificate(ca, tx->serial).value_or(std::nullopt))
        add(e.path(), fmt::format("records certificate {}, which is not in certs/", tx->serial));
    }
    for (const auto& e : fs::directory_iterator(dir / "certs", ec)) {
      std::string stem = e.path().stem().string();
      if (e.path().extension() != ".pem" || stem.front() == '.') continue;
      auto c = m_st.find_certificate(ca, stem);
      if (!c || !*c) add(e.path(), "is not a readable certificate");
    }
    if (auto revoked = m_st.revoked_certificates(ca); !revoked) add(dir / "revoked", revoked.error().detail);
    check_pending(ca, dir / "pending");
    check_renewals(ca, dir / "renewed");
  }

  void check_pending(const std::string& ca, const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string ext = e.path().extension().string();
      if ((ext != ".json" && ext != ".claimed") || e.path().filename().string().front() == '.') continue;
      auto text = read_file(e.path(), 1u << 20);
      auto p = text ? parse_pending(core::to_string(*text)) : std::unexpected(text.error());
      if (!p) {
        add(e.path(), "is not a pending request: " + p.error().detail);
        continue;
      }
      auto tx = transaction(ca, p->transaction_id, e.path());
      if (!tx) {
        if (ext == ".claimed") continue;
        // Parked, then the process died before the transaction was written.
        auto csr = crypto::Csr::from_der(p->csr_der);
        if (!csr) continue;
        m_pending_tx = scep::Transaction{ca, p->transaction_id, scep::Transaction::State::pending,
                                         crypto::digest(crypto::DigestAlg::sha256, csr->public_key().spki_der()),
                                         {}, {}, {}, {}, p->created, {}};
        add(e.path(), "waits without a transaction record", Finding::Fix::write_tx);
        m_pending_tx.reset();
        continue;
      }
      if (ext == ".json") continue;
      if (tx->state == scep::Transaction::State::pending)
        add(e.path(), "was taken by an approval that did not finish", Finding::Fix::restore);
      else
        add(e.path(), "was decided, but not cleared away", Finding::Fix::remove);
    }
  }

  /// renewed/SERIAL holds the transactionID of the renewal. A renewal that
  /// died before it was recorded left that transaction missing, or still on
  /// SERIAL itself (a client that keeps its key keeps its transactionID, so
  /// later renewals move the same record on: any other serial is fine).
  void check_renewals(const std::string& ca, const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string serial = e.path().filename().string();
      if (!is_serial(serial)) continue;
      auto text = read_file(e.path(), 4096);
      if (!text) continue;
      auto tx = m_st.find_transaction(ca, core::to_string(*text));
      if (!tx || (*tx && (*tx)->serial != serial)) continue;
      add(e.path(), "claims a renewal that was never recorded", Finding::Fix::remove);
    }
  }

  /// secrets/H.use-K tokens belong to a secrets/H.json record.
  void check_secrets() {
    std::error_code ec;
    fs::path dir = m_st.root() / "secrets";
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      auto dot = name.find(".use-");
      if (dot == std::string::npos || name.front() == '.') continue;
      if (!fs::exists(dir / (name.substr(0, dot) + ".json")))
        add(e.path(), "is a use of a secret that was never recorded", Finding::Fix::remove);
    }
  }

  Store& m_st;
  bool m_repair;
  std::vector<Finding> m_findings;
  std::optional<scep::Transaction> m_pending_tx;  ///< the record Fix::write_tx writes
};

}  // namespace

core::Result<std::vector<Finding>> check_records(Store& st, bool repair) { return Checker(st, repair).run(); }

}  // namespace store
