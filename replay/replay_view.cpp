#include "replay/replay_view.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tui/panel.hpp"
#include "tui/screen.hpp"
#include "tui/utf8.hpp"

namespace sddsh::replay {

namespace {

using tui::KeyEvent;
using tui::PanelLine;
using Tone = PanelLine::Tone;

constexpr std::array kSpeeds{0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0};
constexpr double kMinFrameSeconds = 1.0 / 60;
constexpr int kMinTimelineCols = 10;
constexpr int kProblemNoteCols = 48;

// The keys, in the pane's whole space (the recorded terminal may be too small for a box).
Pager help_pager(double idle_limit) {
  char idle[64];
  std::snprintf(idle, sizeof idle, "pauses over %gs cut, or not", idle_limit);
  std::vector<std::string> text{
          "",
          "  space    play / pause",
          "  + -      speed (0.25× … 16×)",
          "  ← →      seek 5 s back / on",
          "  , .      one output event back / on (paused)",
          "  n p      next / previous turn",
          "  g G      start / end",
          std::string("  i        idle-time limit: ") + idle,
          "  d        the current turn's diff",
          "  c        the current turn's conversation",
          "  q        quit",
          "",
          "  In the diff and the conversation: j k ↑ ↓ a line, space b a page, g G the ends,",
          "  q or Esc back.",
          "",
          "Any key closes this help."};
  std::vector<PagerLine> lines;
  for (auto& line : text) lines.push_back({std::move(line)});
  return Pager("sddsh replay — keys", std::move(lines));
}

std::string speed_text(double speed) {
  char text[16];
  std::snprintf(text, sizeof text, "%g×", speed);
  return text;
}

std::string stat_text(const std::optional<recorder::DiffStat>& stat) {
  if (!stat) return "";
  return "+" + std::to_string(stat->insertions) + " -" + std::to_string(stat->deletions);
}

int width_of(const std::string& text) { return tui::display_width(tui::decode_utf8(text)); }

// `text` cut or padded to exactly `cols` columns.
std::string fitted(const std::string& text, int cols) {
  std::u32string cut = tui::fit_columns(tui::decode_utf8(text), std::max(0, cols));
  std::string out;
  tui::append_utf8(out, cut);
  out.append(static_cast<std::size_t>(std::max(0, cols - tui::display_width(cut))), ' ');
  return out;
}

// One line of a prompt, safe for a cell: control characters and tabs become spaces.
std::string one_line_of(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return line;
}

// `text` in lines of at most `cols` columns, broken after a space where there is one; later
// lines indented.
std::vector<std::string> wrapped(const std::string& text, int cols) {
  std::vector<std::string> pieces;
  std::u32string rest = tui::decode_utf8(text);
  const int first_cols = std::max(4, cols), next_cols = std::max(4, cols - 2);
  while (!rest.empty()) {
    const bool first = pieces.empty();
    std::u32string piece = tui::fit_columns(rest, first ? first_cols : next_cols);
    if (piece.empty()) piece = rest.substr(0, 1);
    if (piece.size() < rest.size())
      if (const auto space = piece.rfind(U' '); space != std::u32string::npos && space > 0) piece.resize(space + 1);
    rest.erase(0, piece.size());
    std::string line = first ? "" : "  ";
    tui::append_utf8(line, piece);
    pieces.push_back(std::move(line));
  }
  return pieces;
}

}  // namespace

// A panel section whose lines the view computes each frame.
class ReplayView::ListSection final : public tui::PanelSection {
 public:
  ListSection(std::string title, std::vector<PanelLine> lines)
      : title_(std::move(title)), lines_(std::move(lines)) {}
  std::string title() const override { return title_; }
  std::vector<PanelLine> lines() const override { return lines_; }
  std::size_t size() const { return lines_.size(); }

