#include "tui/multiplexer.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tui/screen.hpp"
#include "tui/utf8.hpp"

namespace sddsh::tui {

namespace {

using namespace std::chrono_literals;
using Clock = shell::EventLoop::Clock;
using Mode = Multiplexer::Mode;

constexpr std::size_t kReadSize = std::size_t{64} * 1024;
// At most ~60 frames a second: output is drawn in batches, never per read.
constexpr auto kFrameInterval = 16ms;
// How long a synchronized update (?2026) may hold frames before we draw anyway.
constexpr auto kSyncHoldLimit = 250ms;
// The rest of an escape sequence split across reads arrives within this.
constexpr auto kInputSequenceWait = 20ms;
constexpr int kWheelLines = 3;
// A local terminal answers the start-up probe in a millisecond; over a slow link we give up.
constexpr auto kProbeTimeout = std::chrono::milliseconds(500);
// The terminal's default colours, then DA1, which every terminal answers: its reply ends the probe.
constexpr std::string_view kProbeQueries = "\x1b]10;?\x1b\\\x1b]11;?\x1b\\\x1b[c";

// Modes sddsh itself sets on the user's terminal: bracketed paste and focus events, so that
// pastes and focus reach the agent as it expects.
constexpr std::string_view kOwnModesOn = "\x1b[?2004h\x1b[?1004h";
constexpr std::string_view kOwnModesOff = "\x1b[?2004l\x1b[?1004l";
constexpr std::string_view kMouseOff = "\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?1006l";

// Other sddsh processes change the tracker too: the queue is read again this often.
constexpr auto kQueueRefresh = std::chrono::seconds(10);
// Windows numbered 1–9 are one key away; more can be open.
constexpr int kMaxWindows = 32;

std::vector<std::string> help_lines(const std::string& prefix) {
  return {"sddsh keys — press " + prefix + ", then:",
          "",
          "  c        a new window: its command, a ready task, a worktree",
          "  n  p     the next or previous window     1–9  window N",
          "  w        the list of windows             &    close this window",
          "  s        show or hide the side panel",
          "  t        the task queue: ↑ ↓ choose, Enter start here (its brief",
          "           goes to the agent's input, not sent), w start in a new",
          "           window in the task's worktree, d done with the current task",
          "  [        scroll back (PgUp PgDn ↑ ↓ g G; q or typing leaves)",
          "  ?        this help",
          "  " + prefix + "      send " + prefix + " to the agent",
          "  q        end every agent and quit",
          "",
          "The mouse wheel scrolls back when the agent does not use the mouse.",
          "Any key closes this help."};
}

bool plain(const KeyEvent& key) { return key.kind == KeyEvent::Kind::Char && !key.ctrl && !key.alt; }

WindowSummary::State summary_state(AgentWindow::State state) {
  switch (state) {
    case AgentWindow::State::SettingUp: return WindowSummary::State::SettingUp;
    case AgentWindow::State::Running: return WindowSummary::State::Running;
    case AgentWindow::State::Waiting: return WindowSummary::State::Waiting;
    case AgentWindow::State::Exited: return WindowSummary::State::Exited;
    case AgentWindow::State::Failed: return WindowSummary::State::Failed;
  }
  return WindowSummary::State::Running;
}

void erase_last_utf8(std::string& text) {
  while (!text.empty()) {
    const auto byte = static_cast<unsigned char>(text.back());
    text.pop_back();
    if ((byte & 0xC0) != 0x80) break;  // the first byte of the character is gone too
  }
}

}  // namespace

Multiplexer::Multiplexer(const TuiOptions& options, Painter& painter, TerminalHooks terminal,
                         shell::SignalFd& signals, Result<shell::PtyChild> first)
    : options_(options),
      painter_(painter),
      terminal_(std::move(terminal)),
      signals_(signals),
      renderer_(painter_),
      decoder_(options.prefix_byte),
      buffer_(new char[kReadSize]),
      panel_wanted_(options.panel) {
  const winsize size = terminal_.size ? terminal_.size().value_or(winsize{24, 80, 0, 0})
                                      : winsize{static_cast<unsigned short>(painter_.rows()),
                                                static_cast<unsigned short>(painter_.cols()), 0, 0};
  renderer_.set_layout(layout_for(size, panel_wanted_));
  input_watch_ = loop_.watch(options.input_fd, POLLIN, [this](short r) { on_input(r); });
  signal_watch_ = loop_.watch(signals_.fd(), POLLIN, [this](short) { on_signals(); });
  painter_.send_to_terminal(kOwnModesOn);
  switch_to(&add_window(*options.first, std::move(first)));
}

Multiplexer::~Multiplexer() = default;

int Multiplexer::run() {
  start();
  while (!done_) step(std::chrono::milliseconds(-1));
  return exit_code();
}

void Multiplexer::start() {
  if (std::exchange(started_, true)) return;
  on_signals();  // a SIGCHLD may be pending already
  start_probe();
  apply_terminal_size();
  arm_clock();
  // The queue is read when it can be seen: a hidden panel reads it when prefix t shows it.
  if (renderer_.layout().panel_shown()) refresh_queue();
  sweep_closed_windows();  // the first agent may have failed to start
}

void Multiplexer::step(std::chrono::milliseconds timeout) {
  if (done_) return;
  // A bounded wait is a timer like any other; none: until something happens.
  shell::EventLoop::Timer wake_up;
  if (timeout.count() >= 0) wake_up = loop_.after(timeout, [] {});
  loop_.run_once();
  sweep_closed_windows();
}

// ---- Windows ----

WindowListener Multiplexer::window_listener() {
  WindowListener listener;
  listener.output = [this](AgentWindow& window) {
    if (&window == current_) schedule_frame();
  };
  listener.modes_changed = [this](AgentWindow& window) {
    if (&window == current_) mirror_agent_modes();
  };
  listener.news = [this](AgentWindow&) { schedule_frame(); };
  listener.finished = [this](AgentWindow& window) {
    if (window.number() == 1 && !first_exit_code_) first_exit_code_ = window.exit_code();
    schedule_frame();
  };
  listener.input_drained = [this] {
    if (input_watch_.armed() && current_ && !current_->input_backlogged()) input_watch_.set_events(POLLIN);
  };
  listener.to_terminal = [this](std::string_view bytes) { painter_.send_to_terminal(bytes); };
  return listener;
}

AgentWindow& Multiplexer::add_window(WindowBacking& backing, Result<shell::PtyChild> child, bool setting_up) {
  const Rect& pane = renderer_.layout().pane;
  auto window = std::make_unique<AgentWindow>(loop_, free_window_number(), backing, std::move(child), pane.rows,
                                              pane.cols, window_listener(), setting_up);
  if (probed_) window->settle_reported_colours(probe_colours_.foreground, probe_colours_.background);
  if (window->number() == 1 && window->ended()) first_exit_code_ = window->exit_code();
  AgentWindow& added = *window;
  const auto at = std::find_if(windows_.begin(), windows_.end(),
                               [&](const auto& w) { return w->number() > added.number(); });
  windows_.insert(at, std::move(window));
  return added;
}

int Multiplexer::free_window_number() const {
  int number = 1;
  for (const auto& window : windows_)
    if (window->number() == number) ++number;  // windows_ is in number order
  return number;
}

AgentWindow* Multiplexer::window_numbered(int number) const {
  for (const auto& window : windows_)
    if (window->number() == number) return window.get();
  return nullptr;
}

void Multiplexer::switch_to(AgentWindow* window) {
  if (!window) return;
  if (current_ && current_ != window) current_->set_visible(false);
  const bool changed = current_ != window;
  current_ = window;
  current_->set_visible(true);
  if (!changed) return;
  if (mode_ != Mode::NewWindow) set_mode(Mode::Normal);
  scroll_offset_ = 0;
  renderer_.invalidate();
  mirror_agent_modes();
  queue_.message.clear();
  if (started_ && renderer_.layout().panel_shown()) refresh_queue();
  schedule_frame();
}

void Multiplexer::switch_by(int delta) {
  if (windows_.empty() || !current_) return;
  const auto at = std::find_if(windows_.begin(), windows_.end(), [&](const auto& w) { return w.get() == current_; });
  const int count = static_cast<int>(windows_.size());
  const int index = static_cast<int>(at - windows_.begin());
  switch_to(windows_[static_cast<std::size_t>(((index + delta) % count + count) % count)].get());
}

void Multiplexer::open_window(const WindowRequest& request) {
  if (!options_.launcher) {
    form_.error = "this sddsh cannot open windows";
    return;
  }
  if (static_cast<int>(windows_.size()) >= kMaxWindows) {
    form_.error = "no more than " + std::to_string(kMaxWindows) + " windows";
    return;
  }
  auto backing = options_.launcher->open(request);
  if (!backing) {
    form_.error = backing.error().message;
    queue_.message = backing.error().message;
    queue_.message_is_error = true;
    schedule_frame();
    return;
  }
  // A new worktree's setup runs first, in the window; the agent follows when it succeeded.
  const auto setup = (*backing)->setup();
  shell::SpawnOptions spawn = setup ? *setup : (*backing)->spawn();
  const Rect& pane = renderer_.layout().pane;
  spawn.size = {static_cast<unsigned short>(pane.rows), static_cast<unsigned short>(pane.cols), 0, 0};
  AgentWindow& window = add_window(**backing, shell::PtyChild::spawn(spawn), setup.has_value());
  form_ = {};
  switch_to(&window);
  set_mode(Mode::Normal);
}

void Multiplexer::close_window(AgentWindow& window) {
  closing_.insert(window.number());
  window.terminate(SIGHUP);
  schedule_frame();
}

// Windows are removed here, between loop iterations, never from inside their own callbacks.
void Multiplexer::sweep_closed_windows() {
  bool removed = false;
  std::string note;  // for the panel, once the window in front is settled
  bool note_is_error = false;
  int closed_front = 0;  // the number of the window in front, if it closed
  for (auto it = windows_.begin(); it != windows_.end();) {
    AgentWindow& window = **it;
    if (!window.ended() || !closing_.count(window.number())) {
      ++it;
      continue;
    }
    closing_.erase(window.number());
    if (removing_worktree_.erase(window.number())) {
      const std::string path = window.backing().worktree().value_or("");
      auto removal = window.backing().remove_worktree();
      note = removal ? "removed worktree " + path + " (branch kept)" : "worktree kept: " + removal.error().message;
      note_is_error = !removal;
    }
    if (current_ == &window) {
      closed_front = window.number();
      current_ = nullptr;
    }
    it = windows_.erase(it);
    removed = true;
  }
  if (windows_.empty() || all_ended()) return finish();
  if (!current_) {
    // The window before the closed one comes to the front (the next when it was the first), as
    // in tmux.
    AgentWindow* next = windows_.front().get();
    for (const auto& window : windows_)
      if (window->number() < closed_front) next = window.get();
    switch_to(next);
  }
  if (!note.empty()) {
    queue_.message = note;
    queue_.message_is_error = note_is_error;
  }
  if (removed) {
    renderer_.invalidate();
    schedule_frame();
  }
}

bool Multiplexer::all_ended() const {
  return std::all_of(windows_.begin(), windows_.end(), [](const auto& w) { return w->ended(); });
}

void Multiplexer::terminate_all(int sig) {
  for (const auto& window : windows_) {
    closing_.insert(window->number());
    window->terminate(sig);
  }
}

std::vector<WindowSummary> Multiplexer::summaries() const {
  std::vector<WindowSummary> summaries;
  for (const auto& window : windows_) {
    WindowSummary summary;
    summary.number = window->number();
    summary.agent = window->agent_name();
    if (auto task = window->task()) summary.task_id = task->id;
    summary.state = summary_state(window->state());
    summary.exit_code = window->exit_code();
    summary.current = window.get() == current_;
    summary.unread_output = window->unread_output();
    summary.unread_bell = window->unread_bell();
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

// ---- Output and frames ----

// The user's terminal encodes keys as the agent in front asked its terminal to (cursor keys,
// keypad, modifyOtherKeys), so typed bytes can go to the agent unchanged. The mouse is always
// reported to sddsh (the wheel scrolls back), in the agent's tracking mode when it has one.
void Multiplexer::mirror_agent_modes() {
  if (!current_) return;
  const shell::ModeTracker& agent_modes = current_->modes();
  std::string modes;
  modes += agent_modes.app_cursor_keys() ? "\x1b[?1h" : "\x1b[?1l";
  modes += agent_modes.app_keypad() ? "\x1b=" : "\x1b>";
  modes += "\x1b[>4;" + std::to_string(agent_modes.modify_other_keys()) + "m";
  std::string mouse = "\x1b[?1000h\x1b[?1006h";
  if (current_->screen().mouse_mode() == MouseMode::Drag) mouse += "\x1b[?1002h";
  if (current_->screen().mouse_mode() == MouseMode::Move) mouse += "\x1b[?1003h";
  if (modes != mirrored_modes_) painter_.send_to_terminal(modes);
  if (mouse != outer_mouse_modes_) {
    painter_.send_to_terminal(std::string(kMouseOff) + mouse);
    outer_mouse_modes_ = mouse;
  }
  if (modes != mirrored_modes_) {
    mirrored_modes_ = modes;
    update_crash_reset();
    schedule_frame();  // the bytes go out with the next frame
  }
}

// What a crash must undo on the user's terminal; the normal way out leaves curses first.
void Multiplexer::update_crash_reset() {
  if (terminal_.set_reset_sequence)
    terminal_.set_reset_sequence(std::string(kOwnModesOff) + std::string(kMouseOff) +
                                 "\x1b[?1l\x1b>\x1b[>4m\x1b[0 q\x1b[?1049l\x1b[?25h");
}

void Multiplexer::schedule_frame() {
  if (done_ || !current_ || !started_) return;
  const auto now = Clock::now();
  const Screen& screen = current_->screen();
  if (screen.synchronized_output() && !in_sync_) {
    in_sync_ = true;
    sync_since_ = now;
  } else if (!screen.synchronized_output()) {
    in_sync_ = false;
  }
  auto due = std::max(now, last_frame_ + kFrameInterval);
  // Inside a synchronized update the agent is mid-frame: hold ours until it ends (or too long).
  if (in_sync_) due = std::max(due, sync_since_ + kSyncHoldLimit);
  if (frame_timer_.armed() && frame_at_ <= due) return;
  if (due <= now) {
    // The last frame is older than the interval: draw now (a keystroke's echo waits for
    // nothing); whatever follows within the interval is batched into the next frame.
    frame_timer_.reset();
    draw_frame();
    return;
  }
  frame_at_ = due;
  frame_timer_ = loop_.at(due, [this] {
    if (in_sync_ && current_ && current_->screen().synchronized_output() &&
        Clock::now() < sync_since_ + kSyncHoldLimit) {
      schedule_frame();
      return;
    }
    draw_frame();
  });
}

void Multiplexer::draw_frame() {
  if (!current_) return;
  facts_.agent = current_->agent_name();
  facts_.state = current_->state() == AgentWindow::State::Waiting ? SessionFacts::State::Waiting
                 : current_->ended()                               ? SessionFacts::State::Exited
                                                                   : SessionFacts::State::Running;
  facts_.exit_code = current_->exit_code();
  facts_.title = current_->title();
  facts_.elapsed_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - current_->started_at()).count();
  shell::SessionTap* tap = current_->backing().tap();
  facts_.recording = tap ? tap->summary() : "";
  window_view_ = summaries();
  renderer_.draw(current_->screen(), scroll_offset_, chrome());
  last_frame_ = Clock::now();
  in_sync_ = false;
}

std::string Multiplexer::status_text() {
  std::string text = "sddsh · ";
  text += windows_.size() > 1 ? window_list_text(window_view_) : facts_.agent;
  const auto waiting = std::count_if(window_view_.begin(), window_view_.end(), [](const WindowSummary& w) {
    return w.state == WindowSummary::State::Waiting;
  });
  if (windows_.size() == 1 && waiting) text += " · waiting for you";
  if (windows_.size() > 1 && waiting) text += " · " + std::to_string(waiting) + " waiting for you";
  if (current_->ended() && windows_.size() > 1)
    text += " · " + window_state_text(window_view_[static_cast<std::size_t>(
                        std::find_if(window_view_.begin(), window_view_.end(),
                                     [](const WindowSummary& w) { return w.current; }) -
                        window_view_.begin())]) +
            ", & closes";
  return text;
}

Chrome Multiplexer::chrome() {
  Chrome c;
  if (windows_.size() > 1) c.sections.push_back(&windows_section_);
  if (desk()) c.sections.push_back(&queue_section_);
  c.sections.push_back(&session_section_);
  c.status_left = status_text();
  c.status_alert = std::any_of(window_view_.begin(), window_view_.end(), [](const WindowSummary& w) {
    return w.state == WindowSummary::State::Waiting;
  });
  shell::SessionTap* tap = current_->backing().tap();
  if (const std::string warning = tap ? tap->warning() : ""; !warning.empty()) {
    c.status_left += " · ⚠ " + warning;
    c.status_alert = true;
  }
  switch (mode_) {
    case Mode::Prefix:
      c.status_left += " · c new  n p 1-9 switch  w list  & close  s panel  t tasks  [ scroll  ? help  q quit";
      break;
    case Mode::Tasks:
      c.status_left += " · tasks: ↑ ↓ choose  Enter start here  w new window in its worktree  d done  r refresh  q leave";
      break;
    case Mode::Scrollback:
      c.status_left += " · history " + std::to_string(scroll_offset_) + "/" + std::to_string(max_scroll()) +
                       "  PgUp PgDn ↑ ↓ g G  q leaves";
      break;
    case Mode::Help: c.overlay = help_lines(options_.prefix_label); break;
    case Mode::ConfirmQuit:
      c.overlay = {windows_.size() > 1 ? "End all " + std::to_string(windows_.size()) + " agents and quit sddsh?  (y/n)"
                                       : "End the agent and quit sddsh?  (y/n)"};
      break;
    case Mode::ConfirmClose:
      c.overlay = {"Close window " + std::to_string(current_->number()) + " (" + current_->agent_name() +
                   ")? Its agent is ended.  (y/n)"};
      break;
    case Mode::NewWindow: c.overlay = new_window_overlay(); break;
    case Mode::WindowList: c.overlay = window_list_overlay(); break;
    case Mode::WorktreeOffer: c.overlay = worktree_offer_overlay(); break;
    case Mode::Normal: break;
  }
  c.status_right = options_.prefix_label + " ? help";
  return c;
}

void Multiplexer::arm_clock() {
  // The panel's clock (to the minute) and the desk's news (asked from memory) are the only
  // things that change without output: one wake-up a minute, one a second while something is on
  // its way (an upload, a queue asked for), and none when the panel is hidden.
  if (!renderer_.layout().panel_shown() || done_) return;
  const bool busy = std::any_of(windows_.begin(), windows_.end(), [](const auto& window) {
    TaskDesk* desk = window->backing().desk();
    return desk && desk->status().busy;
  });
  const auto period = busy ? std::chrono::seconds(1) : std::chrono::seconds(60);
  const auto elapsed = Clock::now() - clock_origin_;
  const auto next = clock_origin_ + (std::chrono::floor<std::chrono::seconds>(elapsed) / period + 1) * period;
  clock_timer_ = loop_.at(next, [this] {
    // The desk's news (a newer remote queue, upload progress) rides on the same wake-up.
    if (desk()) poll_desk();
    schedule_frame();
    arm_clock();
  });
}

// ---- The user's side ----

void Multiplexer::on_input(short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = ::read(options_.input_fd, buffer_.get(), kReadSize);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    input_watch_.reset();
    terminate_all(SIGHUP);  // the user's terminal hung up
    return;
  }
  if (n < 0) return;
  std::string_view input(buffer_.get(), static_cast<std::size_t>(n));
  std::string typed;
  if (probing_) {
    // The terminal's answers to our start-up probe come first; they are not the user's keys.
    probe_buffer_ += input;
    if (take_probe_replies(probe_buffer_, probe_colours_, typed)) {
      typed += std::exchange(probe_buffer_, {});  // typed after the last reply
      finish_probe();
    }
    input = typed;
  }
  std::vector<InputEvent> events;
  decoder_.feed(input, events);
  for (const InputEvent& event : events) handle(event);
  if (decoder_.has_pending()) {
    input_timer_ = loop_.after(kInputSequenceWait, [this] {
      std::vector<InputEvent> held;
      decoder_.flush_pending(held);
      for (const InputEvent& event : held) handle(event);
    });
  }
  // The agent not taking input stops us reading more of it, until it drained.
  if (input_watch_.armed() && current_ && current_->input_backlogged()) input_watch_.set_events(0);
}

// The user's terminal is asked for its colours while everything else goes on; the agents' colour
// queries wait for the answer (a local terminal answers within a millisecond).
void Multiplexer::start_probe() {
  probing_ = true;
  painter_.send_to_terminal(kProbeQueries);
  schedule_frame();
  probe_timer_ = loop_.after(kProbeTimeout, [this] { finish_probe(); });
}

void Multiplexer::finish_probe() {
  if (!probing_) return;
  probing_ = false;
  probed_ = true;
  probe_timer_.reset();
  for (const auto& window : windows_)
    window->settle_reported_colours(probe_colours_.foreground, probe_colours_.background);
  if (!probe_buffer_.empty()) {
    // An unfinished reply at the deadline: whatever it was, it goes on as input.
    std::vector<InputEvent> events;
    decoder_.feed(std::exchange(probe_buffer_, {}), events);
    for (const InputEvent& event : events) handle(event);
  }
}

void Multiplexer::handle(const InputEvent& event) {
  using Kind = InputEvent::Kind;
  switch (event.kind) {
    case Kind::Bytes: forward_to_agent(event.bytes); break;
    case Kind::Key: handle_key(event.key); break;
    case Kind::Prefix:
      if (mode_ == Mode::Prefix) {
        forward_to_agent(std::string(1, options_.prefix_byte));  // prefix twice: a literal one
        set_mode(Mode::Normal);
      } else {
        set_mode(Mode::Prefix);
      }
      break;
    case Kind::PasteStart:
      paste_bracketed_ = current_->screen().bracketed_paste();
      if (paste_bracketed_) forward_to_agent("\x1b[200~");
      break;
    case Kind::PasteData: forward_to_agent(paste_bracketed_ ? paste_.filter(event.bytes) : event.bytes); break;
    case Kind::PasteEnd:
      if (paste_bracketed_) forward_to_agent(paste_.finish() + "\x1b[201~");
      paste_bracketed_ = false;
      break;
    case Kind::Mouse: handle_mouse(event.mouse); break;
    case Kind::FocusIn: current_->screen().focus_changed(true); break;
    case Kind::FocusOut: current_->screen().focus_changed(false); break;
  }
}

void Multiplexer::forward_to_agent(std::string_view bytes) {
  if (mode_ == Mode::Scrollback) set_mode(Mode::Normal);  // typing returns to the live screen
  if (mode_ != Mode::Normal && mode_ != Mode::Prefix) return;  // a dialog is open: not the agent's
  current_->send_input(bytes);
}

void Multiplexer::set_mode(Mode mode) {
  mode_ = mode;
  decoder_.set_decode_keys(mode != Mode::Normal);
  if (mode != Mode::Scrollback) scroll_offset_ = 0;
  schedule_frame();
}

void Multiplexer::handle_key(const KeyEvent& key) {
  switch (mode_) {
    case Mode::Normal: forward_to_agent(key.bytes); break;
    case Mode::Prefix: handle_prefix_command(key); break;
    case Mode::Scrollback: handle_scrollback_key(key); break;
    case Mode::Tasks: handle_tasks_key(key); break;
    case Mode::NewWindow: handle_new_window_key(key); break;
    case Mode::WindowList: handle_window_list_key(key); break;
    case Mode::WorktreeOffer: handle_worktree_offer_key(key); break;
    case Mode::Help: set_mode(Mode::Normal); break;
    case Mode::ConfirmQuit:
      set_mode(Mode::Normal);
      if (plain(key) && (key.ch == U'y' || key.ch == U'Y')) terminate_all(SIGHUP);
      break;
    case Mode::ConfirmClose:
      set_mode(Mode::Normal);
      if (plain(key) && (key.ch == U'y' || key.ch == U'Y')) close_window(*current_);
      break;
  }
}

void Multiplexer::handle_prefix_command(const KeyEvent& key) {
  set_mode(Mode::Normal);
  if (!plain(key)) return;  // anything else cancels
  switch (key.ch) {
    case U's': toggle_panel(); break;
    case U'[': set_mode(Mode::Scrollback); break;
    case U'c':
      form_ = {};
      form_.command = options_.launcher ? options_.launcher->default_command() : "";
      if (desk()) refresh_queue();
      set_mode(Mode::NewWindow);
      break;
    case U'n': switch_by(1); break;
    case U'p': switch_by(-1); break;
    case U'w':
      list_selected_ = 0;
      for (std::size_t i = 0; i < windows_.size(); ++i)
        if (windows_[i].get() == current_) list_selected_ = static_cast<int>(i);
      set_mode(Mode::WindowList);
      break;
    case U'&':
      // An agent that has ended goes without asking.
      if (current_->ended()) close_window(*current_);
      else set_mode(Mode::ConfirmClose);
      break;
    case U't':
      if (!desk()) break;
      if (!renderer_.layout().panel_shown()) toggle_panel();  // the queue is in the panel
      refresh_queue();
      if (queue_.selected < 0 && !queue_.ready.empty()) queue_.selected = 0;
      set_mode(Mode::Tasks);
      break;
    case U'?': set_mode(Mode::Help); break;
    case U'q': set_mode(Mode::ConfirmQuit); break;
    default:
      if (key.ch >= U'1' && key.ch <= U'9') switch_to(window_numbered(static_cast<int>(key.ch - U'0')));
      break;
  }
}

void Multiplexer::handle_scrollback_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const int page = std::max(1, renderer_.layout().pane.rows - 1);
  const bool plain_char = plain(key);
  if (key.kind == K::Up || (plain_char && key.ch == U'k')) return scroll_by(1);
  if (key.kind == K::Down || (plain_char && key.ch == U'j')) return scroll_by(-1);
  if (key.kind == K::PageUp) return scroll_by(page);
  if (key.kind == K::PageDown) return scroll_by(-page);
  if (key.kind == K::Home || (plain_char && key.ch == U'g')) return scroll_by(max_scroll());
  if (key.kind == K::End || (plain_char && key.ch == U'G')) return scroll_by(-max_scroll());
  if (key.kind == K::Escape || (plain_char && key.ch == U'q')) return set_mode(Mode::Normal);
  // Any other key means the user is typing again: back to the live screen, key included.
  forward_to_agent(key.bytes);
}

