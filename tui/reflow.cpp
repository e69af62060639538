#include "tui/reflow.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace sddsh::tui {
namespace {

// Where a logical line (one line plus the continuations autowrap gave it) lies in the old grid.
struct LogicalLine {
  std::size_t first = 0;
  std::size_t end = 0;        // one past its last piece that holds text
  std::size_t consumed = 0;   // one past the last old line it takes up (an eaten empty line)
  bool ends_wrapped = false;  // its last piece still continues (tmux keeps the flag then)
};

// tmux joins a wrapped line with the lines after it until one is not wrapped; an empty
// continuation stops the join, and is eaten when it is not wrapped itself.
LogicalLine logical_line_at(const std::vector<Line>& lines, std::size_t first) {
  LogicalLine logical{first, first + 1, first + 1, lines[first].wrapped()};
  while (logical.ends_wrapped && logical.end < lines.size()) {
    const Line& next = lines[logical.end];
    if (next.used() == 0) {
      if (!next.wrapped()) {
        logical.consumed = logical.end + 1;
        logical.ends_wrapped = false;
      }
      break;
    }
    logical.ends_wrapped = next.wrapped();
    logical.consumed = ++logical.end;
  }
  return logical;
}

// Cells [0, used) of each piece, cut into lines of `cols`, a wide character never split.
class Rewrapper {
 public:
  Rewrapper(std::vector<Line>& out, int cols) : out_(out), cols_(cols), line_(cols) {}

  // Appends the cells of `piece`; `cursor_col`, when given, is a column of it to track.
  void append(const Line& piece, std::optional<int> cursor_col) {
    for (int col = 0; col < piece.used();) {
      const int width = piece.at(col).width == 2 ? 2 : 1;
      if (width_ + width > cols_ && width_ > 0) break_line();
      const int count = std::min({width, cols_ - width_, piece.size() - col});
      line_.copy_from(piece, col, width_, count);
      if (cursor_col && *cursor_col >= col && *cursor_col < col + width) {
        cursor_ = GridPosition{out_.size(), width_ + (*cursor_col - col)};
      }
      width_ += width;
      col += width;
    }
  }
  void finish(bool wrapped) {
    line_.set_wrapped(wrapped);
    out_.push_back(std::move(line_));
  }
  // The end of the text: where tmux puts a cursor that sat past its line's text.
  GridPosition end() const { return {out_.size(), std::min(width_, cols_)}; }
  std::optional<GridPosition> cursor() const { return cursor_; }

 private:
  void break_line() {
    line_.set_wrapped(true);
    out_.push_back(std::exchange(line_, Line(cols_)));
    width_ = 0;
  }

  std::vector<Line>& out_;
  int cols_;
  Line line_;
  int width_ = 0;
  std::optional<GridPosition> cursor_;
};

bool holds(const LogicalLine& logical, const GridPosition& pos) {
  return pos.line >= logical.first && pos.line < logical.consumed;
}

}  // namespace

std::vector<Line> reflow_lines(std::vector<Line> lines, int cols, GridPosition& cursor) {
  std::vector<Line> out;
  out.reserve(lines.size() + lines.size() / 4);
  GridPosition new_cursor = cursor;
  for (std::size_t first = 0; first < lines.size();) {
    const LogicalLine logical = logical_line_at(lines, first);
    const bool has_cursor = holds(logical, cursor);
    Line& head = lines[first];
    if (logical.end == first + 1 && head.used() <= cols) {
      // Fits as it is: moved whole, colours past its text included, as tmux moves it.
      if (has_cursor) new_cursor = {out.size(), std::min(cursor.col, head.used())};
      head.resize(cols, Pen{});
      out.push_back(std::move(head));
      first = logical.consumed;
      continue;
    }
    Rewrapper rewrap(out, cols);
    bool cursor_at_end = has_cursor;
    for (std::size_t i = first; i < logical.end; ++i) {
      std::optional<int> col;
      if (has_cursor && cursor.line == i && cursor.col < lines[i].used()) {
        col = cursor.col;
        cursor_at_end = false;
      }
      rewrap.append(lines[i], col);
    }
    if (cursor_at_end) new_cursor = rewrap.end();
    rewrap.finish(logical.ends_wrapped);
    if (auto pos = rewrap.cursor()) new_cursor = *pos;
    first = logical.consumed;
  }
  cursor = new_cursor;
  return out;
}

}  // namespace sddsh::tui
