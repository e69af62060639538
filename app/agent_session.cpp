#include "app/agent_session.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "app/session_commands.hpp"
#include "app/task_commands.hpp"
#include "app/terminal_answers.hpp"
#include "app/upload_packer.hpp"
#include "recorder/agent_probe.hpp"
#include "recorder/redaction.hpp"
#include "recorder/session_id.hpp"
#include "recorder/worktree.hpp"
#include "shell/environment.hpp"
#include "tracker-client/remote_config.hpp"

namespace sddsh::app {

namespace {

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// What `sddsh` itself is, for the hooks it gives an agent.
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

// A word as the user would type it: quoted only when it needs to be.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789-_./=:,@+%") == std::string::npos;
  return plain ? word : shell_quote(word);
}

// A command typed in the new-window dialog, split into words as a shell would (quotes,
// variables), without running anything (no command substitution).
Result<std::vector<std::string>> split_command(const std::string& command) {
  wordexp_t words{};
  const int status = ::wordexp(command.c_str(), &words, WRDE_NOCMD);
  if (status != 0) {
    if (status == WRDE_NOSPACE) ::wordfree(&words);
    return Failure{Error{EINVAL, status == WRDE_CMDSUB ? "no command substitution in a window's command"
                                                        : "cannot read the command: " + command}};
  }
  std::vector<std::string> argv(words.we_wordv, words.we_wordv + words.we_wordc);
  ::wordfree(&words);
  if (argv.empty()) return Failure{Error{EINVAL, "no command given"}};
  return argv;
}

std::string probe_cache_file() {
  std::string base = environment_value("XDG_CACHE_HOME");
  if (base.empty()) base = environment_value("HOME") + "/.cache";
  if (!recorder::make_directories(base + "/sddsh")) return "";
  return base + "/sddsh/agent-probes.json";
}

recorder::AgentKind agent_kind_of(const RunOptions& options, const std::vector<std::string>& command) {
  if (options.agent_kind)
    if (auto kind = recorder::parse_agent_kind(*options.agent_kind)) return *kind;
  return recorder::agent_kind_of_command(command.front());
}

// The agent's environment, with PWD where it runs (a worktree is not sddsh's directory).
std::vector<std::string> environment_for(const shell::AgentEnvironmentOptions& options, const std::string& directory) {
  auto environment = shell::agent_environment(shell::current_environment(), options);
  if (directory.empty()) return environment;
  std::erase_if(environment, [](const std::string& entry) { return entry.starts_with("PWD="); });
  environment.push_back("PWD=" + directory);
  return environment;
}

// How long a session's end waits for its uploads before leaving the rest to `sddsh sync`.
constexpr std::chrono::seconds kUploadGrace{20};

// The panel's line about uploads.
// `ended` counts the task segments the recorder has not handed over yet: to the user they are
// queued like those in the outbox, and the panel keeps watching until they have gone.
void describe_uploads(const UploadStatus& status, std::size_t ended, tui::DeskStatus& desk) {
  const std::size_t waiting = ended + status.packing + status.queued;
  const std::string queued = std::to_string(waiting) + " queued";
  desk.busy = desk.busy || !status.current.empty() || waiting > 0;
  if (!status.current.empty()) {
    desk.uploads = "uploading " + std::to_string(static_cast<int>(status.fraction * 100)) + "% · " + queued;
  } else if (status.server_down) {
    desk.uploads = "uploads: tracker unreachable, " + queued;
    desk.uploads_alert = true;
  } else if (status.failed) {
    desk.uploads = "uploads: " + std::to_string(status.failed) + " failed: " + status.last_error;
    desk.uploads_alert = true;
  } else if (waiting) {
    desk.uploads = "uploads: " + queued;
  } else if (status.uploaded) {
    desk.uploads = "uploads: " + std::to_string(status.uploaded) + " sent";
  }
}

}  // namespace

AgentSession::AgentSession(const RunOptions& options, AgentSpec spec)
    : options_(options), spec_(std::move(spec)), session_id_(recorder::new_session_id()) {}

AgentSession::~AgentSession() = default;