void Multiplexer::handle_tasks_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const bool plain_char = plain(key);
  const int count = static_cast<int>(queue_.ready.size());
  auto select = [&](int index) {
    queue_.selected = count == 0 ? -1 : std::clamp(index, 0, count - 1);
    schedule_frame();
  };
  if (key.kind == K::Up || (plain_char && key.ch == U'k')) return select(queue_.selected - 1);
  if (key.kind == K::Down || (plain_char && key.ch == U'j')) return select(queue_.selected + 1);
  if (key.kind == K::Enter) return start_selected_task();
  if (plain_char && key.ch == U'w') return start_selected_task_in_worktree();
  if (plain_char && key.ch == U'd') return finish_current_task();
  if (plain_char && key.ch == U'r') {
    // A remote queue is read on the desk's thread: its answer shows on the next clock tick.
    desk()->refresh();
    return refresh_queue();
  }
  if (key.kind == K::Escape || (plain_char && key.ch == U'q')) {
    queue_.selected = -1;
    return set_mode(Mode::Normal);
  }
}

// prefix c: the command (the default one, editable), a ready task or none, a worktree or not.
void Multiplexer::handle_new_window_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const int count = static_cast<int>(queue_.ready.size());
  form_.error.clear();
  if (key.kind == K::Escape) return set_mode(Mode::Normal);
  if (key.kind == K::Up) form_.task = std::max(-1, form_.task - 1);
  else if (key.kind == K::Down) form_.task = std::min(count - 1, form_.task + 1);
  else if (key.kind == K::Tab) form_.worktree = !form_.worktree;
  else if (key.kind == K::Backspace) erase_last_utf8(form_.command);
  else if (key.kind == K::Char && !key.ctrl && !key.alt) append_utf8(form_.command, key.ch);
  else if (key.kind == K::Enter) {
    WindowRequest request{.command = form_.command, .task_id = {}, .worktree = form_.worktree};
    if (form_.task >= 0 && form_.task < count) request.task_id = queue_.ready[static_cast<std::size_t>(form_.task)].id;
    if (request.worktree && !request.task_id) form_.error = "a worktree is made for a task: choose one (↑ ↓)";
    else open_window(request);
  }
  schedule_frame();
}

