// Keyframes: save_state() writes everything that decides what later bytes do and show, and
// restore_state() makes any Screen continue from there as the saved one would.
//
// Most of that state is ours: the grids, the cursor, the pen, the modes the filter tracks. The
// rest libvterm 0.1.4 keeps to itself, with a getter only for the cursor, the pen and the
// double-width lines: the scroll region and margins, DECSC's slot, the tab stops, the character
// sets, autowrap, insert and origin mode and the like, the pending wrap at the right edge, and the
// last glyph drawn (what REP repeats and a combining mark in the next write joins). Two ways were
// open: copy libvterm's private struct, or follow that state as the bytes go by and, on restore,
// feed a fresh libvterm sequences that put it back, its callbacks silenced. We follow and feed:
// 0.1.4's struct is no API, its sequences are. The filter follows what depends on the bytes alone
// (HiddenModes), the Screen what depends on libvterm's cursor or size (HiddenVtState, from the
// filter's VtEvents and libvterm's callbacks), both with 0.1.4's own rules, probed one by one
// (tests/unit/tui/screen_state_test.cpp checks them through split streams).
//
// Where a cut falls between two writes, the restored screen continues as the screen that got
// those two writes, which is what the live one did. 0.1.4 itself is not indifferent to that in
// one case: a combining mark that comes in another write than its base at the right edge goes
// to the next line (a UTF-8 character cut in two is held by the filter and needs no such note).
//
// Known gaps, all far from what agents send:
// - A glyph of width 0 (a combining mark drawn alone) is not replayed as the last glyph: REP or a
//   combining mark right after the cut differs.
// - Double-width lines (ESC # 6), which the grid ignores as tmux does: a pending wrap or a cursor
//   past the row's end left before the line changed width (ESC # 6, ESC # 5, ED) restores as if
//   it had been left on the line as it is now.
// - Origin mode with left/right margins (DECLRMM), where 0.1.4 clamps its cursor into the
//   margins at every CSI: a cursor right of the right margin that text did not leave there (HT,
//   DECRC) is taken there by spaces, so REP repeats a space and a combining mark may join it.
// - An over-long CSI (over VtFilter::kMaxPassthrough bytes) cut in the middle loses its start.
// - libvterm's cursor is taken from the Screen's, which is clamped to the screen (0.1.4 can leave
//   its own off the screen after a resize, trap 3 in docs/screen-model.md).
// - Not carried, as they come from the user, not from the agent: mouse buttons held down, and
//   colour queries waiting for the user's terminal (ScreenOptions::colours_pending).
// - Scrollback: the newest `scrollback_lines` are kept, stretched back to where their first
//   logical line starts, so that a reflow rewraps them as it would have. A resize after the
//   restore still differs where it pulls back (taller) or rewraps (narrower) older lines than
//   those kept: ask for the whole scrollback when resizes follow.
#include <vterm.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "tui/screen.hpp"

namespace sddsh::tui {
namespace {

constexpr std::string_view kMagic = "sdKF";  // sddsh keyframe
constexpr std::uint8_t kVersion = 1;
constexpr int kMaxSide = 10000;
constexpr std::uint64_t kMaxGridCells = 1u << 22;     // rows * cols
constexpr std::uint64_t kMaxDecodedCells = 1u << 23;  // all lines together, scrollback included
constexpr std::size_t kMaxMarks = VTERM_MAX_CHARS_PER_CELL - 1;
constexpr std::uint32_t kMaxCodepoint = 0x7FFFFFFF;  // what libvterm's 6-byte UTF-8 reaches

// ---------------------------------------------------------------------------------------------
// Bytes

class Writer {
 public:
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void flags(std::initializer_list<bool> bits) {
    std::uint8_t packed = 0;
    int index = 0;
    for (bool on : bits) {
      if (on) packed |= static_cast<std::uint8_t>(1u << index);
      ++index;
    }
    byte(packed);
  }
  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      byte(static_cast<std::uint8_t>(value | 0x80));
      value >>= 7;
    }
    byte(static_cast<std::uint8_t>(value));
  }
  void text(std::string_view s) {
    varint(s.size());
    out_ += s;
  }
  void raw(std::string_view s) { out_ += s; }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// Never trusts a length: every read is checked against what is left, and the first failure
// sticks (later reads return zeros), so a decoder reads on and checks ok() where it matters.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool fail() { return ok_ = false; }

