#include "tui/curses_painter.hpp"

#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <term.h>
#include <unistd.h>

#include <csignal>
#include <cwchar>
#include <stdexcept>
#include <string_view>

#include "tui/palette.hpp"

namespace sddsh::tui {

namespace {

constexpr std::string_view kPaletteKeeping = "-direct256";

// The terminal description to use when 24-bit colour is announced: "<term>-direct256"
// (ncurses-term), which keeps colours 0..255 as the user's palette and takes larger numbers as
// RGB; else "<term>-direct", which turns palette colours above 7 into fixed RGB.
std::string description_for(const std::string& term, bool truecolor_hint) {
  if (!truecolor_hint) return term;
  std::string base = term;
  for (const char* suffix : {"-256color", "-color"})
    if (base.ends_with(suffix)) base.resize(base.size() - std::char_traits<char>::length(suffix));
  for (std::string_view variant : {kPaletteKeeping, std::string_view("-direct")}) {
    std::string direct = base + std::string(variant);
    int err = 0;
    // setupterm only to ask whether the description exists; newterm loads it for real.
    if (setupterm(direct.c_str(), -1, &err) == OK) {
      del_curterm(cur_term);
      return direct;
    }
  }
  return term;
}

attr_t attributes_of(const CellAttrs& a) {
  attr_t attrs = A_NORMAL;
  if (a.bold) attrs |= A_BOLD;
  if (a.italic) attrs |= A_ITALIC;
  if (a.underline != Underline::None) attrs |= A_UNDERLINE;
  if (a.reverse) attrs |= A_REVERSE;
  if (a.blink) attrs |= A_BLINK;
  return attrs;
}

const char* cursor_style_sequence(const PaintCursor& c) {
  switch (c.style) {
    case CursorStyle::Block: return c.blink ? "\x1b[1 q" : "\x1b[2 q";
    case CursorStyle::Underline: return c.blink ? "\x1b[3 q" : "\x1b[4 q";
    case CursorStyle::Bar: return c.blink ? "\x1b[5 q" : "\x1b[6 q";
    case CursorStyle::Default: break;
  }
  return "\x1b[0 q";
}

}  // namespace

CursesPainter::CursesPainter(int output_fd, const std::string& term, bool truecolor_hint)
    : output_fd_(output_fd) {
  const std::string description = description_for(term.empty() ? "xterm-256color" : term, truecolor_hint);
  // Input is raw, so the keyboard cannot send SIGTSTP; ignored, it also keeps curses from
  // installing a handler that it would swap out and back around every frame (two syscalls).
  // Children start with default dispositions again (spawn hygiene).
  signal(SIGTSTP, SIG_IGN);
  output_ = fdopen(dup(output_fd), "w");
  input_ = fopen("/dev/null", "r");  // input is read raw by the session, never by curses
  if (!output_ || !input_) throw std::runtime_error("cannot open the terminal for drawing");
  palette_in_direct_ = description.ends_with(kPaletteKeeping);
  screen_ = newterm(description.c_str(), output_, input_);
  if (!screen_) throw std::runtime_error("terminal type '" + description + "' is unknown to ncurses");
  set_term(screen_);
  raw();
  noecho();
  nonl();
  intrflush(stdscr, FALSE);
  scrollok(stdscr, FALSE);
  idlok(stdscr, TRUE);  // lets ncurses scroll instead of repainting what the agent scrolled
  leaveok(stdscr, FALSE);
  if (has_colors()) {
    start_color();
    use_default_colors();
    colors_ = COLORS;
    direct_color_ = tigetflag(const_cast<char*>("RGB")) > 0 || COLORS >= 0x1000000;
  }
  getmaxyx(stdscr, rows_, cols_);
}

CursesPainter::~CursesPainter() {
  end();
  if (screen_) delscreen(screen_);
  if (output_) fclose(output_);
  if (input_) fclose(input_);
}

void CursesPainter::end() {
  if (ended_ || !screen_) return;
  ended_ = true;
  if (cursor_style_sent_) write_raw("\x1b[0 q");
  endwin();
}

void CursesPainter::resize(int rows, int cols) {
  resizeterm(rows, cols);
  rows_ = rows;
  cols_ = cols;
  clearok(curscr, TRUE);
}

int CursesPainter::curses_color(const Color& color) const {
  switch (color.kind) {
    case ColorKind::Default: return -1;
    case ColorKind::Indexed: {
      int index = color.index();
      // In plain direct colour, numbers are RGB values except the first eight ANSI colours.
      if (direct_color_ && !palette_in_direct_) return index < 8 ? index : static_cast<int>(palette_rgb(index));
      return index < colors_ ? index : nearest_ansi(palette_rgb(index), colors_);
    }
    case ColorKind::Rgb: {
      auto rgb = (std::uint32_t{color.r} << 16) | (std::uint32_t{color.g} << 8) | color.b;
      // Numbers below the first RGB one would name palette colours: take the next RGB value
      // (a near-black blue becomes rgb(0,1,0), which nobody can see apart).
      const std::uint32_t first_rgb = palette_in_direct_ ? 256 : 8;
      if (direct_color_) return static_cast<int>(rgb < first_rgb ? first_rgb : rgb);
      return colors_ >= 256 ? nearest_256(rgb) : nearest_ansi(rgb, colors_);
    }
  }
  return -1;
}

int CursesPainter::pair_for(const Style& style) {
  if (colors_ == 0) return 0;
  // Runs of cells share their colours: skip alloc_pair's lookup for a repeat.
  if (last_pair_ >= 0 && style.fg == last_style_.fg && style.bg == last_style_.bg) return last_pair_;
  int fg = curses_color(style.fg);
  int bg = curses_color(style.bg);
  if (fg == -1 && bg == -1) return 0;
  int pair = alloc_pair(fg, bg);
  last_style_ = style;
  last_pair_ = pair < 0 ? 0 : pair;
  return last_pair_;
}

void CursesPainter::put(int row, int col, std::u32string_view text, int width, const Style& style) {
  if (row < 0 || row >= rows_ || col < 0 || col >= cols_) return;
  const char32_t base = text.empty() ? U' ' : text.front();
  // Columns must stay where the model put them even where glibc's width table (which curses
  // and most terminals follow) disagrees with libvterm's: draw what takes the model's width.
  const int terminal_width = ::wcwidth(static_cast<wchar_t>(base));
  wchar_t chars[CCHARW_MAX + 1] = {};
  bool pad_right_half = false;
  if (terminal_width == width) {
    for (std::size_t i = 0; i < text.size() && i < CCHARW_MAX; ++i) chars[i] = static_cast<wchar_t>(text[i]);
    if (text.empty()) chars[0] = L' ';
  } else if (width == 2 && terminal_width == 1) {
    chars[0] = static_cast<wchar_t>(base);  // narrow on the terminal: pad to two columns
    pad_right_half = true;
  } else {
    chars[0] = L'\uFFFD';  // wide or unprintable on the terminal where the model says otherwise
    pad_right_half = width == 2;
  }
  int pair = pair_for(style);
  const attr_t attrs = attributes_of(style.attrs);
  cchar_t cell;
  setcchar(&cell, chars, attrs, 0, &pair);
  mvadd_wch(row, col, &cell);
  if (pad_right_half && col + 1 < cols_) {
    const wchar_t space[2] = {L' ', 0};
    setcchar(&cell, space, attrs, 0, &pair);
    mvadd_wch(row, col + 1, &cell);
  }
}

void CursesPainter::present() {
  // curses sends a frame in one write (its buffer holds a whole screen), which terminals show
  // at once; a keystroke's echo costs one write, as in tmux.
  if (cursor_.visible) move(cursor_.row, cursor_.col);
  curs_set(cursor_.visible ? 1 : 0);
  wnoutrefresh(stdscr);
  doupdate();
  if (cursor_.visible && (cursor_.style != shown_cursor_.style || cursor_.blink != shown_cursor_.blink ||
                          !cursor_style_sent_)) {
    pending_terminal_bytes_ += cursor_style_sequence(cursor_);
    cursor_style_sent_ = true;
  }
  shown_cursor_ = cursor_;
  if (!pending_terminal_bytes_.empty()) {
    write_raw(pending_terminal_bytes_);
    pending_terminal_bytes_.clear();
  }
}

void CursesPainter::write_raw(std::string_view bytes) {
  // curses has flushed its own buffer at the end of doupdate(); these go straight out.
  while (!bytes.empty()) {
    ssize_t n = ::write(output_fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace sddsh::tui