std::vector<std::string> Multiplexer::new_window_overlay() const {
  std::vector<std::string> lines{"New window", ""};
  lines.push_back("command   " + form_.command + "▏");
  const int count = static_cast<int>(queue_.ready.size());
  if (form_.task < 0 || form_.task >= count) {
    lines.push_back("task      none" + std::string(count ? "   (↓ " + std::to_string(count) + " ready)" : ""));
  } else {
    const QueuedTask& task = queue_.ready[static_cast<std::size_t>(form_.task)];
    lines.push_back("task      " + task.id + "  " + task.title);
    lines.push_back("          " + std::to_string(form_.task + 1) + " of " + std::to_string(count) + " ready");
  }
  lines.push_back(std::string("worktree  ") + (form_.worktree ? "yes: the task's own checkout" : "no"));
  lines.push_back("");
  lines.push_back("Enter open · ↑ ↓ task · Tab worktree · Esc cancel");
  if (!form_.error.empty()) lines.push_back("✗ " + form_.error);
  return lines;
}

void Multiplexer::handle_window_list_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const int count = static_cast<int>(windows_.size());
  if (key.kind == K::Up || (plain(key) && key.ch == U'k')) list_selected_ = std::max(0, list_selected_ - 1);
  else if (key.kind == K::Down || (plain(key) && key.ch == U'j')) list_selected_ = std::min(count - 1, list_selected_ + 1);
  else if (key.kind == K::Enter) {
    set_mode(Mode::Normal);
    return switch_to(windows_[static_cast<std::size_t>(std::clamp(list_selected_, 0, count - 1))].get());
  } else if (plain(key) && key.ch >= U'1' && key.ch <= U'9') {
    set_mode(Mode::Normal);
    return switch_to(window_numbered(static_cast<int>(key.ch - U'0')));
  } else if (key.kind == K::Escape || (plain(key) && key.ch == U'q')) {
    return set_mode(Mode::Normal);
  }
  schedule_frame();
}

