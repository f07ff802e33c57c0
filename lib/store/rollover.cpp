// A CA's generations: the next one a rollover made (ca/NAME/next), its
// activation (next -> activating -> ca/NAME, the current one kept as
// retired/ID), and the retired ones. The layout is in store/layout.hpp.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/names.hpp"
#include "store/atomic_file.hpp"
#include "store/file_lock.hpp"
#include "store/file_ops.hpp"
#include "store/fs_util.hpp"
#include "store/store.hpp"

namespace store {

namespace fs = std::filesystem;
using core::Errc;

namespace {

bool present(const fs::path& p) { return ::access(p.c_str(), F_OK) == 0; }

core::Result<std::vector<crypto::Certificate>> read_certs_at(const fs::path& p) {
  SCEP_TRY_ASSIGN(auto bytes, read_file(p));
  auto certs = crypto::Certificate::load_all(bytes);
  if (!certs) return core::fail(Errc::store_io, fmt::format("{}: {}", p.string(), certs.error().detail));
  return certs;
}

/// A fresh private directory `dir/.STEM.new-XXXXXX` (0750).
core::Result<fs::path> make_temp_dir(const fs::path& dir, std::string_view stem) {
  std::string temp = (dir / fmt::format(".{}.new-XXXXXX", stem)).string();
  if (::mkdtemp(temp.data()) == nullptr)
    return core::fail(Errc::store_io,
                      fmt::format("cannot create a directory in {}: {}", dir.string(), std::strerror(errno)));
  ::chmod(temp.c_str(), 0750);
  return fs::path(temp);
}

/// The files of a generation directory, in the order an activation moves
/// them: cert.pem last, so that the key it names is in place before it.
constexpr std::array<std::string_view, 5> generation_order{on_disk::ca_key, on_disk::ca_key_uri, on_disk::chain,
                                                           on_disk::ra_cert, on_disk::ca_cert};
/// What a retired generation keeps (hard links of the current files).
/// Not the RA key: every generation's RA certificate certifies the one
/// current RA key (ca/NAME/ra-key.*), and a retired generation archived
/// offline must not carry it away.
constexpr std::array<std::string_view, 6> retired_files{on_disk::ca_cert, on_disk::ca_key,  on_disk::ca_key_uri,
                                                        on_disk::chain,   on_disk::ra_cert, on_disk::crl};

core::Result<void> rename_step(const fs::path& from, const fs::path& to) {
  if (sys::rename(from.c_str(), to.c_str()) != 0) return sys::io_error("cannot rename to", to, errno);
  return {};
}

}  // namespace

core::Result<void> Store::add_next_ca(std::string_view name, const NewCa& next, Replace replace) {
  SCEP_TRY(check_ca_name(name));
  if (!present(m_layout.ca_cert(name))) return core::fail(Errc::not_found, fmt::format("no CA called \"{}\"", name));
  if (present(m_layout.activating_dir(name)))
    return core::fail(Errc::store_busy,
                      fmt::format("an activation of CA \"{}\" is not complete: run `scepctl ca activate {}`", name,
                                  name));
  fs::path target = m_layout.next_dir(name);
  if (replace == Replace::no && present(target))
    return core::fail(Errc::already_exists,
                      fmt::format("CA \"{}\" has a next certificate already (activate it, or use --replace)", name));
  SCEP_TRY_ASSIGN(auto dir, make_temp_dir(m_layout.ca_dir(name), on_disk::next));
  std::string files;
  auto r = write_key_in(dir, scep::KeyRole::ca, next.key);
  files += std::string(next.key.on_token() ? on_disk::ca_key_uri : on_disk::ca_key) + "\n";
  if (r && !next.chain.empty()) {
    std::string pem;
    for (const auto& c : next.chain) pem += c.pem();
    r = write_file_atomic(dir / on_disk::chain, pem, 0640);
    files += std::string(on_disk::chain) + "\n";
  }
  if (r && next.ra) {
    r = write_file_atomic(dir / on_disk::ra_cert, next.ra->cert.pem(), 0640);
    files += std::string(on_disk::ra_cert) + "\n";
  }
  files += std::string(on_disk::ca_cert) + "\n";
  if (r) r = write_file_atomic(dir / on_disk::generation_files, files, 0640);
  // cert.pem last: has_next_ca() tests it.
  if (r) r = write_file_atomic(dir / on_disk::ca_cert, next.cert.pem(), 0640);
  // A next generation replaced (--replace) swaps places with the new one
  // in one step, so a crash leaves one or the other, never neither; the old
  // one, now in the temporary directory, goes after.
  bool swapped = false;
  if (r && replace == Replace::yes && present(target)) {
    if (sys::rename_exchange(dir.c_str(), target.c_str()) != 0) r = sys::io_error("cannot replace", target, errno);
    else swapped = true;
  } else if (r && sys::rename_noreplace(dir.c_str(), target.c_str()) != 0) {
    int err = errno;
    r = (err == EEXIST || err == ENOTEMPTY)
            ? core::fail(Errc::already_exists, fmt::format("CA \"{}\" has a next certificate already", name))
            : sys::io_error("cannot create", target, err);
  }
  if (swapped) SCEP_TRY(sync_directory(m_layout.ca_dir(name)));
  std::error_code ec;
  fs::remove_all(dir, ec);  // the new generation's leftovers on failure, the replaced one after a swap
  if (!r) return r;
  return sync_directory(m_layout.ca_dir(name));
}

bool Store::has_next_ca(std::string_view name) const {
  return core::is_valid_name(name) && present(m_layout.next_dir(name) / on_disk::ca_cert);
}

core::Result<std::optional<scep::CaBundle>> Store::load_next_ca(std::string_view name,
                                                                const config::Config& cfg) const {
  SCEP_TRY(check_ca_name(name));
  fs::path dir = m_layout.next_dir(name);
  auto certs = read_certs_at(dir / on_disk::ca_cert);
  if (!certs) {
    if (certs.error().code == Errc::not_found) return std::optional<scep::CaBundle>();
    return std::unexpected(certs.error());
  }
  scep::CaBundle ca{std::string(name), certs->front(), {}, std::nullopt, cfg.options_for(name)};
  if (auto chain = read_certs_at(dir / on_disk::chain)) ca.chain = std::move(*chain);
  else if (chain.error().code != Errc::not_found) return std::unexpected(chain.error());
  if (auto ra = read_certs_at(dir / on_disk::ra_cert)) ca.ra = ra->front();
  else if (ra.error().code != Errc::not_found) return std::unexpected(ra.error());
  return std::optional<scep::CaBundle>(std::move(ca));
}

core::Result<crypto::PrivateKey> Store::load_next_key(std::string_view name) const {
  SCEP_TRY(check_ca_name(name));
  return load_key_in(m_layout.next_dir(name), scep::KeyRole::ca);
}

core::Result<std::vector<Store::RetiredCa>> Store::retired_cas(std::string_view name) const {
  SCEP_TRY(check_ca_name(name));
  SCEP_TRY_ASSIGN(auto ids, sys::list_dir(m_layout.retired_dir(name)));
  auto current = read_certs_at(m_layout.ca_cert(name));
  std::vector<RetiredCa> out;
  for (auto& id : ids) {
    if (!core::is_valid_name(id)) continue;  // .ID.new-XXXXXX: an activation that stopped early
    auto certs = read_certs_at(m_layout.retired(name, id) / on_disk::ca_cert);
    // An emptied directory (the generation archived) is no generation; the
    // requests of other CAs and generations do not fail for it.
    if (!certs && certs.error().code == Errc::not_found) continue;
    if (!certs) return std::unexpected(certs.error());
    if (current && certs->front() == current->front()) continue;
    std::optional<crypto::Certificate> ra;
    if (auto ra_certs = read_certs_at(m_layout.retired(name, id) / on_disk::ra_cert)) ra = ra_certs->front();
    else if (ra_certs.error().code != Errc::not_found) return std::unexpected(ra_certs.error());
    out.push_back(RetiredCa{std::move(id), certs->front(), std::move(ra)});
  }
  std::sort(out.begin(), out.end(),
            [](const RetiredCa& a, const RetiredCa& b) { return a.cert.not_before() < b.cert.not_before(); });
  return out;
}

core::Result<crypto::PrivateKey> Store::load_retired_key(std::string_view name, std::string_view id) const {
  SCEP_TRY(check_ca_name(name));
  if (!core::is_valid_name(id))
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a generation ID", id));
  return load_key_in(m_layout.retired(name, id), scep::KeyRole::ca);
}

bool Store::activation_pending(std::string_view name) const {
  return core::is_valid_name(name) && present(m_layout.activating_dir(name));
}

core::Result<void> Store::check_next_generation(std::string_view name) const {
  fs::path next = m_layout.next_dir(name);
  SCEP_TRY_ASSIGN(auto certs, read_certs_at(next / on_disk::ca_cert));
  SCEP_TRY_ASSIGN(auto key, load_key_in(next, scep::KeyRole::ca));
  if (!certs.front().matches(key))
    return core::fail(Errc::invalid_argument, fmt::format("next/{} does not match its key: run `scepctl ca rollover "
                                                          "{} --replace`",
                                                          on_disk::ca_cert, name));
  auto next_ra = read_certs_at(next / on_disk::ra_cert);
  if (!next_ra && next_ra.error().code == Errc::not_found) return {};
  if (!next_ra) return std::unexpected(next_ra.error());
  // The RA key stays where it is: the next RA certificate must certify it,
  // or after the switch clients would encrypt to a key nobody holds (an RA
  // replaced after the rollover).
  SCEP_TRY_ASSIGN(auto ra_key, load_key_in(m_layout.ca_dir(name), scep::KeyRole::ra));
  if (!next_ra->front().matches(ra_key))
    return core::fail(Errc::invalid_argument,
                      fmt::format("the next RA certificate certifies another key than the RA's (was the RA replaced "
                                  "after the rollover?): run `scepctl ca rollover {} --replace` first",
                                  name));
  return {};
}

core::Result<std::string> Store::activate_next(std::string_view name) {
  SCEP_TRY(check_ca_name(name));
  fs::path ca_dir = m_layout.ca_dir(name);
  if (present(m_layout.activating_dir(name))) {
    // The commit point passed before a crash: only the moves are left.
    SCEP_TRY(finish_activation(name));
    SCEP_TRY_ASSIGN(auto retired, retired_cas(name));
    return retired.empty() ? std::string() : retired.back().id;
  }
  fs::path next = m_layout.next_dir(name);
  if (!present(next / on_disk::ca_cert))
    return core::fail(Errc::not_found,
                      fmt::format("CA \"{}\" has no next certificate (make one with `scepctl ca rollover`)", name));
  if (present(m_layout.ra_cert(name)) && !present(next / on_disk::ra_cert))
    return core::fail(Errc::invalid_argument,
                      fmt::format("CA \"{}\" has an RA its next certificate does not certify: run `scepctl ca rollover "
                                  "{} --replace` first",
                                  name, name));
  SCEP_TRY(check_next_generation(name));
  SCEP_TRY_ASSIGN(auto current, read_certs_at(m_layout.ca_cert(name)));
  std::string id = current.front().serial_hex();
  if (!core::is_valid_name(id)) return core::fail(Errc::internal, "the CA certificate's serial is not a name");
  fs::path retired_dir = m_layout.retired_dir(name);
  SCEP_TRY(ensure_dir(retired_dir));
  fs::path retired = m_layout.retired(name, id);
  if (present(retired)) {
    // Left by an activation that stopped before its commit point: it must
    // hold this very generation.
    SCEP_TRY_ASSIGN(auto kept, read_certs_at(retired / on_disk::ca_cert));
    if (!(kept.front() == current.front()))
      return core::fail(Errc::already_exists, fmt::format("{} holds another certificate", retired.string()));
  } else {
    // 1. The current generation, kept: hard links (the files at ca/NAME are
    //    only ever replaced by rename, never written in place), one rename.
    SCEP_TRY_ASSIGN(auto temp, make_temp_dir(retired_dir, id));
    core::Result<void> r;
    for (auto f : retired_files) {
      fs::path from = ca_dir / f;
      if (!present(from)) continue;
      if (sys::link(from.c_str(), (temp / f).c_str()) != 0) {
        r = sys::io_error("cannot link", temp / f, errno);
        break;
      }
    }
    if (r) r = write_file_atomic(temp / on_disk::crl_lock, "", 0640);
    if (r) r = sync_directory(temp);
    if (r) r = rename_step(temp, retired);
    if (!r) {
      std::error_code ec;
      fs::remove_all(temp, ec);
      return std::unexpected(r.error());
    }
    SCEP_TRY(sync_directory(retired_dir));
  }
  // 2. The commit point: next/ becomes activating/ in one rename.
  SCEP_TRY(rename_step(next, m_layout.activating_dir(name)));
  SCEP_TRY(sync_directory(ca_dir));
  // 3. The moves; a crash here is completed by the next run (or check --repair).
  SCEP_TRY(finish_activation(name));
  return id;
}

core::Result<bool> Store::finish_activation(std::string_view name) {
  SCEP_TRY(check_ca_name(name));
  fs::path ca_dir = m_layout.ca_dir(name);
  fs::path from = m_layout.activating_dir(name);
  if (!present(from)) return false;
  fs::path list = from / on_disk::generation_files;
  auto text = read_file(list, 4096);
  if (!text && text.error().code != Errc::not_found) return std::unexpected(text.error());
  if (text) {
    std::string names = core::to_string(*text);
    auto listed = [&names](std::string_view f) { return names.find(std::string(f) + "\n") != std::string::npos; };
    // The old generation's CRL stays in retired/ID: the new CA makes its own.
    // Optional files the new generation lacks go (the old ones are retired),
    // and so does the old key of the kind the new one is not (key.pem or
    // key.uri: exactly one stays).
    for (auto f : std::array<std::string_view, 5>{on_disk::crl, on_disk::chain, on_disk::ra_cert, on_disk::ca_key,
                                                  on_disk::ca_key_uri})
      if (f == on_disk::crl || !listed(f))
        if (sys::unlink((ca_dir / f).c_str()) != 0 && errno != ENOENT)
          return sys::io_error("cannot remove", ca_dir / f, errno);
    for (auto f : generation_order)
      if (listed(f) && present(from / f)) SCEP_TRY(rename_step(from / f, ca_dir / f));
    SCEP_TRY(sync_directory(ca_dir));
    if (sys::unlink(list.c_str()) != 0 && errno != ENOENT) return sys::io_error("cannot remove", list, errno);
  }
  std::error_code ec;
  fs::remove_all(from, ec);
  if (ec) return core::fail(Errc::store_io, fmt::format("cannot remove {}: {}", from.string(), ec.message()));
  SCEP_TRY(sync_directory(ca_dir));
  return true;
}

}  // namespace store

namespace store {

core::Result<core::Bytes> Store::update_earlier_crl(std::string_view ca, std::string_view id,
                                                    const scep::CrlUpdate& update) {
  SCEP_TRY(check_ca_name(ca));
  if (!core::is_valid_name(id))
    return core::fail(Errc::invalid_argument, fmt::format("\"{}\" is not a generation ID", id));
  fs::path dir = m_layout.retired(ca, id);
  if (!present(dir / on_disk::ca_cert))
    return core::fail(Errc::not_found, fmt::format("CA \"{}\" has no retired generation {}", ca, id));
  SCEP_TRY_ASSIGN(auto lock, FileLock::whole(dir / on_disk::crl_lock));
  std::optional<core::Bytes> current;
  if (auto der = read_file(dir / on_disk::crl)) current = std::move(*der);
  else if (der.error().code != Errc::not_found) return std::unexpected(der.error());
  SCEP_TRY_ASSIGN(auto next, update(current));
  if (!next) {
    if (!current) return core::fail(Errc::internal, "no CRL was made");
    return std::move(*current);
  }
  SCEP_TRY(write_file_atomic(dir / on_disk::crl, *next, 0644));
  return std::move(*next);
}

}  // namespace store
