#pragma once
// The headless terminal screen: bytes from the agent in, cells, cursor, modes and events out.
// libvterm's parser and state layer interpret the bytes; the grid is ours, because libvterm's
// VTermScreen moves every cell on each scrolled line and is slower than tmux on scrolling text.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tui/cell.hpp"
#include "tui/vt_filter.hpp"

struct VTerm;  // libvterm's handle; only screen.cpp sees <vterm.h>

namespace sddsh::tui {

struct ScreenOptions {
  int rows = 24;
  int cols = 80;
  std::size_t scrollback_limit = 10000;  // lines kept above the screen
  // libvterm's default colours (cells keep "default" apart from any palette entry anyway).
  Rgb default_fg{240, 240, 240};
  Rgb default_bg{0, 0, 0};
  // What OSC 10/11 colour queries are told: the user's terminal's own colours when it told us.
  // Unset: no answer, as from tmux 3.3 — an invented colour makes agents pick another theme.
  std::optional<Rgb> reported_fg = Rgb{240, 240, 240};
  std::optional<Rgb> reported_bg = Rgb{0, 0, 0};
  // The colours are not known yet (the user's terminal is being asked): queries wait for
  // settle_reported_colours().
  bool colours_pending = false;
  // Rewrap the primary screen and its scrollback when the width changes, and keep or drop lines
  // on a height change, as tmux does. Off: cut and pad like libvterm's VTermScreen.
  bool reflow = true;
  // Runs of printable ASCII are written into the grid directly instead of glyph by glyph
  // through libvterm (see write_text in screen_text.cpp). Off: every glyph takes the slow path,
  // which the differential test compares the fast one with.
  bool fast_text = true;
};

enum class CursorShape : std::uint8_t { Block, Underline, BarLeft };
enum class MouseMode : std::uint8_t { None, Click, Drag, Move };

struct CursorState {
  int row = 0;
  int col = 0;
  bool visible = true;
  bool blink = true;
  CursorShape shape = CursorShape::Block;
};

struct ScreenEvent {
  enum class Kind : std::uint8_t { Bell, Notification, Clipboard, TitleChanged };
  Kind kind = Kind::Bell;
  std::string text;    // notification body, clipboard payload (base64 as sent), or new title
  std::string detail;  // notification title (OSC 777) or clipboard selection ("c", "p", ...)
};

// Rows changed since the last take_damage(); cheap to keep: one byte per row.
struct Damage {
  std::vector<int> rows;     // ascending
  bool cursor = false;       // moved, shown/hidden or reshaped
  bool everything = false;   // resize or screen switch: repaint all
  int scrolled_up = 0;       // full-screen scrolls folded into `rows`, a hint for the painter
  bool empty() const { return rows.empty() && !cursor && !everything; }
};

enum KeyModifier : unsigned { kModNone = 0, kModShift = 1, kModAlt = 2, kModCtrl = 4 };

class Screen {
 public:
  using OutputFn = std::function<void(std::string_view)>;

  explicit Screen(const ScreenOptions& options, OutputFn to_agent = {});
  ~Screen();
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  // Bytes the agent wrote; sequences may be split across calls anywhere.
  void feed(std::string_view bytes);
  void resize(int rows, int cols);
  void set_output(OutputFn to_agent) { to_agent_ = std::move(to_agent); }
  // The user's terminal answered (or not): held colour queries are answered now.
  void settle_reported_colours(std::optional<Rgb> fg, std::optional<Rgb> bg);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  const Line& line(int row) const {
    // Ring lookup without a division: this runs once per glyph.
    std::size_t index = top() + static_cast<std::size_t>(row);
    if (index >= static_cast<std::size_t>(rows_)) index -= static_cast<std::size_t>(rows_);
    return grid()[index];
  }
  const Cell& cell(int row, int col) const { return line(row).at(col); }
  std::u32string cell_text(int row, int col) const { return line(row).text_at(col); }
  // Each row as UTF-8 with trailing spaces trimmed, as `tmux capture-pane -p` prints it.
  std::vector<std::string> text_lines() const;