std::vector<std::string> Multiplexer::window_list_overlay() const {
  std::vector<std::string> lines{"Windows", ""};
  const auto view = summaries();
  for (std::size_t i = 0; i < view.size(); ++i) {
    const WindowSummary& w = view[i];
    std::string line = (static_cast<int>(i) == list_selected_ ? "▸ " : "  ") + std::to_string(w.number) + "  " + w.agent;
    line += "  " + (w.task_id.empty() ? std::string("—") : w.task_id) + "  " + window_state_text(w);
    if (w.unread_bell) line += "  !";
    else if (w.unread_output) line += "  •";
    lines.push_back(line);
  }
  lines.push_back("");
  lines.push_back("Enter switch · ↑ ↓ · 1–9 · Esc leave");
  return lines;
}

// After `d` in a window that works in its task's worktree: remove the checkout (the branch stays)
// or keep it. Nothing goes without a yes, and a checkout with uncommitted work is not offered.
void Multiplexer::handle_worktree_offer_key(const KeyEvent& key) {
  if (plain(key) && key.ch == U'r') {
    removing_worktree_.insert(current_->number());
    close_window(*current_);
    queue_.message = "removing worktree " + offered_worktree_ + " once the agent has ended";
    queue_.message_is_error = false;
  } else {
    queue_.message = "worktree kept: " + offered_worktree_;
    queue_.message_is_error = false;
  }
  set_mode(Mode::Normal);
}

