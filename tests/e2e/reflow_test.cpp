// Resizing reflows the screen as tmux does: the same bytes shown in a tmux pane and in our Screen,
// the same resizes applied to both, then the same text and cursor. tmux is the oracle.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "harness.hpp"
#include "tui/screen.hpp"

using namespace sddsh::e2e;

namespace {

struct Size {
  int cols;
  int rows;
};

struct ReflowCase {
  std::string name;
  Size start;
  std::string bytes;
  std::vector<Size> resizes;
  std::string after;  // what the agent writes once resized (its redraw), if anything
};

void PrintTo(const ReflowCase& c, std::ostream* os) { *os << c.name; }

std::string repeat_text(std::size_t length, unsigned seed) {
  static constexpr std::string_view kWords[] = {"the", "agent", "reads", "a", "file", "and",
                                                "writes", "patches", "to", "disk", "quickly"};
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < length) {
    if (!out.empty()) out += ' ';
    out += kWords[rng() % std::size(kWords)];
  }
  out.resize(length);
  return out;
}

// Lines of many lengths: shorter than, equal to and longer than the width, all ending in CRLF.
std::string long_and_short_lines(int width) {
  std::string out;
  const int lengths[] = {5, width - 1, width, width + 1, 2 * width + 7, 0, 3 * width, 12};
  unsigned seed = 1;
  for (int length : lengths) out += repeat_text(static_cast<std::size_t>(length), seed++) + "\r\n";
  return out + "$ ";
}

// Text written to exactly the last column, then CRLF: not wrapped, so never joined.
std::string last_column_then_crlf(int width) {
  std::string out;
  for (int i = 0; i < 4; ++i) out += std::string(static_cast<std::size_t>(width), char('a' + i)) + "\r\n";
  out += std::string(static_cast<std::size_t>(width), 'x') + "y\r\n";  // this one wraps
  return out + "end";
}

// One paragraph that autowrap folds, with a colour change in the middle of a folded line.
std::string wrapped_paragraph() {
  return "intro\r\n" + repeat_text(150, 7) + "\x1b[1;32m" + repeat_text(90, 8) + "\x1b[0m\r\n" +
         repeat_text(70, 9) + "\r\n> ";
}

// A cursor-positioned screen: a box, a status line, the cursor left in the middle.
std::string positioned_ui() {
  return "\x1b[2J\x1b[H\x1b[2;3H+----------------+\x1b[3;3H| status: ready  |"
         "\x1b[4;3H+----------------+\x1b[8;1H\x1b[7mbottom bar text\x1b[0m\x1b[5;10H";
}

// An Ink-style inline UI: log lines, then a footer redrawn by erasing upwards and writing again.
std::string ink_footer(int width, int redraws) {
  std::string out;
  for (int i = 0; i < 6; ++i) out += "log line " + std::to_string(i) + " " + repeat_text(30, static_cast<unsigned>(i)) + "\r\n";
  const std::string border(static_cast<std::size_t>(width - 2), '-');
  const int footer_lines = 3;
  for (int r = 0; r < redraws; ++r) {
    if (r > 0) {
      for (int i = 0; i < footer_lines - 1; ++i) out += "\x1b[2K\x1b[1A";
      out += "\x1b[2K\x1b[G";
    }
    out += "\x1b[36m" + border + "\x1b[0m\r\n";
    out += " > type here (" + std::to_string(r) + ")\r\n";
    out += "\x1b[36m" + border + "\x1b[0m";
  }
  return out;
}

// The redraw Ink does after a resize: erase the old footer by its line count, write it anew.
std::string ink_redraw(int width) {
  const std::string border(static_cast<std::size_t>(width - 2), '-');
  return "\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[G\x1b[36m" + border + "\x1b[0m\r\n > redrawn\r\n\x1b[36m" +
         border + "\x1b[0m";
}

std::string coloured_lines() {
  std::string out;
  for (int i = 0; i < 5; ++i) {
    out += "\x1b[4" + std::to_string(1 + i) + "m" + repeat_text(static_cast<std::size_t>(20 + 17 * i), static_cast<unsigned>(i)) +
           "\x1b[0m plain\r\n";
  }
  return out + "\x1b[41m\x1b[K\x1b[0mred erase\r\n";
}

std::string wide_chars() {
  std::string out = "wide: ";
  for (int i = 0; i < 30; ++i) out += "\xe4\xb8\xad\xe6\x96\x87";  // 中文
  out += "\r\nnarrow then wide: abc\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" + repeat_text(40, 3) + "\r\n";
  return out + "\xf0\x9f\x98\x80 emoji line\r\n";
}

std::string scrolled_history() {
  std::string out;
  for (int i = 0; i < 40; ++i) out += "history " + std::to_string(i) + " " + repeat_text(static_cast<std::size_t>(i * 3), static_cast<unsigned>(i)) + "\r\n";
  return out + "prompt> ";
}

// Cursor in the middle with text below it, for height changes.
std::string cursor_in_middle() {
  return "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\nsix\x1b[2;2H";
}

