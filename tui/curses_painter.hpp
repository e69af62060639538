#pragma once
// The painter for the user's terminal: ncursesw (its own SCREEN, output only; input is read
// raw by the session). Colours: direct colour when the terminal description has it, else the
// nearest of 256 (or 16, or 8), with colour pairs from alloc_pair.
#include <cstdio>
#include <memory>
#include <string>

#include "tui/painter.hpp"

typedef struct screen SCREEN;  // NOLINT: ncurses' own name

namespace sddsh::tui {

class CursesPainter final : public Painter {
 public:
  // `output_fd` is the user's terminal. `term` names the terminal description (TERM); when the
  // environment says the terminal has 24-bit colour, a "-direct256" (or "-direct") variant is
  // used if installed (Debian's ncurses-term).
  CursesPainter(int output_fd, const std::string& term, bool truecolor_hint);
  ~CursesPainter() override;
  CursesPainter(const CursesPainter&) = delete;
  CursesPainter& operator=(const CursesPainter&) = delete;

  int rows() const override { return rows_; }
  int cols() const override { return cols_; }
  void resize(int rows, int cols) override;
  void put(int row, int col, std::u32string_view text, int width, const Style& style) override;
  void set_cursor(const PaintCursor& cursor) override { cursor_ = cursor; }
  void present() override;
  void send_to_terminal(std::string_view bytes) override { pending_terminal_bytes_ += bytes; }

  // Leaves curses mode (alternate screen, modes) for good.
  void end();
  int colors() const { return colors_; }

 private:
  int pair_for(const Style& style);
  int curses_color(const Color& color) const;
  void write_raw(std::string_view bytes);

  int output_fd_;
  FILE* output_ = nullptr;
  FILE* input_ = nullptr;
  SCREEN* screen_ = nullptr;
  int rows_ = 0;
  int cols_ = 0;
  int colors_ = 0;
  bool direct_color_ = false;
  bool palette_in_direct_ = false;  // a "-direct256" description: 0..255 stay palette colours
  bool ended_ = false;
  PaintCursor cursor_;
  PaintCursor shown_cursor_;
  bool cursor_style_sent_ = false;
  std::string pending_terminal_bytes_;
  Style last_style_;
  int last_pair_ = -1;  // the pair of last_style_'s colours; -1 before the first lookup
};

}  // namespace sddsh::tui
