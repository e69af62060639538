#pragma once
// The TUI's engine: agent windows, the user's keys, frames. It draws through a Painter and
// learns the terminal's size through a hook, so tests run it headless with real agents in real
// PTYs; run_tui() gives it curses and the user's terminal.
#include <sys/ioctl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shell/event_loop.hpp"
#include "shell/pty_child.hpp"
#include "shell/signal_fd.hpp"
#include "tui/agent_window.hpp"
#include "tui/input_decoder.hpp"
#include "tui/painter.hpp"
#include "tui/panel.hpp"
#include "tui/paste.hpp"
#include "tui/renderer.hpp"
#include "tui/terminal_probe.hpp"
#include "tui/tui_session.hpp"

namespace sddsh::tui {

// What the multiplexer needs of the user's terminal beyond painting.
struct TerminalHooks {
  std::function<std::optional<winsize>()> size;
  // What a crash must write to undo sddsh's modes on the terminal.
  std::function<void(std::string)> set_reset_sequence;
  // The session is over: leave curses and restore the terminal.
  std::function<void()> leave;
};

class Multiplexer {
 public:
  enum class Mode : std::uint8_t {
    Normal, Prefix, Scrollback, Help, ConfirmQuit, ConfirmClose, Tasks, NewWindow, WindowList, WorktreeOffer
  };

  // `first` is window 1's agent, spawned already (or why it could not be).
  Multiplexer(const TuiOptions& options, Painter& painter, TerminalHooks terminal, shell::SignalFd& signals,
              Result<shell::PtyChild> first);
  ~Multiplexer();

  // Starts (the colour probe, the first frame) and runs until every window has ended.
  int run();
  // The same in steps, for tests: start() once, then step() until done().
  void start();
  void step(std::chrono::milliseconds timeout);
  bool done() const { return done_; }
  int exit_code() const { return first_exit_code_.value_or(0); }

  // What a test looks at.
  std::vector<WindowSummary> summaries() const;
  const AgentWindow* current() const { return current_; }
  Mode mode() const { return mode_; }
  const TaskQueueView& queue() const { return queue_; }

  // The pane's size for every window: the layout's.
  static Layout layout_for(const winsize& size, bool panel_wanted) {
    return compute_layout(size.ws_row, size.ws_col, panel_wanted);
  }

 private:
  struct NewWindowForm {
    std::string command;
    int task = -1;  // index into the queue's ready tasks, -1: none
    bool worktree = false;
    std::string error;
  };

  // Windows.
  AgentWindow& add_window(WindowBacking& backing, Result<shell::PtyChild> child, bool setting_up = false);
  WindowListener window_listener();
  int free_window_number() const;
  void switch_to(AgentWindow* window);
  void switch_by(int delta);
  AgentWindow* window_numbered(int number) const;
  void open_window(const WindowRequest& request);
  void close_window(AgentWindow& window);
  void sweep_closed_windows();
  void terminate_all(int sig);
  bool all_ended() const;

  // Output and frames.
  void mirror_agent_modes();
  void update_crash_reset();
  void schedule_frame();
  void draw_frame();
  Chrome chrome();
  std::string status_text();
  void arm_clock();

  // The user's side.
  void on_input(short revents);
  void handle(const InputEvent& event);
  void handle_key(const KeyEvent& key);
  void handle_prefix_command(const KeyEvent& key);
  void handle_scrollback_key(const KeyEvent& key);
  void handle_tasks_key(const KeyEvent& key);
  void handle_new_window_key(const KeyEvent& key);
  void handle_window_list_key(const KeyEvent& key);
  void handle_worktree_offer_key(const KeyEvent& key);
  std::vector<std::string> new_window_overlay() const;
  std::vector<std::string> window_list_overlay() const;
  std::vector<std::string> worktree_offer_overlay() const;
  TaskDesk* desk() const;
  void refresh_queue();
  void poll_desk();
  void start_selected_task();
  void start_selected_task_in_worktree();
  void finish_current_task();
  void forward_to_agent(std::string_view bytes);
  void handle_mouse(const MouseEvent& mouse);
  void set_mode(Mode mode);
  void scroll_by(int lines);
  int max_scroll() const;

  void start_probe();
  void finish_probe();

  void on_signals();
  void apply_terminal_size();
  void toggle_panel();
  void finish();

  const TuiOptions& options_;
  Painter& painter_;
  TerminalHooks terminal_;
  shell::SignalFd& signals_;
  shell::EventLoop loop_;
  Renderer renderer_;
  InputDecoder decoder_;
  std::unique_ptr<char[]> buffer_;

  std::vector<std::unique_ptr<AgentWindow>> windows_;  // in number order
  AgentWindow* current_ = nullptr;
  std::set<int> closing_;            // windows to remove once their agent has ended
  std::set<int> removing_worktree_;  // …and whose worktree goes with them
  std::optional<int> first_exit_code_;
  int list_selected_ = 0;            // in the window list

  SessionFacts facts_;
  SessionSection session_section_{facts_};
  std::vector<WindowSummary> window_view_;
  WindowsSection windows_section_{window_view_};
  TaskQueueView queue_;
  TaskQueueSection queue_section_{queue_};
  std::chrono::steady_clock::time_point queue_read_at_{};
  NewWindowForm form_;
  std::string offered_worktree_;  // the worktree the offer is about

  shell::EventLoop::Watch input_watch_;
  shell::EventLoop::Watch signal_watch_;
  shell::EventLoop::Timer frame_timer_;
  shell::EventLoop::Clock::time_point frame_at_{};
  shell::EventLoop::Clock::time_point last_frame_{};
  shell::EventLoop::Clock::time_point sync_since_{};
  bool in_sync_ = false;
  shell::EventLoop::Timer clock_timer_;
  shell::EventLoop::Clock::time_point clock_origin_ = shell::EventLoop::Clock::now();
  shell::EventLoop::Timer input_timer_;

  Mode mode_ = Mode::Normal;
  bool panel_wanted_;
  int scroll_offset_ = 0;
  bool probing_ = false;
  bool probed_ = false;
  std::string probe_buffer_;
  TerminalColours probe_colours_;
  shell::EventLoop::Timer probe_timer_;
  bool paste_bracketed_ = false;
  PasteSanitizer paste_;
  std::string outer_mouse_modes_;
  std::string mirrored_modes_;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace sddsh::tui