 private:
  std::string title_;
  std::vector<PanelLine> lines_;
};

int timeline_cell(double t, double duration, int cols) {
  if (cols <= 0 || duration <= 0) return 0;
  const double cell = std::floor(t / duration * cols);
  return static_cast<int>(std::clamp(cell, 0.0, static_cast<double>(cols - 1)));
}

ReplayView::ReplayView(Player& player, tui::Painter& painter, ViewOptions options)
    : player_(player),
      painter_(painter),
      renderer_(painter),
      options_(std::move(options)),
      speed_(std::clamp(options_.speed, kMinSpeed, kMaxSpeed)) {
  if (player_.idle_limited() != options_.idle_limit) player_.set_idle_limited(options_.idle_limit);
  playing_ = !player_.at_end();
}

ReplayView::~ReplayView() = default;

// ---- keys ----

ReplayView::Action ReplayView::handle_key(const KeyEvent& key) {
  if (key.kind == KeyEvent::Kind::Char && key.ctrl && key.ch == U'c') return Action::Quit;
  if (overlay_ != Overlay::None) return handle_overlay_key(key);
  message_.clear();
  return handle_player_key(key);
}

ReplayView::Action ReplayView::handle_overlay_key(const KeyEvent& key) {
  if (overlay_ == Overlay::Help || !pager_->handle_key(key)) {
    overlay_ = Overlay::None;
    pager_.reset();
  }
  return Action::Redraw;
}

ReplayView::Action ReplayView::handle_player_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  switch (key.kind) {
    case K::Left: jump(player_.position() - kSeekSeconds); return Action::Redraw;
    case K::Right: jump(player_.position() + kSeekSeconds); return Action::Redraw;
    case K::Home: jump(0); return Action::Redraw;
    case K::End: jump(player_.duration()); return Action::Redraw;
    case K::Char: break;
    default: return Action::None;
  }
  if (key.ctrl || key.alt) return Action::None;
  switch (key.ch) {
    case U' ': toggle_play(); break;
    case U'+': case U'=': change_speed(1); break;
    case U'-': case U'_': change_speed(-1); break;
    case U',': step(false); break;
    case U'.': step(true); break;
    case U'n':
    case U'p':
      if (!player_.seek_turn(key.ch == U'n' ? 1 : -1))
        message_ = key.ch == U'n' ? "no later turn" : "no earlier turn";
      moved();
      break;
    case U'g': jump(0); break;
    case U'G': jump(player_.duration()); break;
    case U'i':
      player_.set_idle_limited(!player_.idle_limited());
      message_ = player_.idle_limited() ? "idle limit on: long pauses are cut" : "idle limit off: real time";
      moved();
      break;
    case U'd': open_pager(Overlay::Diff); break;
    case U'c': open_pager(Overlay::Conversation); break;
    case U'?': case U'h': open_pager(Overlay::Help); break;
    case U'q': return Action::Quit;
    default: return Action::None;
  }
  return Action::Redraw;
}

void ReplayView::toggle_play() {
  if (playing_) {
    playing_ = false;
    return;
  }
  if (player_.at_end()) jump(0);  // play again from the start
  playing_ = !player_.at_end();
}

void ReplayView::change_speed(int direction) {
  constexpr double kEpsilon = 1e-9;
  if (direction > 0) {
    auto next = std::find_if(kSpeeds.begin(), kSpeeds.end(), [&](double s) { return s > speed_ + kEpsilon; });
    speed_ = next == kSpeeds.end() ? kMaxSpeed : *next;
  } else {
    auto next = std::find_if(kSpeeds.rbegin(), kSpeeds.rend(), [&](double s) { return s < speed_ - kEpsilon; });
    speed_ = next == kSpeeds.rend() ? kMinSpeed : *next;
  }
}

void ReplayView::step(bool forward) {
  if (playing_) {
    message_ = "pause (space) to step";
    return;
  }
  if (!(forward ? player_.step_forward() : player_.step_back()))
    message_ = forward ? "at the last event" : "at the start";
  moved();
}

void ReplayView::jump(double shown) {
  player_.seek(shown);
  moved();
}

// After a jump the screen may be another one restored from a keyframe: draw it whole.
void ReplayView::moved() {
  renderer_.invalidate();
  if (player_.at_end()) playing_ = false;
}