std::vector<std::string> Multiplexer::worktree_offer_overlay() const {
  return {"The task is done. Its worktree:", "  " + offered_worktree_, "",
          "r  remove it (its branch stays; this window's agent is ended)", "k  keep it"};
}

TaskDesk* Multiplexer::desk() const { return current_ ? current_->backing().desk() : nullptr; }

void Multiplexer::refresh_queue() {
  TaskDesk* const desk = this->desk();
  if (!desk) return;
  const std::string selected_id =
      queue_.selected >= 0 && queue_.selected < static_cast<int>(queue_.ready.size())
          ? queue_.ready[static_cast<std::size_t>(queue_.selected)].id
          : "";
  auto ready = desk->ready();
  queue_read_at_ = std::chrono::steady_clock::now();
  queue_.current = desk->current();
  queue_.desk = desk->status();
  if (!ready) {
    queue_.message = ready.error().message;
    queue_.message_is_error = true;
  } else {
    queue_.ready = std::move(*ready);
    // The selection follows its task when the queue moves under it.
    for (std::size_t i = 0; i < queue_.ready.size(); ++i)
      if (queue_.ready[i].id == selected_id) queue_.selected = static_cast<int>(i);
    if (queue_.selected >= static_cast<int>(queue_.ready.size()))
      queue_.selected = static_cast<int>(queue_.ready.size()) - 1;
  }
  arm_clock();  // every second while the desk is busy
  schedule_frame();
}

