#pragma once
// One agent window of the multiplexer: the agent in its PTY, the screen its output keeps
// current (drawn or not), and what the panel says of it — running, waiting for the user, exited,
// unread output. The TUI session owns several and draws the one in front.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shell/agent_host.hpp"
#include "shell/event_loop.hpp"
#include "shell/mode_tracker.hpp"
#include "shell/pty_child.hpp"
#include "shell/result.hpp"
#include "tui/screen.hpp"
#include "tui/window_launcher.hpp"

namespace sddsh::tui {

class AgentWindow;

// What a window tells the multiplexer. Every call comes from the event loop.
struct WindowListener {
  std::function<void(AgentWindow&)> output;         // new output is on its screen
  std::function<void(AgentWindow&)> modes_changed;  // its key or mouse modes changed
  std::function<void(AgentWindow&)> news;           // its state or marks changed: redraw the chrome
  std::function<void(AgentWindow&)> finished;       // its agent ended and its session is finished
  std::function<void()> input_drained;              // it took its queued input
  std::function<void(std::string_view)> to_terminal;  // a bell, a clipboard copy
};

class AgentWindow {
 public:
  enum class State : unsigned char { SettingUp, Running, Waiting, Exited, Failed };

  // Output quiet this long after the user's turn means the agent waits for the user (when its
  // hooks do not say so sooner).
  static constexpr auto kIdleAfterTurn = std::chrono::seconds(5);
  // A task's brief is pasted once the agent drew something and then stayed quiet this long.
  static constexpr auto kReadyQuiet = std::chrono::milliseconds(1500);

  // `child` is the agent already spawned — or, when `setting_up`, the backing's setup, after
  // which the window starts the agent itself — or why it could not be: the window then stays,
  // its screen saying why, until closed.
  AgentWindow(shell::EventLoop& loop, int number, WindowBacking& backing, Result<shell::PtyChild> child,
              int rows, int cols, WindowListener listener, bool setting_up = false);
  ~AgentWindow();
  AgentWindow(const AgentWindow&) = delete;
  AgentWindow& operator=(const AgentWindow&) = delete;

  int number() const { return number_; }
  const std::string& agent_name() const { return agent_name_; }
  WindowBacking& backing() { return backing_; }
  Screen& screen() { return screen_; }
  const Screen& screen() const { return screen_; }
  const shell::ModeTracker& modes() const { return modes_; }
  State state() const { return state_; }
  bool ended() const { return state_ == State::Exited || state_ == State::Failed; }
  int exit_code() const { return exit_code_; }
  const std::string& failure() const { return failure_; }
  const std::string& title() const { return title_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  // The task it works on, as the desk knows it.
  std::optional<QueuedTask> task() const;

  // Marks for the panel while the window is not in front: output, a bell. Cleared when shown.
  bool unread_output() const { return unread_output_; }
  bool unread_bell() const { return unread_bell_; }
  void set_visible(bool visible);

  // The user's keys and pastes (recorded as input). The user typing first takes the window
  // over: a brief not pasted yet is dropped (the panel still names the task).
  void send_input(std::string_view bytes);
  bool input_backlogged() const { return host_ && host_->input_backlogged(); }
  void resize(int rows, int cols);
  void settle_reported_colours(std::optional<Rgb> foreground, std::optional<Rgb> background);
  // Ends the agent's tree (SIGHUP, then more): `finished` follows.
  void terminate(int sig);
  bool take_exit(const shell::ExitedChild& child) { return host_ && host_->take_exit(child); }

 private:
  void start_host(shell::PtyChild child);
  void fail(const std::string& command, const Error& error);
  void setup_finished();
  void on_output(std::string_view bytes);
  void handle_screen_events();
  void on_finished();
  void set_state(State state);
  void note_output_time();
  void check_idle();
  void paste_brief();
  void deliver(std::string_view bytes);

  shell::EventLoop& loop_;
  int number_;
  WindowBacking& backing_;
  WindowListener listener_;
  std::string agent_name_;
  Screen screen_;
  shell::ModeTracker modes_;
  std::unique_ptr<shell::AgentHost> host_;
  std::unique_ptr<shell::AgentHost> setup_host_;  // the setup's, kept once ended (its callback ran)
  State state_ = State::Running;
  int exit_code_ = 0;
  std::string failure_;
  std::string title_;
  std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
  bool visible_ = false;
  bool unread_output_ = false;
  bool unread_bell_ = false;

  // Waiting by silence: the user ended a turn (Enter), the agent answered, then went quiet.
  bool turn_open_ = false;
  bool output_since_turn_ = false;
  std::chrono::steady_clock::time_point last_output_{};
  shell::EventLoop::Timer idle_timer_;
  std::string brief_;  // still to paste
  shell::EventLoop::Timer brief_timer_;
};

}  // namespace sddsh::tui
