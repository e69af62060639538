#pragma once
// Splits the raw bytes of the user's terminal into what sddsh handles itself (the prefix key,
// bracketed paste, focus, mouse, and - in sddsh's own modes - decoded keys) and runs of bytes that
// go to the agent exactly as the terminal sent them. sddsh mirrors the agent's cursor-key, keypad
// and modifyOtherKeys modes to the outer terminal, so forwarding unchanged bytes is transparent.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sddsh::tui {

struct KeyEvent {  // a key, decoded, for sddsh's own modes (prefix commands, scrollback, panel)
  enum class Kind : std::uint8_t {
    Char,
    Enter,
    Tab,
    BackTab,
    Backspace,
    Escape,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Insert,
    Delete,
    F /* f_number 1..12 */,
    Unknown
  };
  Kind kind = Kind::Unknown;
  // For Char: the character. A Ctrl-letter is ch='a'..'z' with ctrl=true; 0x0a (Ctrl-J, not Enter
  // in raw mode) is 'j' with ctrl; 0x00 is ' ' with ctrl (Ctrl-Space / Ctrl-@).
  char32_t ch = 0;
  int f_number = 0;
  bool ctrl = false, alt = false, shift = false;
  std::string bytes;  // the exact bytes that encoded it (to forward when sddsh does not use it)
};

struct MouseEvent {
  enum class Action : std::uint8_t { Press, Release, Motion, WheelUp, WheelDown };
  Action action = Action::Press;
  int button = 0;  // 0 left, 1 middle, 2 right (Press/Release/Motion with a button held); -1 none
  int row = 0, col = 0;  // 0-based, in the OUTER terminal
  bool shift = false, alt = false, ctrl = false;
};

struct InputEvent {
  enum class Kind : std::uint8_t {
    Bytes,
    Key,
    PasteStart,
    PasteData,
    PasteEnd,
    Mouse,
    FocusIn,
    FocusOut,
    Prefix
  };
  Kind kind = Kind::Bytes;
  std::string bytes;  // Bytes: a run to forward unchanged; PasteData: pasted text (no markers)
  KeyEvent key;       // Key
  MouseEvent mouse;   // Mouse
};

class InputDecoder {
 public:
  // Longest sequence held back waiting for its end; longer garbage is let go as bytes.
  static constexpr std::size_t kMaxHeld = 64;

  // The prefix key as its C0 byte ("\x1d" is Ctrl-]); its modifyOtherKeys (CSI 27;5;93~) and
  // CSI-u (CSI 93;5u) forms are derived from it. It should be a C0 control other than ESC.
  explicit InputDecoder(char prefix_byte = 0x1d) : prefix_byte_(prefix_byte) {}
  void set_prefix_byte(char prefix_byte) { prefix_byte_ = prefix_byte; }
  // When true, every complete key comes as a Key event (sddsh's own modes); when false, keys
  // come as Bytes runs. The prefix key turns it on by itself (see emit_prefix).
  void set_decode_keys(bool decode) { decode_keys_ = decode; }

  // Appends the events for `bytes`. Sequences may be split across calls anywhere.
  void feed(std::string_view bytes, std::vector<InputEvent>& out);
  // True while bytes wait for the rest of a sequence; call flush_pending() after a short timeout.
  // A lone ESC at the end of a feed is never held: Esc must act without delay.
  bool has_pending() const { return !held_.empty(); }
  // Emits the held bytes unchanged: as Bytes, PasteData inside a paste, or Keys in decode mode.
  void flush_pending(std::vector<InputEvent>& out);

 private:
  class Emitter;
  // What may follow the end of the data being processed.
  enum class Tail : std::uint8_t { MayContinue, FeedEnd, Flush };

  void process(std::string_view data, Tail tail, Emitter& emit);
  std::size_t step_paste(std::string_view data, std::size_t pos, Tail tail, Emitter& emit);
  std::size_t step_bytes(std::string_view data, std::size_t pos, Tail tail, Emitter& emit);
  void emit_prefix(Emitter& emit);
  std::size_t step_key(std::string_view data, std::size_t pos, Tail tail, Emitter& emit);
  std::size_t step_escape(std::string_view data, std::size_t pos, Tail tail, Emitter& emit);
  std::size_t step_alt_key(std::string_view data, std::size_t pos, Tail tail, Emitter& emit);
  std::size_t step_plain_key(std::string_view data, std::size_t pos, Tail tail, bool alt,
                             Emitter& emit);
  bool handle_own_sequence(char introducer, std::string_view params, char final, Emitter& emit);
  bool is_prefix_sequence(std::string_view params, char final) const;
  std::size_t hold(std::string_view data, std::size_t pos);

  std::string held_;  // the start of an unfinished sequence, never more than kMaxHeld bytes
  char prefix_byte_;
  bool decode_keys_ = false;
  bool in_paste_ = false;
};

}  // namespace sddsh::tui