  const CursorState& cursor() const { return cursor_; }
  bool alt_screen() const { return alt_active_; }
  bool reverse_video() const { return reverse_video_; }
  const std::string& title() const { return title_; }
  MouseMode mouse_mode() const { return mouse_mode_; }
  bool bracketed_paste() const { return filter_.modes().bracketed_paste; }
  bool focus_reporting() const { return filter_.modes().focus_reporting; }
  bool app_cursor_keys() const { return filter_.modes().app_cursor_keys; }
  // While set the agent is mid-frame (?2026): the painter should hold the previous frame.
  bool synchronized_output() const { return filter_.modes().synchronized_output; }

  // Scrollback: index 0 is the oldest line, scrollback_size() - 1 the one just above row 0.
  std::size_t scrollback_size() const { return scrollback_.size(); }
  const Line& scrollback_line(std::size_t index) const { return scrollback_[index]; }
  std::vector<std::string> scrollback_text_lines() const;

  Damage take_damage();
  std::vector<ScreenEvent> take_events();

  // Everything that decides what later bytes do and show — both screens' cells, the cursor and
  // its pending wrap, the pen, the modes, the scroll region, the title — plus the newest
  // `scrollback_lines` lines of scrollback, in a compact versioned encoding (screen_state.cpp).
  // Replay's keyframes are made of it.
  std::string save_state(std::size_t scrollback_lines = 0) const;
  // Makes this screen (of any size) continue exactly as the saved one would have: the same bytes
  // fed to both afterwards give the same cells, cursor and modes. False, and the screen
  // unchanged, when `state` is not something save_state() wrote.
  bool restore_state(std::string_view state);

  // Input towards the agent; mouse reports only go out while the agent asked for them.
  bool mouse_move(int row, int col, unsigned modifiers = kModNone);
  bool mouse_button(int button, bool pressed, int row, int col, unsigned modifiers = kModNone);
  void focus_changed(bool focused);

 private:
  struct Callbacks;  // the C trampolines libvterm calls; see screen.cpp
  friend struct Callbacks;
  class FilterSink;
  struct VTermDeleter {
    void operator()(VTerm* vt) const;
  };
  // A save_state() decoded, and how libvterm is put back into it (screen_state.cpp).
  struct Keyframe;

  // libvterm 0.1.4 state that no getter shows and the filter cannot follow alone, because it
  // depends on libvterm's cursor or size. Followed from the callbacks and the filter's VtEvents
  // with 0.1.4's own rules (probed), so that a keyframe can hand it to a fresh libvterm.
  struct SavedCursor {  // DECSC's slot, shared with ?1048 and ?1049
    bool valid = false;  // never saved: 0.1.4's slot holds zeros (a hidden cursor, a black pen)
    int row = 0;
    int col = 0;
    Pen pen;
    int font = 0;
    bool visible = false;
    bool blink = false;
    CursorShape shape = CursorShape::Block;
  };
  // The last glyph drawn as text: what REP repeats and a combining mark in the next write joins.
  struct LastGlyph {
    int row = 0;
    int col = 0;
    int width = 0;
    std::uint8_t count = 0;  // 0: none yet
    std::array<char32_t, 6> chars{};  // libvterm's VTERM_MAX_CHARS_PER_CELL
  };
  struct HiddenVtState {
    int region_top = 0;
    int region_bottom = -1;  // -1: the screen's last row, however tall it becomes
    int margin_left = 0;
    int margin_right = -1;
    std::vector<bool> tab_stops;  // empty: libvterm's own, every 8 columns
    SavedCursor saved;
    LastGlyph last_glyph;
    bool pending_wrap = false;  // libvterm's "phantom column": the next glyph wraps first
    bool cursor_by_repeat = false;  // REP put the cursor where it is (maybe past a row's end)
  };

