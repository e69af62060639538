// The fast path for plain text. libvterm costs ~15 ns a glyph (UTF-8 decoding, a putglyph
// callback, cursor bookkeeping); `cat` of a big file is nearly all runs of printable ASCII, so
// most of each run is written into the grid here and libvterm only hears of a cursor move.
//
// libvterm still draws each run's first character (so that a pending autowrap, a wrap onto a
// new line and our wrap tracking happen as ever; its putglyph tells us where the run starts and
// that it draws plain cells there) and the run's last characters from two columns before the
// right edge on (so that wrapping, scrolling, the `wrapped` flags and REP/combining state stay
// its job). In between, cells are set exactly as putglyph would set them.
#include <vterm.h>

#include <algorithm>
#include <charconv>

#include "tui/screen.hpp"

namespace sddsh::tui {
namespace {

// Below this a cursor move costs more than the glyphs it saves.
constexpr std::size_t kMinFastCells = 8;

bool is_printable_ascii(char c) { return c >= 0x20 && c <= 0x7e; }
bool is_c0(char c) { return static_cast<unsigned char>(c) < 0x20; }

}  // namespace

void Screen::forward_to_vterm(std::string_view bytes) {
  vterm_input_write(vt_.get(), bytes.data(), bytes.size());
}

// `span` reaches libvterm in its ground state with a safe TextSafety (see VtFilter). A run is
// only taken when it starts one of libvterm's text chunks (after a control or at the start of
// a write): in mid-chunk, after non-ASCII bytes, another UTF-8 decoder than the one for GL would
// be fed, and 0.1.4's decoders keep partial sequences apart.
void Screen::write_text(std::string_view span) {
  std::size_t sent = 0;  // span[0, sent) has gone to libvterm
  std::size_t pos = 0;
  while (pos < span.size()) {
    if (!is_printable_ascii(span[pos]) || (pos > 0 && !is_c0(span[pos - 1]))) {
      ++pos;
      continue;
    }
    std::size_t end = pos + 1;
    while (end < span.size() && is_printable_ascii(span[end])) ++end;
    if (end - pos >= kMinFastCells + 2) sent = write_run(span, sent, pos, end);
    pos = end;
  }
  if (sent < span.size()) forward_to_vterm(span.substr(sent));
}

// Writes span[begin, end), a run of printable ASCII; span[sent, begin) is still to go to
// libvterm first. Returns how far the span has gone to libvterm (or into the grid).
std::size_t Screen::write_run(std::string_view span, std::size_t sent, std::size_t begin,
                              std::size_t end) {
  std::size_t drawn = begin;  // the character libvterm draws just before the cells we set
  while (true) {
    last_plain_.ch = 0;
    forward_to_vterm(span.substr(sent, drawn + 1 - sent));
    sent = drawn + 1;
    const std::optional<int> col = column_after_plain_glyph(span[drawn]);
    if (!col) return sent;
    // Stop two columns short of the edge (where putglyph notes a possible wrap), and leave at
    // least the run's last character to libvterm.
    const auto room = static_cast<std::size_t>(std::max(cols_ - 2 - *col, 0));
    const std::size_t count = std::min(room, end - sent - 1);
    if (count < kMinFastCells) return sent;
    const int row = last_plain_.row;
    Line& line = row_line(row);
    for (std::size_t i = 0; i < count; ++i) {
      line.set(*col + static_cast<int>(i), static_cast<char32_t>(span[sent + i]), {}, 1, pen_);
    }
    mark_dirty(row);
    move_vterm_cursor_right(static_cast<int>(count));
    sent += count;
    // libvterm draws up to the right edge, and autowrap takes the next character to column 0:
    // that one starts the next stretch.
    drawn = sent + static_cast<std::size_t>(cols_ - *col) - count;
    if (drawn + kMinFastCells + 1 >= end) return sent;
  }
}

// Where the cells after span[drawn] go, if libvterm just drew it as a plain narrow glyph and
// moved the cursor one column on (no autowrap pending, no insert mode shifting the line).
std::optional<int> Screen::column_after_plain_glyph(char drawn) const {
  if (last_plain_.ch != static_cast<char32_t>(drawn)) return std::nullopt;
  VTermPos pos;
  vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &pos);
  if (pos.row != last_plain_.row || pos.col != last_plain_.col + 1) return std::nullopt;
  return pos.col;
}

// CUF: no origin mode (TextSafety) and no right margin, so it moves exactly that far.
void Screen::move_vterm_cursor_right(int columns) {
  char cuf[16] = "\x1b[";
  char* end = std::to_chars(cuf + 2, cuf + sizeof cuf - 1, columns).ptr;
  *end++ = 'C';
  forward_to_vterm(std::string_view(cuf, static_cast<std::size_t>(end - cuf)));
}

}  // namespace sddsh::tui