Result<std::unique_ptr<AgentSession>> AgentSession::prepare(const RunOptions& options, const AgentSpec& spec,
                                                            const std::string& base_dir, bool tui) {
  std::unique_ptr<AgentSession> session(new AgentSession(options, spec));
  if (session->spec_.task_id)
    if (auto claimed = session->claim_task(); !claimed) return Failure{claimed.error()};
  if (session->spec_.worktree)
    if (auto entered = session->enter_worktree(base_dir); !entered) return Failure{entered.error()};
  session->tui_ = tui;
  session->open_desk();
  if (session->spec_.opened_in_tui && session->new_worktree_ && !options.worktree_setup.empty()) {
    // A new worktree opened from the TUI is set up in its window, where the user sees the
    // output; the session starts after it, so what the setup did is not the agent's change.
    shell::AgentEnvironmentOptions environment{
        .session_id = session->session_id_, .task_id = session->spec_.task_id, .passthrough = false, .hook_socket = {}};
    shell::SpawnOptions setup;
    setup.argv = {"/bin/sh", "-c", options.worktree_setup};
    setup.environment = environment_for(environment, session->directory_);
    setup.directory = session->directory_;
    session->setup_ = std::move(setup);
    return session;
  }
  session->start_recording(tui);
  session->start_uploads();
  return session;
}

void AgentSession::setup_succeeded() {
  if (!setup_) return;
  setup_.reset();
  start_recording(tui_);
  start_uploads();
}

// The task queue of this agent: its task claimed (and its brief kept for the window), the
// recorder attached once the session starts.
void AgentSession::open_desk() {
  desk_ = std::make_unique<TrackerDesk>(std::move(tracker_), nullptr, current_actor(), session_id_, options_.ca_file);
  if (spec_.task_id)
    if (auto brief = desk_->begin_with(*spec_.task_id); brief && spec_.opened_in_tui) brief_ = *brief;
}

// --task: the task must be free for us. One the tracker does not know is recorded as the
// session's task all the same (it may live in another tracker).
Result<void> AgentSession::claim_task() {
  const std::string& id = *spec_.task_id;
  auto tracker = open_tracker(options_.ca_file, /*interactive=*/true);  // the agent waits on it
  if (!tracker) {
    warn("no task queue: " + tracker.error().message);
  } else {
    tracker_ = std::move(*tracker);
  }
  if (!tracker_ || !tracker_->get(id)) {
    warn("task " + id + " is not in the tracker; recording it as the session's task");
    return {};
  }
  auto claimed = tracker_->claim(id, current_actor());
  if (!claimed) return Failure{Error{claimed.error().code, "cannot start on task " + id + ": " + claimed.error().message}};
  return {};
}

// --worktree: the task's own checkout (made, with its .worktreeinclude files, when missing) is
// where the agent, the recorder's snapshots and the diffs work; the store stays the
// repository's (the git common dir).
Result<void> AgentSession::enter_worktree(const std::string& base_dir) {
  auto worktree = recorder::ensure_task_worktree(base_dir, *spec_.task_id, {.location = options_.worktree_dir});
  if (!worktree) return Failure{Error{worktree.error().code, "--worktree: " + worktree.error().message}};
  directory_ = worktree->path;
  worktree_ = worktree->path;
  new_worktree_ = !worktree->reused;
  if (spec_.opened_in_tui) return {};  // the window shows the setup; see start_recording
  for (const auto& warning : worktree->warnings)
    std::fprintf(stderr, "sddsh: .worktreeinclude: %s\n", warning.c_str());
  std::fprintf(stderr, "sddsh: task %s in %s worktree %s (branch %s)\n", spec_.task_id->c_str(),
               worktree->reused ? "its" : "a new", worktree->path.c_str(), worktree->branch.c_str());
  if (worktree->reused || options_.worktree_setup.empty()) return {};
  // Before the terminal is raw and before any thread: a plain shell run, its output the user's.
  std::fprintf(stderr, "sddsh: setting up: %s\n", options_.worktree_setup.c_str());
  const std::string command = "cd " + shell_quote(directory_) + " && " + options_.worktree_setup;
  const int status = std::system(command.c_str());
  if (status != 0)
    return Failure{Error{status, "--worktree: the worktree's setup command failed (" +
                                     (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                        : std::string("killed")) +
                                     "): " + options_.worktree_setup}};
  return {};
}

