#include "app/run.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>

#include "app/cli.hpp"
#include "recorder/session_id.hpp"
#include "shell/environment.hpp"
#include "shell/passthrough.hpp"

namespace sddsh::app {

namespace {

// What a shell says and returns when a command cannot be run.
int report_spawn_failure(const std::string& command, const Error& error) {
  if (error.code == ENOENT && command.find('/') == std::string::npos) {
    std::fprintf(stderr, "sddsh: %s: command not found\n", command.c_str());
    return 127;
  }
  std::fprintf(stderr, "sddsh: %s\n", error.message.c_str());
  return error.code == ENOENT ? 127 : 126;
}

int run_agent(const RunOptions& options) {
  shell::PassthroughOptions passthrough;
  passthrough.spawn.argv = options.command;
  passthrough.spawn.environment = shell::agent_environment(
      shell::current_environment(),
      {.session_id = recorder::new_session_id(), .task_id = options.task_id, .passthrough = true});
  passthrough.fixed_size = options.size;
  // The TUI is not built yet: every session is a pass-through session for now.
  auto result = shell::run_passthrough(passthrough);
  if (!result) return report_spawn_failure(options.command.front(), result.error());
  return *result;
}

}  // namespace

int run_sddsh(const std::vector<std::string>& args) {
  auto parsed = parse_command_line(args);
  if (auto* exit_now = std::get_if<ExitNow>(&parsed)) {
    std::fputs(exit_now->text.c_str(), exit_now->exit_code == 0 ? stdout : stderr);
    return exit_now->exit_code;
  }
  try {
    return run_agent(std::get<RunOptions>(parsed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sddsh: %s\n", e.what());
    return 1;
  }
}

}  // namespace sddsh::app
