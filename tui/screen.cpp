#include "tui/screen.hpp"

#include <vterm.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>
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

}  // namespace

void Screen::VTermDeleter::operator()(VTerm* vt) const { vterm_free(vt); }

class Screen::FilterSink final : public VtFilterSink {
 public:
  explicit FilterSink(Screen& screen) : screen_(screen) {}
  void forward(std::string_view bytes) override { screen_.forward_to_vterm(bytes); }
  void text(std::string_view bytes) override {
    if (screen_.fast_text_ && screen_.filter_.text_safety().safe()) {
      screen_.write_text(bytes);
    } else {
      screen_.forward_to_vterm(bytes);
    }
  }
  void reply(std::string_view bytes) override { screen_.reply(bytes); }

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
      s.last_plain_.ch = 0;
      return 0;
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
  vterm_output_set_callback(vt_.get(), &Callbacks::output, this);
  VTermState* state = vterm_obtain_state(vt_.get());
  vterm_state_set_callbacks(state, &Callbacks::kState, this);
  vterm_state_set_unrecognised_fallbacks(state, &Callbacks::kFallbacks, this);
  const VTermColor fg = to_vterm(options.default_fg);
  const VTermColor bg = to_vterm(options.default_bg);
  vterm_state_set_default_colors(state, &fg, &bg);
  vterm_state_reset(state, 1);
  if (options.colours_pending) filter_.hold_colour_queries();
}

Screen::~Screen() = default;

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
  if (resize_cursor_) place_vterm_cursor(*resize_cursor_);
  if (shrinks) {
    // 0.1.4 keeps a scroll region (and the saved cursor) that no longer fits, and its next
    // line feed then memmoves a negative size: reset both, keeping cursor and pen where they are.
    constexpr std::string_view kRepair = "\x1b" "7\x1b[r\x1b[s\x1b" "8";
    vterm_input_write(vt_.get(), kRepair.data(), kRepair.size());
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

void Screen::emit(ScreenEvent event) {
  if (event.kind == ScreenEvent::Kind::TitleChanged) title_ = event.text;
  events_.push_back(std::move(event));
}

void Screen::reply(std::string_view bytes) {
  if (to_agent_) to_agent_(bytes);
}

}  // namespace sddsh::tui
