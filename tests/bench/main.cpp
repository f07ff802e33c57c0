// scep-bench: a load generator for SCEP servers (tests/bench/README in
// BENCHMARKS.md). Enrollments are prepared before the clock starts and
// checked after it stops, so the client's own RSA work stays off the clock.

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cpu.hpp"
#include "crypto/cms.hpp"
#include "load.hpp"
#include "requests.hpp"

namespace bench {

enum class Mode { enroll, caps, cacert, crl };

struct Options {
  std::string url;
  std::string ca;
  Mode mode = Mode::enroll;
  int workers = 1;
  std::size_t count = 100;
  std::size_t warmup = 0;
  double seconds = 0;
  int key_bits = 2048;
  std::vector<std::string> challenges;
  std::vector<pid_t> server_pids;
  int floor_ops = 200;
  std::string label;
  std::string save_request;
  bool json = false;
};

struct Report {
  std::size_t ok = 0;
  std::map<std::string, std::size_t> failures;  ///< first failure text -> how many like it
  std::string first_failure;
};

static std::string with_ca(std::string query, const Options& opt) {
  return opt.ca.empty() ? query : query + "&message=" + opt.ca;
}

static void count_failure(Report& rep, const std::string& why) {
  if (rep.first_failure.empty()) rep.first_failure = why;
  ++rep.failures[why.substr(0, why.find(':'))];
}

/// `total` prepared enrollments, spread evenly over the challenges (each
/// secret is used at most ceil(total / challenges) times).
static core::Result<std::vector<Enrollment>> prepare(const Options& opt, const CaCerts& ca,
                                                     const std::vector<Identity>& ids, std::size_t total) {
  std::vector<Enrollment> out;
  out.reserve(total);
  std::string run = fmt::format("{:x}-{}", ::getpid(), std::time(nullptr));
  for (std::size_t i = 0; i < total; ++i) {
    const std::string& challenge = opt.challenges.empty() ? std::string()
                                                          : opt.challenges[i * opt.challenges.size() / total];
    auto e = make_enrollment(ids[i % ids.size()], ca, challenge, fmt::format("bench-{}-{}", run, i));
    if (!e) return std::unexpected(e.error());
    out.push_back(std::move(*e));
  }
  return out;
}

static Report check(const Options& opt, const CaCerts& ca, const std::string& reference,
                    const std::vector<Enrollment>& sent, std::size_t offset, const LoadResult& load) {
  Report rep;
  for (std::size_t i = 0; i < load.replies.size(); ++i) {
    const Reply& r = load.replies[i];
    if (r.status != 200) {
      count_failure(rep,
                    r.status ? fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 200)) : "transport: " + r.error);
      continue;
    }
    if (opt.mode != Mode::enroll) {
      if (r.body == reference) ++rep.ok;
      else count_failure(rep, "body: differs from the first reply");
      continue;
    }
    if (auto c = check_cert_rep(sent[offset + i], ca, core::to_bytes(r.body)); c) ++rep.ok;
    else count_failure(rep, "CertRep: " + c.error().detail);
  }
  return rep;
}

/// --save-request: the first prepared PKCSReq to a file (for profiling a
/// server by hand, e.g. scep.cgi under callgrind); nothing is sent.
static int save_first(const std::string& path, const std::vector<Enrollment>& sent) {
  std::ofstream out(path, std::ios::binary);
  const core::Bytes& m = sent.front().message;
  out.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
  std::cerr << fmt::format("scep-bench: wrote a {}-byte PKCSReq for {} to {}\n", m.size(), sent.front().subject_cn,
                           path);
  return 0;
}

/// What GetCACert (and GetCACaps) answered before the load: the CA to check
/// replies against and the body every GET reply must equal.
struct Target {
  Url url;
  CaCerts ca;
  std::string reference;
};

static Target discover(const Options& opt) {
  auto url = parse_url(opt.url);
  if (!url) throw std::runtime_error(url.error().detail);
  Reply cacert = fetch(*url, {with_ca("operation=GetCACert", opt)});
  if (cacert.status != 200) throw std::runtime_error(fmt::format("GetCACert: HTTP {} {}", cacert.status, cacert.error));
  auto ca = parse_ca_certs(core::to_bytes(cacert.body));
  if (!ca) throw std::runtime_error("GetCACert: " + ca.error().detail);
  Target t{*url, *ca, cacert.body};
  if (opt.mode == Mode::caps || opt.mode == Mode::crl) {
    std::string op = opt.mode == Mode::caps ? "GetCACaps" : "GetCRL";
    Reply r = fetch(*url, {with_ca("operation=" + op, opt)});
    if (r.status != 200) throw std::runtime_error(fmt::format("{}: HTTP {} {}", op, r.status, r.error));
    t.reference = r.body;
  }
  return t;
}

