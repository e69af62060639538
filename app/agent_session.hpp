#pragma once
// One agent's session on the app's side: its task claimed, its worktree, its environment, the
// recorder, the uploads — made before the agent runs and finished after it ended. `sddsh AGENT`
// makes one for the agent it starts, and one more for every window opened in the TUI.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/task_desk.hpp"
#include "app/uploader.hpp"
#include "recorder/session_recorder.hpp"
#include "shell/pty_child.hpp"
#include "shell/result.hpp"
#include "tui/window_launcher.hpp"

namespace sddsh::app {

// What one agent runs on.
struct AgentSpec {
  std::vector<std::string> command;
  std::optional<std::string> task_id;
  bool worktree = false;
  // A window opened in the TUI: the worktree's setup runs in the window, before the agent, and
  // the task's brief is pasted into the agent's prompt.
  bool opened_in_tui = false;
};

class AgentSession final : public tui::WindowBacking {
 public:
  // Everything before the agent runs. Fails with one line when the task cannot be claimed or
  // its worktree cannot be made; a store that cannot record only warns (the agent runs anyway).
  // `base_dir` is sddsh's own directory; `tui`: the agent runs in the TUI (else pass-through).
  static Result<std::unique_ptr<AgentSession>> prepare(const RunOptions& options, const AgentSpec& spec,
                                                       const std::string& base_dir, bool tui);
  ~AgentSession() override;

  const shell::SpawnOptions& spawn() const override { return spawn_; }
  std::optional<shell::SpawnOptions> setup() const override { return setup_; }
  void setup_succeeded() override;
  std::string agent_name() const override;
  shell::SessionTap* tap() override { return recorder_.get(); }
  tui::TaskDesk* desk() override { return desk_.get(); }
  std::string brief() const override { return brief_; }
  void spawn_failed() override;
  void finished(int exit_code) override;
  std::optional<std::string> worktree() const override { return worktree_; }
  std::optional<std::string> worktree_removal_blocker() const override;
  Result<void> remove_worktree() override;

  // After the TUI or the pass-through ended: the recording's problems on stderr, the uploads
  // sent (or left to `sddsh sync`), the bundle redacted under --redact-local.
  void wrap_up();

 private:
  AgentSession(const RunOptions& options, AgentSpec spec);

  Result<void> claim_task();
  Result<void> enter_worktree(const std::string& base_dir);
  void open_desk();
  void start_recording(bool tui);
  void start_uploads();
  void warn(const std::string& text);

  const RunOptions& options_;
  AgentSpec spec_;
  std::string directory_;  // where the agent runs
  std::optional<std::string> worktree_;
  bool new_worktree_ = false;
  std::string session_id_;
  std::unique_ptr<tracker::Tracker> tracker_;  // until the desk takes it
  std::unique_ptr<recorder::SessionRecorder> recorder_;
  std::unique_ptr<TrackerDesk> desk_;
  std::unique_ptr<Uploader> uploader_;
  shell::SpawnOptions spawn_;
  std::optional<shell::SpawnOptions> setup_;  // to run in the window first; gone once it succeeded
  bool tui_ = false;
  std::string brief_;
  std::vector<std::string> held_warnings_;
  bool ended_ = false;
  bool spawned_ = true;
};

// The sessions of one sddsh: the first agent's, and those of windows opened later. It outlives
// the TUI so that every session is wrapped up after the terminal is the user's again.
class AgentLauncher final : public tui::WindowLauncher {
 public:
  AgentLauncher(const RunOptions& options, std::string base_dir, bool tui)
      : options_(options), base_dir_(std::move(base_dir)), tui_(tui) {}

  // The agent sddsh was started with (--task, --worktree as given).
  Result<AgentSession*> prepare_first();
  std::string default_command() const override;
  Result<tui::WindowBacking*> open(const tui::WindowRequest& request) override;
  void wrap_up_all();

 private:
  const RunOptions& options_;
  std::string base_dir_;
  bool tui_;
  std::vector<std::unique_ptr<AgentSession>> sessions_;
};

}  // namespace sddsh::app
