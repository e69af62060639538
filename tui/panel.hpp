#pragma once
// The side panel: a list of sections, each a title and a few lines. Later parts of sddsh
// (task queue, recording, uploads) add sections; the panel only lays them out.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tui/task_desk.hpp"

namespace sddsh::tui {

struct PanelLine {
  std::string text;
  enum class Tone : unsigned char { Normal, Dim, Accent, Alert, Selected } tone = Tone::Normal;
};

class PanelSection {
 public:
  virtual ~PanelSection() = default;
  virtual std::string title() const = 0;
  virtual std::vector<PanelLine> lines() const = 0;
};

// Facts about this session: agent, state, elapsed time, the agent's title.
struct SessionFacts {
  std::string agent;
  enum class State : unsigned char { Running, Waiting, Exited } state = State::Running;
  int exit_code = 0;
  long elapsed_seconds = 0;
  std::string title;
  std::string recording;  // the recorder's summary; empty when not recording
};

class SessionSection final : public PanelSection {
 public:
  explicit SessionSection(const SessionFacts& facts) : facts_(facts) {}
  std::string title() const override { return "Session"; }
  std::vector<PanelLine> lines() const override;

 private:
  const SessionFacts& facts_;
};

// The task queue: the current task on top, then the ready tasks; one of them selected while the
// user picks from the panel.
struct TaskQueueView {
  std::optional<QueuedTask> current;
  std::vector<QueuedTask> ready;
  int selected = -1;    // index into ready, or -1
  std::string message;  // the last outcome ("claimed", or why not)
  bool message_is_error = false;
  DeskStatus desk;      // staleness of the list, uploads
};

class TaskQueueSection final : public PanelSection {
 public:
  static constexpr int kShown = 8;  // ready tasks listed at most (the selected one always)
  explicit TaskQueueSection(const TaskQueueView& view) : view_(view) {}
  std::string title() const override { return "Tasks"; }
  std::vector<PanelLine> lines() const override;

 private:
  const TaskQueueView& view_;
};

// Every agent window, for the panel and the status line: the multiplexer's view of itself.
struct WindowSummary {
  int number = 0;
  std::string agent;
  std::string task_id;  // empty: no task
  enum class State : unsigned char { SettingUp, Running, Waiting, Exited, Failed } state = State::Running;
  int exit_code = 0;
  bool current = false;
  bool unread_output = false;  // output since the user last looked
  bool unread_bell = false;
};

// "waiting for you", "exited 1", "failed to start", or "running".
std::string window_state_text(const WindowSummary& window);

class WindowsSection final : public PanelSection {
 public:
  explicit WindowsSection(const std::vector<WindowSummary>& windows) : windows_(windows) {}
  std::string title() const override { return "Windows"; }
  std::vector<PanelLine> lines() const override;

 private:
  const std::vector<WindowSummary>& windows_;
};

// The status line's list of windows, tmux-like: "1:claude* 2:gemini! 3:codex•".
std::string window_list_text(const std::vector<WindowSummary>& windows);

// "< 1 min", "12 min", "1 h 05 min".
std::string format_elapsed_minutes(long seconds);

}  // namespace sddsh::tui
