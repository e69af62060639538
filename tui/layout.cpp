#include "tui/layout.hpp"

#include <algorithm>

namespace sddsh::tui {

namespace {
constexpr int kMinPanelCols = 24;
constexpr int kMaxPanelCols = 40;
constexpr int kMinPaneCols = 40;
constexpr int kMinRowsForPanel = 10;
}  // namespace

Layout compute_layout(int rows, int cols, bool panel_wanted) {
  rows = std::max(rows, 2);
  cols = std::max(cols, 1);
  Layout layout;
  layout.status = {rows - 1, 0, 1, cols};
  const int pane_rows = rows - 1;
  const int panel_cols = std::clamp(cols * 30 / 100, kMinPanelCols, kMaxPanelCols);
  const bool room = cols - panel_cols - 1 >= kMinPaneCols && rows >= kMinRowsForPanel;
  if (panel_wanted && room) {
    layout.pane = {0, 0, pane_rows, cols - panel_cols - 1};
    layout.separator_col = cols - panel_cols - 1;
    layout.panel = {0, cols - panel_cols, pane_rows, panel_cols};
  } else {
    layout.pane = {0, 0, pane_rows, cols};
  }
  return layout;
}

}  // namespace sddsh::tui
