#include "tui/tui_session.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "shell/agent_host.hpp"
#include "shell/event_loop.hpp"
#include "shell/mode_tracker.hpp"
#include "shell/outer_terminal.hpp"
#include "shell/process_tree.hpp"
#include "shell/signal_fd.hpp"
#include "tui/curses_painter.hpp"
#include "tui/input_decoder.hpp"
#include "tui/layout.hpp"
#include "tui/panel.hpp"
#include "tui/paste.hpp"
#include "tui/renderer.hpp"
#include "tui/screen.hpp"
#include "tui/terminal_probe.hpp"

namespace sddsh::tui {

namespace {

using namespace std::chrono_literals;
using Clock = shell::EventLoop::Clock;

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

enum class Mode : std::uint8_t { Normal, Prefix, Scrollback, Help, ConfirmQuit, Tasks };

// Other sddsh processes change the tracker too: the queue is read again this often.
constexpr auto kQueueRefresh = std::chrono::seconds(10);

std::vector<std::string> help_lines(const std::string& prefix) {
  return {"sddsh keys — press " + prefix + ", then:",
          "",
          "  p        show or hide the side panel",
          "  t        the task queue: ↑ ↓ choose, Enter start (its brief goes to the",
          "           agent's input, not sent), d done with the current task",
          "  [        scroll back (PgUp PgDn ↑ ↓ g G; q or typing leaves)",
          "  ?        this help",
          "  " + prefix + "      send " + prefix + " to the agent",
          "  q        end the agent and quit",
          "",
          "The mouse wheel scrolls back when the agent does not use the mouse.",
          "Any key closes this help."};
}

class TuiSession {
 public:
  TuiSession(const TuiOptions& options, shell::OuterTerminal& terminal, shell::SignalFd& signals,
             shell::PtyChild child, const Layout& layout);
  int run();

 private:
  // The agent's side.
  void on_agent_output(std::string_view bytes);
  void handle_screen_events();
  void mirror_agent_modes();
  void update_crash_reset();

  // Frames.
  void schedule_frame();
  void draw_frame();
  Chrome chrome() const;
  void arm_clock();

  // The user's side.
  void on_input(short revents);
  void handle(const InputEvent& event);
  void handle_key(const KeyEvent& key);
  void handle_prefix_command(const KeyEvent& key);
  void handle_scrollback_key(const KeyEvent& key);
  void handle_tasks_key(const KeyEvent& key);
  void refresh_queue();
  void poll_desk();
  void start_selected_task();
  void finish_current_task();
  void paste_to_agent(const std::string& text);
  void handle_mouse(const MouseEvent& mouse);
  void forward_to_agent(std::string_view bytes);
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
  shell::OuterTerminal& terminal_;
  shell::SignalFd& signals_;
  shell::EventLoop loop_;
  Screen screen_;
  shell::AgentHost agent_;
  CursesPainter painter_;
  Renderer renderer_;
  InputDecoder decoder_;
  shell::ModeTracker agent_modes_;
  std::unique_ptr<char[]> buffer_;

  SessionFacts facts_;
  SessionSection session_section_{facts_};
  TaskQueueView queue_;
  TaskQueueSection queue_section_{queue_};
  std::chrono::steady_clock::time_point queue_read_at_{};
  Clock::time_point started_ = Clock::now();

  shell::EventLoop::Watch input_watch_;
  shell::EventLoop::Watch signal_watch_;
  shell::EventLoop::Timer frame_timer_;
  Clock::time_point frame_at_{};
  Clock::time_point last_frame_{};
  Clock::time_point sync_since_{};
  bool in_sync_ = false;
  shell::EventLoop::Timer clock_timer_;
  shell::EventLoop::Timer input_timer_;

