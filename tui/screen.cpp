#include "tui/screen.hpp"

#include <vterm.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace sddsh::tui {
namespace {

Color from_vterm(const VTermColor& c) {
  if (VTERM_COLOR_IS_DEFAULT_FG(&c) || VTERM_COLOR_IS_DEFAULT_BG(&c)) return {};
  if (VTERM_COLOR_IS_INDEXED(&c)) return Color::indexed(c.indexed.idx);
  return Color::rgb(c.rgb.red, c.rgb.green, c.rgb.blue);
}

VTermColor to_vterm(Rgb c) {
  VTermColor out;
  vterm_color_rgb(&out, c.r, c.g, c.b);
  return out;
}

CursorShape shape_from_vterm(int shape) {
  switch (shape) {
    case VTERM_PROP_CURSORSHAPE_UNDERLINE: return CursorShape::Underline;
    case VTERM_PROP_CURSORSHAPE_BAR_LEFT: return CursorShape::BarLeft;
    default: return CursorShape::Block;
  }
}

MouseMode mouse_from_vterm(int mode) {
  switch (mode) {
    case VTERM_PROP_MOUSE_CLICK: return MouseMode::Click;
    case VTERM_PROP_MOUSE_DRAG: return MouseMode::Drag;
    case VTERM_PROP_MOUSE_MOVE: return MouseMode::Move;
    default: return MouseMode::None;
  }
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }

// OSC 9 (iTerm2/ConEmu), OSC 777 (rxvt) notifications and OSC 52 clipboard writes. OSC 9;4 is
// ConEmu's progress bar, not something to bother the user with.
std::optional<ScreenEvent> event_from_osc(std::string_view osc) {
  if (starts_with(osc, "9;") && !starts_with(osc, "9;4;")) {
    return ScreenEvent{ScreenEvent::Kind::Notification, std::string(osc.substr(2)), {}};
  }
  if (starts_with(osc, "777;notify;")) {
    std::string_view rest = osc.substr(11);
    const std::size_t semi = rest.find(';');
    if (semi == std::string_view::npos) {
      return ScreenEvent{ScreenEvent::Kind::Notification, {}, std::string(rest)};
    }
    return ScreenEvent{ScreenEvent::Kind::Notification, std::string(rest.substr(semi + 1)),
                       std::string(rest.substr(0, semi))};
  }
  if (starts_with(osc, "52;")) {
    std::string_view rest = osc.substr(3);
    const std::size_t semi = rest.find(';');
    if (semi == std::string_view::npos) return std::nullopt;
    std::string_view data = rest.substr(semi + 1);
    if (data == "?") return std::nullopt;  // a read of the user's clipboard: never answered
    return ScreenEvent{ScreenEvent::Kind::Clipboard, std::string(data),
                       std::string(rest.substr(0, semi))};
  }
  return std::nullopt;
}

// REP and DECALN draw glyphs that are no text: libvterm keeps its memory of the last text glyph
// (for REP and combining marks) through them. Anything else may draw text, even a sequence
// 0.1.4 gives up on halfway ("ESC [ 3 ? J" draws the J).
bool copies_glyphs(std::string_view bytes) {
  if (bytes == "\x1b#8") return true;
  if (bytes.size() < 3 || !bytes.starts_with("\x1b[") || bytes.back() != 'b') return false;
  return std::ranges::all_of(bytes.substr(2, bytes.size() - 3),
                             [](char c) { return (c >= '0' && c <= '9') || c == ';' || c == ':'; });
}

// DECSTBM and DECSLRM as 0.1.4 clamps them: a missing first argument is 1, a missing second one
// the far edge kept unbounded (-1) even through resizes; so is an explicit one at the far edge
// when the first is 1. A region that ends up empty resets to the whole screen.
std::pair<int, int> vterm_region(long first, long second, int size) {
  long start = (first == VtEvent::kMissing ? 1 : first) - 1;
  long end = second == VtEvent::kMissing ? -1 : second;
  start = std::clamp(start, 0L, static_cast<long>(size));
  end = std::max(end, -1L);
  if (start == 0 && end == size) {
    end = -1;
  } else {
    end = std::min(end, static_cast<long>(size));
  }
  if ((end > -1 ? end : size) <= start) return {0, -1};
  return {static_cast<int>(start), static_cast<int>(end)};
}

// libvterm keeps the stops of the columns that remain and gives new ones its defaults.
void resize_with_default_stops(std::vector<bool>& stops, int cols) {
  const auto old_cols = static_cast<int>(stops.size());
  stops.resize(static_cast<std::size_t>(cols));
  for (int col = old_cols; col < cols; ++col) stops[static_cast<std::size_t>(col)] = col % 8 == 0;
}

}  // namespace