std::vector<ReflowCase> cases() {
  const Size s100x20{100, 20};
  std::vector<ReflowCase> all = {
      {"LongShortShrink", {60, 20}, long_and_short_lines(60), {{45, 20}}, ""},
      {"LongShortGrow", {60, 20}, long_and_short_lines(60), {{83, 20}}, ""},
      {"LongShortShrinkGrow", {60, 20}, long_and_short_lines(60), {{37, 20}, {71, 20}}, ""},
      {"LastColumnShrinkGrow", {40, 12}, last_column_then_crlf(40), {{30, 12}, {55, 12}}, ""},
      {"LastColumnGrow", {40, 12}, last_column_then_crlf(40), {{41, 12}}, ""},
      {"ParagraphShrink", {50, 15}, wrapped_paragraph(), {{33, 15}}, ""},
      {"ParagraphGrow", {50, 15}, wrapped_paragraph(), {{77, 15}}, ""},
      {"ParagraphShrinkGrowBoth", {50, 15}, wrapped_paragraph(), {{31, 10}, {64, 18}}, ""},
      {"PositionedUiShrink", {40, 10}, positioned_ui(), {{15, 10}}, ""},
      {"PositionedUiGrow", {40, 10}, positioned_ui(), {{60, 12}}, ""},
      {"InkFooterShrinkRedraw", s100x20, ink_footer(100, 3), {{90, 20}}, ink_redraw(90)},
      {"InkFooterGrowRedraw", {90, 20}, ink_footer(90, 2), {{100, 20}}, ink_redraw(100)},
      {"InkFooterShrinkTwice", s100x20, ink_footer(100, 2), {{90, 20}, {70, 20}}, ink_redraw(70)},
      {"ColoursShrinkGrow", {60, 12}, coloured_lines(), {{25, 12}, {70, 12}}, ""},
      {"WideShrink", {41, 12}, wide_chars(), {{30, 12}}, ""},
      {"WideShrinkGrow", {40, 12}, wide_chars(), {{28, 12}, {52, 12}}, ""},
      {"HistoryShrink", {50, 10}, scrolled_history(), {{35, 10}}, ""},
      {"HistoryGrowPullsBack", {50, 10}, scrolled_history(), {{70, 16}}, ""},
      {"HeightShrinkAtBottom", {50, 10}, scrolled_history(), {{50, 6}, {50, 12}}, ""},
      {"HeightShrinkInMiddle", {30, 10}, cursor_in_middle(), {{30, 4}, {30, 9}}, ""},
      {"HeightShrinkThenWrite", {30, 10}, cursor_in_middle(), {{30, 3}}, "X\r\nafter"},
      {"ShrinkThenWrite", {60, 20}, wrapped_paragraph(), {{41, 20}}, "more text " + repeat_text(70, 4)},
  };
  return all;
}

std::string quoted(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "|" + l + "\n";
  return out;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/sddsh-reflow-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Reflow : public ::testing::TestWithParam<ReflowCase> {
 protected:
  static void SetUpTestSuite() { ::setenv("LC_ALL", "C.UTF-8", 1); }  // tmux shows wide chars
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed";
  }

  std::vector<std::string> tmux_lines(int rows) {
    std::vector<std::string> lines = split_lines(tmux_.capture("r"));
    lines.resize(static_cast<std::size_t>(rows));
    for (auto& l : lines) l = trim_right(l);
    return lines;
  }
  // Waits (with a deadline) until tmux shows what our screen shows; reports both if it never does.
  void expect_same_screen(const sddsh::tui::Screen& screen, const std::string& when) {
    const std::vector<std::string> ours = screen.text_lines();
    std::vector<std::string> theirs;
    const bool same = wait_until([&] {
      theirs = tmux_lines(screen.rows());
      return theirs == ours;
    }, 4s);
    EXPECT_TRUE(same) << when << "\n--- tmux:\n" << quoted(theirs) << "--- ours:\n" << quoted(ours);
    const auto xy = split_lines(tmux_.run({"display-message", "-p", "-t", "r", "#{cursor_x},#{cursor_y}"}));
    int x = -1, y = -1;
    ASSERT_FALSE(xy.empty());
    ASSERT_EQ(std::sscanf(xy[0].c_str(), "%d,%d", &x, &y), 2) << xy[0];
    // tmux's cursor can sit one past the last column (a pending wrap); libvterm's cannot.
    x = std::min(x, screen.cols() - 1);
    EXPECT_EQ(screen.cursor().col, x) << when << ": cursor column";
    EXPECT_EQ(screen.cursor().row, y) << when << ": cursor row";
  }

  TempDir dir_;
  Tmux tmux_;
};

TEST_P(Reflow, MatchesTmux) {
  const ReflowCase& c = GetParam();
  const std::string first = dir_.path() + "/first";
  const std::string fifo = dir_.path() + "/after";
  std::ofstream(first, std::ios::binary) << c.bytes;
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // The pane shows the first bytes, then blocks on the FIFO until the test writes the redraw.
  tmux_.new_session("r", "sh -c 'cat " + first + "; cat " + fifo + "; exec sleep 1000'", c.start.cols,
                    c.start.rows);
  sddsh::tui::Screen screen({.rows = c.start.rows, .cols = c.start.cols});
  screen.feed(c.bytes);
  expect_same_screen(screen, "before resizing");
  for (const Size& size : c.resizes) {
    tmux_.resize_window("r", size.cols, size.rows);
    screen.resize(size.rows, size.cols);
    expect_same_screen(screen, "after resizing to " + std::to_string(size.cols) + "x" +
                                   std::to_string(size.rows));
  }
  const int fd = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, c.after.data(), c.after.size()), static_cast<ssize_t>(c.after.size()));
  ::close(fd);
  if (!c.after.empty()) {
    screen.feed(c.after);
    expect_same_screen(screen, "after the redraw");
  }
}

INSTANTIATE_TEST_SUITE_P(Streams, Reflow, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
