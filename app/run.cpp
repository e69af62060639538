#include "app/run.hpp"

#include <unistd.h>

#include <langinfo.h>

#include <cerrno>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <exception>

#include "app/cli.hpp"
#include "recorder/session_id.hpp"
#include "shell/environment.hpp"
#include "shell/passthrough.hpp"
#include "tui/tui_session.hpp"

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

// Wide characters need a UTF-8 locale; without one (LANG unset, as in CI), C.UTF-8 always exists
// on Debian.
void use_utf8_locale() {
  std::setlocale(LC_ALL, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

Result<int> run_passthrough_session(const RunOptions& options, std::vector<std::string> environment) {
  shell::PassthroughOptions passthrough;
  passthrough.spawn.argv = options.command;
  passthrough.spawn.environment = std::move(environment);
  passthrough.fixed_size = options.size;
  return shell::run_passthrough(passthrough);
}

Result<int> run_tui_session(const RunOptions& options, std::vector<std::string> environment) {
  tui::TuiOptions tui;
  tui.spawn.argv = options.command;
  tui.spawn.environment = std::move(environment);
  tui.agent_name = options.command.front().substr(options.command.front().rfind('/') + 1);
  tui.prefix_byte = options.prefix_byte;
  tui.prefix_label = options.prefix_label;
  tui.panel = options.panel;
  tui.term = environment_value("TERM");
  const std::string colorterm = environment_value("COLORTERM");
  tui.truecolor = colorterm == "truecolor" || colorterm == "24bit";
  return tui::run_tui(tui);
}

int run_agent(const RunOptions& options) {
  // The TUI needs a terminal on both sides; otherwise (pipes, CI) sddsh passes through.
  const bool tui = !options.no_tui && isatty(0) == 1 && isatty(1) == 1;
  auto environment = shell::agent_environment(
      shell::current_environment(),
      {.session_id = recorder::new_session_id(), .task_id = options.task_id, .passthrough = !tui});
  if (tui) use_utf8_locale();
  auto result = tui ? run_tui_session(options, std::move(environment))
                    : run_passthrough_session(options, std::move(environment));
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
