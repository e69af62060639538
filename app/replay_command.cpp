#include "app/replay_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "app/fetched_bundle.hpp"
#include "app/session_text.hpp"
#include "app/task_sessions.hpp"
#include "recorder/session_catalog.hpp"
#include "recorder/store.hpp"
#include "replay/pager.hpp"
#include "replay/player.hpp"
#include "replay/replay_view.hpp"
#include "shell/event_loop.hpp"
#include "shell/outer_terminal.hpp"
#include "shell/signal_fd.hpp"
#include "tracker-client/remote_config.hpp"
#include "tracker-client/remote_tracker.hpp"
#include "tui/curses_painter.hpp"
#include "tui/input_decoder.hpp"
#include "tui/utf8.hpp"

namespace sddsh::app {

namespace {

using namespace std::chrono_literals;
using Clock = shell::EventLoop::Clock;
using nlohmann::json;
using tui::KeyEvent;

constexpr double kIdleLimitSeconds = 2.0;
constexpr std::size_t kReadSize = 4096;
// The rest of an escape sequence split across reads arrives within this (as in the live TUI).
constexpr auto kInputSequenceWait = 20ms;
// A first open that builds keyframes says how far it got once it takes longer than this.
constexpr auto kProgressDelay = 300ms;
constexpr auto kProgressInterval = 100ms;
// What a crash must undo on the user's terminal: curses' alternate screen and hidden cursor.
constexpr std::string_view kCrashReset = "\x1b[0 q\x1b[?1049l\x1b[?25h";

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// ---- the user's terminal ----

// Raw input before curses starts drawing, as the live TUI does it.
struct RawMode {
  explicit RawMode(shell::OuterTerminal& terminal) { terminal.enter_raw(/*nonblocking_output=*/false); }
};

// The user's terminal as one full-screen view: raw keys decoded, frames through curses, resizes
// and termination signals through the loop. Restored on every way out (OuterTerminal's crash
// handler covers the rest).
class FullScreen {
 public:
  using KeyHandler = std::function<void(const KeyEvent&)>;

  FullScreen(int input_fd, int output_fd)
      : terminal_(input_fd, output_fd),
        raw_(terminal_),
        painter_(output_fd, environment_value("TERM"), truecolor()) {
    terminal_.set_reset_sequence(kCrashReset);
    decoder_.set_decode_keys(true);
    input_watch_ = loop_.watch(input_fd, POLLIN, [this](short revents) { on_input(revents); });
    signal_watch_ = loop_.watch(signals_.fd(), POLLIN, [this](short) { on_signals(); });
  }
  ~FullScreen() {
    input_watch_.reset();
    signal_watch_.reset();
    input_timer_.reset();
    painter_.end();
    terminal_.set_reset_sequence("");  // curses has left its screen already
    terminal_.restore();
  }
  FullScreen(const FullScreen&) = delete;
  FullScreen& operator=(const FullScreen&) = delete;

  void set_handlers(KeyHandler on_key, std::function<void()> on_resize) {
    on_key_ = std::move(on_key);
    on_resize_ = std::move(on_resize);
  }
  tui::CursesPainter& painter() { return painter_; }
  shell::EventLoop& loop() { return loop_; }
  void run() {
    while (!done_) loop_.run_once();
  }
  void quit() { done_ = true; }
  // The signal that ended the view (SIGTERM, SIGHUP, SIGINT), or 0.
  int ended_by() const { return ended_by_; }

 private:
  static bool truecolor() {
    const std::string colorterm = environment_value("COLORTERM");
    return colorterm == "truecolor" || colorterm == "24bit";
  }

  void on_input(short revents) {
    if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
    char buffer[kReadSize];
    const ssize_t n = ::read(terminal_.input_fd(), buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return quit();  // hung up
    if (n < 0) return;
    std::vector<tui::InputEvent> events;
    decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)), events);
    deliver(events);
    if (decoder_.has_pending())
      input_timer_ = loop_.after(kInputSequenceWait, [this] {
        std::vector<tui::InputEvent> held;
        decoder_.flush_pending(held);
        deliver(held);
      });
  }

  void deliver(const std::vector<tui::InputEvent>& events) {
    for (const auto& event : events)
      if (event.kind == tui::InputEvent::Kind::Key && on_key_ && !done_) on_key_(event.key);
  }

  void on_signals() {
    for (int sig : signals_.take()) {
      if (sig == SIGWINCH) resize_to_terminal();
      if (sig == SIGTERM || sig == SIGHUP || sig == SIGINT) {
        ended_by_ = sig;
        quit();
      }
    }
  }

  void resize_to_terminal() {
    const auto size = terminal_.size();
    if (!size || (size->ws_row == painter_.rows() && size->ws_col == painter_.cols())) return;
    painter_.resize(size->ws_row, size->ws_col);
    if (on_resize_) on_resize_();
  }