  Mode mode_ = Mode::Normal;
  bool panel_wanted_;
  int scroll_offset_ = 0;
  bool probing_ = false;
  std::string probe_buffer_;
  TerminalColours probe_colours_;
  shell::EventLoop::Timer probe_timer_;
  bool paste_bracketed_ = false;
  PasteSanitizer paste_;
  std::string outer_mouse_modes_;
  std::string mirrored_modes_;
  bool done_ = false;
};

TuiSession::TuiSession(const TuiOptions& options, shell::OuterTerminal& terminal,
                       shell::SignalFd& signals, shell::PtyChild child, const Layout& layout)
    : options_(options),
      terminal_(terminal),
      signals_(signals),
      screen_({.rows = layout.pane.rows, .cols = layout.pane.cols, .colours_pending = true}),
      agent_(loop_, std::move(child),
             {.on_output = [this](std::string_view b) { on_agent_output(b); },
              .on_finished = [this] { finish(); },
              .on_input_drained = [this] { if (input_watch_.armed()) input_watch_.set_events(POLLIN); }}),
      painter_(options.output_fd, options.term, options.truecolor),
      renderer_(painter_),
      decoder_(options.prefix_byte),
      buffer_(new char[kReadSize]),
      panel_wanted_(options.panel) {
  // Answers to the agent's queries, and its mouse and focus reports, go back into its PTY.
  screen_.set_output([this](std::string_view bytes) { agent_.write(bytes); });
  facts_.agent = options.agent_name;
  input_watch_ = loop_.watch(options.input_fd, POLLIN, [this](short r) { on_input(r); });
  signal_watch_ = loop_.watch(signals.fd(), POLLIN, [this](short) { on_signals(); });
  painter_.send_to_terminal(kOwnModesOn);
  renderer_.set_layout(layout);
  mirror_agent_modes();
  if (options_.tap) options_.tap->started(loop_, {static_cast<unsigned short>(layout.pane.rows),
                                                   static_cast<unsigned short>(layout.pane.cols), 0, 0},
                                         agent_.pid());
}

int TuiSession::run() {
  on_signals();  // a SIGCHLD may be pending already
  start_probe();
  apply_terminal_size();
  arm_clock();
  // The queue is read when it can be seen: a hidden panel reads it when prefix t shows it.
  if (renderer_.layout().panel_shown()) refresh_queue();
  while (!done_) loop_.run_once();
  return agent_.exit_code();
}

void TuiSession::on_agent_output(std::string_view bytes) {
  if (options_.tap) options_.tap->agent_output(bytes);
  screen_.feed(bytes);
  agent_modes_.observe(bytes);
  if (agent_modes_.take_changed()) mirror_agent_modes();
  handle_screen_events();
  schedule_frame();
}

void TuiSession::handle_screen_events() {
  for (const ScreenEvent& event : screen_.take_events()) {
    switch (event.kind) {
      case ScreenEvent::Kind::Bell:
        facts_.state = SessionFacts::State::Waiting;
        painter_.send_to_terminal("\a");
        break;
      case ScreenEvent::Kind::Notification: facts_.state = SessionFacts::State::Waiting; break;
      case ScreenEvent::Kind::Clipboard:
        // OSC 52: the agent copies to the user's clipboard; pass it on to the real terminal.
        painter_.send_to_terminal("\x1b]52;" + event.detail + ";" + event.text + "\a");
        break;
      case ScreenEvent::Kind::TitleChanged: facts_.title = event.text; break;
    }
  }
}

// The user's terminal encodes keys as the agent asked its terminal to (cursor keys, keypad,
// modifyOtherKeys), so typed bytes can go to the agent unchanged. The mouse is always reported
// to sddsh (the wheel scrolls back), in the agent's tracking mode when it has one.
void TuiSession::mirror_agent_modes() {
  std::string modes;
  modes += agent_modes_.app_cursor_keys() ? "\x1b[?1h" : "\x1b[?1l";
  modes += agent_modes_.app_keypad() ? "\x1b=" : "\x1b>";
  modes += "\x1b[>4;" + std::to_string(agent_modes_.modify_other_keys()) + "m";
  std::string mouse = "\x1b[?1000h\x1b[?1006h";
  if (screen_.mouse_mode() == MouseMode::Drag) mouse += "\x1b[?1002h";
  if (screen_.mouse_mode() == MouseMode::Move) mouse += "\x1b[?1003h";
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
void TuiSession::update_crash_reset() {
  terminal_.set_reset_sequence(std::string(kOwnModesOff) + std::string(kMouseOff) +
                               "\x1b[?1l\x1b>\x1b[>4m\x1b[0 q\x1b[?1049l\x1b[?25h");
}

void TuiSession::schedule_frame() {
  const auto now = Clock::now();
  if (screen_.synchronized_output() && !in_sync_) {
    in_sync_ = true;
    sync_since_ = now;
  } else if (!screen_.synchronized_output()) {
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
    if (in_sync_ && screen_.synchronized_output() && Clock::now() < sync_since_ + kSyncHoldLimit) {
      schedule_frame();
      return;
    }
    draw_frame();
  });
}

void TuiSession::draw_frame() {
  facts_.elapsed_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
  if (options_.tap) facts_.recording = options_.tap->summary();
  renderer_.draw(screen_, scroll_offset_, chrome());
  last_frame_ = Clock::now();
  in_sync_ = false;
}

Chrome TuiSession::chrome() const {
  Chrome c;
  if (options_.desk) c.sections.push_back(&queue_section_);
  c.sections.push_back(&session_section_);
  c.status_left = "sddsh · " + facts_.agent;
  c.status_alert = facts_.state == SessionFacts::State::Waiting;
  if (c.status_alert) c.status_left += " · waiting for you";
  if (const std::string warning = options_.tap ? options_.tap->warning() : ""; !warning.empty()) {
    c.status_left += " · ⚠ " + warning;
    c.status_alert = true;
  }
  switch (mode_) {
    case Mode::Prefix: c.status_left += " · p panel  t tasks  [ scroll  ? help  q quit"; break;
    case Mode::Tasks: c.status_left += " · tasks: ↑ ↓ choose  Enter start  d done  r refresh  q leave"; break;
    case Mode::Scrollback:
      c.status_left += " · history " + std::to_string(scroll_offset_) + "/" + std::to_string(max_scroll()) +
                       "  PgUp PgDn ↑ ↓ g G  q leaves";
      break;
    case Mode::Help: c.overlay = help_lines(options_.prefix_label); break;
    case Mode::ConfirmQuit: c.overlay = {"End the agent and quit sddsh?  (y/n)"}; break;
    case Mode::Normal: break;
  }
  c.status_right = options_.prefix_label + " ? help";
  return c;
}

void TuiSession::arm_clock() {
  // The panel's clock (and the desk's news, asked from memory) are the only things that change
  // without output: one wake-up a second, and none when the panel is hidden.
  if (!renderer_.layout().panel_shown()) return;
  const auto elapsed = Clock::now() - started_;
  const auto next = started_ + std::chrono::ceil<std::chrono::seconds>(elapsed + 1ms);
  clock_timer_ = loop_.at(next, [this] {
    // The desk's news (a newer remote queue, upload progress) rides on the same wake-up.
    if (options_.desk) poll_desk();
    schedule_frame();
    arm_clock();
  });
}

void TuiSession::on_input(short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = ::read(options_.input_fd, buffer_.get(), kReadSize);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    input_watch_.reset();
    agent_.terminate(SIGHUP);  // the user's terminal hung up
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
  if (input_watch_.armed() && agent_.input_backlogged()) input_watch_.set_events(0);
}

// The user's terminal is asked for its colours while everything else goes on; the agent's colour
// queries wait for the answer (a local terminal answers within a millisecond).
void TuiSession::start_probe() {
  probing_ = true;
  painter_.send_to_terminal(kProbeQueries);
  schedule_frame();
  probe_timer_ = loop_.after(kProbeTimeout, [this] { finish_probe(); });
}

void TuiSession::finish_probe() {
  if (!probing_) return;
  probing_ = false;
  probe_timer_.reset();
  screen_.settle_reported_colours(probe_colours_.foreground, probe_colours_.background);
  if (!probe_buffer_.empty()) {
    // An unfinished reply at the deadline: whatever it was, it goes on as input.
    std::vector<InputEvent> events;
    decoder_.feed(std::exchange(probe_buffer_, {}), events);
    for (const InputEvent& event : events) handle(event);
  }
}

void TuiSession::handle(const InputEvent& event) {
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
      paste_bracketed_ = screen_.bracketed_paste();
      if (paste_bracketed_) forward_to_agent("\x1b[200~");
      break;
    case Kind::PasteData: forward_to_agent(paste_bracketed_ ? paste_.filter(event.bytes) : event.bytes); break;
    case Kind::PasteEnd:
      if (paste_bracketed_) forward_to_agent(paste_.finish() + "\x1b[201~");
      paste_bracketed_ = false;
      break;
    case Kind::Mouse: handle_mouse(event.mouse); break;
    case Kind::FocusIn: screen_.focus_changed(true); break;
    case Kind::FocusOut: screen_.focus_changed(false); break;
  }
}

void TuiSession::forward_to_agent(std::string_view bytes) {
  if (mode_ == Mode::Scrollback) set_mode(Mode::Normal);  // typing returns to the live screen
  if (facts_.state == SessionFacts::State::Waiting) {
    facts_.state = SessionFacts::State::Running;  // the user answered
    schedule_frame();
  }
  if (options_.tap) options_.tap->user_input(bytes);
  agent_.write(bytes);
}

void TuiSession::set_mode(Mode mode) {
  mode_ = mode;
  decoder_.set_decode_keys(mode != Mode::Normal);
  if (mode != Mode::Scrollback) scroll_offset_ = 0;
  schedule_frame();
}

void TuiSession::handle_key(const KeyEvent& key) {
  switch (mode_) {
    case Mode::Normal: forward_to_agent(key.bytes); break;
    case Mode::Prefix: handle_prefix_command(key); break;
    case Mode::Scrollback: handle_scrollback_key(key); break;
    case Mode::Tasks: handle_tasks_key(key); break;
    case Mode::Help: set_mode(Mode::Normal); break;
    case Mode::ConfirmQuit:
      set_mode(Mode::Normal);
      if (key.kind == KeyEvent::Kind::Char && (key.ch == U'y' || key.ch == U'Y')) agent_.terminate(SIGHUP);
      break;
  }
}

void TuiSession::handle_prefix_command(const KeyEvent& key) {
  set_mode(Mode::Normal);
  if (key.kind != KeyEvent::Kind::Char || key.ctrl || key.alt) return;  // anything else cancels
  switch (key.ch) {
    case U'p': toggle_panel(); break;
    case U'[': set_mode(Mode::Scrollback); break;
    case U't':
      if (!options_.desk) break;
      if (!renderer_.layout().panel_shown()) toggle_panel();  // the queue is in the panel
      refresh_queue();
      if (queue_.selected < 0 && !queue_.ready.empty()) queue_.selected = 0;
      set_mode(Mode::Tasks);
      break;
    case U'?': set_mode(Mode::Help); break;
    case U'q': set_mode(Mode::ConfirmQuit); break;
    default: break;
  }
}

void TuiSession::handle_scrollback_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const int page = std::max(1, renderer_.layout().pane.rows - 1);
  const bool plain_char = key.kind == K::Char && !key.ctrl && !key.alt;
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

void TuiSession::handle_tasks_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const bool plain_char = key.kind == K::Char && !key.ctrl && !key.alt;
  const int count = static_cast<int>(queue_.ready.size());
  auto select = [&](int index) {
    queue_.selected = count == 0 ? -1 : std::clamp(index, 0, count - 1);
    schedule_frame();
  };
  if (key.kind == K::Up || (plain_char && key.ch == U'k')) return select(queue_.selected - 1);
  if (key.kind == K::Down || (plain_char && key.ch == U'j')) return select(queue_.selected + 1);
  if (key.kind == K::Enter) return start_selected_task();
  if (plain_char && key.ch == U'd') return finish_current_task();
  if (plain_char && key.ch == U'r') {
    // A remote queue is read on the desk's thread: its answer shows on the next clock tick.
    options_.desk->refresh();
    return refresh_queue();
  }
  if (key.kind == K::Escape || (plain_char && key.ch == U'q')) {
    queue_.selected = -1;
    return set_mode(Mode::Normal);
  }
}

