#pragma once
// CPU accounting: the server's CPU time from /proc, and the cost of one
// RSA private-key operation on this machine (the floor of an enrollment).

#include <sys/types.h>

#include <vector>

#include "core/error.hpp"

namespace bench {

/// utime + stime + cutime + cstime of each process, summed, in seconds. The
/// children's part counts CGI processes the web server has reaped; pass
/// long-lived children (FastCGI) as PIDs of their own.
core::Result<double> cpu_seconds(const std::vector<pid_t>& pids);

/// CPU time of the calling thread, in seconds.
double thread_cpu_seconds();

/// Seconds of one RSA private-key operation (PKCS#1 v1.5 signature of a
/// SHA-256 digest) with a `bits` key: thread CPU time, the median of
/// `rounds` batches of `ops` operations, on the calling thread.
core::Result<double> rsa_private_op_seconds(int bits, int ops, int rounds = 5);

/// Seconds of one ECDSA P-256 signature of a SHA-256 digest, measured as
/// rsa_private_op_seconds: what an EC CA pays to sign a certificate.
core::Result<double> ecdsa_p256_sign_seconds(int ops, int rounds = 5);

}  // namespace bench
