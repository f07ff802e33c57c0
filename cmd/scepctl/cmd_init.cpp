#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "env.hpp"

namespace scepctl {

core::Result<void> run_init(Env& env) {
  std::error_code ec;
  bool existed = std::filesystem::exists(store::Layout(env.store_path).format_file(), ec);
  SCEP_TRY_ASSIGN(auto store, env.open_store(store::OpenMode::create));
  if (env.json) env.out << nlohmann::json{{"store", store.root().string()}, {"created", !existed}}.dump() << "\n";
  else env.out << fmt::format("store ready at {}\n", store.root().string());
  return {};
}

void add_init_command(CLI::App& app, Env& env) {
  auto* cmd = app.add_subcommand("init", "create the store directory with a commented scep.toml");
  cmd->callback([&env] { env.command = [&env] { return run_init(env); }; });
}

}  // namespace scepctl