  shell::OuterTerminal terminal_;
  shell::SignalFd signals_{SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};
  RawMode raw_;
  tui::CursesPainter painter_;
  shell::EventLoop loop_;
  tui::InputDecoder decoder_;
  KeyHandler on_key_;
  std::function<void()> on_resize_;
  shell::EventLoop::Watch input_watch_;
  shell::EventLoop::Watch signal_watch_;
  shell::EventLoop::Timer input_timer_;
  bool done_ = false;
  int ended_by_ = 0;
};

// ---- playing ----

// The view on the terminal: keys in, frames out, and a timer only for the next frame while
// playing (none while paused: an idle replay wakes nobody).
class ReplayLoop {
 public:
  ReplayLoop(FullScreen& screen, replay::Player& player, const replay::ViewOptions& options)
      : screen_(screen), view_(player, screen.painter(), options) {
    screen_.set_handlers([this](const KeyEvent& key) { on_key(key); },
                         [this] {
                           view_.resized();
                           draw();
                         });
  }

  void run() {
    draw();
    screen_.run();
  }

 private:
  void on_key(const KeyEvent& key) {
    catch_up();  // the key acts on the position the user sees now
    switch (view_.handle_key(key)) {
      case replay::ReplayView::Action::Quit: return screen_.quit();
      case replay::ReplayView::Action::Redraw: return draw();
      case replay::ReplayView::Action::None: return schedule_frame();
    }
  }

  // Playing time is wall time since the last tick; none passes while the clock is stopped.
  void catch_up() {
    const auto now = Clock::now();
    if (clock_running_) view_.tick(seconds_between(last_tick_, now));
    last_tick_ = now;
  }

  void draw() {
    view_.draw();
    schedule_frame();
  }

  void schedule_frame() {
    const auto due = view_.next_frame_in();
    if (!due) {
      frame_timer_.reset();
      clock_running_ = false;
      return;
    }
    if (!clock_running_) last_tick_ = Clock::now();
    clock_running_ = true;
    const auto delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*due));
    frame_timer_ = screen_.loop().after(delay, [this] {
      catch_up();
      draw();
    });
  }

  FullScreen& screen_;
  replay::ReplayView view_;
  shell::EventLoop::Timer frame_timer_;
  Clock::time_point last_tick_ = Clock::now();
  bool clock_running_ = false;
};

// A first open of a long session builds keyframes; the terminal is still in its normal mode then,
// so Ctrl-C stops it as usual.
Result<std::unique_ptr<replay::Player>> open_with_progress(const std::string& path,
                                                           const replay::PlayerOptions& options) {
  const bool show = isatty(2) == 1;
  const auto started = Clock::now();
  auto last = started;
  bool shown = false;
  auto progress = [&](double fraction) {
    const auto now = Clock::now();
    if (!show || now - started < kProgressDelay || (now - last < kProgressInterval && fraction < 1)) return;
    last = now;
    shown = true;
    std::fprintf(stderr, "\rsddsh: reading the recording (first replay: making keyframes)… %3d%%",
                 static_cast<int>(fraction * 100));
    std::fflush(stderr);
  };
  auto player = replay::Player::open(path, options, progress);
  if (shown) std::fprintf(stderr, "\r\x1b[K");
  return player;
}

void report_problems(const replay::Player& player) {
  for (const auto& problem : player.problems()) std::fprintf(stderr, "sddsh: replay: %s\n", problem.c_str());
}

std::string title_of(const replay::Player& player, const std::string& path) {
  if (const auto& record = player.record())
    return record->id.substr(0, 8) + (record->agent.empty() ? "" : " · " + record->agent);
  return std::filesystem::path(path).filename().string();
}

// ---- finding the session ----

bool names_a_path(const std::string& name) {
  std::error_code error;
  return (name.find('/') != std::string::npos || name.ends_with(".cast")) &&
         std::filesystem::exists(name, error);
}

// A bundle whose session.json is damaged is not in the catalog; its id still names it.
std::optional<std::string> damaged_bundle(const recorder::Store& store, const std::string& prefix) {
  std::vector<std::string> ids;
  for (const auto& id : recorder::list_bundle_ids(store))
    if (id.starts_with(prefix)) ids.push_back(id);
  if (ids.size() != 1) return std::nullopt;
  return store.bundle_dir(ids.front());
}

// SESSION as the player takes it: a bundle directory or a .cast file.
Result<std::string> session_path(const std::string& name) {
  if (names_a_path(name)) return name;
  auto store = this_store();
  if (!store) return Failure{store.error()};
  auto entry = recorder::find_session(*store, name);
  if (entry) return entry->dir;
  if (name != "last")
    if (auto dir = damaged_bundle(*store, name)) return *dir;
  return Failure{entry.error()};
}

