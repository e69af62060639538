#pragma once
// Cells and lines of the headless screen model: what one terminal cell shows, without curses.

#include <cstdint>
#include <string>
#include <vector>

namespace sddsh::tui {

enum class ColorKind : std::uint8_t { Default, Indexed, Rgb };

// A cell colour. Default means "the terminal's default fg/bg" and is kept apart from any palette
// entry, because the renderer must leave such cells in the outer terminal's own colours.
struct Color {
  ColorKind kind = ColorKind::Default;
  std::uint8_t r = 0, g = 0, b = 0;  // for Indexed, r holds the palette index (4-byte cells)

  static constexpr Color indexed(std::uint8_t i) { return {ColorKind::Indexed, i, 0, 0}; }
  static constexpr Color rgb(std::uint8_t red, std::uint8_t green, std::uint8_t blue) {
    return {ColorKind::Rgb, red, green, blue};
  }
  constexpr std::uint8_t index() const { return r; }
  constexpr bool is_default() const { return kind == ColorKind::Default; }
  friend constexpr bool operator==(const Color&, const Color&) = default;
};

enum class Underline : std::uint8_t { None, Single, Double, Curly };

struct CellAttrs {
  bool bold : 1 = false;
  bool italic : 1 = false;
  bool blink : 1 = false;
  bool reverse : 1 = false;
  bool strike : 1 = false;
  bool protect : 1 = false;  // DECSCA: survives selective erase
  Underline underline = Underline::None;

  friend constexpr bool operator==(const CellAttrs&, const CellAttrs&) = default;
};

// The pen a glyph is drawn with; erase uses only its colours (background colour erase).
struct Pen {
  CellAttrs attrs;
  Color fg;
  Color bg;
  friend constexpr bool operator==(const Pen&, const Pen&) = default;
};

// Marks the right half of a double-width character.
inline constexpr char32_t kWideTail = 0xFFFFFFFFu;

// 16 bytes: a 100x30 screen is 48 KB and 10 000 lines of scrollback stay well under 50 MB.
struct Cell {
  char32_t ch = 0;  // base character; 0 = never written or erased (shows as a space)
  Pen pen;
  std::uint8_t width = 1;      // 2 on the left half of a wide character, 1 otherwise
  bool has_combining = false;  // combining marks are kept beside the line (they are rare)

  bool is_wide_tail() const { return ch == kWideTail; }
  bool is_blank() const { return ch == 0 || ch == U' '; }
};
static_assert(sizeof(Cell) == 16);

// Combining marks that follow the base character of one cell.
struct CombiningMarks {
  int col = 0;
  std::u32string marks;
};

class Line {
 public:
  Line() = default;
  explicit Line(int cols, const Pen& erase_pen = {}) { reset(cols, erase_pen); }

  int size() const { return static_cast<int>(cells_.size()); }
  // tmux's extent of the line (its `cellused`): one past the last cell written since the line
  // was last cleared whole. Erasing part of it keeps the extent; reflow splits and joins by it.
  int used() const { return used_; }
  // Set when autowrap carried the text on to the next line (or a reflow split the line there);
  // cleared when the whole line is erased, as in tmux.
  bool wrapped() const { return wrapped_; }
  void set_wrapped(bool wrapped) { wrapped_ = wrapped; }
  const Cell& at(int col) const { return cells_[static_cast<std::size_t>(col)]; }
  const std::vector<Cell>& cells() const { return cells_; }

  // Base character plus combining marks; empty for a wide character's right half.
  std::u32string text_at(int col) const;
  // UTF-8, wide characters once, blanks as spaces, trailing spaces trimmed (tmux capture-pane -p).
  std::string to_utf8() const;

  void set(int col, char32_t ch, std::u32string_view marks, int width, const Pen& pen) {
    Cell& cell = cells_[static_cast<std::size_t>(col)];
    // Fast path for the common case: a narrow character over a plain narrow cell.
    if (width == 1 && marks.empty() && cell.width == 1 && !cell.is_wide_tail() &&
        !cell.has_combining) {
      cell.ch = ch;
      cell.pen = pen;
      if (col >= used_) used_ = col + 1;
      return;
    }
    set_slow(col, ch, marks, width, pen);
  }
  void erase(int start_col, int end_col, const Pen& erase_pen, bool selective);
  // Copies cells [src_col, src_col + count) of `src` to [dest_col, ...) of this line.
  void copy_from(const Line& src, int src_col, int dest_col, int count);
  void reset(int cols, const Pen& erase_pen);
  // New cells take the erase pen's colours, as in VTermScreen.
  void resize(int cols, const Pen& erase_pen);
  // Becomes a copy of `other` without the trailing cells that show nothing, so scrollback stays
  // small; reuses this line's storage.
  void assign_trimmed(const Line& other);
  // True when no cell was written since the last erase (spaces count as written).
  bool is_erased() const;

 private:
  void set_slow(int col, char32_t ch, std::u32string_view marks, int width, const Pen& pen);
  void blank_cell(int col, const Pen& erase_pen);
  void drop_marks(int col);
  const CombiningMarks* marks_of(int col) const;
  void split_wide_pair_at(int col);

  std::vector<Cell> cells_;
  std::vector<CombiningMarks> combining_;
  int used_ = 0;
  bool wrapped_ = false;
};

}  // namespace sddsh::tui
