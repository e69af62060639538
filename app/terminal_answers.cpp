#include "app/terminal_answers.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include "recorder/cast_reader.hpp"
#include "tui/screen.hpp"

namespace sddsh::app {

namespace {

// Everything the screen model holds as text: history, then the screen.
std::vector<std::string> all_lines(const tui::Screen& screen) {
  std::vector<std::string> lines = screen.scrollback_text_lines();
  for (auto& line : screen.text_lines()) lines.push_back(std::move(line));
  return lines;
}

std::string trim_right(std::string line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

// The lines of `after` past what it shares with `before` from the top: history only grows, so
// what is new in a turn comes after the common start.
std::string new_text(const std::vector<std::string>& before,
                     const std::vector<std::string>& after) {
  std::size_t common = 0;
  while (common < before.size() && common < after.size() && before[common] == after[common])
    ++common;
  std::string text;
  bool blank_pending = false;
  for (std::size_t i = common; i < after.size(); ++i) {
    std::string line = trim_right(after[i]);
    if (line.empty()) {
      blank_pending = !text.empty();
      continue;
    }
    if (blank_pending) text += "\n";
    blank_pending = false;
    text += line + "\n";
  }
  if (!text.empty()) text.pop_back();
  return text;
}

// Replays the stream and takes the text of each turn.
class AnswerCollector {
 public:
  AnswerCollector(int rows, int cols)
      : screen_({.rows = std::max(1, rows), .cols = std::max(1, cols)}) {}

  void begin_turn() {
    at_start_ = all_lines(screen_);
    left_full_screen_.reset();
  }
  std::string end_turn() const {
    return new_text(at_start_, left_full_screen_ ? *left_full_screen_ : all_lines(screen_));
  }

  void apply(const recorder::CastEvent& event) {
    if (event.type == 'r') {
      if (auto size = recorder::parse_resize(event.data)) screen_.resize(size->rows, size->cols);
      return;
    }
    if (event.type != 'o') return;
    // A full-screen agent clears its screen when it exits: what it showed last is the answer.
    if (screen_.alt_screen() && leaves_alternate_screen(event.data))
      left_full_screen_ = all_lines(screen_);
    screen_.feed(event.data);
  }

 private:
  static bool leaves_alternate_screen(std::string_view data) {
    for (std::string_view mode : {"\x1b[?1049l", "\x1b[?1047l", "\x1b[?47l"})
      if (data.find(mode) != std::string_view::npos) return true;
    return false;
  }

  tui::Screen screen_;
  std::vector<std::string> at_start_;
  std::optional<std::vector<std::string>> left_full_screen_;
};

}  // namespace

std::vector<std::string> terminal_answers(const std::string& bundle_dir,
                                          const recorder::SessionRecord& session) {
  std::vector<std::string> answers(session.turns.size());
  if (session.turns.empty()) return answers;
  auto reader = recorder::CastReader::open(bundle_dir + "/terminal.cast");
  if (!reader) return answers;
  AnswerCollector collector(reader->header().height, reader->header().width);
  // Each turn runs from its prompt to its end (or the next prompt, or the end of the stream).
  auto turn_end = [&](std::size_t i) {
    if (const auto& end = session.turns[i].end) return *end;
    return i + 1 < session.turns.size() ? session.turns[i + 1].start : 1e300;
  };
  // Cast times are rounded to microseconds; the turn's times are not.
  constexpr double kSlack = 1e-3;
  std::size_t next = 0;  // the first turn not begun yet
  bool in_turn = false;  // turn next-1 is open
  auto close_open_turn = [&] {
    answers[next - 1] = collector.end_turn();
    in_turn = false;
  };
  while (auto event = reader->next()) {
    if (in_turn && event->time > turn_end(next - 1) + kSlack) close_open_turn();
    while (!in_turn && next < session.turns.size() &&
           event->time >= session.turns[next].start - kSlack) {
      collector.begin_turn();
      ++next;
      in_turn = true;
      if (event->time > turn_end(next - 1) + kSlack) close_open_turn();
    }
    collector.apply(*event);
  }
  if (in_turn) close_open_turn();
  return answers;
}

}  // namespace sddsh::app
