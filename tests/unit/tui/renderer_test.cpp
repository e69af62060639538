// The renderer through the headless painter: what the user's terminal would show.
#include "tui/renderer.hpp"

#include <gtest/gtest.h>

#include "tui/headless_painter.hpp"
#include "tui/layout.hpp"
#include "tui/panel.hpp"
#include "tui/screen.hpp"

using namespace sddsh::tui;

namespace {

struct Frame {
  explicit Frame(int rows, int cols, bool panel = true)
      : painter(rows, cols), renderer(painter), layout(compute_layout(rows, cols, panel)),
        screen({.rows = layout.pane.rows, .cols = layout.pane.cols}) {
    renderer.set_layout(layout);
  }
  void draw(int scroll = 0, std::vector<std::string> overlay = {}) {
    Chrome chrome;
    chrome.sections.push_back(&section);
    chrome.status_left = "sddsh · test";
    chrome.status_right = "C-] ? help";
    chrome.overlay = std::move(overlay);
    renderer.draw(screen, scroll, chrome);
  }
  std::vector<std::string> pane_text() const {
    return painter.text_lines(layout.pane.row, layout.pane.col, layout.pane.rows, layout.pane.cols);
  }

  HeadlessPainter painter;
  Renderer renderer;
  Layout layout;
  Screen screen;
  SessionFacts facts{.agent = "claude"};
  SessionSection section{facts};
};

}  // namespace

TEST(Renderer, PaneShowsTheScreenText) {
  Frame f(24, 100);
  f.screen.feed("hello\r\n\x1b[1;31mworld\x1b[0m");
  f.draw();
  EXPECT_EQ(f.pane_text(), f.screen.text_lines());
  EXPECT_EQ(f.painter.style_at(1, 0).fg, Color::indexed(1));
  EXPECT_TRUE(f.painter.style_at(1, 0).attrs.bold);
}

TEST(Renderer, OnlyDamagedRowsAreDrawnAgain) {
  Frame f(24, 100);
  f.screen.feed("one\r\ntwo");
  f.draw();
  f.painter.reset_put_count();
  f.screen.feed("\x1b[1;1Hx");
  f.draw();
  // One pane row (its columns) and nothing of the panel or status line, which did not change.
  EXPECT_EQ(f.painter.puts_since_reset(), f.layout.pane.cols);
  EXPECT_EQ(f.pane_text()[0], "xne");
}

TEST(Renderer, WideAndCombiningCharactersKeepColumns) {
  Frame f(10, 80, false);
  f.screen.feed("a\xe4\xb8\xad" "b e\xcc\x81x");  // a中b é x
  f.draw();
  EXPECT_EQ(f.pane_text()[0], "a\xe4\xb8\xad" "b e\xcc\x81x");
}

TEST(Renderer, PanelSectionsAndStatusLine) {
  Frame f(24, 120);
  f.facts.elapsed_seconds = 65;
  f.draw();
  auto panel = f.painter.text_lines(0, f.layout.panel.col, 5, f.layout.panel.cols);
  EXPECT_EQ(panel[0], " Session");
  EXPECT_EQ(panel[1], " agent    claude");
  EXPECT_EQ(panel[2], " state    running");
  EXPECT_EQ(panel[3], " elapsed  1 min");
  auto status = f.painter.text_lines(23, 0, 1, 120)[0];
  EXPECT_TRUE(status.starts_with(" sddsh · test")) << status;
  EXPECT_TRUE(status.ends_with("C-] ? help")) << status;
  EXPECT_TRUE(f.painter.style_at(23, 0).attrs.reverse);
}

TEST(Renderer, SeparatorBetweenPaneAndPanel) {
  Frame f(24, 120);
  f.draw();
  EXPECT_EQ(f.painter.text_lines(0, f.layout.separator_col, 1, 1)[0], "│");
}

TEST(Renderer, ScrollbackViewShowsHistory) {
  Frame f(11, 60, false);  // a pane of 10 rows
  for (int i = 1; i <= 30; ++i) f.screen.feed("line " + std::to_string(i) + "\r\n");
  f.draw(5);
  auto text = f.pane_text();
  EXPECT_EQ(text.front(), "line 17");  // 31 lines in all (the last empty); top = 31 - 10 - 5
  EXPECT_EQ(text.back(), "line 26");
  EXPECT_FALSE(f.painter.cursor().visible);
  f.draw(0);
  EXPECT_EQ(f.pane_text().front(), "line 22");
  EXPECT_TRUE(f.painter.cursor().visible);
}

