#pragma once
// A painter that keeps the frame in memory: what tests read instead of a terminal.
#include <string>
#include <vector>

#include "tui/painter.hpp"

namespace sddsh::tui {

class HeadlessPainter final : public Painter {
 public:
  HeadlessPainter(int rows, int cols) { resize(rows, cols); }

  int rows() const override { return rows_; }
  int cols() const override { return cols_; }
  void resize(int rows, int cols) override;
  void put(int row, int col, std::u32string_view text, int width, const Style& style) override;
  void set_cursor(const PaintCursor& cursor) override { cursor_ = cursor; }
  void present() override { ++frames_; }
  void send_to_terminal(std::string_view bytes) override { terminal_bytes_ += bytes; }

  // Each row as UTF-8, trailing spaces trimmed, as `tmux capture-pane -p` prints a pane.
  std::vector<std::string> text_lines() const;
  // The text of a rectangle of the frame, rows trimmed on the right.
  std::vector<std::string> text_lines(int row, int col, int rows, int cols) const;
  const Style& style_at(int row, int col) const { return at(row, col).style; }
  const PaintCursor& cursor() const { return cursor_; }
  int frames() const { return frames_; }
  const std::string& terminal_bytes() const { return terminal_bytes_; }
  int puts_since_reset() const { return puts_; }
  void reset_put_count() { puts_ = 0; }

 private:
  struct Slot {
    std::u32string text;  // empty: blank; a wide character's right half is marked by `tail`
    bool tail = false;
    Style style;
  };
  std::size_t index(int row, int col) const {
    return static_cast<std::size_t>(row) * static_cast<std::size_t>(cols_) + static_cast<std::size_t>(col);
  }
  Slot& at(int row, int col) { return grid_[index(row, col)]; }
  const Slot& at(int row, int col) const { return grid_[index(row, col)]; }

  int rows_ = 0;
  int cols_ = 0;
  std::vector<Slot> grid_;
  PaintCursor cursor_;
  int frames_ = 0;
  int puts_ = 0;
  std::string terminal_bytes_;
};

}  // namespace sddsh::tui