void Screen::VTermDeleter::operator()(VTerm* vt) const { vterm_free(vt); }

class Screen::FilterSink final : public VtFilterSink {
 public:
  explicit FilterSink(Screen& screen) : screen_(screen) {}
  void forward(std::string_view bytes) override {
    screen_.copying_glyphs_ = copies_glyphs(bytes);
    screen_.forward_to_vterm(bytes);
    screen_.copying_glyphs_ = false;
  }
  void text(std::string_view bytes) override {
    if (screen_.fast_text_ && screen_.filter_.text_safety().safe()) {
      screen_.write_text(bytes);
    } else {
      screen_.forward_to_vterm(bytes);
    }
  }
  void reply(std::string_view bytes) override { screen_.reply(bytes); }
  void event(const VtEvent& event) override { screen_.on_vt_event(event); }
  bool can_repeat() const override { return screen_.hidden_vt_.last_glyph.width > 0; }

 private:
  Screen& screen_;
};

// libvterm calls these with the Screen as `user`. No exception may cross back into C.
struct Screen::Callbacks {
  static Screen& self(void* user) { return *static_cast<Screen*>(user); }

  template <class Fn>
  static int guarded(Fn&& fn) noexcept {
    try {
      return fn();
    } catch (...) {
      return 1;  // the model stays usable; a lost glyph beats a crash
    }
  }

