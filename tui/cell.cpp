#include "tui/cell.hpp"

#include "tui/utf8.hpp"

#include <algorithm>

namespace sddsh::tui {
namespace {

std::size_t index(int col) { return static_cast<std::size_t>(col); }

// Erased cells keep only the pen's colours (background colour erase), like VTermScreen.
Cell blank_with(const Pen& erase_pen) {
  Cell blank;
  blank.pen.fg = erase_pen.fg;
  blank.pen.bg = erase_pen.bg;
  return blank;
}

}  // namespace

std::u32string Line::text_at(int col) const {
  const Cell& cell = at(col);
  if (cell.is_wide_tail()) return {};
  std::u32string text(1, cell.ch == 0 ? U' ' : cell.ch);
  if (cell.has_combining) {
    if (const CombiningMarks* marks = marks_of(col)) text += marks->marks;
  }
  return text;
}

std::string Line::to_utf8() const {
  std::string out;
  out.reserve(cells_.size());
  for (int col = 0; col < size(); ++col) {
    for (char32_t c : text_at(col)) append_utf8(out, c);
  }
  out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

void Line::set_slow(int col, char32_t ch, std::u32string_view marks, int width,
                    const Pen& pen) {
  split_wide_pair_at(col);
  if (width == 2 && col + 1 < size()) split_wide_pair_at(col + 1);
  drop_marks(col);
  used_ = std::max(used_, std::min(col + width, size()));
  Cell& cell = cells_[index(col)];
  cell.ch = ch;
  cell.pen = pen;
  cell.width = static_cast<std::uint8_t>(width);
  cell.has_combining = !marks.empty();
  if (cell.has_combining) combining_.push_back({col, std::u32string(marks)});
  for (int tail = col + 1; tail < col + width && tail < size(); ++tail) {
    drop_marks(tail);
    Cell& tail_cell = cells_[index(tail)];
    tail_cell.ch = kWideTail;  // keeps its old pen, like VTermScreen (selective erase agrees)
    tail_cell.width = 1;
  }
}

// Overwriting one half of a wide character blanks the other half, as tmux does; otherwise the
// row would keep half a glyph and every later column would be off by one.
void Line::split_wide_pair_at(int col) {
  const Cell& cell = at(col);
  if (cell.is_wide_tail() && col > 0 && at(col - 1).width == 2) {
    blank_cell(col - 1, at(col - 1).pen);
  } else if (cell.width == 2 && col + 1 < size() && at(col + 1).is_wide_tail()) {
    blank_cell(col + 1, at(col + 1).pen);
  }
}

void Line::blank_cell(int col, const Pen& erase_pen) {
  drop_marks(col);
  cells_[index(col)] = blank_with(erase_pen);
}

void Line::erase(int start_col, int end_col, const Pen& erase_pen, bool selective) {
  end_col = std::min(end_col, size());
  start_col = std::max(start_col, 0);
  if (start_col >= end_col) return;
  if (!selective && start_col == 0 && end_col == size()) {
    used_ = 0;  // a line cleared whole starts afresh, as in tmux
    wrapped_ = false;
  }
  if (!selective && combining_.empty()) {
    const Cell blank = blank_with(erase_pen);
    std::fill(cells_.begin() + start_col, cells_.begin() + end_col, blank);
    return;
  }
  for (int col = start_col; col < end_col; ++col) {
    if (selective && at(col).pen.attrs.protect) continue;
    blank_cell(col, erase_pen);
  }
}

void Line::copy_from(const Line& src, int src_col, int dest_col, int count) {
  std::vector<CombiningMarks> moved;
  for (int i = 0; i < count; ++i) {
    if (const CombiningMarks* marks = src.marks_of(src_col + i)) {
      moved.push_back({dest_col + i, marks->marks});
    }
  }
  std::erase_if(combining_, [&](const CombiningMarks& m) {
    return m.col >= dest_col && m.col < dest_col + count;
  });
  // copy_backward keeps an overlapping move to the right (insert characters) correct.
  auto first = src.cells_.begin() + src_col;
  if (&src == this && dest_col > src_col) {
    std::copy_backward(first, first + count, cells_.begin() + dest_col + count);
  } else {
    std::copy(first, first + count, cells_.begin() + dest_col);
  }
  for (int i = 0; i < count; ++i) cells_[index(dest_col + i)].has_combining = false;
  if (count > 0) used_ = std::max(used_, dest_col + count);  // tmux counts moved cells as used
  for (CombiningMarks& marks : moved) {
    cells_[index(marks.col)].has_combining = true;
    combining_.push_back(std::move(marks));
  }
}

void Line::reset(int cols, const Pen& erase_pen) {
  cells_.assign(index(cols), blank_with(erase_pen));
  combining_.clear();
  used_ = 0;
  wrapped_ = false;
}

void Line::resize(int cols, const Pen& erase_pen) {
  cells_.resize(index(cols), blank_with(erase_pen));
  used_ = std::min(used_, cols);
  std::erase_if(combining_, [cols](const CombiningMarks& m) { return m.col >= cols; });
  // A wide character cut in half at the new right edge would overhang: blank it.
  if (cols > 0 && cells_.back().width == 2) blank_cell(cols - 1, cells_.back().pen);
}

void Line::assign_trimmed(const Line& other) {
  auto shows_nothing = [](const Cell& c) {
    return c.ch == 0 && c.pen.bg.is_default() && !c.pen.attrs.reverse;
  };
  auto last = std::find_if_not(other.cells_.rbegin(), other.cells_.rend(), shows_nothing);
  cells_.assign(other.cells_.begin(), last.base());
  for (Cell& cell : cells_) cell.pen.attrs.protect = false;  // history is not erasable
  const int kept = size();
  used_ = other.used_;  // may pass size(): the trimmed cells were written blanks
  wrapped_ = other.wrapped_;
  combining_.clear();
  for (const CombiningMarks& m : other.combining_) {
    if (m.col < kept) combining_.push_back(m);
  }
}

bool Line::is_erased() const {
  return std::all_of(cells_.begin(), cells_.end(), [](const Cell& c) { return c.ch == 0; });
}

void Line::drop_marks(int col) {
  Cell& cell = cells_[index(col)];
  if (!cell.has_combining) return;
  cell.has_combining = false;
  std::erase_if(combining_, [col](const CombiningMarks& m) { return m.col == col; });
}

const CombiningMarks* Line::marks_of(int col) const {
  auto it = std::find_if(combining_.begin(), combining_.end(),
                         [col](const CombiningMarks& m) { return m.col == col; });
  return it == combining_.end() ? nullptr : &*it;
}

}  // namespace sddsh::tui
