#pragma once
// Casts for the replay tests, made of real agents' bytes, and a reference that knows what the
// screen should show at any point: a fresh Screen fed every event up to it.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "recorder/cast_writer.hpp"
#include "replay/keyframes.hpp"
#include "tui/screen.hpp"

namespace sddsh::replay::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out) << path;
}

// Writes a cast as the recorder would (CastEncoder).
class CastMaker {
 public:
  explicit CastMaker(int cols = 100, int rows = 30) {
    recorder::CastHeader header;
    header.width = cols;
    header.height = rows;
    text_ = recorder::CastEncoder::header_line(header);
  }

  void output(double time, std::string_view bytes) { encoder_.output(text_, time, bytes); }
  void resize(double time, int cols, int rows) { encoder_.resize(text_, time, cols, rows); }
  void input(double time, std::string_view bytes) { encoder_.input(text_, time, bytes); }
  void marker(double time, std::string_view label) { encoder_.marker(text_, time, label); }

  // The file; output written since the last call is whole (finish() writes held-back bytes).
  std::string text() {
    encoder_.finish(text_);
    return text_;
  }

 private:
  recorder::CastEncoder encoder_;
  std::string text_;
};

inline const std::string kAgentScreens = SDDSH_SOURCE_DIR "/../shared/testdata/agent-screens/";

// The three real agents' bytes, each twice, cut into pieces at random points (in the middle of
// escape sequences and characters too), with typing, markers, long pauses and resizes between.
inline CastMaker agent_session(unsigned seed = 7) {
  std::mt19937 random(seed);
  const auto between = [&](double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random);
  };
  CastMaker cast(100, 30);
  double time = 0.25;
  int round = 0;
  for (const char* agent : {"codex", "gemini", "copilot", "gemini", "codex", "copilot"}) {
    const std::string bytes = read_file(kAgentScreens + agent + "-100x30.bytes");
    cast.input(time, "fix the parser\r");
    cast.marker(time, std::string("turn ") + agent);
    std::size_t at = 0;
    while (at < bytes.size()) {
      const std::size_t piece = 1 + random() % 400;
      cast.output(time, std::string_view(bytes).substr(at, piece));
      at += piece;
      time += between(0.001, 0.4);
    }
    ++round;
    if (round == 2) cast.resize(time += 0.5, 80, 24);
    if (round == 3) cast.resize(time += 0.5, 120, 40);
    if (round == 5) cast.resize(time += 0.5, 100, 30);
    time += round % 2 == 0 ? 30.0 : between(2.5, 9);  // pauses the idle limit cuts
  }
  cast.output(time, "\x1b[0m\r\nthe end \xff\r\n");
  return cast;
}

// What a cell shows, compared exactly.
struct CellView {
  char32_t ch;
  tui::Pen pen;
  int width;
  bool operator==(const CellView&) const = default;
};

struct ScreenView {
  std::vector<std::string> text;
  std::vector<CellView> cells;
  int rows = 0, cols = 0;
  int cursor_row = 0, cursor_col = 0;
  bool cursor_visible = true;
  bool alt_screen = false;
  bool operator==(const ScreenView&) const = default;
};

inline ScreenView view_of(const tui::Screen& screen) {
  ScreenView view;
  view.text = screen.text_lines();
  view.rows = screen.rows();
  view.cols = screen.cols();
  for (int row = 0; row < screen.rows(); ++row) {
    for (int col = 0; col < screen.cols(); ++col) {
      const tui::Cell& cell = screen.cell(row, col);
      view.cells.push_back({cell.ch, cell.pen, cell.width});
    }
  }
  view.cursor_row = screen.cursor().row;
  view.cursor_col = screen.cursor().col;
  view.cursor_visible = screen.cursor().visible;
  view.alt_screen = screen.alt_screen();
  return view;
}

inline std::ostream& operator<<(std::ostream& out, const ScreenView& view) {
  out << view.cols << "x" << view.rows << " cursor " << view.cursor_row << "," << view.cursor_col
      << (view.alt_screen ? " alt" : "") << "\n";
  for (const auto& line : view.text) out << "|" << line << "\n";
  return out;
}

// A fresh screen fed every event of a cast up to a recorded time, or its first `count` screen
// events. The events are those the recorder's own reader finds in the file (the encoder may have
// moved a character split between two events into the second).
class Reference {
 public:
  explicit Reference(std::string_view cast_text) {
    auto file = recorder::parse_cast(cast_text);
    EXPECT_TRUE(file);
    if (!file) return;
    EXPECT_FALSE(file->problem) << *file->problem;
    header_ = file->header;
    events_ = std::move(file->events);
  }

  const std::vector<recorder::CastEvent>& events() const { return events_; }

  ScreenView at_time(double recorded) const {
    tui::Screen screen(options());
    for (const auto& event : events_) {
      if (event.time > recorded) break;
      apply(screen, event);
    }
    return view_of(screen);
  }

  // Views after 0, 1, 2, ... screen events, made in one pass.
  std::vector<ScreenView> after_each_event() const {
    tui::Screen screen(options());
    std::vector<ScreenView> views{view_of(screen)};
    for (const auto& event : events_) {
      if (event.type != 'o' && event.type != 'r') continue;
      apply(screen, event);
      views.push_back(view_of(screen));
    }
    return views;
  }

  // The recorded times of the screen events.
  std::vector<double> screen_event_times() const {
    std::vector<double> times;
    for (const auto& event : events_) {
      if (event.type == 'o' || event.type == 'r') times.push_back(event.time);
    }
    return times;
  }

 private:
  tui::ScreenOptions options() const {
    tui::ScreenOptions options;
    options.cols = header_.width;
    options.rows = header_.height;
    return options;
  }
  // Directly, not through replay's apply_event: the reference must not share the code it checks.
  static void apply(tui::Screen& screen, const recorder::CastEvent& event) {
    if (event.type == 'o') screen.feed(event.data);
    if (event.type == 'r') {
      const auto size = recorder::parse_resize(event.data);
      screen.resize(size->rows, size->cols);
    }
  }

  recorder::CastHeader header_;
  std::vector<recorder::CastEvent> events_;
};

}  // namespace sddsh::replay::test