void ReplayView::open_pager(Overlay which) {
  const int turn = player_.current_turn();
  const recorder::SessionRecord* record = player_.record() ? &*player_.record() : nullptr;
  switch (which) {
    case Overlay::Diff: pager_ = turn_diff_pager(player_.bundle_dir(), record, turn); break;
    case Overlay::Conversation: pager_ = turn_conversation_pager(player_.bundle_dir(), record, turn); break;
    case Overlay::Help: pager_ = help_pager(options_.idle_limit_seconds); break;
    case Overlay::None: return;
  }
  overlay_ = which;
}

// ---- time ----

void ReplayView::tick(double elapsed_wall_seconds) {
  if (!playing_ || overlay_ != Overlay::None) return;
  player_.advance(std::max(0.0, elapsed_wall_seconds) * speed_);
  if (player_.at_end()) playing_ = false;
}

std::optional<double> ReplayView::next_frame_in() const {
  if (!playing_ || overlay_ != Overlay::None || player_.at_end()) return std::nullopt;
  const double position = player_.position();
  const double next_second = std::floor(position) + 1 - position;
  const double shown = std::min(player_.until_next_event().value_or(next_second), next_second);
  return std::max(shown / speed_, kMinFrameSeconds);
}

// ---- drawing ----

void ReplayView::resized() {
  surroundings_stale_ = true;
  renderer_.invalidate();
}

ReplayView::Placement ReplayView::place() const {
  Placement p;
  p.base = tui::compute_layout(painter_.rows(), painter_.cols(), options_.panel);
  const tui::Screen& screen = player_.screen();
  p.screen_rows = screen.rows();
  p.screen_cols = screen.cols();
  const tui::Rect& room = p.base.pane;
  const int rows = std::min(p.screen_rows, room.rows), cols = std::min(p.screen_cols, room.cols);
  p.pane = {room.row + (room.rows - rows) / 2, room.col + (room.cols - cols) / 2, rows, cols};
  return p;
}

tui::Rect ReplayView::pane_rect() const { return pager_ ? tui::Rect{} : place().pane; }

bool ReplayView::cropped() const {
  const Placement p = place();
  return p.pane.rows < p.screen_rows || p.pane.cols < p.screen_cols;
}

void ReplayView::draw() {
  const Placement p = place();
  base_layout_ = p.base;
  tui::Layout layout = p.base;
  layout.pane = pager_ ? tui::Rect{} : p.pane;  // a pager covers the recorded terminal
  tui::Screen& screen = player_.screen();
  if (!(layout == renderer_.layout()) || &screen != last_screen_) {
    renderer_.set_layout(layout);
    last_screen_ = &screen;
    surroundings_stale_ = true;
  }
  if (surroundings_stale_) paint_surroundings(p);
  surroundings_stale_ = false;
  if (pager_) pager_->draw(painter_, p.base.pane);
  (void)screen.take_events();  // a replay rings no bells and sets no titles
  renderer_.draw(screen, 0, chrome(p));
}

// The space around the recorded terminal: blank, with a thin frame where there is room, and the
// separator from the panel (the renderer's is only as tall as its pane).
void ReplayView::paint_surroundings(const Placement& p) {
  const tui::Rect& room = p.base.pane;
  if (!pager_) {
    for (int r = room.row; r < room.row + room.rows; ++r)
      for (int c = room.col; c < room.col + room.cols; ++c)
        if (!p.pane.contains(r, c)) painter_.put(r, c, {}, 1, {});
    paint_frame_around(p.pane, room);
  }
  if (p.base.separator_col < 0) return;
  tui::Style dim;
  dim.fg = tui::Color::indexed(8);
  static constexpr char32_t kBar = U'│';
  for (int r = 0; r < p.base.pane.rows; ++r) painter_.put(r, p.base.separator_col, std::u32string_view(&kBar, 1), 1, dim);
}

void ReplayView::paint_frame_around(const tui::Rect& pane, const tui::Rect& area) {
  tui::Style dim;
  dim.fg = tui::Color::indexed(8);
  auto put = [&](int r, int c, char32_t ch) {
    if (area.contains(r, c)) painter_.put(r, c, std::u32string_view(&ch, 1), 1, dim);
  };
  const int top = pane.row - 1, bottom = pane.row + pane.rows, left = pane.col - 1, right = pane.col + pane.cols;
  for (int c = pane.col; c < right; ++c) {
    put(top, c, U'─');
    put(bottom, c, U'─');
  }
  for (int r = pane.row; r < bottom; ++r) {
    put(r, left, U'│');
    put(r, right, U'│');
  }
  put(top, left, U'┌');
  put(top, right, U'┐');
  put(bottom, left, U'└');
  put(bottom, right, U'┘');
}