  static int putglyph(VTermGlyphInfo* info, VTermPos pos, void* user) {
    Screen& s = self(user);
    if (pos.row < 0 || pos.row >= s.rows_ || pos.col < 0 || pos.col >= s.cols_) {
      if (!s.copying_glyphs_) {
        s.remember_text_glyph(pos.row, pos.col, info->chars, info->width, info->dwl);
      }
      s.last_plain_.ch = 0;
      return 0;
    }
    if (!s.copying_glyphs_) {
      s.remember_text_glyph(pos.row, pos.col, info->chars, info->width, info->dwl);
    }
    if (info->width == 1 && info->chars[0] != 0 && info->chars[1] == 0 && !info->protected_cell) {
      // Plain text: no allocation, nothing that can throw.
      s.last_plain_ = {pos.row, pos.col, info->dwl ? 0 : static_cast<char32_t>(info->chars[0])};
      if (pos.col == 0) [[unlikely]] s.note_line_start(pos.row);
      s.row_line(pos.row).set(pos.col, static_cast<char32_t>(info->chars[0]), {}, 1, s.pen_);
      s.mark_dirty(pos.row);
      if (pos.col + 2 >= s.cols_) [[unlikely]] s.note_right_edge(pos.row, pos.col, 1);
      return 1;
    }
    s.last_plain_.ch = 0;
    // Same cap as VTermScreen: a base character and up to five combining marks.
    char32_t chars[VTERM_MAX_CHARS_PER_CELL];
    std::size_t count = 0;
    while (count < VTERM_MAX_CHARS_PER_CELL && info->chars[count] != 0) {
      chars[count] = static_cast<char32_t>(info->chars[count]);
      ++count;
    }
    if (count == 0) return 1;
    if (pos.col == 0) s.note_line_start(pos.row);
    if (pos.col + info->width + 1 >= s.cols_) s.note_right_edge(pos.row, pos.col, info->width);
    return guarded([&] {
      s.put_glyph(pos.row, pos.col, std::u32string_view(chars, count), info->width,
                  info->protected_cell != 0);
      return 1;
    });
  }
  static int movecursor(VTermPos pos, VTermPos /*oldpos*/, int /*visible*/, void* user) {
    Screen& s = self(user);
    // Any move but libvterm's report of where the last glyph left it rules out an autowrap.
    if (s.wrap_pending_ && (pos.row != s.wrap_row_ || pos.col != s.wrap_col_)) {
      s.wrap_pending_ = false;
    }
    if (s.hidden_vt_.pending_wrap && !s.reports_text_at_pending_wrap(pos.row, pos.col)) {
      s.hidden_vt_.pending_wrap = false;
    }
    s.hidden_vt_.cursor_by_repeat = false;
    // 0.1.4 reports a restored (DECRC) position even when a resize left it off the screen,
    // then clamps it silently; clamp here the same way.
    s.cursor_.row = std::clamp(pos.row, 0, s.rows_ - 1);
    s.cursor_.col = std::clamp(pos.col, 0, s.cols_ - 1);
    s.cursor_dirty_ = true;
    return 1;
  }
  static int scrollrect(VTermRect rect, int downward, int rightward, void* user) {
    Screen& s = self(user);
    // Only whole rows move as lines; the rest falls back to moverect + erase.
    if (rightward != 0 || rect.start_col != 0 || rect.end_col != s.cols_) return 0;
    return guarded([&] {
      s.scroll_lines(rect.start_row, rect.end_row, downward);
      return 1;
    });
  }
  static int moverect(VTermRect dest, VTermRect src, void* user) {
    return guarded([&] {
      self(user).move_rect(dest.start_row, dest.start_col, src.start_row, src.start_col,
                           dest.end_row - dest.start_row, dest.end_col - dest.start_col);
      return 1;
    });
  }
  static int erase(VTermRect rect, int selective, void* user) {
    return guarded([&] {
      self(user).erase_rows(rect.start_row, rect.end_row, rect.start_col, rect.end_col,
                            selective != 0);
      return 1;
    });
  }
  static int initpen(void* /*user*/) { return 1; }  // followed by setpenattr for every attribute
  static int setpenattr(VTermAttr attr, VTermValue* val, void* user) {
    Pen& pen = self(user).pen_;
    switch (attr) {
      case VTERM_ATTR_BOLD: pen.attrs.bold = val->boolean != 0; break;
      case VTERM_ATTR_UNDERLINE:
        pen.attrs.underline = static_cast<Underline>(std::clamp(val->number, 0, 3));
        break;
      case VTERM_ATTR_ITALIC: pen.attrs.italic = val->boolean != 0; break;
      case VTERM_ATTR_BLINK: pen.attrs.blink = val->boolean != 0; break;
      case VTERM_ATTR_REVERSE: pen.attrs.reverse = val->boolean != 0; break;
      case VTERM_ATTR_STRIKE: pen.attrs.strike = val->boolean != 0; break;
      case VTERM_ATTR_FOREGROUND: pen.fg = from_vterm(val->color); break;
      case VTERM_ATTR_BACKGROUND: pen.bg = from_vterm(val->color); break;
      default: break;  // alternative fonts: nobody renders them
    }
    return 1;
  }
  static int settermprop(VTermProp prop, VTermValue* val, void* user) {
    return guarded([&] {
      set_term_prop(self(user), prop, *val);
      return 1;
    });
  }
  static void set_term_prop(Screen& s, VTermProp prop, const VTermValue& val) {
    switch (prop) {
      case VTERM_PROP_CURSORVISIBLE: s.cursor_.visible = val.boolean != 0; break;
      case VTERM_PROP_CURSORBLINK: s.cursor_.blink = val.boolean != 0; break;
      case VTERM_PROP_CURSORSHAPE: s.cursor_.shape = shape_from_vterm(val.number); break;
      case VTERM_PROP_ALTSCREEN: s.switch_screen(val.boolean != 0); break;
      case VTERM_PROP_TITLE:
        s.emit({ScreenEvent::Kind::TitleChanged, val.string ? val.string : "", {}});
        break;
      case VTERM_PROP_REVERSE:
        s.reverse_video_ = val.boolean != 0;
        s.all_dirty_ = true;
        break;
      case VTERM_PROP_MOUSE: s.mouse_mode_ = mouse_from_vterm(val.number); break;
      default: break;
    }
    s.cursor_dirty_ = true;
  }
  static int bell(void* user) {
    return guarded([&] {
      self(user).emit({ScreenEvent::Kind::Bell, {}, {}});
      return 1;
    });
  }
  static int resize(int rows, int cols, VTermPos* delta, void* user) {
    return guarded([&] {
      self(user).resize_grids(rows, cols, delta->row, delta->col);
      return 1;
    });
  }
  static int setlineinfo(int, const VTermLineInfo*, const VTermLineInfo*, void*) {
    return 1;  // double-width/-height lines: tmux ignores them, so do we
  }
  static int osc(const char* command, size_t len, void* user) {
    return guarded([&] {
      auto event = event_from_osc(std::string_view(command, len));
      if (!event) return 0;
      self(user).emit(std::move(*event));
      return 1;
    });
  }
  static void output(const char* bytes, size_t len, void* user) {
    guarded([&] {
      self(user).reply(std::string_view(bytes, len));
      return 1;
    });
  }

