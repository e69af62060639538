#pragma once
// A small pre-parser in front of libvterm 0.1.4: it splits what 0.1.4 gets wrong, answers the
// queries 0.1.4 leaves unanswered, and tracks the DEC modes 0.1.4 does not report.

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

class VtFilterSink {
 public:
  virtual void forward(std::string_view bytes) = 0;  // to libvterm, in order
  // Also to libvterm, while it is in its ground state: text and C0 controls (never ESC, SI, SO).
  virtual void text(std::string_view bytes) { forward(bytes); }
  virtual void reply(std::string_view bytes) = 0;    // answer to the agent
 protected:
  ~VtFilterSink() = default;
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
  // Bytes held back waiting for the rest of a sequence.
  std::size_t held_bytes() const { return held_.size(); }

  static constexpr std::size_t kMaxHeld = 64;  // CSI sequences we might rewrite
  // libvterm 0.1.4 keeps 16 CSI arguments and writes the 17th over its own state: a sequence
  // with this many separators (';' or ':') never reaches it.
  static constexpr int kMaxCsiSeparators = 16;
  // OSC/DCS strings are forwarded whole, because 0.1.4 drops a string that arrives in two
  // writes; a longer one (an OSC 52 of more than ~750 KB of text) is dropped instead.
  static constexpr std::size_t kMaxString = 1u << 20;

 private:
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

  std::size_t pass_text(std::string_view bytes, std::size_t pos, VtFilterSink& sink);
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
  void track_control(char c);
  void rewrite_dec_mode(std::string_view params, char final, VtFilterSink& sink);
  void answer_colour(std::string_view which, const std::optional<Rgb>& colour, std::string_view terminator,
                     VtFilterSink& sink);
  void finish_string(std::string_view terminator, VtFilterSink& sink);
  void set_dec_mode(long mode, bool on);
  void release_held(VtFilterSink& sink);

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
};

}  // namespace sddsh::tui
