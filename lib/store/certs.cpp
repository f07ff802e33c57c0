// Issued certificates, revocations, renewal claims and the CRL.
#include <cerrno>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/names.hpp"
#include "store/atomic_file.hpp"
#include "store/file_lock.hpp"
#include "store/file_ops.hpp"
#include "store/fs_util.hpp"
#include "store/store.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;
using nlohmann::json;

namespace {

/// certs/SERIAL.pem starts with header lines (PEM readers skip text before
/// the armour): "Policy: NAME", the policy it was issued under, and
/// "Transaction: KEY", the transaction whose record it belongs to.
constexpr std::string_view policy_prefix = "Policy: ";
constexpr std::string_view transaction_prefix = "Transaction: ";

/// The value of header `prefix` in the lines before the PEM armour.
std::string header_of(std::string_view text, std::string_view prefix) {
  while (!text.empty() && !text.starts_with("-----")) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (line.starts_with(prefix)) return std::string(line.substr(prefix.size()));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return {};
}

std::string policy_of(std::string_view text) {
  std::string name = header_of(text, policy_prefix);
  return core::is_valid_name(name) ? name : std::string();
}

}  // namespace

core::Result<std::vector<std::string>> serials_in(const fs::path& dir, std::string_view ext) {
  SCEP_TRY_ASSIGN(auto names, sys::list_dir(dir));
  std::vector<std::string> out;
  for (auto& n : names) {
    if (!n.ends_with(ext)) continue;
    n.resize(n.size() - ext.size());
    if (is_serial(n)) out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {}  // namespace

fs::path Store::certificate_path(std::string_view ca, std::string_view serial_hex) const {
  return m_layout.certificate(ca, serial_hex);
}

core::Result<void> Store::add_certificate(std::string_view ca, const crypto::Certificate& cert,
                                          std::string_view policy) {
  return write_certificate_index(ca, cert, policy, {}, AtomicFile::Durable::yes);
}

core::Result<void> Store::write_certificate_index(std::string_view ca, const crypto::Certificate& cert,
                                                  std::string_view policy, std::string_view transaction_key,
                                                  AtomicFile::Durable durable) {
  SCEP_TRY(check_ca_name(ca));
  if (!policy.empty() && !core::is_valid_name(policy))
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid policy name", policy));
  fs::path dir = m_layout.certs_dir(ca);
  SCEP_TRY(ensure_dir(dir));
  std::string text;
  if (!policy.empty()) text += fmt::format("{}{}\n", policy_prefix, policy);
  if (!transaction_key.empty()) text += fmt::format("{}{}\n", transaction_prefix, transaction_key);
  text += cert.pem();
  // The link claims the serial (O_EXCL semantics): a taken one fails.
  return write_file_atomic(certificate_path(ca, cert.serial_hex()), text, 0640, AtomicFile::Replace::no, durable);
}

std::string transaction_of_index(std::string_view text) {
  std::string key = header_of(text, transaction_prefix);
  return is_hex_key(key) ? key : std::string();
}

core::Result<std::optional<scep::IssuedCertificate>> Store::find_certificate(std::string_view ca,
                                                                             std::string_view serial_hex) const {
  SCEP_TRY(check_ca_name(ca));
  if (!is_serial(serial_hex)) return std::optional<scep::IssuedCertificate>();
  std::string serial(serial_hex);
  auto bytes = read_file(m_layout.certificate(ca, serial), 1u << 20);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found) return std::optional<scep::IssuedCertificate>();
    return std::unexpected(bytes.error());
  }
  auto certs = crypto::Certificate::load_all(*bytes);
  if (!certs) return core::fail(Errc::store_io, fmt::format("certificate {}: {}", serial, certs.error().detail));
  scep::IssuedCertificate out{certs->front(), policy_of(core::to_string(*bytes)), std::nullopt};
  auto rev = read_file(m_layout.revocation(ca, serial), 1u << 16);
  if (rev) {
    SCEP_TRY_ASSIGN(auto entry, parse_revocation(core::to_string(*rev), serial));
    out.revocation = std::move(entry);
  } else if (rev.error().code != Errc::not_found) {
    return std::unexpected(rev.error());
  }
  return out;
}

core::Result<crypto::Certificate> Store::load_certificate(std::string_view ca, std::string_view serial_hex) const {
  SCEP_TRY_ASSIGN(auto found, find_certificate(ca, serial_hex));
  if (!found) return core::fail(Errc::not_found, fmt::format("no certificate with serial {}", serial_hex));
  return std::move(found->cert);
}

core::Result<std::vector<scep::IssuedCertificate>> Store::list_certificates(std::string_view ca) const {
  SCEP_TRY(check_ca_name(ca));
  SCEP_TRY_ASSIGN(auto serials, serials_in(m_layout.certs_dir(ca), on_disk::pem_ext));
  std::vector<scep::IssuedCertificate> out;
  for (const auto& serial : serials) {
    SCEP_TRY_ASSIGN(auto c, find_certificate(ca, serial));
    if (c) out.push_back(std::move(*c));
  }
  return out;
}

