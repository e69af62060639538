#include "recorder/turn_detector.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

// Three parts: KeyDecoder turns bytes into editing keys, EditableLine is the prompt with its
// cursor, and TurnDetector::Impl applies the keys, keeps track of what it cannot know, and
// decides which Enter is a turn. docs/turns.md explains the choices.

namespace sddsh::recorder {
namespace {

using Clock = TurnDetector::Clock;

constexpr unsigned char kEsc = 0x1b;
// A terminal writes a key's whole sequence at once. An ESC (or ESC + '[' and the like) left alone
// this long was the Escape key (or Alt + that key), not the start of a sequence cut by a read.
constexpr auto kLoneEscapeAfter = std::chrono::milliseconds(100);
// Gemini CLI and Claude Code clear a non-empty input when Esc is pressed twice in a row.
constexpr auto kDoubleEscapeWithin = std::chrono::seconds(1);
constexpr std::size_t kTextRunBytes = 4096;    // typed or pasted text is handed on in such runs
constexpr std::size_t kMaxCsiParamBytes = 64;  // no key needs more; longer is ignored whole
constexpr int kMaxHistoryDepth = 1'000'000;
constexpr std::size_t kMaxBlankLinesInBurst = 1000;
constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";
constexpr std::string_view kPasteEndAfterEsc = "[201~";

// ---------------------------------------------------------------------------------------------
// UTF-8

bool is_continuation_byte(unsigned char byte) {
  return (byte & 0xC0U) == 0x80U;
}

// The length of a well-formed sequence starting with `lead` (RFC 3629); 0 when it starts none.
std::size_t utf8_length_from_lead(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
bool fits_after_lead(unsigned char lead, unsigned char byte) {
  switch (lead) {
    case 0xE0:
      return byte >= 0xA0 && byte <= 0xBF;
    case 0xED:
      return byte >= 0x80 && byte <= 0x9F;
    case 0xF0:
      return byte >= 0x90 && byte <= 0xBF;
    case 0xF4:
      return byte >= 0x80 && byte <= 0x8F;
    default:
      return is_continuation_byte(byte);
  }
}

bool is_printable_code_point(char32_t code) {
  const bool control = code < 0x20 || (code >= 0x7F && code < 0xA0);
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  return !control && !surrogate && code <= 0x10FFFF;
}

void append_utf8(std::string& out, char32_t code) {
  auto byte = [](char32_t bits) { return static_cast<char>(bits); };
  if (code < 0x80) {
    out += byte(code);
  } else if (code < 0x800) {
    out += byte(0xC0 | (code >> 6));
    out += byte(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += byte(0xE0 | (code >> 12));
    out += byte(0x80 | ((code >> 6) & 0x3F));
    out += byte(0x80 | (code & 0x3F));
  } else {
    out += byte(0xF0 | (code >> 18));
    out += byte(0x80 | ((code >> 12) & 0x3F));
    out += byte(0x80 | ((code >> 6) & 0x3F));
    out += byte(0x80 | (code & 0x3F));
  }
}

// The longest start of `utf8` that fits in `limit` bytes without splitting a code point.
std::string_view prefix_within(std::string_view utf8, std::size_t limit) {
  if (utf8.size() <= limit) return utf8;
  while (limit > 0 && is_continuation_byte(static_cast<unsigned char>(utf8[limit]))) --limit;
  return utf8.substr(0, limit);
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view without_trailing_blanks(std::string_view text) {
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Keys

// What one key does to the prompt being typed, whatever bytes encoded it.
enum class LineKey : std::uint8_t {
  Text,  // insert KeyEvent::text (typed or pasted) at the cursor
  Submit,
  InsertNewline,
  Backspace,
  DeleteForward,
  CursorLeft,
  CursorRight,
  WordLeft,
  WordRight,
  LineStart,
  LineEnd,
  TextStart,
  TextEnd,
  Up,
  Down,
  DeleteWordBefore,        // Alt+Backspace: back over one alphanumeric word
  DeleteSpacedWordBefore,  // ^W: back to the previous blank
  DeleteWordAfter,
  KillToLineStart,
  KillToLineEnd,
  Yank,
  Clear,          // ^C
  Complete,       // Tab
  OutsideChange,  // the agent may now hold text never typed here: ^R search, ^G editor, ^_ undo
  Escape,
};

struct KeyEvent {
  LineKey key = LineKey::Text;
  std::string text;  // for LineKey::Text: valid UTF-8
  Clock::time_point at;
};

// xterm's modifier parameter: 1 + bits (shift 1, alt 2, ctrl 4, super 8; the lock keys above).
struct Modifiers {
  bool shift = false;
  bool alt = false;
  bool ctrl = false;
  bool super = false;

  static Modifiers from_parameter(std::uint32_t parameter) {
    const std::uint32_t bits = parameter > 0 ? parameter - 1 : 0;
    Modifiers mods;
    mods.shift = (bits & 1U) != 0;
    mods.alt = (bits & 2U) != 0;
    mods.ctrl = (bits & 4U) != 0;
    mods.super = (bits & 8U) != 0;
    return mods;
  }
  bool any() const { return shift || alt || ctrl || super; }
};

// The parameters of a CSI sequence: fields split by ';', sub-fields by ':' (kitty's keyboard
// protocol uses both). Missing values read as 0; values are clamped, so garbage cannot overflow.
class CsiFields {
 public:
  explicit CsiFields(std::string_view params);
  std::uint32_t get(std::size_t field, std::size_t subfield = 0) const {
    return field < count_ && subfield < subfields_[field] ? values_[field][subfield] : 0;
  }
  std::size_t subfield_count(std::size_t field) const {
    return field < count_ ? subfields_[field] : 0;
  }

 private:
  static constexpr std::size_t kFields = 4;
  static constexpr std::size_t kSubfields = 8;
  static constexpr std::uint32_t kClamp = 0x110000;  // past the last code point

  std::array<std::array<std::uint32_t, kSubfields>, kFields> values_{};
  std::array<std::size_t, kFields> subfields_{};
  std::size_t count_ = 0;
};

CsiFields::CsiFields(std::string_view params) {
  if (params.empty()) return;
  std::size_t field = 0;
  std::size_t subfield = 0;
  count_ = 1;
  subfields_[0] = 1;
  for (char c : params) {
    if (c == ';') {
      if (++field == kFields) return;
      subfield = 0;
      count_ = field + 1;
      subfields_[field] = 1;
    } else if (c == ':') {
      if (++subfield < kSubfields) subfields_[field] = subfield + 1;
    } else if (c >= '0' && c <= '9' && subfield < kSubfields) {
      std::uint32_t& value = values_[field][subfield];
      value = std::min(value * 10 + static_cast<std::uint32_t>(c - '0'), kClamp);
    }
  }
}

// A CSI sequence being read.
struct CsiSequence {
  char private_marker = 0;  // '<' '=' '>' '?': mouse reports and the terminal's replies
  bool ignored = false;     // intermediates, a misplaced marker or too long: no key of ours
  std::string params;

  void add(unsigned char byte) {
    const bool marker = byte >= 0x3C && byte <= 0x3F;
    if (marker && params.empty() && private_marker == 0) {
      private_marker = static_cast<char>(byte);
    } else if (!marker && byte >= 0x30 && params.size() < kMaxCsiParamBytes) {
      params += static_cast<char>(byte);
    } else {
      ignored = true;
    }
  }
};

// The character of a keypad key in application keypad mode (ESC O p is '0', ...).
std::optional<char> keypad_character(unsigned char final_byte) {
  if (final_byte >= 'p' && final_byte <= 'y') return static_cast<char>('0' + (final_byte - 'p'));
  switch (final_byte) {
    case 'j':
      return '*';
    case 'k':
      return '+';
    case 'l':
      return ',';
    case 'm':
      return '-';
    case 'n':
      return '.';
    case 'o':
      return '/';
    case 'X':
      return '=';
    default:
      return std::nullopt;
  }
}

// Kitty reports keys without a character (keypad, media, modifier keys) in this private range.
bool is_kitty_functional_key(char32_t code) {
  return code >= 57344 && code <= 63743;
}
constexpr char32_t kKittyKeypadEnter = 57414;

// ---------------------------------------------------------------------------------------------
// KeyDecoder: bytes to keys, one byte at a time, so that a sequence may be cut anywhere between
// two calls. Only a partial sequence is held back between calls, and its size is bounded.

class KeyDecoder {
 public:
  std::vector<KeyEvent> decode(std::string_view bytes, Clock::time_point now);

 private:
  enum class State : std::uint8_t {
    Ground,
    Escape,         // after ESC
    Csi,            // after ESC [
    Ss3,            // after ESC O
    ControlString,  // OSC, DCS, SOS, PM, APC: the terminal's replies, ignored whole
    SkipBytes,      // the raw bytes of an X10 mouse report, a Linux console key
    Paste,          // between ESC [ 200 ~ and ESC [ 201 ~
    PasteEscape,    // an ESC inside a paste: the end marker, or not
  };

  void resolve_lone_introducer();
  void step(unsigned char byte);
  void on_ground(unsigned char byte, bool follows_cr);
  void on_escape(unsigned char byte);
  void on_csi(unsigned char byte);
  void on_ss3(unsigned char byte);
  void on_control_string(unsigned char byte);
  void on_skip(unsigned char byte);
  void on_paste(unsigned char byte, bool follows_cr);
  void on_paste_escape(unsigned char byte);
  void begin_escape();
  void enter(State state);
  void abandon_sequence(unsigned char byte);

  void control_key(unsigned char byte);
  void alt_key(unsigned char byte);
  void dispatch_csi(unsigned char final_byte);
  void dispatch_tilde(const CsiFields& fields);
  void dispatch_kitty(const CsiFields& fields);
  void code_point_key(char32_t code, char32_t shifted, Modifiers mods);
  void dispatch_ss3(unsigned char final_byte);

  void text_byte(unsigned char byte);
  void end_partial_utf8();
  void append_text(std::string_view utf8);
  void append_code_point(char32_t code);
  void key(LineKey key) { key_at(key, now_); }
  void key_at(LineKey key, Clock::time_point at);
  void flush_text();

  State state_ = State::Ground;
  Clock::time_point escape_at_{};   // when the ESC of the sequence being read came
  std::size_t sequence_bytes_ = 0;  // read after the sequence's introducer
  CsiSequence csi_;
  std::size_t bytes_to_skip_ = 0;
  std::size_t paste_end_matched_ = 0;  // bytes of kPasteEndAfterEsc seen after a pasted ESC
  std::string utf8_;                   // the bytes of a code point still incomplete
  std::size_t utf8_missing_ = 0;
  bool after_cr_ = false;  // the previous byte was CR: a LF now ends the same line

  // For the decode() call under way.
  Clock::time_point now_{};
  std::string text_run_;
  std::vector<KeyEvent> events_;
};

std::vector<KeyEvent> KeyDecoder::decode(std::string_view bytes, Clock::time_point now) {
  now_ = now;
  events_.clear();
  resolve_lone_introducer();
  for (char c : bytes) step(static_cast<unsigned char>(c));
  flush_text();
  return std::move(events_);
}

// Called before new bytes: an introducer that waited long was a key of its own.
void KeyDecoder::resolve_lone_introducer() {
  const bool introducer_only =
      sequence_bytes_ == 0 && (state_ == State::Escape || state_ == State::Csi ||
                               state_ == State::Ss3 || state_ == State::ControlString);
  if (!introducer_only || now_ - escape_at_ < kLoneEscapeAfter) return;
  // Alt+[, Alt+O, Alt+] and the like mean nothing to the line; Escape is a key of its own.
  if (state_ == State::Escape) key_at(LineKey::Escape, escape_at_);
  state_ = State::Ground;
}

void KeyDecoder::step(unsigned char byte) {
  const bool follows_cr = std::exchange(after_cr_, false);
  switch (state_) {
    case State::Ground:
      return on_ground(byte, follows_cr);
    case State::Escape:
      return on_escape(byte);
    case State::Csi:
      return on_csi(byte);
    case State::Ss3:
      return on_ss3(byte);
    case State::ControlString:
      return on_control_string(byte);
    case State::SkipBytes:
      return on_skip(byte);
    case State::Paste:
      return on_paste(byte, follows_cr);
    case State::PasteEscape:
      return on_paste_escape(byte);
  }
}

void KeyDecoder::on_ground(unsigned char byte, bool follows_cr) {
  if (byte >= 0x20 && byte != 0x7F) return text_byte(byte);
  end_partial_utf8();
  if (byte == kEsc) return begin_escape();
  if (byte == '\n' && follows_cr) return;  // CR LF from a terminal or a script: one Enter
  control_key(byte);
}

void KeyDecoder::begin_escape() {
  escape_at_ = now_;
  enter(State::Escape);
}

void KeyDecoder::enter(State state) {
  state_ = state;
  sequence_bytes_ = 0;
  if (state == State::Csi) csi_ = CsiSequence{};
}

// A byte that cannot belong to the sequence being read: the sequence is dropped and the byte
// taken as typed (a control or a character can never be inside a key's sequence).
void KeyDecoder::abandon_sequence(unsigned char byte) {
  state_ = State::Ground;
  on_ground(byte, false);
}

void KeyDecoder::on_escape(unsigned char byte) {
  switch (byte) {
    case '[':
      return enter(State::Csi);
    case 'O':
      return enter(State::Ss3);
    case ']':
    case 'P':
    case 'X':
    case '^':
    case '_':
      return enter(State::ControlString);
    case kEsc:  // Escape pressed, then the next key's sequence
      key_at(LineKey::Escape, escape_at_);
      return begin_escape();
    default:
      break;
  }
  state_ = State::Ground;
  const bool alt_combination =
      (byte >= 0x20 && byte < 0x80) || byte == '\r' || byte == '\n' || byte == 0x08;
  if (alt_combination) return alt_key(byte);
  key_at(LineKey::Escape, escape_at_);
  on_ground(byte, false);
}

void KeyDecoder::on_csi(unsigned char byte) {
  ++sequence_bytes_;
  if (byte >= 0x40 && byte <= 0x7E) {
    state_ = State::Ground;
    return dispatch_csi(byte);
  }
  if (byte >= 0x20 && byte <= 0x3F) return csi_.add(byte);
  abandon_sequence(byte);
}

void KeyDecoder::on_ss3(unsigned char byte) {
  ++sequence_bytes_;
  if (byte >= 0x40 && byte <= 0x7E) {
    state_ = State::Ground;
    return dispatch_ss3(byte);
  }
  if (byte >= 0x30 && byte <= 0x3F) return;  // a modifier digit (old xterms): not used
  abandon_sequence(byte);
}

void KeyDecoder::on_control_string(unsigned char byte) {
  ++sequence_bytes_;
  if (byte == kEsc) return begin_escape();  // ESC \ ends the string; ESC + other starts anew
  if (byte == 0x07 || byte == 0x18 || byte == 0x1A) {  // BEL ends an OSC; CAN and SUB cancel
    state_ = State::Ground;
    return;
  }
  // The terminal's replies hold no other controls: this is a key typed after Alt+] or the like.
  if (byte < 0x20) abandon_sequence(byte);
}

void KeyDecoder::on_skip(unsigned char /*byte*/) {
  if (--bytes_to_skip_ == 0) state_ = State::Ground;
}

void KeyDecoder::on_paste(unsigned char byte, bool follows_cr) {
  if (byte >= 0x20 && byte != 0x7F) return text_byte(byte);
  end_partial_utf8();
  if (byte == kEsc) {
    state_ = State::PasteEscape;
    paste_end_matched_ = 0;
  } else if (byte == '\r' || byte == '\n') {
    if (!(byte == '\n' && follows_cr)) append_text("\n");  // CR, LF and CR LF: one newline
    after_cr_ = byte == '\r';
  } else if (byte == '\t') {
    append_text("\t");
  }
  // Other controls in pasted text are dropped, as the agents drop them.
}

void KeyDecoder::on_paste_escape(unsigned char byte) {
  if (byte == static_cast<unsigned char>(kPasteEndAfterEsc[paste_end_matched_])) {
    if (++paste_end_matched_ == kPasteEndAfterEsc.size()) state_ = State::Ground;
    return;
  }
  // Not the end marker: the ESC is dropped like any pasted control; what followed it is text.
  state_ = State::Paste;
  for (char c : kPasteEndAfterEsc.substr(0, paste_end_matched_)) {
    on_paste(static_cast<unsigned char>(c), false);
  }
  on_paste(byte, false);
}

void KeyDecoder::control_key(unsigned char byte) {
  switch (byte) {
    case 0x01:
      return key(LineKey::LineStart);  // ^A
    case 0x02:
      return key(LineKey::CursorLeft);  // ^B
    case 0x03:
      return key(LineKey::Clear);  // ^C: the agents clear their input
    case 0x04:
      return key(LineKey::DeleteForward);  // ^D (EOF on an empty line: nothing to do)
    case 0x05:
      return key(LineKey::LineEnd);  // ^E
    case 0x06:
      return key(LineKey::CursorRight);  // ^F
    case 0x07:
      return key(LineKey::OutsideChange);  // ^G: Claude Code and Codex open $EDITOR
    case 0x08:  // ^H: Backspace on some terminals, Ctrl+Backspace on others
    case 0x7F:
      return key(LineKey::Backspace);
    case 0x09:
      return key(LineKey::Complete);
    case 0x0A:
      return key(LineKey::InsertNewline);  // ^J: Enter sends CR; agents insert a newline
    case 0x0B:
      return key(LineKey::KillToLineEnd);  // ^K
    case 0x0D:
      after_cr_ = true;
      return key(LineKey::Submit);
    case 0x0E:
      return key(LineKey::Down);  // ^N
    case 0x10:
      return key(LineKey::Up);  // ^P
    case 0x12:
      return key(LineKey::OutsideChange);  // ^R: history search
    case 0x15:
      return key(LineKey::KillToLineStart);  // ^U
    case 0x16:
      return key(LineKey::OutsideChange);  // ^V: Claude Code and Codex paste an image
    case 0x17:
      return key(LineKey::DeleteSpacedWordBefore);  // ^W
    case 0x18:
      return key(LineKey::OutsideChange);  // ^X: Gemini CLI opens $EDITOR
    case 0x19:
      return key(LineKey::Yank);  // ^Y
    case 0x1B:
      return key(LineKey::Escape);  // Ctrl+[ in kitty's encoding
    case 0x1F:
      return key(LineKey::OutsideChange);  // ^_: undo
    default:
      return;  // ^L ^O ^Q ^S ^T ^Z ...: the screen or the process, not the line
  }
}

void KeyDecoder::alt_key(unsigned char byte) {
  switch (byte) {
    case '\r':
    case '\n':
      return key(LineKey::InsertNewline);  // Alt+Enter
    case 0x7F:
    case 0x08:
      return key(LineKey::DeleteWordBefore);
    case 'b':
      return key(LineKey::WordLeft);
    case 'f':
      return key(LineKey::WordRight);
    case 'd':
      return key(LineKey::DeleteWordAfter);
    default:
      return;  // Alt + a character: shortcuts, not text (ESC \ ends a string: nothing)
  }
}

void KeyDecoder::dispatch_csi(unsigned char final_byte) {
  if (csi_.private_marker != 0 || csi_.ignored) return;  // mouse (SGR), the terminal's replies
  const CsiFields fields(csi_.params);
  const Modifiers mods = Modifiers::from_parameter(fields.get(1));
  const bool by_word = mods.ctrl || mods.alt;
  switch (final_byte) {
    case 'A':  // with modifiers: scrolling or selection in the agents, not history
      if (!mods.any()) key(LineKey::Up);
      return;
    case 'B':
      if (!mods.any()) key(LineKey::Down);
      return;
    case 'C':
      return key(by_word ? LineKey::WordRight : LineKey::CursorRight);
    case 'D':
      return key(by_word ? LineKey::WordLeft : LineKey::CursorLeft);
    case 'H':
      return key(mods.ctrl ? LineKey::TextStart : LineKey::LineStart);
    case 'F':
      return key(mods.ctrl ? LineKey::TextEnd : LineKey::LineEnd);
    case '~':
      return dispatch_tilde(fields);
    case 'u':
      return dispatch_kitty(fields);
    case 'M':  // ESC [ M and three raw bytes: an X10 mouse report
      if (!csi_.params.empty()) return;
      bytes_to_skip_ = 3;
      return enter(State::SkipBytes);
    case '[':  // ESC [ [ A..E: F1-F5 on the Linux console
      bytes_to_skip_ = 1;
      return enter(State::SkipBytes);
    default:
      return;  // focus (I, O), Shift+Tab (Z), function keys, reports
  }
}

void KeyDecoder::dispatch_tilde(const CsiFields& fields) {
  const Modifiers mods = Modifiers::from_parameter(fields.get(1));
  switch (fields.get(0)) {
    case 1:  // Home
    case 7:
      return key(mods.ctrl ? LineKey::TextStart : LineKey::LineStart);
    case 4:  // End
    case 8:
      return key(mods.ctrl ? LineKey::TextEnd : LineKey::LineEnd);
    case 3:  // Delete
      return key(mods.ctrl || mods.alt ? LineKey::DeleteWordAfter : LineKey::DeleteForward);
    case 27:  // xterm's modifyOtherKeys
      return code_point_key(fields.get(2), 0, mods);
    case 200:
      return enter(State::Paste);
    default:
      return;  // Insert, Page Up/Down, function keys, a stray paste end
  }
}

// kitty: CSI code[:shifted[:base]] ; modifiers[:event] ; text u
void KeyDecoder::dispatch_kitty(const CsiFields& fields) {
  constexpr std::uint32_t kRelease = 3;
  if (fields.get(1, 1) == kRelease) return;
  const std::size_t text_length = fields.subfield_count(2);
  const Modifiers mods = Modifiers::from_parameter(fields.get(1));
  if (text_length > 0 && !mods.ctrl && !mods.alt && !mods.super) {
    for (std::size_t i = 0; i < text_length; ++i) append_code_point(fields.get(2, i));
    return;
  }
  code_point_key(fields.get(0), fields.get(0, 1), mods);
}

// A key named by its code point, with modifiers: kitty's and modifyOtherKeys' encodings.
void KeyDecoder::code_point_key(char32_t code, char32_t shifted, Modifiers mods) {
  switch (code) {
    case '\r':
    case kKittyKeypadEnter:
      return key(mods.any() ? LineKey::InsertNewline : LineKey::Submit);
    case '\t':  // Shift+Tab switches the agents' modes
      if (!mods.any()) key(LineKey::Complete);
      return;
    case 0x7F:
    case 0x08:
      return key(mods.ctrl || mods.alt ? LineKey::DeleteWordBefore : LineKey::Backspace);
    case kEsc:
      return key(LineKey::Escape);
    default:
      break;
  }
  if (mods.ctrl && !mods.alt && code >= 0x40 && code < 0x80) {
    return control_key(static_cast<unsigned char>(code & 0x1FU));
  }
  if (mods.alt && !mods.ctrl && code < 0x80) return alt_key(static_cast<unsigned char>(code));
  if (mods.ctrl || mods.alt || mods.super || is_kitty_functional_key(code)) return;
  if (mods.shift && shifted != 0) {
    code = shifted;
  } else if (mods.shift && code >= 'a' && code <= 'z') {
    code = code - 'a' + 'A';
  }
  append_code_point(code);
}

void KeyDecoder::dispatch_ss3(unsigned char final_byte) {
  switch (final_byte) {
    case 'A':
      return key(LineKey::Up);
    case 'B':
      return key(LineKey::Down);
    case 'C':
      return key(LineKey::CursorRight);
    case 'D':
      return key(LineKey::CursorLeft);
    case 'H':
      return key(LineKey::LineStart);
    case 'F':
      return key(LineKey::LineEnd);
    case 'M':
      return key(LineKey::Submit);  // keypad Enter in application keypad mode
    case 'c':
      return key(LineKey::WordRight);  // rxvt's Ctrl+Right
    case 'd':
      return key(LineKey::WordLeft);  // rxvt's Ctrl+Left
    default:
      break;
  }
  if (auto character = keypad_character(final_byte)) append_text(std::string_view(&*character, 1));
}

void KeyDecoder::text_byte(unsigned char byte) {
  if (utf8_missing_ > 0) {
    const bool fits = utf8_.size() == 1
                          ? fits_after_lead(static_cast<unsigned char>(utf8_[0]), byte)
                          : is_continuation_byte(byte);
    if (fits) {
      utf8_ += static_cast<char>(byte);
      if (--utf8_missing_ == 0) {
        append_text(utf8_);
        utf8_.clear();
      }
      return;
    }
    end_partial_utf8();  // a broken sequence; this byte starts afresh
  }
  if (byte < 0x80) {
    const char c = static_cast<char>(byte);
    return append_text(std::string_view(&c, 1));
  }
  const std::size_t length = utf8_length_from_lead(byte);
  if (length == 0) return append_text(kReplacementCharacter);
  utf8_.assign(1, static_cast<char>(byte));
  utf8_missing_ = length - 1;
}

// An incomplete code point cut short by another byte: U+FFFD, as the agents' decoders show it.
void KeyDecoder::end_partial_utf8() {
  if (utf8_missing_ == 0) return;
  utf8_.clear();
  utf8_missing_ = 0;
  append_text(kReplacementCharacter);
}

void KeyDecoder::append_text(std::string_view utf8) {
  text_run_ += utf8;
  if (text_run_.size() >= kTextRunBytes) flush_text();
}

void KeyDecoder::append_code_point(char32_t code) {
  if (!is_printable_code_point(code)) return;
  std::string utf8;
  append_utf8(utf8, code);
  append_text(utf8);
}

void KeyDecoder::key_at(LineKey key, Clock::time_point at) {
  flush_text();
  events_.push_back(KeyEvent{.key = key, .text = {}, .at = at});
}

void KeyDecoder::flush_text() {
  if (text_run_.empty()) return;
  events_.push_back(KeyEvent{.key = LineKey::Text, .text = std::move(text_run_), .at = now_});
  text_run_.clear();
}

// ---------------------------------------------------------------------------------------------
// EditableLine: the prompt and its cursor, always on a code point's boundary. Positions are byte
// offsets. Words are found byte by byte, which never splits a code point: every byte of a
// non-ASCII character counts as a word character and as a non-blank.

class EditableLine {
 public:
  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  bool truncated() const { return truncated_; }
  std::size_t cursor() const { return cursor_; }
  std::size_t end() const { return text_.size(); }

  void insert(std::string_view utf8);
  std::string cut(std::size_t from, std::size_t to);
  void move_to(std::size_t position) { cursor_ = std::min(position, text_.size()); }
  void clear();

  std::size_t previous_boundary(std::size_t position) const;
  std::size_t next_boundary(std::size_t position) const;
  std::size_t word_start_before(std::size_t position) const;
  std::size_t word_end_after(std::size_t position) const;
  std::size_t blank_separated_word_start_before(std::size_t position) const;
  std::size_t line_start(std::size_t position) const;
  std::size_t line_end(std::size_t position) const;
  std::size_t kill_end(std::size_t position) const;
  std::optional<std::size_t> same_column_above(std::size_t position) const;
  std::optional<std::size_t> same_column_below(std::size_t position) const;

 private:
  static bool is_word_byte(char c);
  std::size_t code_points_between(std::size_t from, std::size_t to) const;
  std::size_t advance(std::size_t position, std::size_t code_points, std::size_t limit) const;

  std::string text_;
  std::size_t cursor_ = 0;
  bool truncated_ = false;
};

void EditableLine::insert(std::string_view utf8) {
  const std::string_view fitting = prefix_within(utf8, TurnDetector::kMaxPromptBytes - end());
  if (fitting.size() < utf8.size()) truncated_ = true;  // the first 64 KiB are kept
  text_.insert(cursor_, fitting);
  cursor_ += fitting.size();
}

// Removes [from, to) and returns it; the cursor keeps its place in the text that is left.
std::string EditableLine::cut(std::size_t from, std::size_t to) {
  to = std::min(to, end());
  from = std::min(from, to);
  std::string removed = text_.substr(from, to - from);
  text_.erase(from, to - from);
  if (cursor_ > to) {
    cursor_ -= to - from;
  } else if (cursor_ > from) {
    cursor_ = from;
  }
  return removed;
}

void EditableLine::clear() {
  text_.clear();
  cursor_ = 0;
  truncated_ = false;
}

std::size_t EditableLine::previous_boundary(std::size_t position) const {
  if (position == 0) return 0;
  --position;
  while (position > 0 && is_continuation_byte(static_cast<unsigned char>(text_[position]))) {
    --position;
  }
  return position;
}

std::size_t EditableLine::next_boundary(std::size_t position) const {
  if (position >= end()) return end();
  ++position;
  while (position < end() && is_continuation_byte(static_cast<unsigned char>(text_[position]))) {
    ++position;
  }
  return position;
}

bool EditableLine::is_word_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  const bool ascii_alphanumeric =
      (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
  return ascii_alphanumeric || byte == '_' || byte >= 0x80;
}

std::size_t EditableLine::word_start_before(std::size_t position) const {
  while (position > 0 && !is_word_byte(text_[position - 1])) --position;
  while (position > 0 && is_word_byte(text_[position - 1])) --position;
  return position;
}

std::size_t EditableLine::word_end_after(std::size_t position) const {
  while (position < end() && !is_word_byte(text_[position])) ++position;
  while (position < end() && is_word_byte(text_[position])) ++position;
  return position;
}

std::size_t EditableLine::blank_separated_word_start_before(std::size_t position) const {
  while (position > 0 && is_blank(text_[position - 1])) --position;
  while (position > 0 && !is_blank(text_[position - 1])) --position;
  return position;
}

std::size_t EditableLine::line_start(std::size_t position) const {
  if (position == 0) return 0;
  const std::size_t newline = text_.rfind('\n', position - 1);
  return newline == std::string::npos ? 0 : newline + 1;
}

std::size_t EditableLine::line_end(std::size_t position) const {
  const std::size_t newline = text_.find('\n', position);
  return newline == std::string::npos ? end() : newline;
}

// Where ^K stops: the end of the line, or past the newline when already there (as in emacs).
std::size_t EditableLine::kill_end(std::size_t position) const {
  const std::size_t stop = line_end(position);
  return stop == position && stop < end() ? stop + 1 : stop;
}

std::optional<std::size_t> EditableLine::same_column_above(std::size_t position) const {
  const std::size_t start = line_start(position);
  if (start == 0) return std::nullopt;
  const std::size_t column = code_points_between(start, position);
  return advance(line_start(start - 1), column, start - 1);
}

std::optional<std::size_t> EditableLine::same_column_below(std::size_t position) const {
  const std::size_t stop = line_end(position);
  if (stop == end()) return std::nullopt;
  const std::size_t column = code_points_between(line_start(position), position);
  return advance(stop + 1, column, line_end(stop + 1));
}

std::size_t EditableLine::code_points_between(std::size_t from, std::size_t to) const {
  return static_cast<std::size_t>(
      std::count_if(text_.begin() + static_cast<std::ptrdiff_t>(from),
                    text_.begin() + static_cast<std::ptrdiff_t>(to),
                    [](char c) { return !is_continuation_byte(static_cast<unsigned char>(c)); }));
}

std::size_t EditableLine::advance(std::size_t position, std::size_t code_points,
                                  std::size_t limit) const {
  for (; code_points > 0 && position < limit; --code_points) position = next_boundary(position);
  return position;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TurnDetector::Impl: applies the keys to the line and decides which Enter is a turn.

class TurnDetector::Impl {
 public:
  explicit Impl(Clock::duration debounce) : debounce_(debounce) {}

  std::vector<PromptSubmission> feed(std::string_view bytes, Clock::time_point now) {
    std::vector<PromptSubmission> submissions;
    for (const KeyEvent& event : decoder_.decode(bytes, now)) apply(event, submissions);
    return submissions;
  }
  const std::string& pending_text() const { return line_.text(); }
  void end_burst();

 private:
  void apply(const KeyEvent& event, std::vector<PromptSubmission>& submissions);
  void submit(Clock::time_point at, std::vector<PromptSubmission>& submissions);
  bool continues_burst(Clock::time_point at) const;
  void change_text(LineKey key);
  void move_cursor(LineKey key);
  void up();
  void down();
  void press_escape(Clock::time_point at);
  void kill(std::size_t from, std::size_t to);
  void reset_line();
  bool approximate() const { return approximate_ || history_depth_ > 0; }
  bool may_hold_unseen_text() const { return unseen_text_ || history_depth_ > 0; }

  KeyDecoder decoder_;
  EditableLine line_;
  std::string kill_buffer_;  // for ^Y
  Clock::duration debounce_;
  std::optional<Clock::time_point> last_submission_at_;
  std::size_t blank_lines_in_burst_ = 0;
  std::optional<Clock::time_point> escape_pressed_at_;
  // Up presses into the agent's history not undone by Down: the agent shows an entry we never
  // saw. Down back to 0 returns to the line we know (unless it was edited meanwhile).
  int history_depth_ = 0;
  bool approximate_ = false;  // the text may differ from the agent's
  bool unseen_text_ = false;  // the agent may hold text even when ours is empty
};

void TurnDetector::Impl::apply(const KeyEvent& event, std::vector<PromptSubmission>& submissions) {
  if (event.key != LineKey::Escape) escape_pressed_at_.reset();
  switch (event.key) {
    case LineKey::Submit:
      return submit(event.at, submissions);
    case LineKey::Escape:
      return press_escape(event.at);
    case LineKey::Up:
      return up();
    case LineKey::Down:
      return down();
    case LineKey::Clear:
      return reset_line();
    case LineKey::Complete:  // completion adds text we cannot see; on an empty line, nothing
      if (!line_.empty()) approximate_ = true;
      return;
    case LineKey::OutsideChange:
      approximate_ = true;
      unseen_text_ = true;
      return;
    case LineKey::CursorLeft:
    case LineKey::CursorRight:
    case LineKey::WordLeft:
    case LineKey::WordRight:
    case LineKey::LineStart:
    case LineKey::LineEnd:
    case LineKey::TextStart:
    case LineKey::TextEnd:
      return move_cursor(event.key);
    default:
      break;
  }
  // The text changes. Over a recalled history entry, it changes a text we do not know.
  if (history_depth_ > 0) approximate_ = true;
  if (event.key == LineKey::Text) return line_.insert(event.text);
  change_text(event.key);
}

void TurnDetector::Impl::submit(Clock::time_point at, std::vector<PromptSubmission>& submissions) {
  // "\" then Enter is a newline in Claude Code and Gemini CLI (the backslash goes).
  const std::size_t cursor = line_.cursor();
  if (cursor > 0 && line_.text()[cursor - 1] == '\\') {
    line_.cut(cursor - 1, cursor);
    line_.insert("\n");
    return;
  }
  const bool continuation = continues_burst(at);
  const std::string_view text = without_trailing_blanks(line_.text());
  if (text.empty() && !may_hold_unseen_text()) {
    // Enter on an empty line answers a menu or a question. Inside a burst it is a blank line of
    // a paste: kept, in case more of the paste follows.
    if (!continuation) return;
    blank_lines_in_burst_ = std::min(blank_lines_in_burst_ + 1, kMaxBlankLinesInBurst);
    last_submission_at_ = at;
    reset_line();
    return;
  }
  PromptSubmission submission;
  if (continuation) submission.text.assign(blank_lines_in_burst_, '\n');
  submission.text += text;
  submission.approximate = approximate();
  submission.continuation = continuation;
  submission.truncated = line_.truncated();
  submissions.push_back(std::move(submission));
  last_submission_at_ = at;
  blank_lines_in_burst_ = 0;
  reset_line();
}

void TurnDetector::Impl::end_burst() { last_submission_at_.reset(); }

bool TurnDetector::Impl::continues_burst(Clock::time_point at) const {
  return last_submission_at_.has_value() && at - *last_submission_at_ < debounce_;
}

void TurnDetector::Impl::change_text(LineKey key) {
  const std::size_t cursor = line_.cursor();
  switch (key) {
    case LineKey::InsertNewline:
      return line_.insert("\n");
    case LineKey::Backspace:
      line_.cut(line_.previous_boundary(cursor), cursor);
      return;
    case LineKey::DeleteForward:
      line_.cut(cursor, line_.next_boundary(cursor));
      return;
    case LineKey::DeleteWordBefore:
      return kill(line_.word_start_before(cursor), cursor);
    case LineKey::DeleteSpacedWordBefore:
      return kill(line_.blank_separated_word_start_before(cursor), cursor);
    case LineKey::DeleteWordAfter:
      return kill(cursor, line_.word_end_after(cursor));
    case LineKey::KillToLineStart:
      return kill(line_.line_start(cursor), cursor);
    case LineKey::KillToLineEnd:
      return kill(cursor, line_.kill_end(cursor));
    case LineKey::Yank:
      return line_.insert(kill_buffer_);
    default:
      return;
  }
}

void TurnDetector::Impl::move_cursor(LineKey key) {
  const std::size_t cursor = line_.cursor();
  switch (key) {
    case LineKey::CursorLeft:
      return line_.move_to(line_.previous_boundary(cursor));
    case LineKey::CursorRight:
      return line_.move_to(line_.next_boundary(cursor));
    case LineKey::WordLeft:
      return line_.move_to(line_.word_start_before(cursor));
    case LineKey::WordRight:
      return line_.move_to(line_.word_end_after(cursor));
    case LineKey::LineStart:
      return line_.move_to(line_.line_start(cursor));
    case LineKey::LineEnd:
      return line_.move_to(line_.line_end(cursor));
    case LineKey::TextStart:
      return line_.move_to(0);
    case LineKey::TextEnd:
      return line_.move_to(line_.end());
    default:
      return;
  }
}

// Up moves between the lines of a multi-line prompt; from its first line it recalls history.
void TurnDetector::Impl::up() {
  if (history_depth_ == 0) {
    if (auto above = line_.same_column_above(line_.cursor())) return line_.move_to(*above);
  }
  history_depth_ = std::min(history_depth_ + 1, kMaxHistoryDepth);
}

// Down from the last line goes forward in history; at the newest entry it changes nothing.
void TurnDetector::Impl::down() {
  if (history_depth_ > 0) {
    --history_depth_;
    return;
  }
  if (auto below = line_.same_column_below(line_.cursor())) line_.move_to(*below);
}

// A single Esc interrupts the agent or closes a menu: the line stays. Twice in a row, some
// agents clear the line, others do not: cleared, and the next prompt flagged approximate.
void TurnDetector::Impl::press_escape(Clock::time_point at) {
  const bool second =
      escape_pressed_at_.has_value() && at - *escape_pressed_at_ < kDoubleEscapeWithin;
  escape_pressed_at_ = at;
  if (!second) return;
  escape_pressed_at_.reset();  // a third press starts a new pair
  if (line_.empty() && !may_hold_unseen_text()) return;
  reset_line();
  approximate_ = true;
}

void TurnDetector::Impl::kill(std::size_t from, std::size_t to) {
  std::string removed = line_.cut(from, to);
  if (!removed.empty()) kill_buffer_ = std::move(removed);
}

void TurnDetector::Impl::reset_line() {
  line_.clear();
  history_depth_ = 0;
  approximate_ = false;
  unseen_text_ = false;
}

// ---------------------------------------------------------------------------------------------

TurnDetector::TurnDetector(Clock::duration debounce) : impl_(std::make_unique<Impl>(debounce)) {}
TurnDetector::~TurnDetector() = default;
TurnDetector::TurnDetector(TurnDetector&&) noexcept = default;
TurnDetector& TurnDetector::operator=(TurnDetector&&) noexcept = default;

std::vector<PromptSubmission> TurnDetector::feed(std::string_view user_bytes,
                                                 Clock::time_point now) {
  return impl_->feed(user_bytes, now);
}

const std::string& TurnDetector::pending_text() const {
  return impl_->pending_text();
}

void TurnDetector::end_burst() { impl_->end_burst(); }

}  // namespace sddsh::recorder
