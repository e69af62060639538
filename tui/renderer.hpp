#pragma once
// Turns the model into frames: the agent pane from the screen's damage (or the scrollback
// view), the side panel, the status line and an overlay (help, questions). Knows nothing of
// curses; it draws through a Painter.
#include <optional>
#include <string>
#include <vector>

#include "tui/layout.hpp"
#include "tui/painter.hpp"
#include "tui/panel.hpp"

namespace sddsh::tui {

class Screen;

struct Chrome {
  std::vector<const PanelSection*> sections;
  std::string status_left;
  std::string status_right;
  bool status_alert = false;
  std::vector<std::string> overlay;  // lines of a centred box over the pane; empty for none
};

class Renderer {
 public:
  explicit Renderer(Painter& painter) : painter_(painter) {}

  // A new layout (resize, panel toggled): the next frame repaints everything.
  void set_layout(const Layout& layout);
  const Layout& layout() const { return layout_; }
  void invalidate() { full_repaint_ = true; }

  // One frame. `scroll_offset` > 0 shows the history that many lines up from the live screen.
  void draw(Screen& screen, int scroll_offset, const Chrome& chrome);

 private:
  void draw_pane(Screen& screen, int scroll_offset, bool repaint_all);
  void draw_pane_row(int pane_row, const class Line* line);
  void draw_separator();
  void draw_panel(const Chrome& chrome);
  void draw_status(const Chrome& chrome);
  void draw_overlay(const std::vector<std::string>& lines);
  void draw_text_row(int row, int col, int cols, const std::string& text, const Style& style);
  PaintCursor cursor_for(const Screen& screen, int scroll_offset, bool overlay) const;

  Painter& painter_;
  Layout layout_;
  bool full_repaint_ = true;
  bool overlay_was_shown_ = false;
  int last_scroll_offset_ = 0;
  std::vector<std::string> panel_cache_;
  std::string status_cache_;
};

}  // namespace sddsh::tui