tui::Chrome ReplayView::chrome(const Placement& p) {
  tui::Chrome c;
  build_sections(p);
  for (const auto& section : sections_) c.sections.push_back(section.get());
  if (overlay_ == Overlay::Help) {
    c.status_left = "help";
    c.status_right = "any key closes";
    return c;
  }
  if (pager_) {
    c.status_left = pager_->title() + " · " + pager_->position_text();
    c.status_right = "j k space b g G · q back";
    return c;
  }
  c.status_right = status_right(p);
  const int room = painter_.cols() - width_of(c.status_right + " ") - 2;
  const int timeline_cols = room - width_of(status_left(0)) - 2;
  c.status_left = status_left(timeline_cols >= kMinTimelineCols ? timeline_cols : 0);
  return c;
}

std::string ReplayView::status_left(int timeline_cols) const {
  std::string text = (playing_ ? "▶ " : "⏸ ") + clock_text(player_.position()) + " / " +
                     clock_text(player_.duration()) + "  " + speed_text(speed_);
  if (player_.idle_limited()) {
    char idle[32];
    std::snprintf(idle, sizeof idle, "  idle≤%gs", options_.idle_limit_seconds);
    text += idle;
  }
  text += "  ";
  if (timeline_cols > 0) text += timeline(timeline_cols);
  return text;
}

std::string ReplayView::status_right(const Placement& p) const {
  std::vector<std::string> parts;
  if (!message_.empty()) parts.push_back(message_);
  const auto& problems = player_.problems();
  if (!problems.empty()) {
    // With the panel there, it lists them; without, the first one goes here.
    std::string note = p.base.panel_shown() ? std::to_string(problems.size()) + (problems.size() == 1 ? " problem" : " problems")
                                            : fitted(problems.front(), kProblemNoteCols);
    while (!note.empty() && note.back() == ' ') note.pop_back();
    parts.push_back("⚠ " + note);
  }
  if (p.pane.rows < p.screen_rows || p.pane.cols < p.screen_cols)
    parts.push_back("cropped " + std::to_string(p.screen_cols) + "×" + std::to_string(p.screen_rows) + " → " +
                    std::to_string(p.pane.cols) + "×" + std::to_string(p.pane.rows));
  if (!options_.title.empty()) parts.push_back(options_.title);
  parts.push_back("? help");
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : " · ") + part;
  return text;
}

// ├━━━╋━━●──┼───┤: played and to come, a tick at each turn's start, the position.
std::string ReplayView::timeline(int cols) const {
  const double duration = player_.duration();
  const int here = timeline_cell(player_.position(), duration, cols);
  std::u32string cells(static_cast<std::size_t>(cols), U'─');
  for (int c = 0; c < here; ++c) cells[static_cast<std::size_t>(c)] = U'━';
  if (const auto& record = player_.record())
    for (const auto& turn : record->turns) {
      if (!readable(turn.start)) continue;
      const int cell = timeline_cell(player_.shown_time(turn.start), duration, cols);
      cells[static_cast<std::size_t>(cell)] = cell < here ? U'╋' : U'┼';
    }
  cells[static_cast<std::size_t>(here)] = U'●';
  std::string text = "├";
  tui::append_utf8(text, cells);
  return text + "┤";
}

// A turn that starts after the end of what could be read of the cast (a truncated one).
bool ReplayView::readable(double recorded) const {
  constexpr double kSlack = 1e-6;
  return player_.shown_time(recorded) <= player_.duration() + kSlack;
}