// An upload fetched from the tracker is laid out as a bundle first (app/fetched_bundle.hpp).
Result<std::string> playable_path(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error) && is_fetched_upload(path)) return bundle_of_upload(path);
  return path;
}

// ---- a task's sessions ----

struct Choice {
  std::string label;  // one line
  std::string dir;    // a local bundle or a fetched upload; empty until fetched
  json listed;        // the tracker's listing of a remote session
};

struct TaskSessions {
  std::vector<Choice> choices;
  std::optional<tracker::RemoteTracker> remote;
  std::string store_root;
};

std::string json_text(const json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end()) return "";
  if (found->is_string()) return found->get<std::string>();
  if (found->is_number()) return found->dump();
  return "";
}

std::string local_label(const recorder::BundleEntry& entry) {
  const auto& r = entry.record;
  return r.id.substr(0, 8) + "  " + local_time(r.started_unix_ms, "%Y-%m-%d %H:%M") + "  " + r.agent + "  " +
         std::to_string(r.turns.size()) + " turns  here";
}

std::string remote_label(const json& listed) {
  std::string when = json_text(listed, "started_at").substr(0, 16);
  if (when.size() > 10) when[10] = ' ';
  const std::string upload = json_text(listed, "upload_id");
  const auto dot = upload.rfind('.');
  const std::string id = upload.substr(0, 8) + (dot == std::string::npos ? "" : upload.substr(dot));
  const auto turns = listed.find("turns");
  const std::size_t turn_count = turns != listed.end() && turns->is_array() ? turns->size() : 0;
  std::string by = json_text(listed, "uploaded_by");
  return id + "  " + when + " UTC  " + json_text(listed, "agent") + "  " + std::to_string(turn_count) +
         " turns  on the tracker" + (by.empty() ? "" : ", by " + by);
}

void add_remote_choices(TaskSessions& found, const std::string& task, const std::set<std::string>& local_ids) {
  auto listed = found.remote->task_sessions(task);
  if (!listed) {
    std::fprintf(stderr, "sddsh: warning: the tracker's sessions of %s: %s\n", task.c_str(),
                 listed.error().message.c_str());
    return;
  }
  for (auto& s : *listed) {
    if (local_ids.contains(json_text(s, "session_id"))) continue;  // the whole session is here
    const std::string dir = fetched_session_dir(found.store_root, json_text(s, "upload_id"));
    const bool fetched = ::access((dir + "/session.json").c_str(), F_OK) == 0;
    found.choices.push_back({remote_label(s), fetched ? dir : "", std::move(s)});
  }
}

Result<TaskSessions> task_sessions(const ReplayCommand& command) {
  TaskSessions found;
  auto store = this_store();
  if (!store) return Failure{store.error()};
  found.store_root = store->root;
  std::set<std::string> local_ids;
  for (const auto& entry : local_task_bundles(command.task)) {
    local_ids.insert(entry.record.id);
    found.choices.push_back({local_label(entry), entry.dir, nullptr});
  }
  auto config = tracker::load_remote_config(command.ca_file);
  if (!config) return Failure{config.error()};
  if (*config) {
    found.remote.emplace(**config);
    add_remote_choices(found, command.task, local_ids);
  }
  return found;
}

std::string listing(const std::vector<Choice>& choices) {
  std::string text;
  for (std::size_t i = 0; i < choices.size(); ++i)
    text += (i ? "; " : "") + std::to_string(i + 1) + ") " + choices[i].label;
  return text;
}

void draw_chooser(tui::Painter& painter, const std::string& title, const std::vector<Choice>& choices,
                  std::size_t selected) {
  const int rows = painter.rows(), cols = painter.cols();
  tui::Style bold, reverse;
  bold.attrs.bold = true;
  reverse.attrs.reverse = true;
  replay::paint_row(painter, 0, 0, cols, tui::decode_utf8(" " + title), bold);
  replay::paint_row(painter, 1, 0, cols, {}, {});
  const int list_rows = std::max(1, rows - 3);
  const int count = static_cast<int>(choices.size());
  const int first = std::clamp(static_cast<int>(selected) - list_rows + 1, 0, std::max(0, count - list_rows));
  for (int r = 0; r < list_rows && r + 2 < rows - 1; ++r) {
    const int i = first + r;
    const std::string text = i < count ? "  " + std::to_string(i + 1) + ") " + choices[static_cast<std::size_t>(i)].label : "";
    replay::paint_row(painter, r + 2, 0, cols, tui::decode_utf8(text),
                      i == static_cast<int>(selected) ? reverse : tui::Style{});
  }
  replay::paint_row(painter, rows - 1, 0, cols, tui::decode_utf8(" ↑ ↓ choose · Enter replay · q cancel"), reverse);
  painter.set_cursor({});
  painter.present();
}

