#pragma once
// Rewrapping a grid to a new width the way tmux does (its grid_reflow), so that a resized pane
// shows what tmux shows: lines wider than the new width are split (wrapped or not), lines that
// autowrap had wrapped are joined again with their continuation, and a position follows its text.

#include <cstddef>
#include <vector>

#include "tui/cell.hpp"

namespace sddsh::tui {

// A cell of the whole grid: history lines first, then the screen's.
struct GridPosition {
  std::size_t line = 0;
  int col = 0;
};

// Rewraps `lines` (oldest first) to `cols`. `cursor` moves with its text; a cursor at or past the
// end of its line's text lands at the end of that logical line, as in tmux.
std::vector<Line> reflow_lines(std::vector<Line> lines, int cols, GridPosition& cursor);

}  // namespace sddsh::tui
