#pragma once
// Where frames go: the user's terminal through ncursesw, or a grid in memory for tests.
// The renderer decides what to draw; a painter only knows how.
#include <string>
#include <string_view>

#include "tui/cell.hpp"

namespace sddsh::tui {

struct Style {
  Color fg;
  Color bg;
  CellAttrs attrs;
  static Style of(const Pen& pen) { return {pen.fg, pen.bg, pen.attrs}; }
  friend bool operator==(const Style&, const Style&) = default;
};

enum class CursorStyle : std::uint8_t { Default, Block, Underline, Bar };

struct PaintCursor {
  bool visible = false;
  int row = 0;
  int col = 0;
  CursorStyle style = CursorStyle::Default;
  bool blink = true;
};

class Painter {
 public:
  virtual ~Painter() = default;
  virtual int rows() const = 0;
  virtual int cols() const = 0;
  // The user's terminal changed size; everything must be drawn again.
  virtual void resize(int rows, int cols) = 0;
  // One cell: a base character and its combining marks (empty: a blank), `width` as the model
  // says (1, or 2 for a wide character, whose right half is not put).
  virtual void put(int row, int col, std::u32string_view text, int width, const Style& style) = 0;
  virtual void set_cursor(const PaintCursor& cursor) = 0;
  // The frame is complete: show it.
  virtual void present() = 0;
  // Bytes for the user's terminal itself, written after the next frame (mode changes, OSC 52).
  virtual void send_to_terminal(std::string_view bytes) = 0;
};

}  // namespace sddsh::tui
