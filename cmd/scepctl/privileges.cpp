#include "privileges.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace scepctl {
namespace {

/// A uid's passwd entry: what initgroups and the error hint need.
struct Account {
  std::string name;
  gid_t gid;
};

std::optional<Account> find_account(uid_t uid) {
  std::vector<char> buf(16384);
  for (;;) {
    passwd pw{};
    passwd* found = nullptr;
    int rc = getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return Account{pw.pw_name, pw.pw_gid};
  }
}

std::string failed(const char* call) { return fmt::format("{}: {}", call, std::strerror(errno)); }

/// Groups, then gid, then uid (the other order loses the right to set
/// them); then checks that no id is left over to regain root with.
/// Returns what went wrong, empty on success.
std::string switch_ids(uid_t uid, gid_t gid, const std::optional<Account>& account) {
  if (account) {
    if (initgroups(account->name.c_str(), gid) != 0) return failed("initgroups");
  } else if (setgroups(0, nullptr) != 0) {
    return failed("setgroups");
  }
  if (setgid(gid) != 0) return failed("setgid");
  if (setuid(uid) != 0) return failed("setuid");
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (getresuid(&ruid, &euid, &suid) != 0) return failed("getresuid");
  if (getresgid(&rgid, &egid, &sgid) != 0) return failed("getresgid");
  if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
    return "the real, effective and saved ids did not all change";
  if (setuid(0) == 0 || seteuid(0) == 0) return "root could be regained";
  return {};
}

}  // namespace

core::Result<void> become_store_owner(const std::string& store) {
  if (geteuid() != 0) return {};
  struct stat st {};
  // A store that is not there yet is created as root; any other trouble
  // is the command's to report.
  if (::stat(store.c_str(), &st) != 0 || st.st_uid == 0) return {};
  const uid_t uid = st.st_uid;
  const auto account = find_account(uid);
  // Like `sudo -u OWNER`: the owner's primary group. Without an account,
  // the store's group, unless that is root's.
  const gid_t gid = account ? account->gid : st.st_gid;
  std::string why;
  if (!account && gid == 0) why = "it has no passwd entry and the store's group is root";
  else why = switch_ids(uid, gid, account);
  if (why.empty()) return {};
  const std::string who = account ? account->name : fmt::format("uid {}", uid);
  const std::string sudo = account ? account->name : fmt::format("'#{}'", uid);
  return core::fail(
      core::Errc::store_io,
      fmt::format("the store {} is owned by {}, and scepctl, run as root, cannot switch to that user ({}); "
                  "run as that user (sudo -u {} scepctl ...)",
                  store, who, why, sudo));
}

}  // namespace scepctl