  static constexpr VTermStateCallbacks kState{putglyph, movecursor, scrollrect, moverect, erase,
                                             initpen,  setpenattr, settermprop, bell,    resize,
                                             setlineinfo};
  static constexpr VTermParserCallbacks kFallbacks{nullptr, nullptr, nullptr, nullptr,
                                                   osc,     nullptr, nullptr};
};

Screen::Screen(const ScreenOptions& options, OutputFn to_agent)
    : to_agent_(std::move(to_agent)),
      filter_(options.reported_fg, options.reported_bg),
      scrollback_limit_(options.scrollback_limit),
      reflow_(options.reflow),
      fast_text_(options.fast_text),
      rows_(std::max(options.rows, 1)),
      cols_(std::max(options.cols, 1)),
      primary_grid_(static_cast<std::size_t>(rows_), Line(cols_)),
      alt_grid_(static_cast<std::size_t>(rows_), Line(cols_)),
      dirty_(static_cast<std::size_t>(rows_), 1) {
  vt_.reset(vterm_new(rows_, cols_));
  if (!vt_) throw std::runtime_error("vterm_new failed");
  vterm_set_utf8(vt_.get(), 1);
  attach_vterm_callbacks();
  VTermState* state = vterm_obtain_state(vt_.get());
  const VTermColor fg = to_vterm(options.default_fg);
  const VTermColor bg = to_vterm(options.default_bg);
  vterm_state_set_default_colors(state, &fg, &bg);
  vterm_state_reset(state, 1);
  if (options.colours_pending) filter_.hold_colour_queries();
}

Screen::~Screen() = default;

void Screen::attach_vterm_callbacks() {
  vterm_output_set_callback(vt_.get(), &Callbacks::output, this);
  VTermState* state = vterm_obtain_state(vt_.get());
  vterm_state_set_callbacks(state, &Callbacks::kState, this);
  vterm_state_set_unrecognised_fallbacks(state, &Callbacks::kFallbacks, this);
}

void Screen::settle_reported_colours(std::optional<Rgb> fg, std::optional<Rgb> bg) {
  FilterSink sink(*this);
  filter_.settle_colours(fg, bg, sink);
}

void Screen::feed(std::string_view bytes) {
  FilterSink sink(*this);
  filter_.feed(bytes, sink);
  sync_cursor();
}

// 0.1.4 can move its cursor without telling: a DECRC in origin mode reports the saved position,
// then clamps it into the scroll region silently. Its own word is final.
void Screen::sync_cursor() {
  VTermPos pos;
  vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &pos);
  const int row = std::clamp(pos.row, 0, rows_ - 1);
  const int col = std::clamp(pos.col, 0, cols_ - 1);
  if (row == cursor_.row && col == cursor_.col) return;
  cursor_.row = row;
  cursor_.col = col;
  cursor_dirty_ = true;
}

