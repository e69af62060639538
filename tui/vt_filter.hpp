#pragma once
// A small pre-parser in front of libvterm 0.1.4: it splits what 0.1.4 gets wrong, answers the
// queries 0.1.4 leaves unanswered, and tracks the DEC modes 0.1.4 does not report.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sddsh::tui {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

// Modes libvterm 0.1.4 keeps to itself (or ignores) but the owner of the screen needs.
struct TrackedModes {
  bool app_cursor_keys = false;      // DECCKM, ?1
  bool focus_reporting = false;      // ?1004
  bool bracketed_paste = false;      // ?2004
  bool synchronized_output = false;  // ?2026
  friend bool operator==(const TrackedModes&, const TrackedModes&) = default;
};

// What would make libvterm 0.1.4 draw printable ASCII other than one cell per byte, each byte
// as itself, over what is there: Screen's fast path for plain text is only taken without it.
// Only libvterm knows for sure; this follows the sequences that change it, and errs towards
// "not safe" (`uncertain`) where it cannot follow, until a reset (RIS) clears it all.
struct TextSafety {
  bool insert = false;               // IRM: each glyph shifts the line right
  bool origin = false;               // DECOM: cursor moves are relative to the scroll region
  bool lr_margins = false;           // DECLRMM: text wraps at the right margin
  std::uint8_t non_ascii_sets = 0;   // bit n: G<n> holds another set (DEC graphics, UK, ...)
  std::uint8_t gl = 0;               // the G set shifted in (SI, SO, LS2, LS3)
  bool uncertain = false;            // a single shift or a sequence too long to read
  bool safe() const {
    return !insert && !origin && !lr_margins && !uncertain && ((non_ascii_sets >> gl) & 1u) == 0;
  }
};

// libvterm 0.1.4 state that no getter shows and that follows from the bytes alone, exactly as
// 0.1.4 keeps it (found by probing it), so that a keyframe can put a fresh libvterm back into it.
// Unlike TextSafety it never guesses: what 0.1.4 ignores is ignored here too.
struct HiddenModes {
  bool autowrap = true;   // DECAWM, ?7
  bool newline = false;   // LNM (20): a line feed also returns the carriage
  bool keypad = false;    // DECKPAM (ESC =) / DECKPNM (ESC >)
  bool ctrl8bit = false;  // S8C1T (ESC SP G): answers use 8-bit C1 controls
  bool protect = false;   // DECSCA: glyphs drawn now survive selective erase
  std::uint8_t mouse_protocol = 0;  // 0 X10, 1 UTF-8 (?1005), 2 SGR (?1006), 3 rxvt (?1015)
  // G0..G3: 0 is 0.1.4's default (UTF-8); otherwise the designation it knows: 'B', '0' or 'A'.
  std::array<char, 4> charsets{};
  std::uint8_t gl = 0;            // the G set shifted into GL (SI, SO, LS2, LS3)
  std::uint8_t gr = 1;            // ... into GR (LS1R, LS2R, LS3R)
  std::uint8_t single_shift = 0;  // 2 or 3 after SS2/SS3, until the next text
  friend bool operator==(const HiddenModes&, const HiddenModes&) = default;
};

// A sequence whose effect on libvterm depends on where its cursor is or how big its screen is,
// which only the owner of libvterm can follow; told right after the sequence went to libvterm.
struct VtEvent {
  enum class Kind : std::uint8_t {
    SaveCursor,        // DECSC, ?1048h, ?1049h
    SetTabStop,        // HTS
    ClearTabStop,      // TBC 0
    ClearAllTabStops,  // TBC 3 or 5
    ScrollRegion,      // DECSTBM: args are libvterm's first two
    Margins,           // DECSLRM
    CancelWrap,        // a cursor movement that drops a pending wrap even where it cannot move
    Repeat,            // REP: may leave a pending wrap
    Reset,             // RIS
  };
  static constexpr long kMissing = -1;
  Kind kind = Kind::Reset;
  long first = kMissing;
  long second = kMissing;
};

class VtFilterSink {
 public:
  virtual void forward(std::string_view bytes) = 0;  // to libvterm, in order
  // Also to libvterm, while it is in its ground state: text and C0 controls (never ESC, SI, SO).
  virtual void text(std::string_view bytes) { forward(bytes); }
  virtual void reply(std::string_view bytes) = 0;    // answer to the agent
  virtual void event(const VtEvent& /*event*/) {}
  // Whether libvterm's last glyph is one REP can repeat. 0.1.4's REP repeats it until the cursor
  // has moved, so after a glyph of width 0 (a combining mark alone) or none it never stops; only
  // the owner of libvterm sees its glyphs. REP is dropped otherwise, as xterm ignores it.
  virtual bool can_repeat() const { return true; }
 protected:
  ~VtFilterSink() = default;
};

// Everything the filter holds between two feeds, for keyframes (Screen::save_state).
struct VtFilterState {
  std::uint8_t parse_state = 0;  // VtFilter::State
  std::string held;
  std::string passthrough;  // the over-long CSI libvterm is in the middle of, controls left out
  bool passthrough_lost = false;  // ... when it was too long to keep
  std::string utf8_tail;    // an unfinished UTF-8 character at the end of the last feed
  bool csi_has_control = false;
  int csi_separators = 0;
  bool text_seen = false;
  TrackedModes modes;
  TextSafety text;
  HiddenModes hidden;
};

class VtFilter {
 public:
  // The colours OSC 10/11 queries are answered with; unset: the query gets no answer.
  VtFilter(std::optional<Rgb> reported_fg, std::optional<Rgb> reported_bg)
      : default_fg_(reported_fg), default_bg_(reported_bg) {}

