#include "tui/headless_painter.hpp"

#include "tui/utf8.hpp"

namespace sddsh::tui {

void HeadlessPainter::resize(int rows, int cols) {
  rows_ = rows;
  cols_ = cols;
  grid_.assign(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), Slot{});
}

void HeadlessPainter::put(int row, int col, std::u32string_view text, int width,
                          const Style& style) {
  if (row < 0 || row >= rows_ || col < 0 || col >= cols_) return;
  ++puts_;
  at(row, col) = Slot{std::u32string(text), false, style};
  if (width == 2 && col + 1 < cols_) at(row, col + 1) = Slot{{}, true, style};
}

std::vector<std::string> HeadlessPainter::text_lines(int row, int col, int rows, int cols) const {
  std::vector<std::string> lines;
  for (int r = row; r < row + rows && r < rows_; ++r) {
    std::string line;
    for (int c = col; c < col + cols && c < cols_; ++c) {
      const Slot& slot = at(r, c);
      if (slot.tail) continue;
      if (slot.text.empty()) line += ' ';
      else append_utf8(line, slot.text);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<std::string> HeadlessPainter::text_lines() const { return text_lines(0, 0, rows_, cols_); }

}  // namespace sddsh::tui
