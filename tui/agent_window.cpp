#include "tui/agent_window.hpp"

#include <signal.h>

#include <utility>

namespace sddsh::tui {

namespace {

// What a window whose agent did not start shows in place of its screen, in a shell's words.
std::string failure_text(const std::string& command, const Error& error) {
  const std::string why = error.code == ENOENT && command.find('/') == std::string::npos
                              ? command + ": command not found"
                              : error.message;
  return "\x1b[1;31msddsh: " + why + "\x1b[m\r\n\r\nThis window stays until you close it (prefix &).\r\n";
}

}  // namespace

AgentWindow::AgentWindow(shell::EventLoop& loop, int number, WindowBacking& backing,
                         Result<shell::PtyChild> child, int rows, int cols, WindowListener listener,
                         bool setting_up)
    : loop_(loop),
      number_(number),
      backing_(backing),
      listener_(std::move(listener)),
      agent_name_(backing.agent_name()),
      screen_({.rows = rows, .cols = cols, .colours_pending = true}),
      brief_(backing.brief()) {
  // Answers to the agent's queries, and its mouse and focus reports, go back into its PTY.
  screen_.set_output([this](std::string_view bytes) {
    if (host_ && !host_->finished()) host_->write(bytes);
  });
  if (!child) {
    const auto spawn = setting_up ? backing.setup() : std::optional<shell::SpawnOptions>(backing.spawn());
    fail(spawn && !spawn->argv.empty() ? spawn->argv.front() : agent_name_, child.error());
    return;
  }
  if (setting_up) state_ = State::SettingUp;
  start_host(std::move(*child));
}

void AgentWindow::start_host(shell::PtyChild child) {
  host_ = std::make_unique<shell::AgentHost>(
      loop_, std::move(child),
      shell::AgentHost::Callbacks{.on_output = [this](std::string_view bytes) { on_output(bytes); },
                                  .on_finished = [this] { on_finished(); },
                                  .on_input_drained = [this] { listener_.input_drained(); }});
  // Beside other agents, ending this one must not end theirs.
  host_->set_tree_scope(shell::AgentHost::TreeScope::OwnSession);
  if (state_ == State::SettingUp) return;  // the session has not begun: nothing to record
  if (shell::SessionTap* tap = backing_.tap()) {
    tap->started(loop_, {static_cast<unsigned short>(screen_.rows()), static_cast<unsigned short>(screen_.cols()), 0, 0},
                 host_->pid());
    tap->on_waiting_for_user([this] {
      if (!ended()) set_state(State::Waiting);
    });
  }
}

void AgentWindow::fail(const std::string& command, const Error& error) {
  state_ = State::Failed;
  exit_code_ = error.code == ENOENT ? 127 : 126;
  failure_ = error.message;
  screen_.feed(failure_text(command, error));
  backing_.spawn_failed();
}

// The setup ended: on success the session begins and the agent starts in the same window; on
// failure the window stays with the setup's output and says so.
void AgentWindow::setup_finished() {
  const int code = host_->exit_code();
  setup_host_ = std::move(host_);  // its own callback is running: it is not destroyed here
  if (code != 0) {
    state_ = State::Failed;
    exit_code_ = code;
    failure_ = "the worktree's setup command failed (exit " + std::to_string(code) + ")";
    screen_.feed("\r\n\x1b[1;31msddsh: " + failure_ + "\x1b[m\r\n\r\nThis window stays until you close it (prefix &).\r\n");
    backing_.spawn_failed();
    listener_.finished(*this);
    return;
  }
  backing_.setup_succeeded();
  shell::SpawnOptions spawn = backing_.spawn();
  spawn.size = {static_cast<unsigned short>(screen_.rows()), static_cast<unsigned short>(screen_.cols()), 0, 0};
  auto child = shell::PtyChild::spawn(spawn);
  if (!child) {
    fail(spawn.argv.empty() ? agent_name_ : spawn.argv.front(), child.error());
    listener_.finished(*this);
    return;
  }
  state_ = State::Running;
  start_host(std::move(*child));
  listener_.news(*this);
}

AgentWindow::~AgentWindow() {
  if (shell::SessionTap* tap = backing_.tap()) tap->on_waiting_for_user(nullptr);
}

std::optional<QueuedTask> AgentWindow::task() const {
  TaskDesk* desk = backing_.desk();
  return desk ? desk->current() : std::nullopt;
}

void AgentWindow::set_visible(bool visible) {
  visible_ = visible;
  if (!visible) return;
  unread_output_ = unread_bell_ = false;
}

void AgentWindow::on_output(std::string_view bytes) {
  if (shell::SessionTap* tap = backing_.tap(); tap && state_ != State::SettingUp) tap->agent_output(bytes);
  screen_.feed(bytes);
  modes_.observe(bytes);
  if (modes_.take_changed()) listener_.modes_changed(*this);
  handle_screen_events();
  note_output_time();
  if (!visible_ && !unread_output_) {
    unread_output_ = true;
    listener_.news(*this);
  }
  listener_.output(*this);
}

void AgentWindow::handle_screen_events() {
  for (const ScreenEvent& event : screen_.take_events()) {
    switch (event.kind) {
      case ScreenEvent::Kind::Bell:
        // Every window's bell rings, as tmux's default; the panel says whose.
        listener_.to_terminal("\a");
        if (!visible_) unread_bell_ = true;
        set_state(State::Waiting);
        break;
      case ScreenEvent::Kind::Notification: set_state(State::Waiting); break;
      case ScreenEvent::Kind::Clipboard:
        // OSC 52: the agent copies to the user's clipboard; pass it on to the real terminal.
        listener_.to_terminal("\x1b]52;" + event.detail + ";" + event.text + "\a");
        break;
      case ScreenEvent::Kind::TitleChanged:
        title_ = event.text;
        listener_.news(*this);
        break;
    }
  }
}

void AgentWindow::set_state(State state) {
  if (state_ == state || state_ == State::SettingUp) return;
  state_ = state;
  listener_.news(*this);
}

// Output keeps the agent "running"; a quiet agent after a turn is waiting. One timer, moved on
// only when it fires, so that a stream of output costs no timer churn.
void AgentWindow::note_output_time() {
  last_output_ = std::chrono::steady_clock::now();
  if (turn_open_) output_since_turn_ = true;
  if (turn_open_ && !idle_timer_.armed()) idle_timer_ = loop_.after(kIdleAfterTurn, [this] { check_idle(); });
  if (!brief_.empty() && !brief_timer_.armed() && state_ != State::SettingUp)
    brief_timer_ = loop_.after(kReadyQuiet, [this] { paste_brief(); });
}

void AgentWindow::check_idle() {
  const auto quiet = std::chrono::steady_clock::now() - last_output_;
  if (!turn_open_ || ended()) return;
  if (quiet < kIdleAfterTurn) {
    idle_timer_ = loop_.after(kIdleAfterTurn - quiet, [this] { check_idle(); });
    return;
  }
  if (!output_since_turn_) return;  // not answered yet: still thinking, or never will
  turn_open_ = false;
  set_state(State::Waiting);
}

// The task's brief goes in as a paste once the agent's prompt is up: shown in its input, nothing
// sent until the user presses Enter. An agent without bracketed paste gets it on one line.
void AgentWindow::paste_brief() {
  const auto quiet = std::chrono::steady_clock::now() - last_output_;
  if (brief_.empty() || ended()) return;
  if (quiet < kReadyQuiet) {
    brief_timer_ = loop_.after(kReadyQuiet - quiet, [this] { paste_brief(); });
    return;
  }
  std::string text = std::exchange(brief_, {});
  if (screen_.bracketed_paste()) {
    text = "\x1b[200~" + text + "\x1b[201~";
  } else {
    for (char& c : text)
      if (c == '\n' || c == '\r') c = ' ';
  }
  deliver(text);
}

void AgentWindow::send_input(std::string_view bytes) {
  if (!bytes.empty() && !brief_.empty()) {
    brief_.clear();
    brief_timer_.reset();
  }
  deliver(bytes);
}

void AgentWindow::deliver(std::string_view bytes) {
  if (!host_ || host_->finished() || bytes.empty()) return;
  if (state_ == State::Waiting) set_state(State::Running);  // the user answered
  if (bytes.find('\r') != std::string_view::npos) {
    // A turn begins: from now on, output followed by silence means the agent is done.
    turn_open_ = true;
    output_since_turn_ = false;
  }
  if (shell::SessionTap* tap = backing_.tap(); tap && state_ != State::SettingUp) tap->user_input(bytes);
  host_->write(bytes);
}

void AgentWindow::resize(int rows, int cols) {
  if (screen_.rows() == rows && screen_.cols() == cols) return;
  screen_.resize(rows, cols);
  if (!host_ || host_->finished()) return;
  const winsize size{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
  host_->resize(size);
  if (shell::SessionTap* tap = backing_.tap(); tap && state_ != State::SettingUp) tap->resized(size);
}

void AgentWindow::settle_reported_colours(std::optional<Rgb> foreground, std::optional<Rgb> background) {
  screen_.settle_reported_colours(foreground, background);
}

void AgentWindow::terminate(int sig) {
  if (host_ && !host_->finished()) host_->terminate(sig);
}

void AgentWindow::on_finished() {
  if (state_ == State::SettingUp) return setup_finished();
  idle_timer_.reset();
  brief_timer_.reset();
  exit_code_ = host_->exit_code();
  if (shell::SessionTap* tap = backing_.tap()) {
    tap->on_waiting_for_user(nullptr);
    tap->ended();
  }
  backing_.finished(exit_code_);
  state_ = State::Exited;
  listener_.finished(*this);
}

}  // namespace sddsh::tui