  std::uint8_t byte() {
    if (!ok_ || pos_ >= in_.size()) return static_cast<std::uint8_t>(fail());
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  // Up to `max`; anything over it, or a varint longer than 64 bits, fails.
  std::uint64_t varint(std::uint64_t max) {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      if (!ok_) return 0;
      const std::uint64_t bits = b & 0x7Fu;
      if (shift > 57 && (bits >> (64 - shift)) != 0) break;
      value |= bits << shift;
      if ((b & 0x80) == 0) {
        if (value > max) break;
        return value;
      }
    }
    fail();
    return 0;
  }
  int number(int max) { return static_cast<int>(varint(static_cast<std::uint64_t>(max))); }
  // A byte of flags: only the low `count` bits may be set.
  std::uint8_t flags(int count) {
    const std::uint8_t b = byte();
    if ((b >> count) != 0) fail();
    return b;
  }
  std::string_view bytes(std::size_t count) {
    if (!ok_ || count > remaining()) {
      fail();
      return {};
    }
    const std::string_view out = in_.substr(pos_, count);
    pos_ += count;
    return out;
  }
  std::string text(std::size_t max) { return std::string(bytes(varint(max))); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

bool bit(std::uint8_t flags, int index) {
  return ((flags >> index) & 1u) != 0;
}

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

// CRC-32: a flipped byte anywhere (a cell's text included) fails the decode.
std::uint32_t crc32(std::string_view data) {
  static constexpr std::array<std::uint32_t, 256> kTable = make_crc_table();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) crc = kTable[(crc ^ static_cast<std::uint8_t>(c)) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void write_u32(Writer& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.byte(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint32_t read_u32(Reader& in) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(in.byte()) << (8 * i);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Pens: each distinct one is written once; cells refer to it by index.

std::uint8_t attr_bits(const CellAttrs& a) {
  return static_cast<std::uint8_t>(a.bold | a.italic << 1 | a.blink << 2 | a.reverse << 3 |
                                   a.strike << 4 | a.protect << 5 |
                                   static_cast<unsigned>(a.underline) << 6);
}

CellAttrs attrs_from_bits(std::uint8_t bits) {
  CellAttrs a;
  a.bold = bit(bits, 0);
  a.italic = bit(bits, 1);
  a.blink = bit(bits, 2);
  a.reverse = bit(bits, 3);
  a.strike = bit(bits, 4);
  a.protect = bit(bits, 5);
  a.underline = static_cast<Underline>(bits >> 6);
  return a;
}

std::uint64_t color_key(const Color& c) {
  return static_cast<std::uint64_t>(c.kind) << 24 | std::uint64_t{c.r} << 16 |
         std::uint64_t{c.g} << 8 | c.b;
}

class PenTable {
 public:
  std::uint32_t index_of(const Pen& pen) {
    const std::uint64_t key =
        std::uint64_t{attr_bits(pen.attrs)} << 52 | color_key(pen.fg) << 26 | color_key(pen.bg);
    auto [it, added] = index_.try_emplace(key, static_cast<std::uint32_t>(pens_.size()));
    if (added) pens_.push_back(pen);
    return it->second;
  }
  const std::vector<Pen>& pens() const { return pens_; }

 private:
  std::unordered_map<std::uint64_t, std::uint32_t> index_;
  std::vector<Pen> pens_;
};

void write_color(Writer& out, const Color& c) {
  out.byte(static_cast<std::uint8_t>(c.kind));
  if (c.kind == ColorKind::Indexed) out.byte(c.r);
  if (c.kind == ColorKind::Rgb) {
    out.byte(c.r);
    out.byte(c.g);
    out.byte(c.b);
  }
}

Color read_color(Reader& in) {
  switch (in.byte()) {
    case 0:
      return {};
    case 1:
      return Color::indexed(in.byte());
    case 2: {
      const std::uint8_t r = in.byte();
      const std::uint8_t g = in.byte();
      return Color::rgb(r, g, in.byte());
    }
    default:
      in.fail();
      return {};
  }
}

void write_pens(Writer& out, const std::vector<Pen>& pens) {
  out.varint(pens.size());
  for (const Pen& pen : pens) {
    out.byte(attr_bits(pen.attrs));
    write_color(out, pen.fg);
    write_color(out, pen.bg);
  }
}

std::vector<Pen> read_pens(Reader& in) {
  const auto count = in.varint(in.remaining() / 3);  // each takes at least 3 bytes
  std::vector<Pen> pens;
  pens.reserve(count);
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    Pen pen;
    pen.attrs = attrs_from_bits(in.byte());
    pen.fg = read_color(in);
    pen.bg = read_color(in);
    pens.push_back(pen);
  }
  return pens;
}

const Pen& read_pen_index(Reader& in, const std::vector<Pen>& pens) {
  static const Pen kNone;
  if (pens.empty()) {
    in.fail();
    return kNone;
  }
  return pens[in.varint(pens.size() - 1)];
}

// ---------------------------------------------------------------------------------------------
// Lines: per line its extent and wrap flag, then runs of cells sharing a pen, up to the last
// cell that is not a default blank. Within a run a cell is one varint code:

enum CellCode : std::uint32_t {
  kCodeBlank = 0,       // never written or erased
  kCodeWideTail = 1,    // right half of a wide character
  kCodeExtended = 2,    // then: character, width, marks
  kCodeBlankRun = 3,    // then: how many blanks
  kCodeFirstPlain = 4,  // from here on: a narrow character without marks, as itself
};

bool is_blank(const Cell& c) {
  return c.ch == 0 && c.width == 1 && !c.has_combining;
}
bool is_default_blank(const Cell& c) {
  return is_blank(c) && c.pen == Pen{};
}

int content_length(const Line& line) {
  int length = line.size();
  while (length > 0 && is_default_blank(line.at(length - 1))) --length;
  return length;
}

void write_extended_cell(Writer& out, const Line& line, int col) {
  const Cell& cell = line.at(col);
  out.varint(kCodeExtended);
  out.varint(cell.ch);
  out.byte(cell.width);
  const std::u32string marks = cell.has_combining ? line.text_at(col).substr(1) : U"";
  out.varint(marks.size());
  for (char32_t mark : marks) out.varint(mark);
}

// Writes the cell at `col` (or the blanks starting there) and returns where the next one starts.
int write_cell(Writer& out, const Line& line, int col, int run_end) {
  const Cell& cell = line.at(col);
  if (is_blank(cell)) {
    int count = 1;
    while (col + count < run_end && is_blank(line.at(col + count))) ++count;
    if (count == 1) {
      out.varint(kCodeBlank);
    } else {
      out.varint(kCodeBlankRun);
      out.varint(static_cast<std::uint64_t>(count));
    }
    return col + count;
  }
  if (cell.is_wide_tail() && cell.width == 1 && !cell.has_combining) {
    out.varint(kCodeWideTail);
  } else if (cell.width == 1 && !cell.has_combining && cell.ch >= kCodeFirstPlain) {
    out.varint(cell.ch);
  } else {
    write_extended_cell(out, line, col);
  }
  return col + 1;
}

void write_line(Writer& out, PenTable& pens, const Line& line, bool with_size) {
  if (with_size) out.varint(static_cast<std::uint64_t>(line.size()));
  out.varint(static_cast<std::uint64_t>(line.used()) << 1 | (line.wrapped() ? 1u : 0u));
  const int length = content_length(line);
  out.varint(static_cast<std::uint64_t>(length));
  for (int col = 0; col < length;) {
    const Pen& pen = line.at(col).pen;
    int end = col + 1;
    while (end < length && line.at(end).pen == pen) ++end;
    out.varint(pens.index_of(pen));
    out.varint(static_cast<std::uint64_t>(end - col));
    for (int cell = col; cell < end;) cell = write_cell(out, line, cell, end);
    col = end;
  }
}

struct DecodedCell {
  Cell cell;
  std::array<char32_t, kMaxMarks> marks{};
  std::uint8_t mark_count = 0;
  std::u32string_view mark_view() const { return {marks.data(), mark_count}; }
};

DecodedCell read_extended_cell(Reader& in, const Pen& pen) {
  DecodedCell d;
  d.cell.pen = pen;
  d.cell.ch = static_cast<char32_t>(in.varint(0xFFFFFFFFu));
  d.cell.width = in.byte();
  d.mark_count = static_cast<std::uint8_t>(in.varint(kMaxMarks));
  for (std::size_t i = 0; i < d.mark_count && in.ok(); ++i) {
    d.marks[i] = static_cast<char32_t>(in.varint(kMaxCodepoint));
    if (d.marks[i] == 0) in.fail();
  }
  d.cell.has_combining = d.mark_count > 0;
  // Width 0: a combining mark 0.1.4 drew alone, as its own glyph.
  const bool drawn = d.cell.ch != 0 && !d.cell.is_wide_tail();
  if (d.cell.width > 2 || (d.cell.width != 1 && !drawn) || (d.cell.has_combining && !drawn)) {
    in.fail();
  }
  return d;
}

// Reads the codes of `count` cells drawn with `pen` onto `cells`.
void read_run(Reader& in, const Pen& pen, std::size_t count, std::vector<DecodedCell>& cells) {
  const std::size_t end = cells.size() + count;
  while (cells.size() < end && in.ok()) {
    DecodedCell d;
    d.cell.pen = pen;
    const auto code = static_cast<std::uint32_t>(in.varint(0xFFFFFFFFu));
    switch (code) {
      case kCodeBlank:
        break;
      case kCodeWideTail:
        d.cell.ch = kWideTail;
        break;
      case kCodeExtended:
        d = read_extended_cell(in, pen);
        break;
      case kCodeBlankRun: {
        const auto blanks = in.varint(end - cells.size());
        if (blanks < 2) return static_cast<void>(in.fail());
        cells.insert(cells.end(), blanks - 1, d);
        break;
      }
      default:
        d.cell.ch = code;
        break;
    }
    cells.push_back(d);
  }
}

void read_cells(Reader& in, const std::vector<Pen>& pens, std::size_t count,
                std::vector<DecodedCell>& cells) {
  cells.clear();
  while (cells.size() < count && in.ok()) {
    const Pen& pen = read_pen_index(in, pens);
    const auto run = in.varint(count - cells.size());
    if (run == 0) in.fail();
    read_run(in, pen, run, cells);
  }
}

// Past a line's extent only blanks can be, with no more than the colours erase gave them; but
// a glyph of width 0 right at the extent, which it does not pass.
bool fits_extent(const std::vector<DecodedCell>& cells, int used) {
  for (std::size_t col = static_cast<std::size_t>(used); col < cells.size(); ++col) {
    const Cell& c = cells[col].cell;
    const bool zero_width_at_extent = c.width == 0 && col == static_cast<std::size_t>(used);
    if (!zero_width_at_extent && (!is_blank(c) || !(c.pen.attrs == CellAttrs{}))) return false;
  }
  return true;
}

// Rebuilds a line through Line's own operations. Wide characters are copied in raw from a
// scratch line, because Line::set pairs a head with a tail and blanks half-pairs it overwrites,
// while a saved line may hold half-pairs that moved cells left behind.
Line build_line(int width, int used, bool wrapped, const std::vector<DecodedCell>& cells) {
  Line line(width);
  Line scratch(2);
  for (int col = 0; col < static_cast<int>(cells.size()); ++col) {
    const DecodedCell& d = cells[static_cast<std::size_t>(col)];
    const Cell& c = d.cell;
    if (c.width == 2) {
      scratch.reset(2, Pen{});
      scratch.set(0, c.ch, d.mark_view(), 2, c.pen);
      line.copy_from(scratch, 0, col, 1);
    } else if (col < used || c.width == 0) {
      line.set(col, c.ch, d.mark_view(), c.width, c.pen);  // width 0 does not pass `col`
    } else if (!(c.pen == Pen{})) {
      line.erase(col, col + 1, c.pen, false);
    }
  }
  if (used > line.used()) {  // blanks written, then erased, still count (tmux's extent)
    scratch.copy_from(line, used - 1, 0, 1);
    line.copy_from(scratch, 0, used - 1, 1);
  }
  line.set_wrapped(wrapped);
  return line;
}

// Bounds the memory a hostile state can make us spend, whatever its size.
class CellBudget {
 public:
  bool spend(std::uint64_t cells) {
    spent_ += cells;
    return spent_ <= kMaxDecodedCells;
  }

 private:
  std::uint64_t spent_ = 0;
};

std::optional<Line> read_screen_line(Reader& in, const std::vector<Pen>& pens, int cols,
                                     CellBudget& budget, std::vector<DecodedCell>& cells) {
  const auto extent = in.varint((std::uint64_t{static_cast<unsigned>(cols)} << 1) | 1u);
  const int used = static_cast<int>(extent >> 1);
  const auto length = static_cast<std::size_t>(in.varint(static_cast<std::uint64_t>(cols)));
  if (!in.ok() || !budget.spend(static_cast<std::uint64_t>(cols))) return std::nullopt;
  read_cells(in, pens, length, cells);
  if (!in.ok() || !fits_extent(cells, used)) return std::nullopt;
  return build_line(cols, used, (extent & 1u) != 0, cells);
}

bool shows_something(const Cell& c) {
  return c.ch != 0 || !c.pen.bg.is_default() || c.pen.attrs.reverse;
}

// History lines are kept trimmed (Line::assign_trimmed): their extent may pass their size.
std::optional<Line> read_history_line(Reader& in, const std::vector<Pen>& pens, CellBudget& budget,
                                      std::vector<DecodedCell>& cells) {
  const int size = in.number(kMaxSide);
  const auto extent = in.varint((std::uint64_t{kMaxSide} << 1) | 1u);
  const int used = static_cast<int>(extent >> 1);
  const auto length = static_cast<std::size_t>(in.varint(static_cast<std::uint64_t>(size)));
  const int width = std::max({size, used, 1});
  if (!in.ok() || length != static_cast<std::size_t>(size) ||
      !budget.spend(static_cast<std::uint64_t>(width))) {
    return std::nullopt;
  }
  read_cells(in, pens, length, cells);
  if (!in.ok() || !fits_extent(cells, used)) return std::nullopt;
  const bool trimmed = cells.empty() || shows_something(cells.back().cell);
  const bool unprotected =
      std::ranges::none_of(cells, [](const DecodedCell& d) { return d.cell.pen.attrs.protect; });
  if (!trimmed || !unprotected) return std::nullopt;
  Line line;
  line.assign_trimmed(build_line(width, used, (extent & 1u) != 0, cells));
  return line;
}

// ---------------------------------------------------------------------------------------------
// Replaying libvterm's hidden state into a fresh one.

// What the replay watches, when it does: the width of the last glyph libvterm drew.
int silent_glyph(VTermGlyphInfo* info, VTermPos, void* user) {
  if (user != nullptr) *static_cast<int*>(user) = info->width;
  return 1;
}
int silent_move(VTermPos, VTermPos, int, void*) {
  return 1;
}
int silent_scroll(VTermRect, int, int, void*) {
  return 1;
}
int silent_moverect(VTermRect, VTermRect, void*) {
  return 1;
}
int silent_erase(VTermRect, int, void*) {
  return 1;
}
int silent_initpen(void*) {
  return 1;
}
int silent_penattr(VTermAttr, VTermValue*, void*) {
  return 1;
}
// Returning 1 tells libvterm to keep the property (alternate screen, cursor, mouse).
int silent_termprop(VTermProp, VTermValue*, void*) {
  return 1;
}
int silent_bell(void*) {
  return 1;
}
int silent_resize(int, int, VTermPos*, void*) {
  return 1;
}
int silent_lineinfo(int, const VTermLineInfo*, const VTermLineInfo*, void*) {
  return 1;
}
void discard_output(const char*, size_t, void*) {}

constexpr VTermStateCallbacks kSilent{silent_glyph, silent_move,    silent_scroll,  silent_moverect,
                                      silent_erase, silent_initpen, silent_penattr, silent_termprop,
                                      silent_bell,  silent_resize,  silent_lineinfo};

void feed_vterm(VTerm* vt, std::string_view bytes) {
  vterm_input_write(vt, bytes.data(), bytes.size());
}

std::string cup(int row, int col) {
  return "\x1b[" + std::to_string(row + 1) + ";" + std::to_string(col + 1) + "H";
}

// libvterm's UTF-8, whose 5- and 6-byte forms reach 31 bits.
void append_utf8_31(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
    return;
  }
  int length = c < 0x800 ? 2 : c < 0x10000 ? 3 : c < 0x200000 ? 4 : c < 0x4000000 ? 5 : 6;
  static constexpr unsigned char kLead[] = {0, 0, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC};
  out += static_cast<char>(kLead[length] | (c >> (6 * (length - 1))));
  for (int i = length - 2; i >= 0; --i) out += static_cast<char>(0x80 | ((c >> (6 * i)) & 0x3F));
}

void append_color(std::string& sgr, const Color& c, int base) {
  if (c.kind == ColorKind::Indexed) {
    sgr += ";" + std::to_string(base) + ";5;" + std::to_string(c.r);
  } else if (c.kind == ColorKind::Rgb) {
    sgr += ";" + std::to_string(base) + ";2;" + std::to_string(c.r) + ";" + std::to_string(c.g) +
           ";" + std::to_string(c.b);
  }
}

std::string sgr(const Pen& pen, int font) {
  const CellAttrs& a = pen.attrs;
  std::string out = "\x1b[0";
  if (a.bold) out += ";1";
  if (a.italic) out += ";3";
  if (a.blink) out += ";5";
  if (a.reverse) out += ";7";
  if (a.strike) out += ";9";
  if (a.underline == Underline::Single) out += ";4";
  if (a.underline == Underline::Double) out += ";21";
  if (a.underline == Underline::Curly) out += ";4:3";
  if (font != 0) out += ";" + std::to_string(10 + font);
  append_color(out, pen.fg, 38);
  append_color(out, pen.bg, 48);
  return out + "m";
}

// A region as DECSTBM/DECSLRM set it back: an explicit far edge at the screen's edge becomes
// unbounded when the region starts at 1, so a bounded one is asked one past the edge (clamped).
std::string region_sequence(int start, int end, int size, char final) {
  std::string out = "\x1b[" + std::to_string(start + 1);
  if (end >= 0) out += ";" + std::to_string(start == 0 && end == size ? size + 1 : end);
  return out + final;
}

int vterm_shape(CursorShape shape) {
  switch (shape) {
    case CursorShape::Underline:
      return VTERM_PROP_CURSORSHAPE_UNDERLINE;
    case CursorShape::BarLeft:
      return VTERM_PROP_CURSORSHAPE_BAR_LEFT;
    default:
      return VTERM_PROP_CURSORSHAPE_BLOCK;
  }
}

void set_cursor_props(VTermState* state, bool visible, bool blink, CursorShape shape) {
  VTermValue value;
  value.boolean = visible ? 1 : 0;
  vterm_state_set_termprop(state, VTERM_PROP_CURSORVISIBLE, &value);
  value.boolean = blink ? 1 : 0;
  vterm_state_set_termprop(state, VTERM_PROP_CURSORBLINK, &value);
  value.number = vterm_shape(shape);
  vterm_state_set_termprop(state, VTERM_PROP_CURSORSHAPE, &value);
}

std::string dec_mode(int mode) {
  return "\x1b[?" + std::to_string(mode) + "h";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Screen::Keyframe {
  int rows = 1;
  int cols = 1;
  bool alt_active = false;
  bool reverse_video = false;
  CursorState cursor;
  MouseMode mouse_mode = MouseMode::None;
  std::string title;
  Pen pen;
  int font = 0;
  bool wrap_pending = false;
  bool wrap_phantom = false;
  int wrap_row = 0;
  int wrap_col = 0;
  HiddenVtState hidden;
  std::vector<std::pair<int, std::uint8_t>> line_infos;  // rows not single width: dw | dh << 1
  VtFilterState filter;
  std::vector<Line> primary;
  std::vector<Line> alt;  // empty unless alt_active: entering the alternate screen erases it
  std::deque<Line> scrollback;

  static std::string encode(const Screen& screen, std::size_t scrollback_lines);
  static std::optional<Keyframe> decode(std::string_view bytes, std::size_t scrollback_limit);
  // A libvterm in the state this frame describes, its callbacks still silenced; none when the
  // frame's last glyph does not replay as one.
  std::unique_ptr<VTerm, VTermDeleter> replay(const VTermColor& fg, const VTermColor& bg) const;

 private:
  static void write_header(Writer& out, const Screen& s);
  bool read_header(Reader& in);
  static void write_hidden(Writer& out, const Screen& s, PenTable& pens);
  bool read_hidden(Reader& in, const std::vector<Pen>& pens);
  static void write_filter(Writer& out, const VtFilterState& f);
  bool read_filter(Reader& in);
  static void write_grids(Writer& out, const Screen& s, PenTable& pens, std::size_t history);
  bool read_grids(Reader& in, const std::vector<Pen>& pens, std::size_t scrollback_limit);

  bool drawable_glyph() const { return hidden.last_glyph.count > 0 && hidden.last_glyph.width > 0; }
  bool glyph_ends_at_cursor() const;
  bool repeat_left_cursor() const;
  int row_width(int row) const;
  std::string glyph_text() const;
  std::string cursor_move(int row, int col) const;
  std::optional<std::string> move_through_saved_cursor(int row, int col) const;
  void replay_tab_stops(VTerm* vt) const;
  void replay_saved_cursor(VTerm* vt) const;
  void replay_line_infos(VTerm* vt) const;
  void replay_glyph_apart(VTerm* vt) const;
  void replay_regions(VTerm* vt) const;
  void replay_modes(VTerm* vt) const;
  void replay_cursor(VTerm* vt) const;
  void replay_charsets(VTerm* vt) const;
};

// --- header: size, screen flags, cursor, mouse, title

void Screen::Keyframe::write_header(Writer& out, const Screen& s) {
  out.varint(static_cast<std::uint64_t>(s.rows_));
  out.varint(static_cast<std::uint64_t>(s.cols_));
  out.flags({s.alt_active_, s.reverse_video_});
  out.varint(static_cast<std::uint64_t>(s.cursor_.row));
  out.varint(static_cast<std::uint64_t>(s.cursor_.col));
  out.flags({s.cursor_.visible, s.cursor_.blink});
  out.byte(static_cast<std::uint8_t>(s.cursor_.shape));
  out.byte(static_cast<std::uint8_t>(s.mouse_mode_));
  out.text(s.title_);
}

bool Screen::Keyframe::read_header(Reader& in) {
  rows = in.number(kMaxSide);
  cols = in.number(kMaxSide);
  if (rows < 1 || cols < 1 || std::uint64_t(rows) * std::uint64_t(cols) > kMaxGridCells) {
    return in.fail();
  }
  const std::uint8_t screen_flags = in.flags(2);
  alt_active = bit(screen_flags, 0);
  reverse_video = bit(screen_flags, 1);
  cursor.row = in.number(rows - 1);
  cursor.col = in.number(cols - 1);
  const std::uint8_t cursor_flags = in.flags(2);
  cursor.visible = bit(cursor_flags, 0);
  cursor.blink = bit(cursor_flags, 1);
  const std::uint8_t shape = in.byte();
  const std::uint8_t mouse = in.byte();
  if (shape > 2 || mouse > 3) return in.fail();
  cursor.shape = static_cast<CursorShape>(shape);
  mouse_mode = static_cast<MouseMode>(mouse);
  title = in.text(VtFilter::kMaxString);
  return in.ok();
}

// --- what libvterm keeps to itself, and our autowrap bookkeeping

void Screen::Keyframe::write_hidden(Writer& out, const Screen& s, PenTable& pens) {
  const HiddenVtState& h = s.hidden_vt_;
  VTermValue font;
  VTermState* state = vterm_obtain_state(s.vt_.get());
  vterm_state_get_penattr(state, VTERM_ATTR_FONT, &font);
  out.varint(pens.index_of(s.pen_));
  out.byte(static_cast<std::uint8_t>(font.number));
  out.flags({s.wrap_pending_, s.wrap_phantom_});
  out.varint(static_cast<std::uint64_t>(std::clamp(s.wrap_row_, 0, kMaxSide)));
  out.varint(static_cast<std::uint64_t>(std::clamp(s.wrap_col_, 0, kMaxSide)));

  out.varint(static_cast<std::uint64_t>(h.region_top));
  out.varint(static_cast<std::uint64_t>(h.region_bottom + 1));
  out.varint(static_cast<std::uint64_t>(h.margin_left));
  out.varint(static_cast<std::uint64_t>(h.margin_right + 1));
  out.flags({!h.tab_stops.empty()});
  for (std::size_t col = 0; col < h.tab_stops.size(); col += 8) {
    std::uint8_t byte = 0;
    for (std::size_t i = 0; i < 8 && col + i < h.tab_stops.size(); ++i) {
      if (h.tab_stops[col + i]) byte |= static_cast<std::uint8_t>(1u << i);
    }
    out.byte(byte);
  }
  const SavedCursor& saved = h.saved;
  out.flags({saved.valid});
  if (saved.valid) {
    out.varint(static_cast<std::uint64_t>(saved.row));
    out.varint(static_cast<std::uint64_t>(saved.col));
    out.varint(pens.index_of(saved.pen));
    out.byte(static_cast<std::uint8_t>(saved.font));
    out.flags({saved.visible, saved.blink});
    out.byte(static_cast<std::uint8_t>(saved.shape));
  }
  const LastGlyph& glyph = h.last_glyph;
  out.byte(glyph.count);
  if (glyph.count > 0) {
    out.varint(static_cast<std::uint64_t>(std::clamp(glyph.row, 0, kMaxSide)));
    out.varint(static_cast<std::uint64_t>(std::clamp(glyph.col, 0, kMaxSide)));
    out.byte(static_cast<std::uint8_t>(glyph.width));
    for (std::size_t i = 0; i < glyph.count; ++i) out.varint(glyph.chars[i]);
  }
  out.flags({h.pending_wrap, h.cursor_by_repeat});

  std::vector<std::pair<int, std::uint8_t>> infos;
  for (int row = 0; row < s.rows_; ++row) {
    const VTermLineInfo* info = vterm_state_get_lineinfo(state, row);
    if (info != nullptr && (info->doublewidth || info->doubleheight)) {
      infos.emplace_back(row,
                         static_cast<std::uint8_t>(info->doublewidth | info->doubleheight << 1));
    }
  }
  out.varint(infos.size());
  for (auto [row, info] : infos) {
    out.varint(static_cast<std::uint64_t>(row));
    out.byte(info);
  }
}

namespace {

// A region's far edge as written: 0 for unbounded (-1), else the edge plus one.
int read_far_edge(Reader& in, int start, int size) {
  const int edge = in.number(size + 1) - 1;
  if (edge != -1 && edge <= start) in.fail();
  return edge;
}

std::vector<bool> read_tab_stops(Reader& in, int cols) {
  std::vector<bool> stops(static_cast<std::size_t>(cols));
  for (int col = 0; col < cols; col += 8) {
    const std::uint8_t byte = in.byte();
    for (int i = 0; i < 8; ++i) {
      if (col + i < cols) {
        stops[static_cast<std::size_t>(col + i)] = bit(byte, i);
      } else if (bit(byte, i)) {
        in.fail();  // a stop past the last column
      }
    }
  }
  return stops;
}

}  // namespace

bool Screen::Keyframe::read_hidden(Reader& in, const std::vector<Pen>& pens) {
  pen = read_pen_index(in, pens);
  font = in.number(9);
  const std::uint8_t wrap_flags = in.flags(2);
  wrap_pending = bit(wrap_flags, 0);
  wrap_phantom = bit(wrap_flags, 1);
  wrap_row = in.number(kMaxSide);
  wrap_col = in.number(kMaxSide);

  HiddenVtState& h = hidden;
  h.region_top = in.number(rows - 1);
  h.region_bottom = read_far_edge(in, h.region_top, rows);
  h.margin_left = in.number(cols - 1);
  h.margin_right = read_far_edge(in, h.margin_left, cols);
  if (bit(in.flags(1), 0)) h.tab_stops = read_tab_stops(in, cols);
  SavedCursor& saved = h.saved;
  saved.valid = bit(in.flags(1), 0);
  if (saved.valid) {
    saved.row = in.number(rows - 1);
    saved.col = in.number(cols - 1);
    saved.pen = read_pen_index(in, pens);
    saved.font = in.number(9);
    const std::uint8_t flags = in.flags(2);
    saved.visible = bit(flags, 0);
    saved.blink = bit(flags, 1);
    const std::uint8_t shape = in.byte();
    if (shape > 2) return in.fail();
    saved.shape = static_cast<CursorShape>(shape);
  }
  LastGlyph& glyph = h.last_glyph;
  glyph.count = in.byte();
  if (glyph.count > glyph.chars.size()) return in.fail();
  if (glyph.count > 0) {
    glyph.row = in.number(kMaxSide);
    glyph.col = in.number(kMaxSide);
    glyph.width = in.number(2);
    for (std::size_t i = 0; i < glyph.count && in.ok(); ++i) {
      glyph.chars[i] = static_cast<char32_t>(in.varint(kMaxCodepoint));
      if (glyph.chars[i] == 0) in.fail();
    }
  }
  const std::uint8_t wrap = in.flags(2);
  h.pending_wrap = bit(wrap, 0);
  h.cursor_by_repeat = bit(wrap, 1);
  if (h.pending_wrap && !drawable_glyph()) return in.fail();

  const auto count = in.varint(static_cast<std::uint64_t>(rows));
  int next_row = 0;
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    const int row = in.number(rows - 1);
    const std::uint8_t info = in.byte();
    // What ESC # 6, ESC # 3 and ESC # 4 leave: double width, alone or as a top or bottom half.
    if (row < next_row || (info != 1 && info != 3 && info != 5)) return in.fail();
    line_infos.emplace_back(row, info);
    next_row = row + 1;
  }
  return in.ok();
}

// --- the filter's state

void Screen::Keyframe::write_filter(Writer& out, const VtFilterState& f) {
  out.byte(f.parse_state);
  out.text(f.held);
  out.text(f.passthrough);
  out.text(f.utf8_tail);
  out.flags({f.csi_has_control, f.text_seen, f.passthrough_lost});
  out.byte(static_cast<std::uint8_t>(f.csi_separators));
  const TrackedModes& m = f.modes;
  out.flags({m.app_cursor_keys, m.focus_reporting, m.bracketed_paste, m.synchronized_output});
  const TextSafety& t = f.text;
  out.flags({t.insert, t.origin, t.lr_margins, t.uncertain});
  out.byte(t.non_ascii_sets);
  out.byte(t.gl);
  const HiddenModes& h = f.hidden;
  out.flags({h.autowrap, h.newline, h.keypad, h.ctrl8bit, h.protect});
  out.byte(h.mouse_protocol);
  for (char set : h.charsets) out.byte(static_cast<std::uint8_t>(set));
  out.byte(h.gl);
  out.byte(h.gr);
  out.byte(h.single_shift);
}

bool Screen::Keyframe::read_filter(Reader& in) {
  VtFilterState& f = filter;
  f.parse_state = in.byte();
  f.held = in.text(VtFilter::kMaxString);
  f.passthrough = in.text(VtFilter::kMaxPassthrough);
  f.utf8_tail = in.text(VtFilter::kMaxUtf8Tail);
  const std::uint8_t flags = in.flags(3);
  f.csi_has_control = bit(flags, 0);
  f.text_seen = bit(flags, 1);
  f.passthrough_lost = bit(flags, 2);
  f.csi_separators = in.byte();
  const std::uint8_t modes = in.flags(4);
  f.modes = {bit(modes, 0), bit(modes, 1), bit(modes, 2), bit(modes, 3)};
  const std::uint8_t text = in.flags(4);
  f.text.insert = bit(text, 0);
  f.text.origin = bit(text, 1);
  f.text.lr_margins = bit(text, 2);
  f.text.uncertain = bit(text, 3);
  f.text.non_ascii_sets = in.byte();
  f.text.gl = in.byte();
  const std::uint8_t hidden_flags = in.flags(5);
  HiddenModes& h = f.hidden;
  h.autowrap = bit(hidden_flags, 0);
  h.newline = bit(hidden_flags, 1);
  h.keypad = bit(hidden_flags, 2);
  h.ctrl8bit = bit(hidden_flags, 3);
  h.protect = bit(hidden_flags, 4);
  h.mouse_protocol = in.byte();
  for (char& set : h.charsets) set = static_cast<char>(in.byte());
  h.gl = in.byte();
  h.gr = in.byte();
  h.single_shift = in.byte();
  return in.ok() && VtFilter::valid(f);
}

// --- grids and history

void Screen::Keyframe::write_grids(Writer& out, const Screen& s, PenTable& pens,
                                   std::size_t history) {
  const auto write_grid = [&](const std::vector<Line>& grid, std::size_t top) {
    for (std::size_t row = 0; row < grid.size(); ++row) {
      write_line(out, pens, grid[(top + row) % grid.size()], false);
    }
  };
  write_grid(s.primary_grid_, s.primary_top_);
  if (s.alt_active_) write_grid(s.alt_grid_, s.alt_top_);
  const std::size_t first = s.scrollback_.size() - history;
  out.varint(history);
  for (std::size_t i = first; i < s.scrollback_.size(); ++i) {
    write_line(out, pens, s.scrollback_[i], true);
  }
}

bool Screen::Keyframe::read_grids(Reader& in, const std::vector<Pen>& pens,
                                  std::size_t scrollback_limit) {
  CellBudget budget;
  std::vector<DecodedCell> cells;
  const auto read_grid = [&](std::vector<Line>& grid) {
    grid.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      std::optional<Line> line = read_screen_line(in, pens, cols, budget, cells);
      if (!line) return in.fail();
      grid.push_back(std::move(*line));
    }
    return true;
  };
  if (!read_grid(primary) || (alt_active && !read_grid(alt))) return false;
  const auto history = in.varint(in.remaining() / 3);  // each line takes at least 3 bytes
  for (std::uint64_t i = 0; i < history && in.ok(); ++i) {
    std::optional<Line> line = read_history_line(in, pens, budget, cells);
    if (!line) return in.fail();
    scrollback.push_back(std::move(*line));
    if (scrollback.size() > scrollback_limit) scrollback.pop_front();
  }
  return in.ok();
}

// --- the whole frame

namespace {

// The newest `wanted` lines, stretched back to where the logical line that the first of them
// belongs to starts (autowrap continues a line with the `wrapped` flag of the one before).
std::size_t history_to_keep(const std::deque<Line>& scrollback, std::size_t wanted) {
  std::size_t first = scrollback.size() - std::min(wanted, scrollback.size());
  while (first > 0 && scrollback[first - 1].wrapped()) --first;
  return scrollback.size() - first;
}

}  // namespace

std::string Screen::Keyframe::encode(const Screen& s, std::size_t scrollback_lines) {
  PenTable pens;
  Writer body;
  write_hidden(body, s, pens);
  write_filter(body, s.filter_.state());
  write_grids(body, s, pens, history_to_keep(s.scrollback_, scrollback_lines));

  Writer out;
  out.raw(kMagic);
  out.byte(kVersion);
  write_header(out, s);
  write_pens(out, pens.pens());
  out.raw(body.out());
  write_u32(out, crc32(out.out()));
  return std::move(out.out());
}

std::optional<Screen::Keyframe> Screen::Keyframe::decode(std::string_view bytes,
                                                         std::size_t scrollback_limit) {
  Reader in(bytes);
  if (in.bytes(kMagic.size()) != kMagic || in.byte() != kVersion) return std::nullopt;
  Keyframe frame;
  if (!frame.read_header(in)) return std::nullopt;
  const std::vector<Pen> pens = read_pens(in);
  if (!in.ok() || !frame.read_hidden(in, pens) || !frame.read_filter(in) ||
      !frame.read_grids(in, pens, scrollback_limit)) {
    return std::nullopt;
  }
  const std::size_t checked = in.position();
  if (read_u32(in) != crc32(bytes.substr(0, checked)) || !in.ok() || in.remaining() != 0) {
    return std::nullopt;
  }
  return frame;
}

// --- putting libvterm back: a fresh one, silenced, fed sequences in an order where none undoes
// another. Tab stops and the saved cursor come first, as they need free cursor moves. In origin
// mode 0.1.4 clamps its cursor into the scroll region and margins at the end of every CSI, even
// SGR, while controls and text go past the margins: so every CSI comes before the cursor is put
// in place, which CUP does, with BS or spaces past the margins, DECRC where only DECRC reaches,
// and the last glyph drawn again where the cursor stands just after it.

bool Screen::Keyframe::glyph_ends_at_cursor() const {
  const LastGlyph& glyph = hidden.last_glyph;
  if (!drawable_glyph() || repeat_left_cursor()) return false;
  return hidden.pending_wrap || (cursor.row == glyph.row && cursor.col == glyph.col + glyph.width);
}

// Where REP left the cursor, REP once more puts it back, from where the last copy went: with
// the pending wrap it may have left, and past the row's end on a double-width line. (Not where
// a wrap it left was dropped since: with autowrap on it would leave one again.)
bool Screen::Keyframe::repeat_left_cursor() const {
  return hidden.cursor_by_repeat && (hidden.pending_wrap || !filter.hidden.autowrap) &&
         drawable_glyph() && cursor.col >= hidden.last_glyph.width;
}

int Screen::Keyframe::row_width(int row) const {
  const auto info = std::ranges::find(line_infos, row, &std::pair<int, std::uint8_t>::first);
  return info != line_infos.end() && (info->second & 1u) != 0 ? cols / 2 : cols;
}

std::string Screen::Keyframe::glyph_text() const {
  std::string text;
  for (std::size_t i = 0; i < hidden.last_glyph.count; ++i) {
    append_utf8_31(text, hidden.last_glyph.chars[i]);
  }
  return text;
}

// Moves along a row with BS and spaces, which go past the margins (the spaces are text: the last
// glyph is drawn again after them where it matters).
std::string step_along_row(int from, int to) {
  return std::string(static_cast<std::size_t>(std::max(from - to, 0)), '\b') +
         std::string(static_cast<std::size_t>(std::max(to - from, 0)), ' ');
}

// Past a double-width row's end, or outside the scroll region in origin mode, only DECRC (or
// REP) puts the cursor: 0.1.4 clamps it back at the end of every CSI, SGR included, so none can
// have come after, and the saved cursor's pen and shape are still the current ones. DECRC takes
// it there again; line feeds, reverse index and BS or spaces cover what controls moved since.
std::optional<std::string> Screen::Keyframe::move_through_saved_cursor(int row, int col) const {
  const SavedCursor& saved = hidden.saved;  // never saved: 0.1.4's zeros
  const Pen zero_pen{{}, Color::rgb(0, 0, 0), Color::rgb(0, 0, 0)};
  const bool same_pen = saved.valid ? saved.pen == pen && saved.font == font : pen == zero_pen;
  const bool same_cursor = saved.valid
                               ? saved.visible == cursor.visible && saved.blink == cursor.blink &&
                                     saved.shape == cursor.shape
                               : !cursor.visible && !cursor.blink;
  if (!same_pen || !same_cursor) return std::nullopt;
  std::string seq =
      "\x1b"
      "8";
  int at_row = saved.row;
  int at_col = saved.col;
  for (; at_row < row; ++at_row) seq += '\n';
  for (; at_row > row; --at_row) seq += "\x1bM";
  if (saved.row != row && filter.hidden.newline) at_col = 0;  // LNM: a line feed returns too
  return seq + step_along_row(at_col, col);
}

// CUP, relative to the scroll region in origin mode; past the margins, which origin mode keeps
// CUP within, BS and spaces.
std::string Screen::Keyframe::cursor_move(int row, int col) const {
  const int bottom = hidden.region_bottom > -1 ? hidden.region_bottom : rows;
  const bool outside_region = row < hidden.region_top || row >= bottom;
  if (col >= row_width(row) || (filter.text.origin && outside_region)) {
    if (std::optional<std::string> seq = move_through_saved_cursor(row, col)) return *seq;
  }
  if (!filter.text.origin) return cup(row, col);
  const bool margins = filter.text.lr_margins;
  const int left = margins ? hidden.margin_left : 0;
  const int right = margins && hidden.margin_right > -1 ? hidden.margin_right : cols;
  const int reachable = std::clamp(col, left, right - 1);
  return cup(row - hidden.region_top, reachable - left) + step_along_row(reachable, col);
}

void Screen::Keyframe::replay_tab_stops(VTerm* vt) const {
  if (hidden.tab_stops.empty()) return;
  std::string seq = "\x1b[3g";
  for (std::size_t col = 0; col < hidden.tab_stops.size(); ++col) {
    if (hidden.tab_stops[col]) seq += cup(0, static_cast<int>(col)) + "\x1bH";
  }
  feed_vterm(vt, seq);
}

void Screen::Keyframe::replay_saved_cursor(VTerm* vt) const {
  const SavedCursor& saved = hidden.saved;
  if (!saved.valid) return;
  feed_vterm(vt, cup(saved.row, saved.col) + sgr(saved.pen, saved.font));
  set_cursor_props(vterm_obtain_state(vt), saved.visible, saved.blink, saved.shape);
  feed_vterm(vt,
             "\x1b"
             "7");
}

void Screen::Keyframe::replay_line_infos(VTerm* vt) const {
  std::string seq;
  for (auto [row, info] : line_infos) {
    const int height = info >> 1;
    seq += cup(row, 0) + (height == 1 ? "\x1b#3" : height == 2 ? "\x1b#4" : "\x1b#6");
  }
  feed_vterm(vt, seq);
}

// The last glyph, where the cursor is elsewhere: drawn early, in a write of its own (libvterm
// keeps a write's last glyph), with autowrap off so that it leaves no pending wrap.
void Screen::Keyframe::replay_glyph_apart(VTerm* vt) const {
  if (!drawable_glyph() || glyph_ends_at_cursor()) return;
  feed_vterm(vt, "\x1b[?7l" + cup(hidden.last_glyph.row, hidden.last_glyph.col));
  feed_vterm(vt, glyph_text());
  feed_vterm(vt, "\x1b[?7h");
}

void Screen::Keyframe::replay_regions(VTerm* vt) const {
  std::string seq;
  if (hidden.region_top != 0 || hidden.region_bottom != -1) {
    seq += region_sequence(hidden.region_top, hidden.region_bottom, rows, 'r');
  }
  if (hidden.margin_left != 0 || hidden.margin_right != -1) {
    seq += region_sequence(hidden.margin_left, hidden.margin_right, cols, 's');
  }
  if (filter.text.lr_margins) seq += dec_mode(69);
  feed_vterm(vt, seq);
}

// Every mode set by a CSI, and the pen. Autowrap stays on when the last glyph must leave a
// pending wrap again.
void Screen::Keyframe::replay_modes(VTerm* vt) const {
  const HiddenModes& h = filter.hidden;
  std::string seq;
  if (filter.text.origin) seq += dec_mode(6);
  if (filter.text.insert) seq += "\x1b[4h";
  if (h.newline) seq += "\x1b[20h";
  if (!h.autowrap && !hidden.pending_wrap) seq += "\x1b[?7l";
  if (h.protect) seq += "\x1b[1\"q";
  if (filter.modes.app_cursor_keys) seq += dec_mode(1);
  if (reverse_video) seq += dec_mode(5);
  static constexpr int kMouseModes[] = {0, 1000, 1002, 1003};  // MouseMode's order
  if (mouse_mode != MouseMode::None) seq += dec_mode(kMouseModes[static_cast<int>(mouse_mode)]);
  static constexpr int kMouseProtocols[] = {0, 1005, 1006, 1015};  // HiddenModes' order
  if (h.mouse_protocol != 0) seq += dec_mode(kMouseProtocols[h.mouse_protocol]);
  if (filter.modes.focus_reporting) seq += dec_mode(1004);
  if (filter.modes.bracketed_paste) seq += dec_mode(2004);
  seq += sgr(pen, font);
  feed_vterm(vt, seq);
}

// The cursor, after the last CSI. Where the last glyph ends at the cursor it is drawn again
// there, which leaves libvterm's pending wrap at the edge as 0.1.4 left it.
void Screen::Keyframe::replay_cursor(VTerm* vt) const {
  if (repeat_left_cursor()) {
    feed_vterm(vt, cursor_move(cursor.row, cursor.col - hidden.last_glyph.width) + "\x1b[b");
  } else if (glyph_ends_at_cursor()) {
    const int col = hidden.pending_wrap ? cursor.col : hidden.last_glyph.col;
    feed_vterm(vt, cursor_move(cursor.row, col));
    feed_vterm(vt, glyph_text());
  } else {
    feed_vterm(vt, cursor_move(cursor.row, cursor.col));
  }
  if (hidden.pending_wrap && !filter.hidden.autowrap) feed_vterm(vt, "\x1b[?7l");
}

// Escape sequences and shifts, which leave the cursor alone; a single shift last of all, as the
// next text takes it.
void Screen::Keyframe::replay_charsets(VTerm* vt) const {
  const HiddenModes& h = filter.hidden;
  std::string seq;
  if (h.keypad) seq += "\x1b=";
  if (h.ctrl8bit) seq += "\x1b G";
  for (std::size_t g = 0; g < h.charsets.size(); ++g) {
    if (h.charsets[g] != 0) seq += std::string("\x1b") + "()*+"[g] + h.charsets[g];
  }
  static constexpr std::string_view kLockingShifts[] = {"", "\x0e", "\x1bn", "\x1bo"};
  seq += kLockingShifts[h.gl];
  static constexpr std::string_view kRightShifts[] = {"", "", "\x1b}", "\x1b|"};
  seq += kRightShifts[h.gr];
  if (h.single_shift != 0) seq += h.single_shift == 2 ? "\x1bN" : "\x1bO";
  feed_vterm(vt, seq);
}

std::unique_ptr<VTerm, Screen::VTermDeleter> Screen::Keyframe::replay(const VTermColor& fg,
                                                                      const VTermColor& bg) const {
  std::unique_ptr<VTerm, VTermDeleter> vt(vterm_new(rows, cols));
  if (!vt) return vt;
  vterm_set_utf8(vt.get(), 1);
  vterm_output_set_callback(vt.get(), &discard_output, nullptr);
  VTermState* state = vterm_obtain_state(vt.get());
  int drawn_width = 0;
  vterm_state_set_callbacks(state, &kSilent, &drawn_width);
  vterm_state_set_default_colors(state, &fg, &bg);
  vterm_state_reset(state, 1);

  replay_tab_stops(vt.get());
  replay_saved_cursor(vt.get());
  replay_line_infos(vt.get());
  if (alt_active) feed_vterm(vt.get(), dec_mode(1047));
  replay_glyph_apart(vt.get());
  // The last glyph, drawn again, must be one libvterm can repeat: a REP after one it did not draw
  // as such (a combining mark said to be a cell wide) repeats nothing for good, replay_cursor's
  // own REP included (found by screen_state_fuzz). Such a frame is no state save_state() wrote.
  if (drawable_glyph() && !glyph_ends_at_cursor() && drawn_width < 1) return {};
  replay_regions(vt.get());
  replay_modes(vt.get());
  replay_cursor(vt.get());
  replay_charsets(vt.get());
  set_cursor_props(state, cursor.visible, cursor.blink, cursor.shape);
  if (!filter.passthrough.empty()) feed_vterm(vt.get(), filter.passthrough);
  vterm_state_set_callbacks(state, &kSilent, nullptr);
  if (drawable_glyph() && drawn_width < 1) return {};  // drawn by replay_cursor: the same rule
  return vt;
}

// ---------------------------------------------------------------------------------------------

std::string Screen::save_state(std::size_t scrollback_lines) const {
  return Keyframe::encode(*this, scrollback_lines);
}

bool Screen::restore_state(std::string_view state) {
  std::optional<Keyframe> frame = Keyframe::decode(state, scrollback_limit_);
  if (!frame) return false;
  VTermColor fg;
  VTermColor bg;
  vterm_state_get_default_colors(vterm_obtain_state(vt_.get()), &fg, &bg);
  std::unique_ptr<VTerm, VTermDeleter> vt = frame->replay(fg, bg);
  if (!vt) return false;
  apply_keyframe(std::move(*frame), std::move(vt));
  return true;
}

void Screen::apply_keyframe(Keyframe&& frame, std::unique_ptr<VTerm, VTermDeleter> vt) {
  vt_ = std::move(vt);
  attach_vterm_callbacks();
  filter_.set_state(frame.filter);  // decode() checked it
  rows_ = frame.rows;
  cols_ = frame.cols;
  primary_grid_ = std::move(frame.primary);
  primary_top_ = 0;
  alt_active_ = frame.alt_active;
  alt_grid_ = alt_active_ ? std::move(frame.alt)
                          : std::vector<Line>(static_cast<std::size_t>(rows_), Line(cols_));
  alt_top_ = 0;
  scrollback_ = std::move(frame.scrollback);
  pen_ = frame.pen;
  cursor_ = frame.cursor;
  wrap_pending_ = frame.wrap_pending;
  wrap_phantom_ = frame.wrap_phantom;
  wrap_row_ = frame.wrap_row;
  wrap_col_ = frame.wrap_col;
  last_plain_ = {};
  resize_cursor_.reset();
  reverse_video_ = frame.reverse_video;
  mouse_mode_ = frame.mouse_mode;
  title_ = std::move(frame.title);
  hidden_vt_ = std::move(frame.hidden);
  copying_glyphs_ = false;
  dirty_.assign(static_cast<std::size_t>(rows_), 1);
  all_dirty_ = true;
  cursor_dirty_ = true;
  scrolled_up_ = 0;
}

}  // namespace sddsh::tui