template <class T>
static T value_or_throw(core::Result<T> r) {
  if (!r) throw std::runtime_error(r.error().detail);
  return std::move(*r);
}

static std::optional<double> server_cpu_now(const Options& opt) {
  if (opt.server_pids.empty()) return std::nullopt;
  return value_or_throw(cpu_seconds(opt.server_pids));
}

static const char* mode_name(Mode m) {
  switch (m) {
    case Mode::enroll: return "enroll";
    case Mode::caps: return "caps";
    case Mode::cacert: return "cacert";
    case Mode::crl: return "crl";
  }
  return "?";
}

static nlohmann::json summarize(const Options& opt, const Report& rep, const LoadResult& load, double rsa_op,
                                std::optional<double> server_cpu) {
  const std::size_t count = load.replies.size();  // fewer than --count when --seconds ended the run
  // Successful requests only: a server that fails some is not credited for them.
  double rate = static_cast<double>(rep.ok) / load.wall_seconds;
  double floor = 3 * rsa_op;
  nlohmann::json j = {{"label", opt.label},
                      {"url", opt.url},
                      {"mode", mode_name(opt.mode)},
                      {"workers", opt.workers},
                      {"count", count},
                      {"ok", rep.ok},
                      {"failed", count - rep.ok},
                      {"wall_s", load.wall_seconds},
                      {"per_s", rate},
                      {"p50_ms", 1e3 * latency_quantile(load.replies, 0.50)},
                      {"p99_ms", 1e3 * latency_quantile(load.replies, 0.99)},
                      {"rsa2048_private_op_ms", 1e3 * rsa_op},
                      {"floor_ms", 1e3 * floor}};
  if (server_cpu) {
    j["server_cpu_s"] = *server_cpu;
    j["server_cpu_ms_per_req"] = 1e3 * *server_cpu / static_cast<double>(std::max<std::size_t>(count, 1));
    if (opt.mode == Mode::enroll)
      j["cpu_over_floor"] = *server_cpu / static_cast<double>(std::max<std::size_t>(count, 1)) / floor;
  }
  if (!rep.first_failure.empty()) j["first_failure"] = rep.first_failure;
  return j;
}

static void print_text(const nlohmann::json& j) {
  std::cout << fmt::format("{} {} workers={} count={} ok={} wall={:.2f}s rate={:.1f}/s p50={:.2f}ms p99={:.2f}ms\n",
                           j["label"].get<std::string>(), j["mode"].get<std::string>(), j["workers"].get<int>(),
                           j["count"].get<std::size_t>(), j["ok"].get<std::size_t>(), j["wall_s"].get<double>(),
                           j["per_s"].get<double>(), j["p50_ms"].get<double>(), j["p99_ms"].get<double>());
  std::cout << fmt::format("RSA-2048 private op {:.3f} ms; floor (3 ops) {:.3f} ms\n",
                           j["rsa2048_private_op_ms"].get<double>(), j["floor_ms"].get<double>());
  if (j.contains("server_cpu_s"))
    std::cout << fmt::format("server CPU {:.2f}s = {:.3f} ms/request{}\n", j["server_cpu_s"].get<double>(),
                             j["server_cpu_ms_per_req"].get<double>(),
                             j.contains("cpu_over_floor")
                                 ? fmt::format(" = {:.2f}x floor", j["cpu_over_floor"].get<double>())
                                 : "");
}

