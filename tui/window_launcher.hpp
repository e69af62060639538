#pragma once
// What the TUI asks of the app for each agent window. The app prepares everything that lives
// outside the terminal — the task's claim, a worktree, the recorder, the uploads — and finishes
// it when the agent has ended; the TUI only runs the agent and draws it.
#include <optional>
#include <string>

#include "shell/pty_child.hpp"
#include "shell/result.hpp"
#include "shell/session_tap.hpp"
#include "tui/task_desk.hpp"

namespace sddsh::tui {

// A window the user asked for (prefix c, or a task started in a new window).
struct WindowRequest {
  std::string command;                 // split on blanks, no shell; empty: the default command
  std::optional<std::string> task_id;  // claimed for the window; its brief goes to the agent
  bool worktree = false;               // run in the task's own git worktree
};

// One window's parts on the app's side. The launcher owns them and outlives the TUI, so a
// window's session can finish (uploads, redaction) after its window is gone.
class WindowBacking {
 public:
  virtual ~WindowBacking() = default;
  // The agent's command, environment and directory; the size is the TUI's.
  virtual const shell::SpawnOptions& spawn() const = 0;
  // What runs in the window before the agent (a new worktree's setup command), or nothing. The
  // session starts only once it succeeded, so that what it did is not the agent's change.
  virtual std::optional<shell::SpawnOptions> setup() const { return std::nullopt; }
  // The setup succeeded: the session starts; tap() and spawn() are the agent's from now on.
  virtual void setup_succeeded() {}
  virtual std::string agent_name() const = 0;
  virtual shell::SessionTap* tap() = 0;  // null when not recording
  virtual TaskDesk* desk() = 0;          // null without a tracker
  // What to paste into the agent's prompt once it is ready (a task's brief); empty: nothing.
  virtual std::string brief() const = 0;
  // The agent did not start: its session is dropped.
  virtual void spawn_failed() = 0;
  // The agent ended and the tap was told: the session is finished.
  virtual void finished(int exit_code) = 0;

  // The task's worktree this agent runs in, if any.
  virtual std::optional<std::string> worktree() const = 0;
  // Why the worktree must stay (uncommitted changes, locked), or nothing.
  virtual std::optional<std::string> worktree_removal_blocker() const = 0;
  // Removes the worktree and keeps its branch; refuses when a blocker appeared meanwhile.
  virtual Result<void> remove_worktree() = 0;
};

class WindowLauncher {
 public:
  virtual ~WindowLauncher() = default;
  // The command a new window runs unless the user types another: the one sddsh started with.
  virtual std::string default_command() const = 0;
  // Prepares a window: fails (with one line for the panel) when the task cannot be claimed, the
  // worktree cannot be made or the command is empty. The backing stays the launcher's.
  virtual Result<WindowBacking*> open(const WindowRequest& request) = 0;
};

}  // namespace sddsh::tui
