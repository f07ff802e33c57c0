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
#include "store/fs_util.hpp"
#include "store/store.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;
using nlohmann::json;

namespace {

/// certs/SERIAL.pem starts with "Policy: NAME" (PEM readers skip text before
/// the armour), so the certificate and the policy it was issued under land in
/// one atomic file.
constexpr std::string_view policy_prefix = "Policy: ";

std::string policy_of(std::string_view text) {
  if (!text.starts_with(policy_prefix)) return {};
  auto end = text.find('\n');
  std::string name(text.substr(policy_prefix.size(), end == std::string_view::npos ? 0 : end - policy_prefix.size()));
  return core::is_valid_name(name) ? name : std::string();
}

core::Result<crypto::RevokedEntry> parse_revocation(std::string_view text, std::string_view serial) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<int>() != 1) return core::fail(Errc::store_io, "unsupported revocation record format");
    auto reason = crypto::parse_reason(j.at("reason").get<std::string>());
    if (!reason || j.at("serial").get<std::string>() != serial)
      return core::fail(Errc::store_io, fmt::format("bad revocation record for {}", serial));
    return crypto::RevokedEntry{std::string(serial), from_unix_seconds(j.at("time").get<std::int64_t>()), *reason};
  } catch (const json::exception& e) {
    return core::fail(Errc::store_io, fmt::format("bad revocation record for {}: {}", serial, e.what()));
  }
}

/// The stems of `dir`'s files with `ext` that are serial numbers.
std::vector<std::string> serials_in(const fs::path& dir, std::string_view ext) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ext) continue;
    std::string stem = e.path().stem().string();
    if (is_serial(stem)) out.push_back(std::move(stem));
  }
  std::sort(out.begin(), out.end());
  return out;
}


}  // namespace

core::Result<void> Store::add_certificate(std::string_view ca, const crypto::Certificate& cert, std::string_view policy) {
  if (auto r = check_ca_name(ca); !r) return r;
  if (!policy.empty() && !core::is_valid_name(policy))
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a valid policy name", policy));
  fs::path dir = ca_dir(ca) / "certs";
  if (auto r = ensure_dir(dir); !r) return r;
  std::string text = policy.empty() ? cert.pem() : fmt::format("{}{}\n{}", policy_prefix, policy, cert.pem());
  return write_file_atomic(dir / (cert.serial_hex() + ".pem"), text, 0640, AtomicFile::Replace::no);
}

core::Result<std::optional<scep::IssuedCertificate>> Store::find_certificate(std::string_view ca,
                                                                             std::string_view serial_hex) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  if (!is_serial(serial_hex)) return std::optional<scep::IssuedCertificate>();
  std::string serial(serial_hex);
  auto bytes = read_file(ca_dir(ca) / "certs" / (serial + ".pem"), 1u << 20);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found) return std::optional<scep::IssuedCertificate>();
    return std::unexpected(bytes.error());
  }
  auto certs = crypto::Certificate::load_all(*bytes);
  if (!certs) return core::fail(Errc::store_io, fmt::format("certificate {}: {}", serial, certs.error().detail));
  scep::IssuedCertificate out{certs->front(), policy_of(core::to_string(*bytes)), std::nullopt};
  auto rev = read_file(ca_dir(ca) / "revoked" / (serial + ".json"), 1u << 16);
  if (rev) {
    auto entry = parse_revocation(core::to_string(*rev), serial);
    if (!entry) return std::unexpected(entry.error());
    out.revocation = std::move(*entry);
  } else if (rev.error().code != Errc::not_found) {
    return std::unexpected(rev.error());
  }
  return out;
}

core::Result<crypto::Certificate> Store::load_certificate(std::string_view ca, std::string_view serial_hex) const {
  auto found = find_certificate(ca, serial_hex);
  if (!found) return std::unexpected(found.error());
  if (!*found) return core::fail(Errc::not_found, fmt::format("no certificate with serial {}", serial_hex));
  return std::move((*found)->cert);
}