static int run(const Options& opt) {
  crypto::enable_legacy_algorithms();  // micromdm's scepserver may answer with DES-CBC envelopes
  Target t = discover(opt);
  double rsa_op = value_or_throw(rsa_private_op_seconds(2048, opt.floor_ops / 5 > 0 ? opt.floor_ops / 5 : 1));

  std::vector<Identity> ids;  // outlives `sent`, which points into it
  std::vector<Enrollment> sent;
  if (opt.mode == Mode::enroll) {
    for (int w = 0; w < opt.workers; ++w) ids.push_back(value_or_throw(make_identity(opt.key_bits, std::to_string(w))));
    sent = value_or_throw(prepare(opt, t.ca, ids, opt.warmup + opt.count));
    if (!opt.save_request.empty()) return save_first(opt.save_request, sent);
  }
  std::string get_query = with_ca(opt.mode == Mode::caps  ? "operation=GetCACaps"
                                  : opt.mode == Mode::crl ? "operation=GetCRL"
                                                          : "operation=GetCACert",
                                  opt);
  auto call_from = [&](std::size_t offset) {
    return [&, offset](std::size_t i) {
      return opt.mode == Mode::enroll ? Call{{}, &sent[offset + i].message} : Call{get_query, nullptr};
    };
  };

  Connections conns(t.url, opt.workers);
  if (opt.warmup > 0) {
    Report wr = check(opt, t.ca, t.reference, sent, 0, run_load(conns, opt.warmup, call_from(0)));
    if (wr.ok != opt.warmup) throw std::runtime_error("warm-up failed: " + wr.first_failure);
  }
  std::optional<double> cpu_before = server_cpu_now(opt);
  LoadResult load = run_load(conns, opt.count, call_from(opt.warmup), opt.seconds);
  std::optional<double> cpu_after = server_cpu_now(opt);
  Report rep = check(opt, t.ca, t.reference, sent, opt.warmup, load);

  auto j = summarize(opt, rep, load, rsa_op, cpu_before ? std::optional(*cpu_after - *cpu_before) : std::nullopt);
  if (opt.json) std::cout << j.dump() << "\n";
  else print_text(j);
  for (const auto& [why, n] : rep.failures) std::cerr << fmt::format("scep-bench: {} failed: {}\n", n, why);
  if (!rep.first_failure.empty()) std::cerr << "scep-bench: first failure: " << rep.first_failure << "\n";
  return rep.ok == load.replies.size() ? 0 : 1;
}

}  // namespace bench

int main(int argc, char** argv) {
  bench::Options opt;
  CLI::App app{"scep-bench: SCEP load generator (enrollments/s, latency, server CPU vs the RSA floor)"};
  app.add_option("--url", opt.url, "SCEP endpoint, e.g. http://127.0.0.1:8080/scep")->required();
  app.add_option("--ca", opt.ca, "CA name (message= of GetCACert/GetCACaps)");
  std::map<std::string, bench::Mode> modes{{"enroll", bench::Mode::enroll},
                                           {"caps", bench::Mode::caps},
                                           {"cacert", bench::Mode::cacert},
                                           {"crl", bench::Mode::crl}};
  app.add_option("--mode", opt.mode, "enroll (PKCSReq), caps (GetCACaps), cacert (GetCACert) or crl (GetCRL)")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case));
  app.add_option("--workers", opt.workers, "concurrent workers, one keep-alive connection each")
      ->check(CLI::Range(1, 1024));
  app.add_option("--count", opt.count, "measured requests")->check(CLI::Range(1, 10000000));
  app.add_option("--warmup", opt.warmup, "requests sent before the measurement (not counted)");
  app.add_option("--seconds", opt.seconds, "send no request after this many seconds (--count is then an upper bound)")
      ->check(CLI::PositiveNumber);
  app.add_option("--key-bits", opt.key_bits, "RSA key size of the enrolling clients")->check(CLI::Range(1024, 8192));
  app.add_option("--challenge", opt.challenges, "challenge password(s); requests are spread evenly over them");
  app.add_option("--server-pid", opt.server_pids,
                 "server process(es) whose CPU time (incl. reaped children) is measured");
  app.add_option("--floor-ops", opt.floor_ops, "RSA-2048 private operations timed for the floor")
      ->check(CLI::Range(5, 100000));
  app.add_option("--label", opt.label, "a name for this run in the output");
  app.add_option("--save-request", opt.save_request, "enroll: write the first prepared PKCSReq (DER) here and exit");
  app.add_flag("--json", opt.json, "one JSON object on stdout");
  CLI11_PARSE(app, argc, argv);
  try {
    return bench::run(opt);
  } catch (const std::exception& e) {
    std::cerr << "scep-bench: error: " << e.what() << "\n";
    return 2;
  }
}