core::Result<void> Store::revoke(std::string_view ca, const crypto::RevokedEntry& entry,
                                 const scep::AuditEvent& event) {
  SCEP_TRY_ASSIGN(auto found, find_certificate(ca, entry.serial_hex));
  if (!found)
    return core::fail(Errc::not_found,
                      fmt::format("CA \"{}\" issued no certificate with serial {}", ca, entry.serial_hex));
  SCEP_TRY(ensure_dir(m_layout.revoked_dir(ca)));
  // The revocation record is the commit point; the audit line an index.
  auto r = write_file_atomic(m_layout.revocation(ca, entry.serial_hex), encode_revocation(entry, event), 0640,
                             AtomicFile::Replace::no);
  if (!r && r.error().code == Errc::already_exists)
    return core::fail(Errc::already_exists, fmt::format("certificate {} is already revoked", entry.serial_hex));
  if (!r) return r;
  log_decision(event);
  return {};
}

core::Result<std::vector<crypto::RevokedEntry>> Store::revoked_certificates(std::string_view ca) const {
  SCEP_TRY(check_ca_name(ca));
  std::vector<crypto::RevokedEntry> out;
  // A listing that fails fails the caller: a CRL is never signed from a
  // partial view of the revocations.
  SCEP_TRY_ASSIGN(auto serials, serials_in(m_layout.revoked_dir(ca), on_disk::record_ext));
  for (const auto& serial : serials) {
    SCEP_TRY_ASSIGN(auto text, read_file(m_layout.revocation(ca, serial), 1u << 16));
    SCEP_TRY_ASSIGN(auto entry, parse_revocation(core::to_string(text), serial));
    out.push_back(std::move(entry));
  }
  return out;
}

core::Result<std::vector<std::string>> Store::revoked_serials(std::string_view ca) const {
  SCEP_TRY(check_ca_name(ca));
  return serials_in(m_layout.revoked_dir(ca), on_disk::record_ext);
}

core::Result<std::optional<std::string>> Store::claim_renewal(std::string_view ca, std::string_view serial_hex,
                                                              std::string_view transaction_id) {
  SCEP_TRY(check_ca_name(ca));
  if (!is_serial(serial_hex)) return core::fail(Errc::invalid_argument, "not a serial number");
  SCEP_TRY(ensure_dir(m_layout.renewed_dir(ca)));
  fs::path claim = m_layout.renewal(ca, serial_hex);
  auto r = write_file_atomic(claim, std::string(transaction_id), 0640, AtomicFile::Replace::no);
  if (r) return std::optional<std::string>();
  if (r.error().code != Errc::already_exists) return std::unexpected(r.error());
  SCEP_TRY_ASSIGN(auto holder, read_file(claim, 4096));
  return std::optional<std::string>(core::to_string(holder));
}

core::Result<std::optional<core::Bytes>> Store::load_crl(std::string_view ca) const {
  SCEP_TRY(check_ca_name(ca));
  auto der = read_file(m_layout.crl(ca), 64u << 20);
  if (der) return std::optional<core::Bytes>(std::move(*der));
  if (der.error().code == Errc::not_found) return std::optional<core::Bytes>();
  return std::unexpected(der.error());
}

core::Result<core::Bytes> Store::update_crl(std::string_view ca, const scep::CrlUpdate& update) {
  SCEP_TRY(check_ca_name(ca));
  SCEP_TRY_ASSIGN(auto lock, FileLock::whole(m_layout.crl_lock(ca)));
  return update_crl_locked(ca, update);
}

core::Result<std::optional<core::Bytes>> Store::try_update_crl(std::string_view ca, const scep::CrlUpdate& update) {
  SCEP_TRY(check_ca_name(ca));
  SCEP_TRY_ASSIGN(auto lock, FileLock::try_whole(m_layout.crl_lock(ca)));
  if (!lock) return std::optional<core::Bytes>();
  SCEP_TRY_ASSIGN(auto crl, update_crl_locked(ca, update));
  return std::optional<core::Bytes>(std::move(crl));
}

core::Result<core::Bytes> Store::update_crl_locked(std::string_view ca, const scep::CrlUpdate& update) {
  SCEP_TRY_ASSIGN(auto current, load_crl(ca));
  SCEP_TRY_ASSIGN(auto next, update(current));
  if (!next) {
    if (!current) return core::fail(Errc::internal, "no CRL was made");
    return std::move(*current);
  }
  SCEP_TRY(write_file_atomic(m_layout.crl(ca), *next, 0644));
  return std::move(*next);
}

}  // namespace store