void Multiplexer::poll_desk() {
  const DeskStatus status = desk()->status();
  const bool newer_queue = status.generation != queue_.desk.generation;
  const bool due = std::chrono::steady_clock::now() - queue_read_at_ >= kQueueRefresh;
  if (newer_queue || due) return refresh_queue();
  if (status == queue_.desk) return;
  queue_.desk = status;
  arm_clock();
  schedule_frame();
}

void Multiplexer::start_selected_task() {
  if (queue_.selected < 0 || queue_.selected >= static_cast<int>(queue_.ready.size())) return;
  const QueuedTask task = queue_.ready[static_cast<std::size_t>(queue_.selected)];
  auto brief = desk()->start(task.id);
  if (!brief) {
    queue_.message = brief.error().message;
    queue_.message_is_error = true;
    refresh_queue();
    return;
  }
  queue_.message = "started " + task.id + ": its brief is in the prompt";
  queue_.message_is_error = false;
  queue_.selected = -1;
  set_mode(Mode::Normal);
  // The brief goes in as a paste: the agent shows it in its input, and nothing is sent until the
  // user presses Enter. An agent without bracketed paste would take each newline as Enter.
  if (current_->screen().bracketed_paste()) {
    forward_to_agent("\x1b[200~" + *brief + "\x1b[201~");
  } else {
    std::string flat = *brief;
    for (char& c : flat)
      if (c == '\n' || c == '\r') c = ' ';
    forward_to_agent(flat);
  }
  refresh_queue();
}