core::Result<std::vector<scep::IssuedCertificate>> Store::list_certificates(std::string_view ca) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  std::vector<scep::IssuedCertificate> out;
  for (const auto& serial : serials_in(ca_dir(ca) / "certs", ".pem")) {
    auto c = find_certificate(ca, serial);
    if (!c) return std::unexpected(c.error());
    if (*c) out.push_back(std::move(**c));
  }
  return out;
}

core::Result<void> Store::revoke(std::string_view ca, const crypto::RevokedEntry& entry) {
  auto found = find_certificate(ca, entry.serial_hex);
  if (!found) return std::unexpected(found.error());
  if (!*found) return core::fail(Errc::not_found, fmt::format("CA \"{}\" issued no certificate with serial {}", ca, entry.serial_hex));
  fs::path dir = ca_dir(ca) / "revoked";
  if (auto r = ensure_dir(dir); !r) return r;
  json j = {{"format", 1},
            {"serial", entry.serial_hex},
            {"time", unix_seconds(entry.time)},
            {"reason", crypto::reason_name(entry.reason)}};
  auto r = write_file_atomic(dir / (entry.serial_hex + ".json"), j.dump() + "\n", 0640, AtomicFile::Replace::no);
  if (!r && r.error().code == Errc::already_exists)
    return core::fail(Errc::already_exists, fmt::format("certificate {} is already revoked", entry.serial_hex));
  return r;
}

core::Result<std::vector<crypto::RevokedEntry>> Store::revoked_certificates(std::string_view ca) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  std::vector<crypto::RevokedEntry> out;
  fs::path dir = ca_dir(ca) / "revoked";
  for (const auto& serial : serials_in(dir, ".json")) {
    auto text = read_file(dir / (serial + ".json"), 1u << 16);
    if (!text) return std::unexpected(text.error());
    auto entry = parse_revocation(core::to_string(*text), serial);
    if (!entry) return std::unexpected(entry.error());
    out.push_back(std::move(*entry));
  }
  return out;
}

core::Result<std::optional<std::string>> Store::claim_renewal(std::string_view ca, std::string_view serial_hex,
                                                              std::string_view transaction_id) {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  if (!is_serial(serial_hex)) return core::fail(Errc::invalid_argument, "not a serial number");
  fs::path dir = ca_dir(ca) / "renewed";
  if (auto r = ensure_dir(dir); !r) return std::unexpected(r.error());
  fs::path claim = dir / std::string(serial_hex);
  auto r = write_file_atomic(claim, transaction_id, 0640, AtomicFile::Replace::no);
  if (r) return std::optional<std::string>();
  if (r.error().code != Errc::already_exists) return std::unexpected(r.error());
  auto holder = read_file(claim, 4096);
  if (!holder) return std::unexpected(holder.error());
  return std::optional<std::string>(core::to_string(*holder));
}

core::Result<std::optional<core::Bytes>> Store::load_crl(std::string_view ca) const {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  auto der = read_file(ca_dir(ca) / "crl.der", 64u << 20);
  if (der) return std::optional<core::Bytes>(std::move(*der));
  if (der.error().code == Errc::not_found) return std::optional<core::Bytes>();
  return std::unexpected(der.error());
}

core::Result<core::Bytes> Store::update_crl(std::string_view ca, const scep::CrlUpdate& update) {
  if (auto r = check_ca_name(ca); !r) return std::unexpected(r.error());
  auto lock = FileLock::whole(ca_dir(ca) / "crl.lock");
  if (!lock) return std::unexpected(lock.error());
  auto current = load_crl(ca);
  if (!current) return std::unexpected(current.error());
  auto next = update(*current);
  if (!next) return std::unexpected(next.error());
  if (!*next) {
    if (!*current) return core::fail(Errc::internal, "no CRL was made");
    return std::move(**current);
  }
  if (auto r = write_file_atomic(ca_dir(ca) / "crl.der", **next, 0644); !r) return std::unexpected(r.error());
  return std::move(**next);
}

}  // namespace store
