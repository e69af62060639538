#include "app/run.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <langinfo.h>

#include <cerrno>
#include <chrono>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <exception>
#include <memory>

#include "app/cli.hpp"
#include "app/conversation_commands.hpp"
#include "app/hook_command.hpp"
#include "app/import_command.hpp"
#include "app/replay_command.hpp"
#include "app/session_commands.hpp"
#include "app/task_commands.hpp"
#include "app/task_desk.hpp"
#include "app/sync_command.hpp"
#include "app/terminal_answers.hpp"
#include "app/upload_packer.hpp"
#include "app/uploader.hpp"
#include "recorder/agent_probe.hpp"
#include "recorder/redaction.hpp"
#include "recorder/session_id.hpp"
#include "recorder/session_recorder.hpp"
#include "recorder/worktree.hpp"
#include "shell/environment.hpp"
#include "shell/passthrough.hpp"
#include "tracker-client/remote_config.hpp"
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

Result<int> run_passthrough_session(const RunOptions& options, std::vector<std::string> argv,
                                    std::vector<std::string> environment, shell::SessionTap* tap) {
  shell::PassthroughOptions passthrough;
  passthrough.tap = tap;
  passthrough.spawn.argv = std::move(argv);
  passthrough.spawn.environment = std::move(environment);
  passthrough.fixed_size = options.size;
  return shell::run_passthrough(passthrough);
}