void AgentSession::start_recording(bool tui) {
  const std::vector<std::string>& command = spec_.command;
  shell::AgentEnvironmentOptions environment_options{
      .session_id = session_id_, .task_id = spec_.task_id, .passthrough = !tui, .hook_socket = {}};
  auto environment = environment_for(environment_options, directory_);

  char here[4096];
  const std::string recording_dir = !directory_.empty() ? directory_ : (::getcwd(here, sizeof here) ? here : ".");
  auto store = recorder::locate_store(recording_dir);
  if (!store) {
    warn("not recording: " + store.error().message);
  } else {
    recorder::RecorderOptions recording;
    recording.session_id = session_id_;
    recording.argv = command;
    recording.cwd = recording_dir;
    recording.task_id = spec_.task_id;
    recording.record_input = options_.record_input;
    recording.term = environment_value("TERM");
    recording.shell = environment_value("SHELL");
    recording.max_snapshot_file_size = snapshot_max_file_size();
    recording.kind = agent_kind_of(options_, command);
    recording.environment = environment;
    recording.terminal_answers = terminal_answers;
    auto made = recorder::SessionRecorder::create(*store, std::move(recording));
    if (made) recorder_ = std::move(*made);
    else warn("not recording: " + made.error().message);
  }

  // What runs: the user's command, plus what lets sddsh find the agent's transcript.
  recorder::LaunchPlan plan{.argv = command, .agent_session_id = {}, .hooks = false, .notes = {}};
  if (recorder_) {
    recorder::LaunchRequest request;
    request.kind = agent_kind_of(options_, command);
    request.argv = command;
    request.session_id = session_id_;
    if (!recorder_->hook_socket().empty()) request.hook_command = shell_quote(own_executable()) + " hook";
    request.supports_flag = [&](const std::string& flag) {
      recorder::ProbeRequest probe{.command = command.front(), .environment = environment,
                                   .cache_file = probe_cache_file()};
      return recorder::help_mentions(probe, flag).value_or(false);
    };
    plan = recorder::plan_launch(request);
    recorder_->launched_with(plan);
    if (plan.hooks) {
      environment_options.hook_socket = recorder_->hook_socket();
      environment = environment_for(environment_options, directory_);
    }
  }

  desk_->attach_recorder(recorder_.get());
  spawn_.argv = plan.argv;
  spawn_.environment = std::move(environment);
  spawn_.directory = directory_;
}

// The uploads of a session bound for a remote tracker: none without a remote (the local tracker
// reads the bundles where they are). The agent runs either way.
void AgentSession::start_uploads() {
  if (!recorder_) return;
  auto remote = tracker::load_remote_config(options_.ca_file);
  if (!remote) {
    warn("uploads off: " + remote.error().message);
    return;
  }
  if (!*remote) return;
  auto store = recorder::locate_store(recorder_->record().cwd);
  auto patterns = tracker::load_redact_patterns();
  if (!store || !patterns) {
    warn("uploads off: " + (!store ? store.error() : patterns.error()).message);
    return;
  }
  uploader_ = std::make_unique<Uploader>(*store, **remote, shell::current_environment(), *patterns);
  uploader_->session_started(recorder_->bundle_dir());
  Uploader* raw = uploader_.get();
  const std::string bundle = recorder_->bundle_dir();
  recorder_->set_segment_listener([raw, bundle](std::size_t index) { raw->segment_closed(bundle, index); });
  const recorder::SessionRecorder* recording = recorder_.get();
  desk_->show_uploads([raw, recording](tui::DeskStatus& status) {
    describe_uploads(raw->status(), recording->segments_in_flight(), status);
  });
}

std::string AgentSession::agent_name() const {
  const std::string& command = spec_.command.front();
  return command.substr(command.rfind('/') + 1);
}

void AgentSession::spawn_failed() {
  spawned_ = false;
  if (recorder_) recorder_->discard();
}

void AgentSession::finished(int exit_code) {
  if (std::exchange(ended_, true)) return;
  if (recorder_) recorder_->finish(exit_code);
}