TEST(Renderer, OverlayCoversThePaneAndLeavesNothingBehind) {
  Frame f(24, 80, false);
  f.screen.feed("under the overlay");
  f.draw(0, {"Help line"});
  bool shown = false;
  for (const auto& line : f.painter.text_lines())
    if (line.find("Help line") != std::string::npos) shown = true;
  EXPECT_TRUE(shown);
  f.draw();
  for (const auto& line : f.painter.text_lines()) EXPECT_EQ(line.find("Help line"), std::string::npos);
  EXPECT_EQ(f.pane_text()[0], "under the overlay");
}

TEST(Renderer, CursorFollowsTheAgentsCursorInThePane) {
  Frame f(24, 80, false);
  f.screen.feed("\x1b[5;7H\x1b[5 q");
  f.draw();
  EXPECT_TRUE(f.painter.cursor().visible);
  EXPECT_EQ(f.painter.cursor().row, 4);
  EXPECT_EQ(f.painter.cursor().col, 6);
  EXPECT_EQ(f.painter.cursor().style, CursorStyle::Bar);
  f.screen.feed("\x1b[?25l");
  f.draw();
  EXPECT_FALSE(f.painter.cursor().visible);
}

TEST(Layout, PanelTakesAboutAThirdAndHidesWhenSmall) {
  auto wide = compute_layout(30, 120, true);
  EXPECT_EQ(wide.panel.cols, 36);
  EXPECT_EQ(wide.pane.cols, 120 - 36 - 1);
  EXPECT_EQ(wide.pane.rows, 29);
  EXPECT_EQ(wide.status.row, 29);
  EXPECT_EQ(compute_layout(30, 300, true).panel.cols, 40);  // capped
  EXPECT_FALSE(compute_layout(10, 60, true).panel_shown());  // the agent would get < 40 columns
  EXPECT_FALSE(compute_layout(9, 120, true).panel_shown());
  auto hidden = compute_layout(30, 120, false);
  EXPECT_FALSE(hidden.panel_shown());
  EXPECT_EQ(hidden.pane.cols, 120);
  auto tiny = compute_layout(10, 40, true);
  EXPECT_EQ(tiny.pane.cols, 40);
  EXPECT_EQ(tiny.pane.rows, 9);
}

TEST(TaskQueuePanel, CurrentTaskOnTopThenTheQueueWithTheSelectionHighlighted) {
  HeadlessPainter painter(24, 120);
  Renderer renderer(painter);
  const Layout layout = compute_layout(24, 120, true);
  renderer.set_layout(layout);
  Screen screen({.rows = layout.pane.rows, .cols = layout.pane.cols});
  TaskQueueView view;
  view.current = QueuedTask{.id = "sd-0a1b", .title = "Set up the project", .phase = "Phase 1: Setup"};
  for (int i = 0; i < 12; ++i)
    view.ready.push_back({.id = "sd-10" + std::to_string(i), .title = "Task " + std::to_string(i),
                          .phase = "Phase 3", .priority = i < 2 ? 1 : 2, .parallel = i == 1});
  view.selected = 1;
  TaskQueueSection section(view);
  Chrome chrome;
  chrome.sections.push_back(&section);
  renderer.draw(screen, 0, chrome);
  const auto panel = painter.text_lines(0, layout.panel.col, 14, layout.panel.cols);
  EXPECT_EQ(panel[0], " Tasks");
  EXPECT_EQ(panel[1], " ▶ Set up the project");
  EXPECT_EQ(panel[2], "    sd-0a1b · Phase 1: Setup");
  EXPECT_EQ(panel[3], " P1 Task 0");
  EXPECT_EQ(panel[4], " P1 [P] Task 1");
  EXPECT_EQ(panel[5], "    sd-101 · Phase 3") << "the selected task shows its id and phase";
  EXPECT_EQ(panel[6], " P2 Task 2");
  EXPECT_EQ(panel[12], " … 4 more");
  EXPECT_TRUE(painter.style_at(4, layout.panel.col + 1).attrs.reverse) << "the selection is highlighted";
  EXPECT_FALSE(painter.style_at(3, layout.panel.col + 1).attrs.reverse);

  // Moving the selection down the list scrolls the window with it.
  view.selected = 11;
  renderer.draw(screen, 0, chrome);
  const auto moved = painter.text_lines(0, layout.panel.col, 14, layout.panel.cols);
  EXPECT_EQ(moved[3], " P2 Task 4");
  EXPECT_EQ(moved[10], " P2 Task 11");
  EXPECT_TRUE(painter.style_at(10, layout.panel.col + 1).attrs.reverse);
}

TEST(TaskQueuePanel, EmptyQueueAndErrorsSaySo) {
  TaskQueueView view;
  view.message = "sd-1 is already claimed by alice";
  view.message_is_error = true;
  const auto lines = TaskQueueSection(view).lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "no ready tasks");
  EXPECT_EQ(lines[1].text, "sd-1 is already claimed by alice");
  EXPECT_EQ(lines[1].tone, PanelLine::Tone::Alert);
}