// The panel: what could not be read, the turns in as many rows as the other sections leave,
// and the task segments.
void ReplayView::build_sections(const Placement& p) {
  sections_.clear();
  if (!p.base.panel_shown()) return;
  const int cols = p.base.panel.cols - 1;  // the renderer puts a space before each line
  int rows_left = p.base.panel.rows;
  if (!player_.problems().empty()) {
    std::vector<PanelLine> problems = problem_lines(cols);
    rows_left -= static_cast<int>(problems.size()) + 2;  // with the title and the blank after
    sections_.push_back(std::make_unique<ListSection>("Problems", std::move(problems)));
  }
  std::vector<PanelLine> tasks = task_lines(cols);
  rows_left -= static_cast<int>(tasks.size()) + 2;
  sections_.push_back(std::make_unique<ListSection>(turns_title(), turn_lines(cols, std::max(1, rows_left - 2))));
  sections_.push_back(std::make_unique<ListSection>("Tasks", std::move(tasks)));
}

std::vector<PanelLine> ReplayView::problem_lines(int cols) const {
  std::vector<PanelLine> lines;
  for (const auto& problem : player_.problems())
    for (auto& piece : wrapped(problem, cols)) lines.push_back({std::move(piece), Tone::Alert});
  return lines;
}

// Which part of the session went to which task: id, start–end, diffstat; the current one coloured.
std::vector<PanelLine> ReplayView::task_lines(int cols) const {
  std::vector<PanelLine> lines;
  const auto& record = player_.record();
  const double now = player_.recorded_time(player_.position());
  if (record)
    for (const auto& segment : record->task_segments) {
      const double end = segment.end.value_or(record->duration);
      const std::string times =
          clock_text(player_.shown_time(segment.start)) + "–" + clock_text(player_.shown_time(end));
      const std::string stat = stat_text(segment.stat);
      const int id_cols = std::max(4, cols - width_of(times) - width_of(stat) - 2);
      const std::string id = segment.task_id.empty() ? "(no task)" : segment.task_id;
      const bool current = now >= segment.start && now < end;
      lines.push_back({fitted(id, id_cols) + " " + times + (stat.empty() ? "" : " " + stat),
                       current ? Tone::Accent : Tone::Normal});
    }
  if (lines.empty()) lines.push_back({"no task segments", Tone::Dim});
  return lines;
}

std::string ReplayView::turns_title() const {
  const auto& record = player_.record();
  const int count = record ? static_cast<int>(record->turns.size()) : 0;
  if (count == 0) return "Turns";
  const int current = player_.current_turn();
  return "Turns · " + (current >= 0 ? std::to_string(current + 1) + " of " : "") + std::to_string(count);
}

// At most `rows` turns, in a window that keeps the current one in sight.
std::vector<PanelLine> ReplayView::turn_lines(int cols, int rows) const {
  const auto& record = player_.record();
  if (!record) return {{"unknown: no session.json", Tone::Dim}};
  if (record->turns.empty()) return {{"no turns", Tone::Dim}};
  const int count = static_cast<int>(record->turns.size());
  const int current = player_.current_turn();
  const int first = std::clamp(current - rows / 2, 0, std::max(0, count - rows));
  std::vector<PanelLine> lines;
  for (int i = first; i < std::min(count, first + rows); ++i) {
    const auto& turn = record->turns[static_cast<std::size_t>(i)];
    const Tone tone = i == current ? Tone::Selected : readable(turn.start) ? Tone::Normal : Tone::Dim;
    lines.push_back({turn_line(turn, cols), tone});
  }
  return lines;
}

// " 2 00:31 add tests for the lexer   +10 -3": index, start, the prompt's first line, diffstat.
std::string ReplayView::turn_line(const recorder::TurnRecord& turn, int cols) const {
  const std::string head = (turn.index < 10 ? " " : "") + std::to_string(turn.index) + " " +
                           clock_text(player_.shown_time(turn.start)) + " ";
  std::string stat = stat_text(turn.stat);
  constexpr int kMinPromptCols = 4;
  int prompt_cols = cols - width_of(head) - (stat.empty() ? 0 : width_of(stat) + 1);
  if (prompt_cols < kMinPromptCols) {
    stat.clear();
    prompt_cols = cols - width_of(head);
  }
  return head + fitted(one_line_of(turn.prompt), prompt_cols) + (stat.empty() ? "" : " " + stat);
}

}  // namespace sddsh::replay