std::optional<std::string> AgentSession::worktree_removal_blocker() const {
  if (!worktree_) return "no worktree";
  auto blocker = recorder::worktree_removal_blocker(*worktree_);
  if (!blocker) return blocker.error().message;
  return *blocker;
}

Result<void> AgentSession::remove_worktree() {
  if (!worktree_) return Failure{Error{ENOENT, "no worktree"}};
  return recorder::remove_task_worktree(*worktree_);
}

// A window opened in the TUI cannot write to the terminal: its warnings wait for the end.
void AgentSession::warn(const std::string& text) {
  if (spec_.opened_in_tui) held_warnings_.push_back(text);
  else std::fprintf(stderr, "sddsh: warning: %s\n", text.c_str());
}

void AgentSession::wrap_up() {
  for (const auto& text : std::exchange(held_warnings_, {}))
    std::fprintf(stderr, "sddsh: warning: window %s: %s\n", agent_name().c_str(), text.c_str());
  if (!recorder_ || !spawned_) return;
  const auto problems = recorder_->problems();
  if (!problems.empty()) {
    std::fprintf(stderr, "sddsh: warning: the recording of session %s is incomplete:\n",
                 recorder_->record().id.substr(0, 8).c_str());
    for (const auto& problem : problems) std::fprintf(stderr, "sddsh:   %s\n", problem.c_str());
    // The last session.json did not make it to disk: the bundle still reads "running".
    if (std::any_of(problems.begin(), problems.end(), [](const std::string& p) { return p.starts_with("session.json"); }))
      std::fprintf(stderr, "sddsh: `sddsh recover` finishes the bundle once the store has room again\n");
  }
  if (uploader_) {
    // The last segment is packed, and sent if the tracker answers in time.
    if (uploader_->status().queued) std::fprintf(stderr, "sddsh: uploading the session to the tracker…\n");
    uploader_->finish(kUploadGrace);
    const UploadStatus status = uploader_->status();
    if (status.queued || status.failed)
      std::fprintf(stderr, "sddsh: %zu upload(s) queued%s; `sddsh sync` sends them\n", status.queued + status.failed,
                   status.last_error.empty() ? "" : (" (" + status.last_error + ")").c_str());
  }
  // --redact-local: the bundle loses its secrets too, once the session has ended.
  if (!options_.redact_local) return;
  auto patterns = tracker::load_redact_patterns();
  auto redactor = patterns ? recorder::Redactor::create(shell::current_environment(), *patterns)
                           : Result<recorder::Redactor>(Failure{patterns.error()});
  auto redacted = redactor ? redact_bundle_in_place(recorder_->bundle_dir(), *redactor)
                           : Result<recorder::RedactionSummary>(Failure{redactor.error()});
  if (!redacted) std::fprintf(stderr, "sddsh: warning: --redact-local: %s\n", redacted.error().message.c_str());
}

Result<AgentSession*> AgentLauncher::prepare_first() {
  AgentSpec spec{.command = options_.command, .task_id = options_.task_id, .worktree = options_.worktree,
                 .opened_in_tui = false};
  auto session = AgentSession::prepare(options_, spec, base_dir_, tui_);
  if (!session) return Failure{session.error()};
  sessions_.push_back(std::move(*session));
  return sessions_.back().get();
}

std::string AgentLauncher::default_command() const {
  std::string command;
  for (const auto& word : options_.command) command += (command.empty() ? "" : " ") + shell_word(word);
  return command;
}

Result<tui::WindowBacking*> AgentLauncher::open(const tui::WindowRequest& request) {
  auto argv = split_command(request.command.empty() ? default_command() : request.command);
  if (!argv) return Failure{argv.error()};
  if (request.worktree && !request.task_id) return Failure{Error{EINVAL, "a worktree is made for a task"}};
  AgentSpec spec{.command = std::move(*argv), .task_id = request.task_id, .worktree = request.worktree,
                 .opened_in_tui = true};
  auto session = AgentSession::prepare(options_, spec, base_dir_, tui_);
  if (!session) return Failure{session.error()};
  sessions_.push_back(std::move(*session));
  return sessions_.back().get();
}

void AgentLauncher::wrap_up_all() {
  for (const auto& session : sessions_) session->wrap_up();
}

}  // namespace sddsh::app