Result<int> run_tui_session(const RunOptions& options, std::vector<std::string> argv,
                            std::vector<std::string> environment, shell::SessionTap* tap,
                            tui::TaskDesk* desk) {
  tui::TuiOptions tui;
  tui.tap = tap;
  tui.desk = desk;
  tui.spawn.argv = std::move(argv);
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

std::string current_directory() {
  char path[4096];
  return ::getcwd(path, sizeof path) ? path : ".";
}

// --worktree: the task's own checkout (made, with its .worktreeinclude files and the setup
// command, when missing) becomes the current directory, so that the agent, the recorder's
// snapshots and the diffs all see it; the store stays the repository's (the git common dir).
Result<void> enter_task_worktree(const RunOptions& options) {
  auto worktree = recorder::ensure_task_worktree(current_directory(), *options.task_id,
                                                 {.location = options.worktree_dir});
  if (!worktree) return Failure{worktree.error()};
  for (const auto& warning : worktree->warnings)
    std::fprintf(stderr, "sddsh: .worktreeinclude: %s\n", warning.c_str());
  std::fprintf(stderr, "sddsh: task %s in %s worktree %s (branch %s)\n", options.task_id->c_str(),
               worktree->reused ? "its" : "a new", worktree->path.c_str(), worktree->branch.c_str());
  if (::chdir(worktree->path.c_str()) != 0)
    return Failure{Error{errno, "cannot enter " + worktree->path + ": " + std::strerror(errno)}};
  ::setenv("PWD", worktree->path.c_str(), 1);
  if (worktree->reused || options.worktree_setup.empty()) return {};
  // Before the terminal is raw and before any thread: a plain shell run, its output the user's.
  std::fprintf(stderr, "sddsh: setting up: %s\n", options.worktree_setup.c_str());
  const int status = std::system(options.worktree_setup.c_str());
  if (status != 0)
    return Failure{Error{status, "the worktree's setup command failed (" +
                                     (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                        : std::string("killed")) +
                                     "): " + options.worktree_setup}};
  return {};
}

// The recorder of this run, or none (with a warning) when the store cannot take a bundle: the
// agent runs either way.
recorder::AgentKind agent_kind_of(const RunOptions& options) {
  if (options.agent_kind)
    if (auto kind = recorder::parse_agent_kind(*options.agent_kind)) return *kind;
  return recorder::agent_kind_of_command(options.command.front());
}

std::unique_ptr<recorder::SessionRecorder> start_recorder(const RunOptions& options, const std::string& session_id,
                                                          const std::vector<std::string>& environment) {
  const std::string cwd = current_directory();
  auto store = recorder::locate_store(cwd);
  if (!store) {
    std::fprintf(stderr, "sddsh: warning: not recording: %s\n", store.error().message.c_str());
    return nullptr;
  }
  recorder::RecorderOptions recording;
  recording.session_id = session_id;
  recording.argv = options.command;
  recording.cwd = cwd;
  recording.task_id = options.task_id;
  recording.record_input = options.record_input;
  recording.term = environment_value("TERM");
  recording.shell = environment_value("SHELL");
  recording.max_snapshot_file_size = snapshot_max_file_size();
  recording.kind = agent_kind_of(options);
  recording.environment = environment;
  recording.terminal_answers = terminal_answers;
  auto recorder = recorder::SessionRecorder::create(*store, std::move(recording));
  if (!recorder) {
    std::fprintf(stderr, "sddsh: warning: not recording: %s\n", recorder.error().message.c_str());
    return nullptr;
  }
  return std::move(*recorder);
}

void report_recording_problems(const recorder::SessionRecorder& recorder) {
  const auto problems = recorder.problems();
  if (problems.empty()) return;
  std::fprintf(stderr, "sddsh: warning: the recording of session %s is incomplete:\n", recorder.record().id.substr(0, 8).c_str());
  for (const auto& problem : problems) std::fprintf(stderr, "sddsh:   %s\n", problem.c_str());
}

// The command line of this sddsh, for the hooks it gives an agent.
std::string own_executable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : "sddsh";
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string probe_cache_file() {
  std::string base = environment_value("XDG_CACHE_HOME");
  if (base.empty()) base = environment_value("HOME") + "/.cache";
  if (!recorder::make_directories(base + "/sddsh")) return "";
  return base + "/sddsh/agent-probes.json";
}

// What runs: the user's command, plus what lets sddsh find the agent's transcript.
recorder::LaunchPlan plan_agent_launch(const RunOptions& options, const std::string& session_id,
                                       const std::vector<std::string>& environment,
                                       const recorder::SessionRecorder* recorder) {
  if (!recorder) return {.argv = options.command, .agent_session_id = {}, .hooks = false, .notes = {}};
  recorder::LaunchRequest request;
  request.kind = agent_kind_of(options);
  request.argv = options.command;
  request.session_id = session_id;
  if (!recorder->hook_socket().empty()) request.hook_command = shell_quote(own_executable()) + " hook";
  request.supports_flag = [&](const std::string& flag) {
    recorder::ProbeRequest probe{.command = options.command.front(), .environment = environment,
                                 .cache_file = probe_cache_file()};
    return recorder::help_mentions(probe, flag).value_or(false);
  };
  return recorder::plan_launch(request);
}

// The tracker of this directory, when it opens; the agent runs either way.
std::unique_ptr<tracker::Tracker> open_tracker_or_warn(const std::string& ca_file) {
  auto tracker = open_tracker(ca_file);
  if (tracker) return std::move(*tracker);
  std::fprintf(stderr, "sddsh: warning: no task queue: %s\n", tracker.error().message.c_str());
  return nullptr;
}

// `--task ID`: the task must be free for us. One the tracker does not know is recorded as the
// session's task all the same (it may live in another tracker).
Result<void> check_start_task(tracker::Tracker* tracker, const std::string& id) {
  if (!tracker || !tracker->get(id)) {
    std::fprintf(stderr, "sddsh: warning: task %s is not in the tracker; recording it as the session's task\n",
                 id.c_str());
    return {};
  }
  auto claimed = tracker->claim(id, current_actor());
  if (!claimed) return Failure{claimed.error()};
  return {};
}

// How long a session's end waits for its uploads before leaving the rest to `sddsh sync`.
constexpr std::chrono::seconds kUploadGrace{20};

// The uploads of a session bound for a remote tracker: none without a remote (the local tracker
// reads the bundles where they are). The agent runs either way.
std::unique_ptr<Uploader> start_uploader(const RunOptions& options, recorder::SessionRecorder* recorder) {
  if (!recorder) return nullptr;
  auto remote = tracker::load_remote_config(options.ca_file);
  if (!remote) {
    std::fprintf(stderr, "sddsh: warning: uploads off: %s\n", remote.error().message.c_str());
    return nullptr;
  }
  if (!*remote) return nullptr;
  auto store = recorder::locate_store(current_directory());
  auto patterns = tracker::load_redact_patterns();
  if (!store || !patterns) {
    std::fprintf(stderr, "sddsh: warning: uploads off: %s\n",
                 (!store ? store.error() : patterns.error()).message.c_str());
    return nullptr;
  }
  auto uploader = std::make_unique<Uploader>(*store, **remote, shell::current_environment(), *patterns);
  uploader->session_started(recorder->bundle_dir());
  Uploader* raw = uploader.get();
  const std::string bundle = recorder->bundle_dir();
  recorder->set_segment_listener([raw, bundle](std::size_t index) { raw->segment_closed(bundle, index); });
  return uploader;
}

// The panel's line about uploads.
void describe_uploads(const UploadStatus& status, tui::DeskStatus& desk) {
  const std::string queued = std::to_string(status.queued) + " queued";
  if (!status.current.empty()) {
    desk.uploads = "uploading " + std::to_string(static_cast<int>(status.fraction * 100)) + "% · " + queued;
  } else if (status.server_down) {
    desk.uploads = "uploads: tracker unreachable, " + queued;
    desk.uploads_alert = true;
  } else if (status.failed) {
    desk.uploads = "uploads: " + std::to_string(status.failed) + " failed: " + status.last_error;
    desk.uploads_alert = true;
  } else if (status.queued) {
    desk.uploads = "uploads: " + queued;
  } else if (status.uploaded) {
    desk.uploads = "uploads: " + std::to_string(status.uploaded) + " sent";
  }
}

// After the agent: the last segment is packed, and sent if the tracker answers in time.
void finish_uploads(Uploader& uploader) {
  if (uploader.status().queued) std::fprintf(stderr, "sddsh: uploading the session to the tracker…\n");
  uploader.finish(kUploadGrace);
  const UploadStatus status = uploader.status();
  if (status.queued || status.failed)
    std::fprintf(stderr, "sddsh: %zu upload(s) queued%s; `sddsh sync` sends them\n", status.queued + status.failed,
                 status.last_error.empty() ? "" : (" (" + status.last_error + ")").c_str());
}

// --redact-local: the bundle loses its secrets too, once the session has ended.
void redact_bundle(const RunOptions& options, const recorder::SessionRecorder& recorder) {
  if (!options.redact_local) return;
  auto patterns = tracker::load_redact_patterns();
  auto redactor = patterns ? recorder::Redactor::create(shell::current_environment(), *patterns)
                           : Result<recorder::Redactor>(Failure{patterns.error()});
  auto redacted = redactor ? redact_bundle_in_place(recorder.bundle_dir(), *redactor)
                           : Result<recorder::RedactionSummary>(Failure{redactor.error()});
  if (!redacted)
    std::fprintf(stderr, "sddsh: warning: --redact-local: %s\n", redacted.error().message.c_str());
}

int run_agent(const RunOptions& options) {
  // The TUI needs a terminal on both sides; otherwise (pipes, CI) sddsh passes through.
  const bool tui = !options.no_tui && isatty(0) == 1 && isatty(1) == 1;
  const std::string session_id = recorder::new_session_id();
  // Only a session that starts on a task needs the tracker before the agent runs.
  std::unique_ptr<tracker::Tracker> tracker;
  if (options.task_id) tracker = open_tracker_or_warn(options.ca_file);
  if (options.task_id)
    if (auto free = check_start_task(tracker.get(), *options.task_id); !free) {
      std::fprintf(stderr, "sddsh: cannot start on task %s: %s\n", options.task_id->c_str(),
                   free.error().message.c_str());
      return 1;
    }
  if (options.worktree)
    if (auto entered = enter_task_worktree(options); !entered) {
      std::fprintf(stderr, "sddsh: --worktree: %s\n", entered.error().message.c_str());
      return 1;
    }
  shell::AgentEnvironmentOptions environment_options{
      .session_id = session_id, .task_id = options.task_id, .passthrough = !tui, .hook_socket = {}};
  auto environment = shell::agent_environment(shell::current_environment(), environment_options);
  auto recorder = start_recorder(options, session_id, environment);
  const recorder::LaunchPlan plan = plan_agent_launch(options, session_id, environment, recorder.get());
  if (recorder) recorder->launched_with(plan);
  if (plan.hooks) {
    environment_options.hook_socket = recorder->hook_socket();
    environment = shell::agent_environment(shell::current_environment(), environment_options);
  }
  if (tui) use_utf8_locale();
  auto desk = std::make_unique<TrackerDesk>(std::move(tracker), recorder.get(), current_actor(), session_id,
                                            options.ca_file);
  if (options.task_id) (void)desk->begin_with(*options.task_id);  // claimed above: ours now
  auto uploader = start_uploader(options, recorder.get());
  if (uploader)
    desk->show_uploads([raw = uploader.get()](tui::DeskStatus& status) { describe_uploads(raw->status(), status); });
  auto result = tui ? run_tui_session(options, plan.argv, std::move(environment), recorder.get(), desk.get())
                    : run_passthrough_session(options, plan.argv, std::move(environment), recorder.get());
  if (!result) {
    if (recorder) recorder->discard();
    return report_spawn_failure(options.command.front(), result.error());
  }
  if (recorder) {
    recorder->finish(*result);
    report_recording_problems(*recorder);
    if (uploader) finish_uploads(*uploader);
    redact_bundle(options, *recorder);
  }
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
