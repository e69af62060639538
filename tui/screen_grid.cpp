// Screen's grid operations, driven by libvterm's state callbacks (see screen.cpp).
#include <algorithm>
#include <cstdlib>

#include "tui/reflow.hpp"
#include "tui/screen.hpp"

namespace sddsh::tui {

void Screen::put_glyph(int row, int col, std::u32string_view chars, int width, bool protect) {
  if (protect) {
    Pen protected_pen = pen_;
    protected_pen.attrs.protect = true;
    row_line(row).set(col, chars.front(), chars.substr(1), width, protected_pen);
  } else {
    row_line(row).set(col, chars.front(), chars.substr(1), width, pen_);  // the hot path
  }
  mark_dirty(row);
}

// Whole-width scroll of rows [start_row, end_row); downward > 0 moves content up.
// Lines are swapped (or the ring turned), never copied cell by cell.
void Screen::scroll_lines(int start_row, int end_row, int downward) {
  const int height = end_row - start_row;
  if (downward == 0 || height <= 0) return;
  if (std::abs(downward) >= height) {
    erase_rows(start_row, end_row, 0, cols_, false);  // like VTermScreen: nothing kept
    return;
  }
  // VTermScreen keeps lines leaving a region that starts at the top row; so do we.
  if (downward > 0 && start_row == 0 && !alt_active_) {
    for (int row = 0; row < downward; ++row) push_scrollback(row_line(row));
  }
  if (start_row == 0 && end_row == rows_) {
    rotate_full_screen(downward);
    if (downward > 0) scrolled_up_ += downward;
  } else if (downward > 0) {
    for (int row = start_row; row < end_row - downward; ++row) {
      std::swap(row_line(row), row_line(row + downward));
    }
  } else {
    for (int row = end_row - 1; row >= start_row - downward; --row) {
      std::swap(row_line(row), row_line(row + downward));
    }
  }
  if (downward > 0) {
    erase_rows(end_row - downward, end_row, 0, cols_, false);
  } else {
    erase_rows(start_row, start_row - downward, 0, cols_, false);
  }
  for (int row = start_row; row < end_row; ++row) mark_dirty(row);
}

void Screen::rotate_full_screen(int downward) {
  const std::size_t count = static_cast<std::size_t>(rows_);
  const auto shift = static_cast<std::size_t>(((downward % rows_) + rows_) % rows_);
  top() = (top() + shift) % count;
}

void Screen::move_rect(int dest_row, int dest_col, int src_row, int src_col, int height,
                       int width) {
  // libvterm may reach outside the grid: a double-width line on a one-column screen leaves its
  // cursor at column -1, and a glyph inserted there moves cells from column -1 (found by
  // screen_fuzz). Only cells whose source and destination are both on the grid move.
  const int skip_cols = std::max({0, -src_col, -dest_col});
  const int skip_rows = std::max({0, -src_row, -dest_row});
  src_col += skip_cols;
  dest_col += skip_cols;
  src_row += skip_rows;
  dest_row += skip_rows;
  width = std::min({width - skip_cols, cols_ - src_col, cols_ - dest_col});
  height = std::min({height - skip_rows, rows_ - src_row, rows_ - dest_row});
  if (width <= 0 || height <= 0) return;
  auto move_one = [&](int i) {
    row_line(dest_row + i).copy_from(row_line(src_row + i), src_col, dest_col, width);
    mark_dirty(dest_row + i);
  };
  // Walk away from the overlap so no source row is overwritten before it is read.
  if (dest_row <= src_row) {
    for (int i = 0; i < height; ++i) move_one(i);
  } else {
    for (int i = height - 1; i >= 0; --i) move_one(i);
  }
}

void Screen::erase_rows(int start_row, int end_row, int start_col, int end_col,
                        bool selective) {
  end_row = std::min(end_row, rows_);
  for (int row = std::max(start_row, 0); row < end_row; ++row) {
    row_line(row).erase(start_col, end_col, pen_, selective);
    mark_dirty(row);
  }
}

void Screen::push_scrollback(const Line& line) {
  if (scrollback_limit_ == 0) return;
  if (scrollback_.size() < scrollback_limit_) {
    scrollback_.emplace_back().assign_trimmed(line);
    return;
  }
  // Full: the oldest line's storage is recycled, so a long `cat` does not churn the allocator.
  Line recycled = std::move(scrollback_.front());
  scrollback_.pop_front();
  recycled.assign_trimmed(line);
  scrollback_.push_back(std::move(recycled));
}

void Screen::switch_screen(bool alternate) {
  if (alt_active_ == alternate) return;
  alt_active_ = alternate;  // libvterm erases the alternate screen itself on entry
  all_dirty_ = true;
  mark_all_dirty();
}

// libvterm 0.1.4 has no continuation flag, so autowrap is recognised from the callback order:
// within a text run it moves to the next line between two glyphs without reporting a cursor
// move, whereas CR, LF or any cursor motion after the last column is reported first.
void Screen::note_right_edge(int row, int col, int width) {
  wrap_pending_ = true;
  wrap_row_ = row;
  wrap_phantom_ = col + width >= cols_;
  wrap_col_ = wrap_phantom_ ? col : col + width;
}

void Screen::note_line_start(int row) {
  if (!wrap_pending_) return;
  wrap_pending_ = false;
  if (row != wrap_row_ && row != wrap_row_ + 1) return;  // the line feed scrolled, or moved down
  if (row > 0) {
    row_line(row - 1).set_wrapped(true);
  } else if (!alt_active_ && !scrollback_.empty()) {
    scrollback_.back().set_wrapped(true);  // a one-row screen: the line went to history
  }
}

void Screen::resize_grids(int rows, int cols, int& cursor_row_delta, int& cursor_col_delta) {
  if (!reflow_) {
    resize_truncating(rows, cols, cursor_row_delta);
    return;
  }
  if (alt_active_) {
    // The alternate screen is cut and padded, never reflowed (tmux neither); the primary screen
    // under it is, with its text kept: its cursor is libvterm's saved one, out of our sight.
    CursorState hidden;
    hidden.row = last_text_row();
    reflow_primary(rows, cols, hidden);
    std::rotate(alt_grid_.begin(), alt_grid_.begin() + static_cast<std::ptrdiff_t>(alt_top_),
                alt_grid_.end());
    alt_top_ = 0;
    alt_grid_.resize(static_cast<std::size_t>(rows), Line(cols, pen_));
    for (Line& l : alt_grid_) l.resize(cols, pen_);
  } else {
    CursorState cursor = cursor_;
    // After the last column tmux's cursor sits past it; a reflow then takes it to the text's end.
    if (wrap_pending_ && wrap_phantom_ && cursor.row == wrap_row_ && cursor.col == wrap_col_) {
      cursor.col = cols_;
    }
    const CursorState placed = reflow_primary(rows, cols, cursor);
    cursor_row_delta = placed.row - cursor_.row;
    cursor_col_delta = placed.col - cursor_.col;
    resize_cursor_ = placed;
    // The alternate screen takes the new size too, or entering it later writes past its end
    // (found by tests/fuzz/screen_fuzz).
    alt_top_ = 0;
    alt_grid_.assign(static_cast<std::size_t>(rows), Line(cols, pen_));
  }
  rows_ = rows;
  cols_ = cols;
  wrap_pending_ = false;
  dirty_.assign(static_cast<std::size_t>(rows), 1);
  all_dirty_ = true;
}

// tmux's order: the height changes first at the old width (rows below the cursor are dropped
// before any goes to history; growing takes lines back from history), then the whole grid,
// history included, is rewrapped and the screen is its last `rows` lines.
CursorState Screen::reflow_primary(int rows, int cols, CursorState cursor) {
  std::vector<Line> lines = take_primary_lines();
  const int old_rows = rows_;
  auto history = lines.size() - static_cast<std::size_t>(old_rows);
  GridPosition pos{history + static_cast<std::size_t>(cursor.row), cursor.col};
  if (rows < old_rows) {
    const int below = old_rows - 1 - cursor.row;
    const int dropped = std::clamp(below, 0, old_rows - rows);
    lines.resize(lines.size() - static_cast<std::size_t>(dropped));
    history += static_cast<std::size_t>(old_rows - rows - dropped);
  } else if (rows > old_rows) {
    const auto wanted = static_cast<std::size_t>(rows - old_rows);
    const std::size_t pulled = std::min(wanted, history);
    history -= pulled;
    lines.resize(lines.size() + wanted - pulled, Line(cols_));
  }
  if (cols != cols_) {
    lines = reflow_lines(std::move(lines), cols, pos);
    if (lines.size() < static_cast<std::size_t>(rows)) {
      lines.resize(static_cast<std::size_t>(rows), Line(cols));
    }
    history = lines.size() - static_cast<std::size_t>(rows);
  }
  CursorState placed = cursor;
  if (pos.line < history) {
    placed.row = placed.col = 0;  // its line went to history: tmux homes the cursor
  } else {
    placed.row = static_cast<int>(pos.line - history);
    placed.col = std::clamp(pos.col, 0, cols - 1);
  }
  for (std::size_t i = 0; i < history; ++i) push_scrollback(lines[i]);
  primary_grid_.assign(std::make_move_iterator(lines.begin() + static_cast<std::ptrdiff_t>(history)),
                       std::make_move_iterator(lines.end()));
  for (Line& l : primary_grid_) l.resize(cols, Pen{});
  primary_top_ = 0;
  return placed;
}

// Scrollback then screen, oldest first, each at least as wide as its text.
std::vector<Line> Screen::take_primary_lines() {
  std::vector<Line> lines;
  lines.reserve(scrollback_.size() + primary_grid_.size());
  for (Line& l : scrollback_) {
    l.resize(std::max(l.size(), l.used()), Pen{});
    lines.push_back(std::move(l));
  }
  scrollback_.clear();
  for (int row = 0; row < rows_; ++row) {
    const std::size_t index = (primary_top_ + static_cast<std::size_t>(row)) % primary_grid_.size();
    lines.push_back(std::move(primary_grid_[index]));
  }
  return lines;
}

int Screen::last_text_row() const {
  const std::vector<Line>& lines = primary_grid_;
  for (int row = rows_ - 1; row > 0; --row) {
    const std::size_t index = (primary_top_ + static_cast<std::size_t>(row)) % lines.size();
    if (!lines[index].is_erased()) return row;
  }
  return 0;
}

// Mirrors VTermScreen: shrinking pushes the top lines into scrollback only as far as needed to
// keep the cursor and the text below it visible; growing pulls lines back from scrollback.
void Screen::resize_truncating(int rows, int cols, int& cursor_row_delta) {
  const int old_rows = rows_;
  if (!alt_active_ && rows < old_rows) {
    const int first_blank = first_blank_row_below(rows, cursor_.row);
    if (first_blank > rows) {
      scroll_lines(0, old_rows, first_blank - rows);
      cursor_row_delta -= first_blank - rows;
    }
  }
  for (auto [lines, ring_top] : {std::pair{&primary_grid_, &primary_top_},
                                 std::pair{&alt_grid_, &alt_top_}}) {
    std::rotate(lines->begin(), lines->begin() + static_cast<std::ptrdiff_t>(*ring_top),
                lines->end());
    *ring_top = 0;
    lines->resize(static_cast<std::size_t>(rows), Line(cols, pen_));
    for (Line& l : *lines) l.resize(cols, pen_);
  }
  rows_ = rows;
  cols_ = cols;
  dirty_.assign(static_cast<std::size_t>(rows), 1);
  all_dirty_ = true;
  if (!alt_active_) {
    for (int added = rows - old_rows; added > 0 && !scrollback_.empty(); --added) {
      pop_scrollback_into_top();
      ++cursor_row_delta;
    }
  }
}

int Screen::first_blank_row_below(int rows, int cursor_row) const {
  int row = rows_ - 1;
  for (; row >= rows; --row) {
    if (!line(row).is_erased() || row == cursor_row) break;
  }
  return row + 1;
}

void Screen::pop_scrollback_into_top() {
  scroll_lines(0, rows_, -1);
  Line& top_line = row_line(0);
  top_line = std::move(scrollback_.back());
  scrollback_.pop_back();
  top_line.resize(cols_, Pen{});
}

}  // namespace sddsh::tui
