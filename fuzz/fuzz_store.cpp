#include "fuzz_store.hpp"

#include <cstdio>
#include <cstdlib>

#include <stdlib.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "policy/policy.hpp"
#include "policy/secret.hpp"
#include "store/atomic_file.hpp"

namespace fuzz {

namespace fs = std::filesystem;

void die(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz setup: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

namespace {

/// OpenSSL's cleanup at exit loses what the legacy provider allocated
/// (openssl/openssl#16516), which LeakSanitizer would report at the end of
/// every run; without that cleanup OpenSSL's state stays reachable.
[[maybe_unused]] const bool openssl_no_atexit = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;

template <class T>
T need(core::Result<T> r, std::string_view what) {
  if (!r) die(what, r.error().detail);
  return std::move(*r);
}

void need(const core::Result<void>& r, std::string_view what) {
  if (!r) die(what, r.error().detail);
}

core::Bytes read_data(std::string_view name) { return need(store::read_file(fs::path(SCEP_FUZZ_DATA) / name), name); }

WireCa load_wire_ca() {
  auto certs = need(crypto::Certificate::load_all(read_data("scepclient/ca.pem")), "ca.pem");
  if (certs.empty()) die("ca.pem", "no certificate");
  core::Bytes key = read_data("scepclient/ca.key");
  need(crypto::PrivateKey::load(key), "ca.key");
  std::vector<std::string> challenges;
  for (const char* file : {"scepclient/challenge.txt", "certmonger/challenge.txt"}) {
    std::string c = core::to_string(read_data(file));
    while (!c.empty() && (c.back() == '\n' || c.back() == '\r')) c.pop_back();
    challenges.push_back(std::move(c));
  }
  return WireCa{certs.front(), std::move(key), std::move(challenges)};
}

/// As in the captures: 365 days, clientAuth, digitalSignature + keyEncipherment.
policy::Policy wire_policy() {
  policy::Policy p;
  p.name = "wire";
  p.validity_days = 365;
  return p;
}

/// The errors dispatch answers with a 5xx (web/dispatch.cpp).
bool is_server_fault(core::Errc code) {
  using core::Errc;
  switch (code) {
    case Errc::malformed_request:
    case Errc::unknown_ca:
    case Errc::decrypt_failed:
    case Errc::too_large:
    case Errc::unsupported_algorithm:
    case Errc::bad_message_check:
    case Errc::policy_rejected:
    case Errc::invalid_argument:
    case Errc::not_found:
    case Errc::already_exists: return false;
    case Errc::store_io:
    case Errc::store_busy:
    case Errc::config_invalid:
    case Errc::unavailable:
    case Errc::internal: return true;
  }
  return true;
}

/// $TMPDIR if set, else /dev/shm: the store fsyncs every file it writes, which
/// on tmpfs costs nothing.
fs::path scratch_parent() {
  if (const char* t = std::getenv("TMPDIR"); t && *t) return t;
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

}  // namespace

void end_run() { ERR_clear_error(); }

void require_client_error(const core::Error& e, std::string_view where) {
  if (!is_server_fault(e.code)) return;
  std::fprintf(stderr, "%.*s: client input caused a server error (%s): %s\n", static_cast<int>(where.size()),
               where.data(), std::string(core::errc_name(e.code)).c_str(), e.detail.c_str());
  std::abort();
}

const WireCa& wire_ca() {
  static const WireCa ca = load_wire_ca();
  return ca;
}

core::TimePoint wire_time() { return wire_ca().cert.not_before() + std::chrono::minutes(30); }

void XorShiftRng::fill(std::span<std::uint8_t> out) {
  for (auto& b : out) {
    m_state ^= m_state << 13;
    m_state ^= m_state >> 7;
    m_state ^= m_state << 17;
    b = static_cast<std::uint8_t>(m_state);
  }
}

FuzzStore& FuzzStore::instance() {
  static FuzzStore s;
  return s;
}

FuzzStore::FuzzStore() {
  std::string tmpl = (scratch_parent() / "scep-fuzz-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) die("mkdtemp", tmpl);
  m_root = tmpl;
  static fs::path root_at_exit = m_root;
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(root_at_exit, ec);
  });
}

void FuzzStore::recreate() {
  m_service.reset();
  m_repo.reset();
  m_store.reset();
  fs::path dir = m_root / "store";
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) die("remove_all", ec.message());

  m_store.emplace(need(store::Store::open(dir, store::OpenMode::create), "Store::open"));
  const WireCa& ca = wire_ca();
  auto key = need(crypto::PrivateKey::load(ca.key_pem), "ca.key");
  need(m_store->add_ca("wire", store::NewCa{ca.cert, std::move(key), {}}), "add_ca");
  need(m_store->set_default_ca("wire"), "set_default_ca");
  need(m_store->set_ca_option("wire", "legacy_algorithms", "true"), "set_ca_option");
  need(m_store->save_policy(wire_policy(), store::Store::Replace::no), "save_policy");
  int n = 0;
  for (const auto& challenge : ca.challenges) {
    policy::SecretRecord secret;
    secret.id = "s-00000000000" + std::to_string(++n);
    secret.hash = policy::secret_hash(challenge);
    secret.ca = "wire";
    secret.policy = "wire";
    secret.uses = uses_per_secret;
    secret.created = m_clock.now();
    secret.expires = m_clock.now() + std::chrono::days(1);
    need(m_store->add_secret(secret), "add_secret");
  }

  m_rng.reset();
  m_repo.emplace(*m_store);
  m_service.emplace(m_repo->backend(), m_clock, m_rng);
}

scep::Service& FuzzStore::next_run() {
  if (m_runs++ % runs_per_store == 0) recreate();
  return *m_service;
}

}  // namespace fuzz