void Screen::resize(int rows, int cols) {
  rows = std::max(rows, 1);
  cols = std::max(cols, 1);
  if (rows == rows_ && cols == cols_) return;
  const bool shrinks = rows < rows_ || cols < cols_;
  resize_cursor_.reset();
  vterm_set_size(vt_.get(), rows, cols);  // calls back into resize_grids
  resize_tab_stops(cols);
  if (resize_cursor_) place_vterm_cursor(*resize_cursor_);
  if (shrinks) {
    // 0.1.4 keeps a scroll region (and the saved cursor) that no longer fits, and its next
    // line feed then memmoves a negative size: reset both, keeping cursor and pen where they are.
    constexpr std::string_view kRepair = "\x1b" "7\x1b[r\x1b[s\x1b" "8";
    vterm_input_write(vt_.get(), kRepair.data(), kRepair.size());
    set_scroll_region(VtEvent::kMissing, VtEvent::kMissing);
    set_margins(VtEvent::kMissing, VtEvent::kMissing);
    remember_saved_cursor();
  }
}

// libvterm moves its cursor by the delta resize_grids returns, but also steps it off a pending
// wrap on its own; a CUP settles any difference.
void Screen::place_vterm_cursor(const CursorState& target) {
  VTermPos pos;
  vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &pos);
  if (pos.row == target.row && pos.col == target.col) return;
  const std::string cup =
      "\x1b[" + std::to_string(target.row + 1) + ";" + std::to_string(target.col + 1) + "H";
  vterm_input_write(vt_.get(), cup.data(), cup.size());
}

std::vector<std::string> Screen::text_lines() const {
  std::vector<std::string> lines;
  lines.reserve(static_cast<std::size_t>(rows_));
  for (int row = 0; row < rows_; ++row) lines.push_back(line(row).to_utf8());
  return lines;
}

std::vector<std::string> Screen::scrollback_text_lines() const {
  std::vector<std::string> lines;
  lines.reserve(scrollback_.size());
  for (const Line& l : scrollback_) lines.push_back(l.to_utf8());
  return lines;
}

Damage Screen::take_damage() {
  Damage damage;
  damage.everything = all_dirty_;
  damage.cursor = cursor_dirty_;
  damage.scrolled_up = scrolled_up_;
  for (int row = 0; row < rows_; ++row) {
    if (dirty_[static_cast<std::size_t>(row)] != 0) damage.rows.push_back(row);
  }
  std::fill(dirty_.begin(), dirty_.end(), 0);
  all_dirty_ = cursor_dirty_ = false;
  scrolled_up_ = 0;
  return damage;
}

std::vector<ScreenEvent> Screen::take_events() { return std::exchange(events_, {}); }

bool Screen::mouse_move(int row, int col, unsigned modifiers) {
  if (mouse_mode_ == MouseMode::None) return false;
  vterm_mouse_move(vt_.get(), row, col, static_cast<VTermModifier>(modifiers));
  return true;
}

bool Screen::mouse_button(int button, bool pressed, int row, int col, unsigned modifiers) {
  if (mouse_mode_ == MouseMode::None) return false;
  const auto mod = static_cast<VTermModifier>(modifiers);
  vterm_mouse_move(vt_.get(), row, col, mod);
  vterm_mouse_button(vt_.get(), button, pressed, mod);
  return true;
}

void Screen::focus_changed(bool focused) {
  // libvterm only reports when the agent enabled ?1004 (which our filter splits out for it).
  VTermState* state = vterm_obtain_state(vt_.get());
  if (focused) {
    vterm_state_focus_in(state);
  } else {
    vterm_state_focus_out(state);
  }
}

void Screen::mark_all_dirty() { std::fill(dirty_.begin(), dirty_.end(), 1); }

// Called for each glyph libvterm draws as text, before the grid is touched. 0.1.4 keeps the
// last one of each write for REP and for a combining mark that arrives in the next write, and
// stops at the right edge of the row (half of it on a double-width line) with a pending wrap
// while autowrap is on.
void Screen::remember_text_glyph(int row, int col, const std::uint32_t* chars, int width,
                                 bool double_width_line) {
  LastGlyph& glyph = hidden_vt_.last_glyph;
  glyph.row = row;
  glyph.col = col;
  glyph.width = width;
  glyph.count = 0;
  while (glyph.count < glyph.chars.size() && chars[glyph.count] != 0) {
    glyph.chars[glyph.count] = static_cast<char32_t>(chars[glyph.count]);
    ++glyph.count;
  }
  const int row_width = double_width_line ? cols_ / 2 : cols_;
  hidden_vt_.pending_wrap = filter_.hidden_modes().autowrap && col + width >= row_width;
  hidden_vt_.cursor_by_repeat = false;
}

