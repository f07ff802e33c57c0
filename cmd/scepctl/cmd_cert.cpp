// Issued certificates on the operator's side: `certs` lists, `cert show` shows one.
#include <algorithm>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "certs_lookup.hpp"
#include "crypto/crl.hpp"
#include "env.hpp"
#include "show.hpp"
#include "table.hpp"

namespace scepctl {

namespace {

struct CertsOptions {
  std::string ca;
  std::string cn;
  std::optional<int> expiring;
  bool revoked = false;
};

struct CertShowOptions {
  std::string serial;
  std::string ca;
  bool pem = false;
};

struct Listed {
  std::string ca;
  scep::IssuedCertificate issued;
};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_text_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

/// The CN values of a subject as Certificate::subject() writes it (RFC 4514:
/// ',' and '+' separate, '\' escapes).
std::vector<std::string> common_names(std::string_view subject) {
  std::vector<std::string> out, parts{""};
  for (std::size_t i = 0; i < subject.size(); ++i) {
    char c = subject[i];
    if (c == '\\' && i + 1 < subject.size()) parts.back() += subject[++i];
    else if (c == ',' || c == '+') parts.emplace_back();
    else parts.back() += c;
  }
  for (const auto& p : parts)
    if (p.size() > 3 && same_text_ignoring_case(p.substr(0, 3), "CN=")) out.push_back(p.substr(3));
  return out;
}

bool selected(const Listed& l, const CertsOptions& opt, core::TimePoint now) {
  const auto& c = l.issued;
  if (opt.revoked && !c.revocation) return false;
  if (opt.expiring &&
      (c.revocation || c.cert.not_after() < now || c.cert.not_after() > now + std::chrono::days(*opt.expiring)))
    return false;
  if (!opt.cn.empty()) {
    auto cns = common_names(c.cert.subject());
    return std::any_of(cns.begin(), cns.end(), [&](const auto& cn) { return same_text_ignoring_case(cn, opt.cn); });
  }
  return true;
}

nlohmann::json issued_json(const Listed& l, core::TimePoint now) {
  const auto& c = l.issued;
  auto j = cert_json(c.cert);
  j["ca"] = l.ca;
  j["status"] = status_of(c, now);
  j["policy"] = c.policy;
  if (c.revocation) {
    j["revoked_at"] = crypto::format_time(c.revocation->time);
    j["reason"] = crypto::reason_name(c.revocation->reason);
  }
  return j;
}

/// The selected certificates of the selected CAs, earliest issued (notBefore) first.
core::Result<void> run_certs(const CertsOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto cas, selected_cas(st, opt.ca));
  auto now = env.clock.now();
  std::vector<Listed> all;
  for (const auto& ca : cas) {
    SCEP_TRY_ASSIGN(auto certs, st.list_certificates(ca));
    for (auto& c : certs) {
      Listed l{ca, std::move(c)};
      if (selected(l, opt, now)) all.push_back(std::move(l));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const Listed& a, const Listed& b) {
    return a.issued.cert.not_before() < b.issued.cert.not_before();
  });
  nlohmann::json list = nlohmann::json::array();
  Table table({"SERIAL", "STATUS", "CA", "NOT_BEFORE", "NOT_AFTER", "POLICY", "SUBJECT", "SANS"});
  for (const auto& l : all) {
    const auto& c = l.issued;
    if (env.json) {
      list.push_back(issued_json(l, now));
      continue;
    }
    auto sans = cert_sans(c.cert);
    table.add({c.cert.serial_hex(), std::string(status_of(c, now)), l.ca, crypto::format_time(c.cert.not_before()),
               crypto::format_time(c.cert.not_after()), c.policy.empty() ? "-" : c.policy, c.cert.subject(),
               sans.empty() ? "-" : san_list(sans)});
  }
  if (env.json) env.out << list.dump(2) << "\n";
  else print_listing(env, table, "no certificates");
  return {};
}

void print_details(Env& env, const nlohmann::json& j, const scep::IssuedCertificate& c) {
  auto line = [&](std::string_view label, const std::string& value) {
    env.out << fmt::format("  {:<20}{}\n", fmt::format("{}:", label), value);
  };
  env.out << fmt::format("certificate {} of CA \"{}\"\n", c.cert.serial_hex(), j["ca"].get<std::string>());
  for (const char* key : {"subject", "issuer", "serial", "not_before", "not_after", "key"}) line(key, j[key]);
  line("sans", j["sans"].empty() ? "-" : san_list(j["sans"]));
  line("key_usage", fmt::format("{}", fmt::join(j["key_usage"].get<std::vector<std::string>>(), ",")));
  auto eku = j["extended_key_usage"].get<std::vector<std::string>>();
  line("extended_key_usage", eku.empty() ? "-" : fmt::format("{}", fmt::join(eku, ",")));
  line("policy", c.policy.empty() ? "-" : c.policy);
  std::string status = j["status"];
  if (c.revocation)
    status += fmt::format(" ({}, {})", j["reason"].get<std::string>(), j["revoked_at"].get<std::string>());
  line("status", status);
  for (const char* key : {"md5", "sha1", "sha256"}) line(key, j[key]);
}

core::Result<void> run_cert_show(const CertShowOptions& opt, Env& env) {
  SCEP_TRY_ASSIGN(auto serial, canonical_serial(opt.serial));
  SCEP_TRY_ASSIGN(auto st, env.open_store(store::OpenMode::existing));
  SCEP_TRY_ASSIGN(auto ca, issuing_ca(st, opt.ca, serial));
  SCEP_TRY_ASSIGN(auto found, st.find_certificate(ca, serial));
  if (!found) return core::fail(core::Errc::not_found, fmt::format("no certificate with serial {}", serial));
  const auto& c = *found;
  auto j = issued_json({ca, c}, env.clock.now());
  j["key_usage"] = policy::key_usage_names(c.cert.key_usage());
  j["extended_key_usage"] = c.cert.extended_key_usage();
  j["pem"] = c.cert.pem();
  if (env.json) {
    env.out << j.dump(2) << "\n";
    return {};
  }
  print_details(env, j, c);
  if (opt.pem) env.out << c.cert.pem();
  return {};
}

}  // namespace

void add_cert_command(CLI::App& app, Env& env) {
  auto copt = std::make_shared<CertsOptions>();
  auto* certs = app.add_subcommand("certs", "list issued certificates, earliest issued first");
  certs->add_option("--ca", copt->ca, "only this CA (default: all CAs)");
  certs->add_option("--cn", copt->cn, "only certificates with this CN (whole value, any case)");
  auto* expiring = certs->add_option("--expiring", copt->expiring, "only valid ones that expire within DAYS days")
                       ->check(CLI::Range(0, 36500));
  certs->add_flag("--revoked", copt->revoked, "only revoked certificates")->excludes(expiring);
  certs->callback([copt, &env] { env.command = [copt, &env] { return run_certs(*copt, env); }; });

  auto* cert = app.add_subcommand("cert", "one issued certificate");
  cert->require_subcommand(1);
  auto sopt = std::make_shared<CertShowOptions>();
  auto* show = cert->add_subcommand("show", "print one certificate in full: names, validity, usages, policy, status");
  show->add_option("serial", sopt->serial, "serial number in hex (colons and case do not matter)")->required();
  show->add_option("--ca", sopt->ca, "the issuing CA (needed only if several CAs have the serial)");
  show->add_flag("--pem", sopt->pem, "print the certificate as PEM after the details");
  show->callback([sopt, &env] { env.command = [sopt, &env] { return run_cert_show(*sopt, env); }; });
}

}  // namespace scepctl