void TuiSession::refresh_queue() {
  if (!options_.desk) return;
  const std::string selected_id =
      queue_.selected >= 0 && queue_.selected < static_cast<int>(queue_.ready.size())
          ? queue_.ready[static_cast<std::size_t>(queue_.selected)].id
          : "";
  auto ready = options_.desk->ready();
  queue_read_at_ = std::chrono::steady_clock::now();
  queue_.current = options_.desk->current();
  queue_.desk = options_.desk->status();
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
  schedule_frame();
}

void TuiSession::poll_desk() {
  const DeskStatus status = options_.desk->status();
  const bool newer_queue = status.generation != queue_.desk.generation;
  const bool due = std::chrono::steady_clock::now() - queue_read_at_ >= kQueueRefresh;
  if (newer_queue || due) return refresh_queue();
  if (status == queue_.desk) return;
  queue_.desk = status;
  schedule_frame();
}

void TuiSession::start_selected_task() {
  if (queue_.selected < 0 || queue_.selected >= static_cast<int>(queue_.ready.size())) return;
  const QueuedTask task = queue_.ready[static_cast<std::size_t>(queue_.selected)];
  auto brief = options_.desk->start(task.id);
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
  paste_to_agent(*brief);
  refresh_queue();
}

void TuiSession::finish_current_task() {
  const auto current = options_.desk->current();
  if (!current) {
    queue_.message = "no current task to mark done";
    queue_.message_is_error = true;
    return schedule_frame();
  }
  if (auto done = options_.desk->finish_current(); !done) {
    queue_.message = done.error().message;
    queue_.message_is_error = true;
  } else {
    queue_.message = current->id + " done";
    queue_.message_is_error = false;
  }
  refresh_queue();
}