void Multiplexer::start_selected_task_in_worktree() {
  if (queue_.selected < 0 || queue_.selected >= static_cast<int>(queue_.ready.size())) return;
  const QueuedTask task = queue_.ready[static_cast<std::size_t>(queue_.selected)];
  queue_.selected = -1;
  set_mode(Mode::Normal);
  open_window({.command = "", .task_id = task.id, .worktree = true});
}

void Multiplexer::finish_current_task() {
  TaskDesk* const desk = this->desk();
  const auto current = desk->current();
  if (!current) {
    queue_.message = "no current task to mark done";
    queue_.message_is_error = true;
    return schedule_frame();
  }
  if (auto done = desk->finish_current(); !done) {
    queue_.message = done.error().message;
    queue_.message_is_error = true;
  } else {
    queue_.message = current->id + " done";
    queue_.message_is_error = false;
    if (const auto worktree = current_->backing().worktree()) {
      // The worktree may go now, if the user says so and nothing in it is uncommitted.
      offered_worktree_ = *worktree;
      if (const auto blocker = current_->backing().worktree_removal_blocker()) {
        queue_.message = current->id + " done; worktree kept: " + *blocker;
      } else {
        set_mode(Mode::WorktreeOffer);
      }
    }
  }
  refresh_queue();
}

