#include "cpu.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/key_type.hpp"
#include "crypto/keys.hpp"
#include "crypto/ossl_ptr.hpp"

namespace bench {

using core::Errc;

static core::Result<double> cpu_seconds_of(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line)) return core::fail(Errc::not_found, fmt::format("no process {}", pid));
  // The command name is in parentheses and may hold blanks: fields count from the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return core::fail(Errc::malformed_request, fmt::format("/proc/{}/stat unreadable", pid));
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  double ticks = 0;
  // Fields 3..17 (state .. cstime); utime, stime, cutime, cstime are 14..17.
  for (int field = 3; field <= 17 && fields >> f; ++field)
    if (field >= 14) ticks += std::stod(f);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

core::Result<double> cpu_seconds(const std::vector<pid_t>& pids) {
  double sum = 0;
  for (pid_t p : pids) {
    auto s = cpu_seconds_of(p);
    if (!s) return s;
    sum += *s;
  }
  return sum;
}

/// CPU time, not wall time: a busy neighbour on the core does not inflate it.
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

namespace {

/// The median seconds of one EVP_PKEY_sign on `ctx` (set up for signing).
core::Result<double> sign_seconds(EVP_PKEY_CTX* ctx, const crypto::PrivateKey& key, int ops, int rounds) {
  unsigned char digest[32] = {1, 2, 3};
  std::vector<unsigned char> sig(static_cast<std::size_t>(EVP_PKEY_get_size(key.native())));
  std::vector<double> per_op;
  for (int r = 0; r < rounds; ++r) {
    double start = thread_cpu_seconds();
    for (int i = 0; i < ops; ++i) {
      std::size_t len = sig.size();
      digest[0] = static_cast<unsigned char>(i);
      if (EVP_PKEY_sign(ctx, sig.data(), &len, digest, sizeof digest) <= 0)
        return core::fail(Errc::internal, "EVP_PKEY_sign failed");
    }
    per_op.push_back((thread_cpu_seconds() - start) / ops);
  }
  std::sort(per_op.begin(), per_op.end());
  return per_op[per_op.size() / 2];
}

}  // namespace

core::Result<double> rsa_private_op_seconds(int bits, int ops, int rounds) {
  auto key = crypto::PrivateKey::generate_rsa(bits);
  if (!key) return std::unexpected(key.error());
  crypto::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key->native(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0)
    return core::fail(Errc::internal, "cannot set up an RSA signing context");
  return sign_seconds(ctx.get(), *key, ops, rounds);
}

core::Result<double> ecdsa_p256_sign_seconds(int ops, int rounds) {
  auto key = crypto::generate_key(crypto::KeyType::ec_p256);
  if (!key) return std::unexpected(key.error());
  crypto::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key->native(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0)
    return core::fail(Errc::internal, "cannot set up an ECDSA signing context");
  return sign_seconds(ctx.get(), *key, ops, rounds);
}

}  // namespace bench