// The brief goes in as a paste: the agent shows it in its input, and nothing is sent until the
// user presses Enter. An agent without bracketed paste would take each newline as Enter.
void TuiSession::paste_to_agent(const std::string& text) {
  if (screen_.bracketed_paste()) return forward_to_agent("\x1b[200~" + text + "\x1b[201~");
  std::string flat = text;
  for (char& c : flat)
    if (c == '\n' || c == '\r') c = ' ';
  forward_to_agent(flat);
}

int TuiSession::max_scroll() const {
  return std::max(0, static_cast<int>(screen_.scrollback_size()) + screen_.rows() - renderer_.layout().pane.rows);
}

void TuiSession::scroll_by(int lines) {
  scroll_offset_ = std::clamp(scroll_offset_ + lines, 0, max_scroll());
  schedule_frame();
}

void TuiSession::handle_mouse(const MouseEvent& mouse) {
  const Rect& pane = renderer_.layout().pane;
  const bool wheel = mouse.action == MouseEvent::Action::WheelUp || mouse.action == MouseEvent::Action::WheelDown;
  if (screen_.mouse_mode() != MouseMode::None && mode_ == Mode::Normal && pane.contains(mouse.row, mouse.col)) {
    const int row = mouse.row - pane.row;
    const int col = mouse.col - pane.col;
    unsigned mods = kModNone;
    if (mouse.shift) mods |= kModShift;
    if (mouse.alt) mods |= kModAlt;
    if (mouse.ctrl) mods |= kModCtrl;
    switch (mouse.action) {
      case MouseEvent::Action::Press: screen_.mouse_button(mouse.button + 1, true, row, col, mods); break;
      case MouseEvent::Action::Release: screen_.mouse_button(mouse.button + 1, false, row, col, mods); break;
      case MouseEvent::Action::Motion: screen_.mouse_move(row, col, mods); break;
      case MouseEvent::Action::WheelUp: screen_.mouse_button(4, true, row, col, mods); break;
      case MouseEvent::Action::WheelDown: screen_.mouse_button(5, true, row, col, mods); break;
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

void TuiSession::on_signals() {
  for (int sig : signals_.take()) {
    switch (sig) {
      case SIGCHLD: agent_.reap(); break;
      case SIGWINCH: apply_terminal_size(); break;
      case SIGTERM:
      case SIGHUP: agent_.terminate(sig); break;
      default: break;
    }
  }
}

void TuiSession::apply_terminal_size() {
  auto size = terminal_.size();
  if (!size) return;
  const int rows = size->ws_row, cols = size->ws_col;
  if (rows != painter_.rows() || cols != painter_.cols()) painter_.resize(rows, cols);
  const Layout layout = compute_layout(rows, cols, panel_wanted_);
  if (layout == renderer_.layout() && screen_.rows() == layout.pane.rows && screen_.cols() == layout.pane.cols)
    return;
  renderer_.set_layout(layout);
  screen_.resize(layout.pane.rows, layout.pane.cols);
  const winsize pane{static_cast<unsigned short>(layout.pane.rows), static_cast<unsigned short>(layout.pane.cols), 0, 0};
  agent_.resize(pane);
  if (options_.tap) options_.tap->resized(pane);
  arm_clock();
  schedule_frame();
}

void TuiSession::toggle_panel() {
  panel_wanted_ = !panel_wanted_;
  renderer_.invalidate();
  apply_terminal_size();
  if (!renderer_.layout().panel_shown()) clock_timer_.reset();
  schedule_frame();
}

void TuiSession::finish() {
  if (options_.tap) options_.tap->ended();
  done_ = true;
  input_watch_.reset();
  signal_watch_.reset();
  frame_timer_.reset();
  clock_timer_.reset();
  input_timer_.reset();
  probe_timer_.reset();
  // Leave curses first (alternate screen, cursor), then undo our own modes.
  painter_.end();
  terminal_.set_reset_sequence(std::string(kOwnModesOff) + std::string(kMouseOff) + "\x1b[?1l\x1b>\x1b[>4m");
  terminal_.restore();
}

}  // namespace

Result<int> run_tui(const TuiOptions& options) {
  shell::OuterTerminal terminal(options.input_fd, options.output_fd);
  shell::SignalFd signals{SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};
  shell::become_subreaper();

  const winsize outer = terminal.size().value_or(winsize{24, 80, 0, 0});
  const Layout layout = compute_layout(outer.ws_row, outer.ws_col, options.panel);
  shell::SpawnOptions spawn = options.spawn;
  spawn.size = {static_cast<unsigned short>(layout.pane.rows), static_cast<unsigned short>(layout.pane.cols), 0, 0};
  auto child = shell::PtyChild::spawn(spawn);
  if (!child) return Failure{child.error()};

  // Curses writes blocking: a frame is never half-written.
  terminal.enter_raw(/*nonblocking_output=*/false);
  TuiSession session(options, terminal, signals, std::move(*child), layout);
  return session.run();
}

}  // namespace sddsh::tui
