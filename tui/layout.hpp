#pragma once
// Where things go on the user's terminal: the agent pane, the side panel, the status line.
namespace sddsh::tui {

struct Rect {
  int row = 0;
  int col = 0;
  int rows = 0;
  int cols = 0;
  bool contains(int r, int c) const { return r >= row && r < row + rows && c >= col && c < col + cols; }
  friend bool operator==(const Rect&, const Rect&) = default;
};

struct Layout {
  Rect pane;          // the agent's terminal
  Rect panel;         // empty (0 columns) when hidden
  Rect status;        // the bottom row
  int separator_col = -1;  // the column between pane and panel, -1 when hidden
  bool panel_shown() const { return panel.cols > 0; }
  friend bool operator==(const Layout&, const Layout&) = default;
};

// The panel takes ~30% of the width on the right (24..40 columns) when wanted and when the
// agent keeps at least 40 columns; otherwise it hides itself. The last row is the status line.
Layout compute_layout(int rows, int cols, bool panel_wanted);

}  // namespace sddsh::tui