// The small list a user picks a session from; nothing when they cancel.
std::optional<std::size_t> choose_in_terminal(const std::string& title, const std::vector<Choice>& choices,
                                              int input_fd, int output_fd) {
  std::optional<std::size_t> chosen;
  std::size_t selected = 0;
  FullScreen screen(input_fd, output_fd);
  auto draw = [&] { draw_chooser(screen.painter(), title, choices, selected); };
  screen.set_handlers(
      [&](const KeyEvent& key) {
        using K = KeyEvent::Kind;
        const bool plain = key.kind == K::Char && !key.ctrl && !key.alt;
        if (key.kind == K::Up || (plain && key.ch == U'k')) selected = selected ? selected - 1 : 0;
        if (key.kind == K::Down || (plain && key.ch == U'j')) selected = std::min(selected + 1, choices.size() - 1);
        if (key.kind == K::Enter) {
          chosen = selected;
          return screen.quit();
        }
        if (key.kind == K::Escape || (plain && key.ch == U'q') || (key.ctrl && key.ch == U'c')) return screen.quit();
        draw();
      },
      draw);
  draw();
  screen.run();
  return chosen;
}

// What choosing ended with: a session's directory, or the exit code to stop with.
struct Chosen {
  std::string dir;
  std::optional<int> exit_code;
};

Chosen stop_with(int code, const std::string& message = {}) {
  if (!message.empty()) std::fprintf(stderr, "sddsh: %s\n", message.c_str());
  return {{}, code};
}

Result<std::string> fetch_choice(TaskSessions& sessions, const Choice& choice) {
  if (!choice.dir.empty()) return choice.dir;
  std::fprintf(stderr, "sddsh: fetching %s from the tracker…\n", json_text(choice.listed, "upload_id").c_str());
  return fetch_task_session(*sessions.remote, sessions.store_root, choice.listed);
}

Chosen choose_task_session(const ReplayCommand& command, bool terminal, int input_fd, int output_fd) {
  auto sessions = task_sessions(command);
  if (!sessions) return stop_with(1, sessions.error().message);
  const auto& choices = sessions->choices;
  const std::string task = command.task;
  if (choices.empty())
    return stop_with(1, "no sessions of task " + task + " here" + (sessions->remote ? " or on the tracker" : ""));
  std::optional<std::size_t> index;
  if (choices.size() == 1) index = 0;
  else if (command.pick) {
    if (*command.pick > static_cast<int>(choices.size()))
      return stop_with(2, "--pick " + std::to_string(*command.pick) + ": task " + task + " has " +
                              std::to_string(choices.size()) + " sessions: " + listing(choices));
    index = static_cast<std::size_t>(*command.pick - 1);
  } else if (!terminal) {
    return stop_with(2, "task " + task + " has " + std::to_string(choices.size()) +
                            " sessions; choose one with --pick N: " + listing(choices));
  } else {
    index = choose_in_terminal("Replay which session of task " + task + "?", choices, input_fd, output_fd);
    if (!index) return stop_with(0);
  }
  if (!terminal) return {};  // refused by the caller, before anything is downloaded
  auto dir = fetch_choice(*sessions, choices[*index]);
  if (!dir) return stop_with(1, dir.error().message);
  return {*dir, std::nullopt};
}

}  // namespace

int run_replay(const ReplayCommand& command, int input_fd, int output_fd) {
  const bool terminal = isatty(input_fd) == 1 && isatty(output_fd) == 1;
  std::string path;
  if (command.task.empty()) {
    auto found = session_path(command.session);
    if (!found) return fail(found.error().message);
    path = *found;
  } else {
    Chosen chosen = choose_task_session(command, terminal, input_fd, output_fd);
    if (chosen.exit_code) return *chosen.exit_code;
    path = chosen.dir;
  }
  if (!terminal) {
    std::fprintf(stderr, "sddsh: replay needs a terminal on standard input and output "
                         "(the recording as a file: sddsh export SESSION --format cast)\n");
    return 2;
  }
  auto playable = playable_path(path);
  if (!playable) return fail(playable.error().message);
  replay::PlayerOptions options;
  options.idle_limit = kIdleLimitSeconds;
  auto player = open_with_progress(*playable, options);
  if (!player) return fail(player.error().message);
  const replay::ViewOptions view{.speed = command.speed,
                                 .idle_limit = command.idle_limit,
                                 .idle_limit_seconds = kIdleLimitSeconds,
                                 .panel = true,
                                 .title = title_of(**player, *playable)};
  int signal = 0;
  {
    FullScreen screen(input_fd, output_fd);
    ReplayLoop loop(screen, **player, view);
    loop.run();
    signal = screen.ended_by();
  }
  report_problems(**player);
  return signal ? 128 + signal : 0;  // as a shell reports a command a signal ended
}

}  // namespace sddsh::app