int Multiplexer::max_scroll() const {
  const Screen& screen = current_->screen();
  return std::max(0, static_cast<int>(screen.scrollback_size()) + screen.rows() - renderer_.layout().pane.rows);
}

void Multiplexer::scroll_by(int lines) {
  scroll_offset_ = std::clamp(scroll_offset_ + lines, 0, max_scroll());
  schedule_frame();
}

void Multiplexer::handle_mouse(const MouseEvent& mouse) {
  Screen& screen = current_->screen();
  const Rect& pane = renderer_.layout().pane;
  const bool wheel = mouse.action == MouseEvent::Action::WheelUp || mouse.action == MouseEvent::Action::WheelDown;
  if (screen.mouse_mode() != MouseMode::None && mode_ == Mode::Normal && pane.contains(mouse.row, mouse.col)) {
    const int row = mouse.row - pane.row;
    const int col = mouse.col - pane.col;
    unsigned mods = kModNone;
    if (mouse.shift) mods |= kModShift;
    if (mouse.alt) mods |= kModAlt;
    if (mouse.ctrl) mods |= kModCtrl;
    switch (mouse.action) {
      case MouseEvent::Action::Press: screen.mouse_button(mouse.button + 1, true, row, col, mods); break;
      case MouseEvent::Action::Release: screen.mouse_button(mouse.button + 1, false, row, col, mods); break;
      case MouseEvent::Action::Motion: screen.mouse_move(row, col, mods); break;
      case MouseEvent::Action::WheelUp: screen.mouse_button(4, true, row, col, mods); break;
      case MouseEvent::Action::WheelDown: screen.mouse_button(5, true, row, col, mods); break;
    }
    return;
  }
  if (!wheel) return;
  // The agent does not use the mouse: the wheel moves through sddsh's scrollback view.
  if (mouse.action == MouseEvent::Action::WheelUp) {
    if (mode_ != Mode::Scrollback) set_mode(Mode::Scrollback);
    scroll_by(kWheelLines);
  } else if (mode_ == Mode::Scrollback) {
    scroll_by(-kWheelLines);
    if (scroll_offset_ == 0) set_mode(Mode::Normal);
  }
}

void Multiplexer::on_signals() {
  for (int sig : signals_.take()) {
    switch (sig) {
      case SIGCHLD:
        // One reaper for every window: each exited child goes to the window it belongs to.
        for (const shell::ExitedChild& child : shell::reap_exited_children())
          for (const auto& window : windows_)
            if (window->take_exit(child)) break;
        break;
      case SIGWINCH: apply_terminal_size(); break;
      case SIGTERM:
      case SIGHUP: terminate_all(sig); break;
      default: break;
    }
  }
}

void Multiplexer::apply_terminal_size() {
  if (!terminal_.size) return;
  auto size = terminal_.size();
  if (!size) return;
  const int rows = size->ws_row, cols = size->ws_col;
  if (rows != painter_.rows() || cols != painter_.cols()) painter_.resize(rows, cols);
  const Layout layout = layout_for(*size, panel_wanted_);
  const bool same_layout = layout == renderer_.layout();
  if (!same_layout) renderer_.set_layout(layout);
  // Every window takes the pane's size, hidden ones too: their screens stay what the user will see.
  for (const auto& window : windows_) window->resize(layout.pane.rows, layout.pane.cols);
  if (same_layout) return;
  arm_clock();
  schedule_frame();
}

void Multiplexer::toggle_panel() {
  panel_wanted_ = !panel_wanted_;
  renderer_.invalidate();
  apply_terminal_size();
  if (!renderer_.layout().panel_shown()) clock_timer_.reset();
  schedule_frame();
}

void Multiplexer::finish() {
  if (done_) return;
  done_ = true;
  input_watch_.reset();
  signal_watch_.reset();
  frame_timer_.reset();
  clock_timer_.reset();
  input_timer_.reset();
  probe_timer_.reset();
  // Leave curses first (alternate screen, cursor), then undo our own modes.
  if (terminal_.set_reset_sequence)
    terminal_.set_reset_sequence(std::string(kOwnModesOff) + std::string(kMouseOff) + "\x1b[?1l\x1b>\x1b[>4m");
  if (terminal_.leave) terminal_.leave();
}

}  // namespace sddsh::tui