  Line& row_line(int row) { return const_cast<Line&>(std::as_const(*this).line(row)); }
  void mark_dirty(int row) { dirty_[static_cast<std::size_t>(row)] = 1; }
  void mark_all_dirty();
  void put_glyph(int row, int col, std::u32string_view chars, int width, bool protect);
  void scroll_lines(int start_row, int end_row, int downward);
  void rotate_full_screen(int downward);
  void move_rect(int dest_row, int dest_col, int src_row, int src_col, int height, int width);
  void erase_rows(int start_row, int end_row, int start_col, int end_col, bool selective);
  void switch_screen(bool alternate);
  void resize_grids(int rows, int cols, int& cursor_row_delta, int& cursor_col_delta);
  void resize_truncating(int rows, int cols, int& cursor_row_delta);
  CursorState reflow_primary(int rows, int cols, CursorState cursor);
  std::vector<Line> take_primary_lines();
  int last_text_row() const;
  void place_vterm_cursor(const CursorState& target);
  void sync_cursor();
  // The fast path for plain text (screen_text.cpp).
  void write_text(std::string_view span);
  std::size_t write_run(std::string_view span, std::size_t sent, std::size_t begin,
                        std::size_t end);
  std::optional<int> column_after_plain_glyph(char drawn) const;
  void forward_to_vterm(std::string_view bytes);
  void move_vterm_cursor_right(int columns);
  // Autowrap detection (see note_line_start in screen_grid.cpp); off the per-glyph fast path.
  void note_right_edge(int row, int col, int width);
  void note_line_start(int row);
  int first_blank_row_below(int rows, int cursor_row) const;
  void pop_scrollback_into_top();
  void push_scrollback(const Line& line);
  void emit(ScreenEvent event);
  void reply(std::string_view bytes);
  void attach_vterm_callbacks();
  // Following HiddenVtState (screen.cpp).
  void remember_text_glyph(int row, int col, const std::uint32_t* chars, int width,
                           bool double_width_line);
  bool reports_text_at_pending_wrap(int row, int col) const;
  void on_vt_event(const VtEvent& event);
  void remember_saved_cursor();
  void set_scroll_region(long first, long second);
  void set_margins(long first, long second);
  void set_tab_stop(bool on);
  void resize_tab_stops(int cols);
  void note_repeat();
  int vterm_row_width(int row) const;
  // Keyframes (screen_state.cpp).
  void apply_keyframe(Keyframe&& frame, std::unique_ptr<VTerm, VTermDeleter> vt);

  std::vector<Line>& grid() { return alt_active_ ? alt_grid_ : primary_grid_; }
  const std::vector<Line>& grid() const { return alt_active_ ? alt_grid_ : primary_grid_; }
  std::size_t& top() { return alt_active_ ? alt_top_ : primary_top_; }
  std::size_t top() const { return alt_active_ ? alt_top_ : primary_top_; }

  std::unique_ptr<VTerm, VTermDeleter> vt_;
  OutputFn to_agent_;
  VtFilter filter_;
  std::size_t scrollback_limit_;
  bool reflow_;
  bool fast_text_;
  int rows_;
  int cols_;

  // Rows are rings: a full-screen scroll moves the top index instead of the cells.
  std::vector<Line> primary_grid_;
  std::vector<Line> alt_grid_;
  std::size_t primary_top_ = 0;
  std::size_t alt_top_ = 0;
  bool alt_active_ = false;
  std::deque<Line> scrollback_;

  Pen pen_;
  CursorState cursor_;
  // The last glyph reached the right edge and the cursor has not moved since: a glyph at column
  // 0 now means autowrap carried the text on. wrap_cursor_ is where libvterm left the cursor.
  bool wrap_pending_ = false;
  bool wrap_phantom_ = false;  // the glyph filled the last column (libvterm's pending wrap)
  int wrap_row_ = 0;
  int wrap_col_ = 0;
  // The last glyph libvterm drew, when it was one narrow unprotected character on a normal
  // line (ch 0 otherwise): the fast path checks that libvterm drew a run's first character so.
  struct PlainGlyph {
    int row = 0;
    int col = 0;
    char32_t ch = 0;
  };
  PlainGlyph last_plain_;
  std::optional<CursorState> resize_cursor_;  // where a reflowing resize put the cursor
  bool reverse_video_ = false;
  MouseMode mouse_mode_ = MouseMode::None;
  std::string title_;

  HiddenVtState hidden_vt_;
  bool copying_glyphs_ = false;  // libvterm runs REP or DECALN: its glyphs are no text

  std::vector<std::uint8_t> dirty_;
  bool cursor_dirty_ = false;
  bool all_dirty_ = true;
  int scrolled_up_ = 0;
  std::vector<ScreenEvent> events_;
};

}  // namespace sddsh::tui