// 0.1.4 drops a pending wrap whenever its cursor moves, except for the move a text write reports
// at its end, which leaves the cursor on the glyph that set it (any other move goes elsewhere).
bool Screen::reports_text_at_pending_wrap(int row, int col) const {
  const LastGlyph& glyph = hidden_vt_.last_glyph;
  return !copying_glyphs_ && !hidden_vt_.cursor_by_repeat && row == glyph.row && col == glyph.col;
}

void Screen::on_vt_event(const VtEvent& event) {
  switch (event.kind) {
    case VtEvent::Kind::SaveCursor: remember_saved_cursor(); break;
    case VtEvent::Kind::SetTabStop: set_tab_stop(true); break;
    case VtEvent::Kind::ClearTabStop: set_tab_stop(false); break;
    case VtEvent::Kind::ClearAllTabStops:
      hidden_vt_.tab_stops.assign(static_cast<std::size_t>(cols_), false);
      break;
    case VtEvent::Kind::ScrollRegion: set_scroll_region(event.first, event.second); break;
    case VtEvent::Kind::Margins: set_margins(event.first, event.second); break;
    case VtEvent::Kind::CancelWrap: hidden_vt_.pending_wrap = false; break;
    case VtEvent::Kind::Repeat: note_repeat(); break;
    case VtEvent::Kind::Reset: {
      // RIS leaves the saved cursor and the last glyph alone.
      SavedCursor saved = hidden_vt_.saved;
      LastGlyph glyph = hidden_vt_.last_glyph;
      hidden_vt_ = {};
      hidden_vt_.saved = saved;
      hidden_vt_.last_glyph = glyph;
      break;
    }
  }
}

void Screen::remember_saved_cursor() {
  VTermState* state = vterm_obtain_state(vt_.get());
  VTermPos pos;
  vterm_state_get_cursorpos(state, &pos);
  VTermValue font;
  vterm_state_get_penattr(state, VTERM_ATTR_FONT, &font);
  hidden_vt_.saved = {true,           pos.row,        pos.col,        pen_, font.number,
                      cursor_.visible, cursor_.blink, cursor_.shape};
}

void Screen::set_scroll_region(long first, long second) {
  std::tie(hidden_vt_.region_top, hidden_vt_.region_bottom) = vterm_region(first, second, rows_);
}

void Screen::set_margins(long first, long second) {
  std::tie(hidden_vt_.margin_left, hidden_vt_.margin_right) = vterm_region(first, second, cols_);
}

void Screen::set_tab_stop(bool on) {
  VTermPos pos;
  vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &pos);
  if (pos.col < 0 || pos.col >= cols_) return;
  std::vector<bool>& stops = hidden_vt_.tab_stops;
  if (stops.empty()) resize_with_default_stops(stops, cols_);
  stops[static_cast<std::size_t>(pos.col)] = on;
}

void Screen::resize_tab_stops(int cols) {
  if (!hidden_vt_.tab_stops.empty()) resize_with_default_stops(hidden_vt_.tab_stops, cols);
}

// REP draws outside any text write; it leaves a pending wrap when its last copy reaches the edge
// (and on a double-width line, its cursor past the row's end).
void Screen::note_repeat() {
  VTermPos pos;
  vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &pos);
  if (filter_.hidden_modes().autowrap &&
      pos.col + hidden_vt_.last_glyph.width >= vterm_row_width(pos.row)) {
    hidden_vt_.pending_wrap = true;
  }
  hidden_vt_.cursor_by_repeat = true;
}

int Screen::vterm_row_width(int row) const {
  if (row < 0 || row >= rows_) return cols_;
  const VTermLineInfo* info = vterm_state_get_lineinfo(vterm_obtain_state(vt_.get()), row);
  return info != nullptr && info->doublewidth ? cols_ / 2 : cols_;
}

void Screen::emit(ScreenEvent event) {
  if (event.kind == ScreenEvent::Kind::TitleChanged) title_ = event.text;
  events_.push_back(std::move(event));
}

void Screen::reply(std::string_view bytes) {
  if (to_agent_) to_agent_(bytes);
}

}  // namespace sddsh::tui
