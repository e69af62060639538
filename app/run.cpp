#include "app/run.hpp"

#include <unistd.h>

#include <langinfo.h>

#include <cerrno>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <exception>

#include "app/agent_session.hpp"
#include "app/cli.hpp"
#include "app/conversation_commands.hpp"
#include "app/hook_command.hpp"
#include "app/import_command.hpp"
#include "app/replay_command.hpp"
#include "app/session_commands.hpp"
#include "app/task_commands.hpp"
#include "app/sync_command.hpp"
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

Result<int> run_passthrough_session(const RunOptions& options, tui::WindowBacking& agent) {
  shell::PassthroughOptions passthrough;
  passthrough.tap = agent.tap();
  passthrough.spawn = agent.spawn();
  passthrough.fixed_size = options.size;
  return shell::run_passthrough(passthrough);
}

Result<int> run_tui_session(const RunOptions& options, tui::WindowBacking& first, tui::WindowLauncher& launcher) {
  tui::TuiOptions tui;
  tui.first = &first;
  tui.launcher = &launcher;
  tui.prefix_byte = options.prefix_byte;
  tui.prefix_label = options.prefix_label;
  tui.panel = options.panel;
  tui.term = environment_value("TERM");
  const std::string colorterm = environment_value("COLORTERM");
  tui.truecolor = colorterm == "truecolor" || colorterm == "24bit";
  return tui::run_tui(tui);
}

std::string current_directory() {
  char path[4096];
  return ::getcwd(path, sizeof path) ? path : ".";
}

int run_agent(const RunOptions& options) {
  // The TUI needs a terminal on both sides; otherwise (pipes, CI) sddsh passes through.
  const bool tui = !options.no_tui && isatty(0) == 1 && isatty(1) == 1;
  AgentLauncher launcher(options, current_directory(), tui);
  auto first = launcher.prepare_first();
  if (!first) {
    std::fprintf(stderr, "sddsh: %s\n", first.error().message.c_str());
    return 1;
  }
  if (tui) use_utf8_locale();
  auto result = tui ? run_tui_session(options, **first, launcher) : run_passthrough_session(options, **first);
  if (!result) {
    (*first)->spawn_failed();
    return report_spawn_failure(options.command.front(), result.error());
  }
  // The TUI finished each window's session as its agent ended; pass-through ends here.
  (*first)->finished(*result);
  launcher.wrap_up_all();
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
    if (auto* c = std::get_if<SessionsCommand>(&parsed)) return run_sessions(*c);
    if (auto* c = std::get_if<ShowCommand>(&parsed)) return run_show(*c);
    if (auto* c = std::get_if<DiffCommand>(&parsed)) return run_diff(*c);
    if (auto* c = std::get_if<RecoverCommand>(&parsed)) return run_recover(*c);
    if (auto* c = std::get_if<ExportCommand>(&parsed)) return run_export(*c);
    if (std::get_if<HookCommand>(&parsed)) return run_hook();
    if (auto* c = std::get_if<TasksCommand>(&parsed)) return run_tasks(*c);
    if (auto* c = std::get_if<TaskCommand>(&parsed)) return run_task(*c);
    if (auto* c = std::get_if<DepCommand>(&parsed)) return run_dep(*c);
    if (auto* c = std::get_if<ImportCommand>(&parsed)) return run_import(*c);
    if (auto* c = std::get_if<SyncCommand>(&parsed)) return run_sync(*c);
    if (auto* c = std::get_if<ReplayCommand>(&parsed)) {
      use_utf8_locale();  // the recorded terminal's wide characters, the status line's symbols
      return run_replay(*c);
    }
    return run_agent(std::get<RunOptions>(parsed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sddsh: %s\n", e.what());
    return 1;
  }
}

}  // namespace sddsh::app