  // While the user's terminal has not yet said its colours, colour queries wait; settling
  // answers them (or, with nothing known, drops them).
  void hold_colour_queries() { colours_settled_ = false; }
  void settle_colours(std::optional<Rgb> fg, std::optional<Rgb> bg, VtFilterSink& sink);

  // Sequences may be cut anywhere between calls; only an unfinished sequence is held back.
  void feed(std::string_view bytes, VtFilterSink& sink);

  const TrackedModes& modes() const { return modes_; }
  const TextSafety& text_safety() const { return text_; }
  const HiddenModes& hidden_modes() const { return hidden_; }
  // Bytes held back waiting for the rest of a sequence (or of a UTF-8 character).
  std::size_t held_bytes() const { return held_.size() + utf8_tail_.size(); }

  VtFilterState state() const;
  // Whether `state` is one the filter can be in (so that no later byte can misread it).
  static bool valid(const VtFilterState& state);
  // Only a valid() state is taken; false and nothing changed otherwise.
  bool set_state(const VtFilterState& state);

  // Where the filter is in a sequence (VtFilterState::parse_state holds it).
  enum class State {
    Ground,
    Escape,           // after ESC
    EscapeIntermediate,  // after ESC and an intermediate byte ("ESC (", "ESC #"): up to the final
    Csi,              // collecting a CSI sequence into held_
    CsiPassthrough,   // CSI too long to be one we rewrite: pass until its final byte
    CsiDiscard,       // CSI with more arguments than libvterm holds: dropped up to its final byte
    String,           // collecting an OSC/DCS/APC/PM/SOS string into held_
    StringEscape,     // ESC inside a string: ST, or the start of a new sequence
    StringDiscard,    // a string over kMaxString: dropped up to its end
    StringDiscardEscape,
  };

  static constexpr std::size_t kMaxHeld = 64;  // CSI sequences we might rewrite
  // libvterm 0.1.4 keeps 16 CSI arguments and writes the 17th over its own state: a sequence
  // with this many separators (';' or ':') never reaches it.
  static constexpr int kMaxCsiSeparators = 16;
  // OSC/DCS strings are forwarded whole, because 0.1.4 drops a string that arrives in two
  // writes; a longer one (an OSC 52 of more than ~750 KB of text) is dropped instead.
  static constexpr std::size_t kMaxString = 1u << 20;
  // An over-long CSI is passed through (libvterm is then in the middle of it); its start is kept
  // up to this length so that a keyframe can put libvterm back there.
  static constexpr std::size_t kMaxPassthrough = 4096;
  // The longest UTF-8 sequence libvterm's decoder takes (its 6-byte form) less its last byte.
  static constexpr std::size_t kMaxUtf8Tail = 5;

 private:
  std::size_t pass_text(std::string_view bytes, std::size_t pos, VtFilterSink& sink);
  void send_text(std::string_view span, VtFilterSink& sink);
  void feed_byte(char c, VtFilterSink& sink);
  void on_escape(char c, VtFilterSink& sink);
  void on_csi(char c, VtFilterSink& sink);
  bool count_csi_separator(char c, VtFilterSink& sink);
  void on_csi_discard(char c);
  void on_string(char c, VtFilterSink& sink);
  void on_string_escape(char c, VtFilterSink& sink);
  void on_discard(char c, VtFilterSink& sink);
  void collect_string(std::string_view bytes);
  void start_escape();

  void finish_escape(VtFilterSink& sink);
  void finish_csi(VtFilterSink& sink);
  void track_csi(char leader, std::string_view params, std::string_view intermediates, char final);
  void track_mode(char leader, long mode, bool on);
  void report_csi(char leader, std::string_view params, std::string_view intermediates, char final,
                  VtFilterSink& sink);
  void track_escape(std::string_view intermediates, char final, VtFilterSink& sink);
  void keep_passthrough(char c);
  void finish_passthrough(VtFilterSink& sink);
  void track_control(char c);
  void rewrite_dec_mode(std::string_view params, char final, VtFilterSink& sink);
  void answer_colour(std::string_view which, const std::optional<Rgb>& colour, std::string_view terminator,
                     VtFilterSink& sink);
  void finish_string(std::string_view terminator, VtFilterSink& sink);
  void set_dec_mode(long mode, bool on);
  void release_held(VtFilterSink& sink);
  void abandon_held(VtFilterSink& sink);
  bool repeat_allowed(const VtFilterSink& sink) const;

  std::optional<Rgb> default_fg_;
  std::optional<Rgb> default_bg_;
  bool colours_settled_ = true;
  struct HeldQuery {
    std::string which;       // "10" or "11"
    std::string terminator;  // the one the query used
  };
  std::vector<HeldQuery> held_queries_;
  TrackedModes modes_;
  TextSafety text_;
  State state_ = State::Ground;
  bool csi_has_control_ = false;
  int csi_separators_ = 0;
  // libvterm 0.1.4's REP repeats a "last character" that is uninitialised until one was drawn
  // (it can loop for good): REP goes on only once text went to libvterm.
  bool text_seen_ = false;  // C0 inside a CSI: libvterm executes it, so never rewrite
  std::string held_;
  HiddenModes hidden_;
  std::string passthrough_;
  bool passthrough_lost_ = false;
  // 0.1.4 keeps an unfinished UTF-8 character in the decoder of the chunk it ended, and starts
  // the next write's chunk with another one (mojibake): the filter holds it to the next feed.
  std::string utf8_tail_;
};

}  // namespace sddsh::tui
