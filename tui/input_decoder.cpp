#include "tui/input_decoder.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>
#include <utility>

namespace sddsh::tui {

using Kind = KeyEvent::Kind;

// Appends events, merging consecutive Bytes (or PasteData) of one feed into one event so that a
// large read costs one event, not one per byte.
class InputDecoder::Emitter {
 public:
  explicit Emitter(std::vector<InputEvent>& out) : out_(out), first_(out.size()) {}
  void bytes(std::string_view text) { append_text(InputEvent::Kind::Bytes, text); }
  void paste_data(std::string_view text) { append_text(InputEvent::Kind::PasteData, text); }
  void signal(InputEvent::Kind kind) { out_.emplace_back().kind = kind; }
  void key(KeyEvent key) {
    InputEvent& event = out_.emplace_back();
    event.kind = InputEvent::Kind::Key;
    event.key = std::move(key);
  }
  void mouse(const MouseEvent& mouse) {
    InputEvent& event = out_.emplace_back();
    event.kind = InputEvent::Kind::Mouse;
    event.mouse = mouse;
  }

 private:
  void append_text(InputEvent::Kind kind, std::string_view text) {
    if (text.empty()) return;
    // Only events of this feed are merged: earlier ones may already be in the caller's hands.
    if (out_.size() > first_ && out_.back().kind == kind) {
      out_.back().bytes.append(text);
      return;
    }
    InputEvent& event = out_.emplace_back();
    event.kind = kind;
    event.bytes.assign(text);
  }

  std::vector<InputEvent>& out_;
  std::size_t first_;
};

namespace {

// One escape sequence at the start of some data, as far as the data goes.
struct Sequence {
  enum class Status : std::uint8_t {
    Complete,
    Incomplete,   // the data ends inside it (or is a lone ESC)
    Invalid,      // broken or overlong: `length` bytes are garbage
    NotSequence,  // ESC + a byte that starts no sequence: Alt + that key
  };
  Status status = Status::NotSequence;
  std::size_t length = 1;
  char introducer = 0;      // '[' CSI, 'O' SS3, 'M' legacy X10 mouse report (ESC [ M b x y)
  std::string_view params;  // parameter and intermediate bytes (X10: the three report bytes)
  char final = 0;
};

constexpr char kEsc = '\x1b';
constexpr std::string_view kPasteStart = "\x1b[200~";
constexpr std::string_view kPasteEnd = "\x1b[201~";

unsigned char byte_of(char c) {
  return static_cast<unsigned char>(c);
}
bool is_param_or_intermediate(char c) {
  return c >= 0x20 && c <= 0x3f;
}
bool is_final(char c) {
  return c >= 0x40 && c <= 0x7e;
}

// Numeric parameters ("1;5") of a sequence. Only the first part of a kitty "93:125" is kept.
struct Params {
  static constexpr std::size_t kMax = 4;
  std::array<int, kMax> values{};
  std::size_t count = 0;
  bool valid = true;
  // A missing or zero parameter means "default".
  int at(std::size_t i, int fallback) const {
    return i < count && values[i] > 0 ? values[i] : fallback;
  }
  int last(int fallback) const { return count == 0 ? fallback : at(count - 1, fallback); }
};

Params parse_params(std::string_view text) {
  Params params;
  if (text.empty()) return params;
  params.count = 1;
  bool in_sub_parameter = false;
  for (char c : text) {
    if (c == ';') {
      if (params.count == Params::kMax) return Params{.valid = false};
      ++params.count;
      in_sub_parameter = false;
    } else if (c == ':') {
      in_sub_parameter = true;
    } else if (c >= '0' && c <= '9') {
      int& value = params.values[params.count - 1];
      if (!in_sub_parameter) value = std::min(value * 10 + (c - '0'), 1'000'000);
    } else {
      return Params{.valid = false};
    }
  }
  return params;
}

// Built by assignment: GCC 12 warns on designated initializers that skip members.
Sequence sequence_with(Sequence::Status status, std::size_t length = 1) {
  Sequence seq;
  seq.status = status;
  seq.length = length;
  return seq;
}

Sequence invalid_sequence(std::size_t length) {
  return sequence_with(Sequence::Status::Invalid, length);
}

Sequence incomplete_sequence() {
  return sequence_with(Sequence::Status::Incomplete);
}

// ESC [ M b x y: the three report bytes may be anything, so it is counted, not parsed.
Sequence scan_x10_mouse(std::string_view data) {
  constexpr std::size_t kLength = 6;
  if (data.size() < kLength) return incomplete_sequence();
  Sequence seq = sequence_with(Sequence::Status::Complete, kLength);
  seq.introducer = 'M';
  seq.params = data.substr(3, 3);
  return seq;
}

// rxvt ends Shift+Insert and friends with '$' ("ESC[2$"), an intermediate byte by the standard;
// digits-only parameters tell it from a DECRPM reply ("ESC[4;1$y").
bool ends_rxvt_key(std::string_view data, std::size_t i) {
  if (data[1] != '[' || data[i] != '$' || i < 3) return false;
  const std::string_view params = data.substr(2, i - 2);
  return std::all_of(params.begin(), params.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `data` starts with ESC.
Sequence scan_sequence(std::string_view data) {
  if (data.size() < 2) return incomplete_sequence();
  const char introducer = data[1];
  if (introducer != '[' && introducer != 'O') return Sequence{};
  if (introducer == '[' && data.size() >= 3 && data[2] == 'M') return scan_x10_mouse(data);
  for (std::size_t i = 2; i < data.size(); ++i) {
    if (i >= InputDecoder::kMaxHeld) return invalid_sequence(InputDecoder::kMaxHeld);
    if (is_final(data[i])) {
      Sequence seq = sequence_with(Sequence::Status::Complete, i + 1);
      seq.introducer = introducer;
      seq.params = data.substr(2, i - 2);
      seq.final = data[i];
      return seq;
    }
    if (ends_rxvt_key(data, i)) {
      Sequence seq = sequence_with(Sequence::Status::Complete, i + 1);
      seq.introducer = introducer;
      seq.params = data.substr(2, i - 2);
      seq.final = data[i];
      return seq;
    }
    if (!is_param_or_intermediate(data[i])) return invalid_sequence(i);
  }
  if (data.size() >= InputDecoder::kMaxHeld) return invalid_sequence(InputDecoder::kMaxHeld);
  return incomplete_sequence();
}

// ---- mouse ----

// `button_code` is xterm's Cb: low bits the button, 4/8/16 shift/alt/ctrl, 32 motion, 64 wheel.
// nullopt for buttons sddsh has no action for (horizontal wheel, buttons 8-11).
std::optional<MouseEvent> make_mouse(int button_code, int x, int y, bool release) {
  MouseEvent mouse;
  mouse.shift = (button_code & 4) != 0;
  mouse.alt = (button_code & 8) != 0;
  mouse.ctrl = (button_code & 16) != 0;
  mouse.col = std::max(x - 1, 0);
  mouse.row = std::max(y - 1, 0);
  const int low = button_code & 3;
  if ((button_code & 128) != 0) return std::nullopt;
  if ((button_code & 64) != 0) {
    if (low > 1 || release) return std::nullopt;
    mouse.action = low == 0 ? MouseEvent::Action::WheelUp : MouseEvent::Action::WheelDown;
    mouse.button = -1;
    return mouse;
  }
  mouse.button = low == 3 ? -1 : low;
  if (release) {
    mouse.action = MouseEvent::Action::Release;
  } else {
    mouse.action = (button_code & 32) != 0 ? MouseEvent::Action::Motion : MouseEvent::Action::Press;
  }
  return mouse;
}

// ESC [ M b x y, each byte offset by 32; a release says "button 3" without naming the button.
std::optional<MouseEvent> x10_mouse(std::string_view report) {
  const int button_code = byte_of(report[0]) - 32;
  const bool release = button_code >= 0 && (button_code & (3 | 32 | 64)) == 3;
  return make_mouse(std::max(button_code, 0), byte_of(report[1]) - 32, byte_of(report[2]) - 32,
                    release);
}

// ---- keys ----

KeyEvent make_key(Kind kind) {
  KeyEvent key;
  key.kind = kind;
  return key;
}

KeyEvent char_key(char32_t ch, bool ctrl = false) {
  KeyEvent key = make_key(Kind::Char);
  key.ch = ch;
  key.ctrl = ctrl;
  return key;
}

KeyEvent function_key(int number) {
  KeyEvent key = make_key(Kind::F);
  key.f_number = number;
  return key;
}

// xterm's modifier parameter: 1 + shift*1 + alt*2 + ctrl*4 (+ meta*8, read as alt).
void apply_modifiers(KeyEvent& key, int modifiers) {
  if (modifiers < 1) return;
  const int bits = modifiers - 1;
  key.shift = key.shift || (bits & 1) != 0;
  key.alt = key.alt || (bits & (2 | 8)) != 0;
  key.ctrl = key.ctrl || (bits & 4) != 0;
}

// A raw C0 byte or DEL. Ctrl-I is Tab and Ctrl-M is Enter because the terminal cannot tell them
// apart; 0x0a is Ctrl-J, not Enter, since a raw-mode terminal sends 0x0d for Enter.
KeyEvent control_key(unsigned char c) {
  switch (c) {
    case 0x0d:
      return make_key(Kind::Enter);
    case 0x09:
      return make_key(Kind::Tab);
    case 0x08:
    case 0x7f:
      return make_key(Kind::Backspace);
    case 0x1b:
      return make_key(Kind::Escape);
    case 0x00:
      return char_key(U' ', true);
    default:
      break;
  }
  if (c <= 0x1a) return char_key(static_cast<char32_t>(U'a' + c - 1), true);
  return char_key(static_cast<char32_t>(c + 0x40), true);  // 0x1c..0x1f: Ctrl-\ ] ^ _
}

struct PlainKey {
  KeyEvent key;
  std::size_t length = 1;
  bool incomplete = false;  // a UTF-8 character whose continuation bytes have not arrived
};

PlainKey decode_utf8(std::string_view data) {
  const unsigned char lead = byte_of(data[0]);
  std::size_t continuation = 0;
  char32_t code_point = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    continuation = 1;
    code_point = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    continuation = 2;
    code_point = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    continuation = 3;
    code_point = lead & 0x07u;
  } else {
    return PlainKey{.key = make_key(Kind::Unknown)};
  }
  for (std::size_t i = 1; i <= continuation; ++i) {
    if (i >= data.size()) return PlainKey{.key = {}, .length = 0, .incomplete = true};
    const unsigned char c = byte_of(data[i]);
    if ((c & 0xc0u) != 0x80u) return PlainKey{.key = make_key(Kind::Unknown)};
    code_point = (code_point << 6) | (c & 0x3fu);
  }
  const bool overlong =
      (continuation == 2 && code_point < 0x800) || (continuation == 3 && code_point < 0x10000);
  const bool out_of_range = code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff);
  const std::size_t length = continuation + 1;
  if (overlong || out_of_range) return PlainKey{.key = make_key(Kind::Unknown), .length = length};
  return PlainKey{.key = char_key(code_point), .length = length};
}

// One key that is not an escape sequence; `data` is not empty and does not start with ESC.
PlainKey decode_plain(std::string_view data) {
  const unsigned char c = byte_of(data[0]);
  if (c < 0x20 || c == 0x7f) return PlainKey{.key = control_key(c)};
  if (c < 0x80) return PlainKey{.key = char_key(c)};
  return decode_utf8(data);
}

// The key named by a code point (modifyOtherKeys CSI 27;mods;code~ and CSI code;mods u).
KeyEvent code_key(int code, int modifiers) {
  KeyEvent key;
  if ((code > 0 && code < 0x20) || code == 127) {
    key = control_key(static_cast<unsigned char>(code));
  } else if (code >= 0x20 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) &&
             !(code >= 0xe000 && code <= 0xf8ff)) {  // kitty puts its function keys in the PUA
    key = char_key(static_cast<char32_t>(code));
  } else {
    return make_key(Kind::Unknown);
  }
  apply_modifiers(key, modifiers);
  if (key.kind == Kind::Char && key.ctrl && key.ch >= U'A' && key.ch <= U'Z') key.ch += 0x20;
  if (key.kind == Kind::Tab && key.shift) key.kind = Kind::BackTab;
  return key;
}

std::optional<Kind> cursor_kind(char final) {
  switch (final) {
    case 'A':
      return Kind::Up;
    case 'B':
      return Kind::Down;
    case 'C':
      return Kind::Right;
    case 'D':
      return Kind::Left;
    case 'H':
      return Kind::Home;
    case 'F':
      return Kind::End;
    default:
      return std::nullopt;
  }
}

// F1..F4 are SS3 P..S (or CSI 1;mods P..S).
int pf_number(char final) {
  return final >= 'P' && final <= 'S' ? final - 'P' + 1 : 0;
}

struct TildeKey {
  int number;
  Kind kind;
  int f_number = 0;
};

constexpr std::array kTildeKeys = {
    TildeKey{1, Kind::Home},   TildeKey{2, Kind::Insert}, TildeKey{3, Kind::Delete},
    TildeKey{4, Kind::End},    TildeKey{5, Kind::PageUp}, TildeKey{6, Kind::PageDown},
    TildeKey{7, Kind::Home},   TildeKey{8, Kind::End},    TildeKey{11, Kind::F, 1},
    TildeKey{12, Kind::F, 2},  TildeKey{13, Kind::F, 3},  TildeKey{14, Kind::F, 4},
    TildeKey{15, Kind::F, 5},  TildeKey{17, Kind::F, 6},  TildeKey{18, Kind::F, 7},
    TildeKey{19, Kind::F, 8},  TildeKey{20, Kind::F, 9},  TildeKey{21, Kind::F, 10},
    TildeKey{23, Kind::F, 11}, TildeKey{24, Kind::F, 12},
};

// "ESC[3~" and its modified forms; rxvt marks modifiers with the final byte instead
// ('$' shift, '^' ctrl, '@' ctrl+shift), given here as `modifiers`.
KeyEvent tilde_key(const Params& params, int modifiers) {
  const int number = params.at(0, 0);
  if (number == 27) return code_key(params.at(2, 0), params.at(1, 1));
  const auto* found = std::find_if(kTildeKeys.begin(), kTildeKeys.end(),
                                   [number](const TildeKey& k) { return k.number == number; });
  if (found == kTildeKeys.end()) return make_key(Kind::Unknown);
  KeyEvent key = make_key(found->kind);
  key.f_number = found->f_number;
  apply_modifiers(key, modifiers);
  return key;
}

KeyEvent decode_csi(const Sequence& seq) {
  const Params params = parse_params(seq.params);
  if (!params.valid) return make_key(Kind::Unknown);
  KeyEvent key;
  if (auto kind = cursor_kind(seq.final)) {
    key = make_key(*kind);
  } else if (int f = pf_number(seq.final); f != 0 && params.at(0, 1) == 1) {
    key = function_key(f);
  } else if (seq.final == 'Z') {
    key = make_key(Kind::BackTab);
    key.shift = true;
  } else if (seq.final == '~') {
    return tilde_key(params, params.at(1, 1));
  } else if (seq.final == '$' || seq.final == '^' || seq.final == '@') {
    return tilde_key(params, seq.final == '$' ? 2 : seq.final == '^' ? 5 : 6);
  } else if (seq.final >= 'a' && seq.final <= 'd') {  // rxvt: Shift+arrow
    key = make_key(*cursor_kind(static_cast<char>(seq.final - 'a' + 'A')));
    key.shift = true;
  } else if (seq.final == 'u') {
    return code_key(params.at(0, 0), params.at(1, 1));
  } else {
    return make_key(Kind::Unknown);
  }
  apply_modifiers(key, params.at(1, 1));
  return key;
}

// Application keypad keys (SS3 j..y, X, M), sent while the agent has DECKPAM on.
std::optional<KeyEvent> keypad_key(char final) {
  constexpr std::string_view kKeypad = "*+,-./0123456789";  // SS3 j .. SS3 y
  if (final == 'M') return make_key(Kind::Enter);
  if (final == 'X') return char_key(U'=');
  if (final >= 'j' && final <= 'y') return char_key(byte_of(kKeypad[byte_of(final) - 'j']));
  return std::nullopt;
}

KeyEvent decode_ss3(const Sequence& seq) {
  const Params params = parse_params(seq.params);
  if (!params.valid) return make_key(Kind::Unknown);
  KeyEvent key;
  if (auto kind = cursor_kind(seq.final)) {
    key = make_key(*kind);
  } else if (int f = pf_number(seq.final); f != 0) {
    key = function_key(f);
  } else if (seq.final >= 'a' && seq.final <= 'd') {  // rxvt: Ctrl+arrow
    key = make_key(*cursor_kind(static_cast<char>(seq.final - 'a' + 'A')));
    key.ctrl = true;
  } else if (auto keypad = keypad_key(seq.final)) {
    key = *keypad;
  } else {
    return make_key(Kind::Unknown);
  }
  apply_modifiers(key, params.last(1));  // old xterms: SS3 2 P is Shift+F1
  return key;
}

KeyEvent decode_sequence(const Sequence& seq) {
  return seq.introducer == 'O' ? decode_ss3(seq) : decode_csi(seq);
}

// The key code a C0 byte stands for in the modifyOtherKeys and CSI-u forms (0x1d -> ']').
int prefix_key_code(char prefix_byte) {
  const unsigned char c = byte_of(prefix_byte);
  if (c == 0) return ' ';
  if (c <= 0x1a) return c + 0x60;  // Ctrl-a..z report the lower-case letter
  if (c < 0x20) return c + 0x40;
  return -1;
}

// Ctrl and nothing else, ignoring kitty's caps-lock and num-lock bits.
bool is_ctrl_only(int modifiers) {
  return modifiers >= 1 && ((modifiers - 1) & ~(64 | 128)) == 4;
}

// The first ESC or prefix byte at or after `pos`, or data.size(). Each memchr covers new ground
// only, so a run with many escapes is still scanned once.
std::size_t find_special(std::string_view data, std::size_t pos, char prefix_byte) {
  std::size_t esc = data.find(kEsc, pos);
  if (esc == std::string_view::npos) esc = data.size();
  const std::size_t prefix = data.substr(0, esc).find(prefix_byte, pos);
  return prefix == std::string_view::npos ? esc : prefix;
}

}  // namespace

void InputDecoder::feed(std::string_view bytes, std::vector<InputEvent>& out) {
  Emitter emit(out);
  // A held sequence is completed a few bytes at a time, so that joining it with the new bytes
  // copies little; whatever is left runs straight from the caller's buffer.
  while (!held_.empty() && !bytes.empty()) {
    const std::size_t take = std::min(bytes.size(), kMaxHeld);
    std::string joined = std::exchange(held_, {});
    joined.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    process(joined, bytes.empty() ? Tail::FeedEnd : Tail::MayContinue, emit);
  }
  process(bytes, Tail::FeedEnd, emit);
}

void InputDecoder::flush_pending(std::vector<InputEvent>& out) {
  if (held_.empty()) return;
  const std::string held = std::exchange(held_, {});
  Emitter emit(out);
  if (in_paste_) {
    emit.paste_data(held);
  } else if (!decode_keys_) {
    emit.bytes(held);
  } else {
    process(held, Tail::Flush, emit);
  }
}

void InputDecoder::process(std::string_view data, Tail tail, Emitter& emit) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (in_paste_) {
      pos = step_paste(data, pos, tail, emit);
    } else if (decode_keys_) {
      pos = step_key(data, pos, tail, emit);
    } else {
      pos = step_bytes(data, pos, tail, emit);
    }
  }
}

std::size_t InputDecoder::hold(std::string_view data, std::size_t pos) {
  held_.assign(data.substr(pos));
  assert(held_.size() < kMaxHeld);
  return data.size();
}

// Inside a paste only the markers mean anything; the rest is text, streamed as it comes.
std::size_t InputDecoder::step_paste(std::string_view data, std::size_t pos, Tail tail,
                                     Emitter& emit) {
  const std::size_t esc = data.find(kEsc, pos);
  if (esc == std::string_view::npos) {
    emit.paste_data(data.substr(pos));
    return data.size();
  }
  emit.paste_data(data.substr(pos, esc - pos));
  const std::string_view head = data.substr(esc, kPasteEnd.size());
  if (head == kPasteEnd) {
    emit.signal(InputEvent::Kind::PasteEnd);
    in_paste_ = false;
    return esc + head.size();
  }
  if (head == kPasteStart) return esc + head.size();  // a nested start marker is not text
  const bool may_be_marker = head.size() < kPasteEnd.size() &&
                             (kPasteEnd.starts_with(head) || kPasteStart.starts_with(head));
  if (may_be_marker && tail != Tail::Flush) return hold(data, esc);
  emit.paste_data(head.substr(0, 1));
  return esc + 1;
}

std::size_t InputDecoder::step_bytes(std::string_view data, std::size_t pos, Tail tail,
                                     Emitter& emit) {
  const std::size_t stop = find_special(data, pos, prefix_byte_);
  emit.bytes(data.substr(pos, stop - pos));
  if (stop == data.size()) return stop;
  if (data[stop] == prefix_byte_) {
    emit_prefix(emit);
    return stop + 1;
  }
  return step_escape(data, stop, tail, emit);
}

// What follows the prefix key is a command key for sddsh, even when it arrives in the same read:
// decode it as a key (its exact bytes still go to the agent if the consumer says so).
void InputDecoder::emit_prefix(Emitter& emit) {
  emit.signal(InputEvent::Kind::Prefix);
  decode_keys_ = true;
}

std::size_t InputDecoder::step_key(std::string_view data, std::size_t pos, Tail tail,
                                   Emitter& emit) {
  if (data[pos] == prefix_byte_) {
    emit_prefix(emit);
    return pos + 1;
  }
  if (data[pos] == kEsc) return step_escape(data, pos, tail, emit);
  return step_plain_key(data, pos, tail, /*alt=*/false, emit);
}

// `pos` is at an ESC.
std::size_t InputDecoder::step_escape(std::string_view data, std::size_t pos, Tail tail,
                                      Emitter& emit) {
  using Status = Sequence::Status;
  const Sequence seq = scan_sequence(data.substr(pos));
  const bool lone = data.size() - pos == 1;
  // Only a lone ESC at the very end of a read is let go at once: Esc must not wait.
  if (seq.status == Status::Incomplete && tail != Tail::Flush &&
      (!lone || tail == Tail::MayContinue)) {
    return hold(data, pos);
  }
  if (seq.status == Status::Complete &&
      handle_own_sequence(seq.introducer, seq.params, seq.final, emit)) {
    return pos + seq.length;
  }
  const bool whole = seq.status == Status::Complete || seq.status == Status::Invalid;
  if (!decode_keys_) {
    const std::size_t length = whole ? seq.length : (lone ? 1 : data.size() - pos);
    emit.bytes(data.substr(pos, length));
    return pos + length;
  }
  if (whole) {
    KeyEvent key = seq.status == Status::Complete ? decode_sequence(seq) : make_key(Kind::Unknown);
    key.bytes.assign(data.substr(pos, seq.length));
    emit.key(std::move(key));
    return pos + seq.length;
  }
  if (lone) {
    KeyEvent key = make_key(Kind::Escape);
    key.bytes.assign(1, kEsc);
    emit.key(std::move(key));
    return pos + 1;
  }
  return step_alt_key(data, pos, tail, emit);  // ESC x, or an unfinished sequence being flushed
}

// `pos` is at an ESC followed by at least one byte: Alt + the key that byte starts.
std::size_t InputDecoder::step_alt_key(std::string_view data, std::size_t pos, Tail tail,
                                       Emitter& emit) {
  const char next = data[pos + 1];
  if (next == kEsc || next == prefix_byte_) {  // those keep their own meaning
    KeyEvent key = make_key(Kind::Escape);
    key.bytes.assign(1, kEsc);
    emit.key(std::move(key));
    return pos + 1;
  }
  return step_plain_key(data, pos, tail, /*alt=*/true, emit);
}

// With `alt`, `pos` is at the ESC that precedes the key.
std::size_t InputDecoder::step_plain_key(std::string_view data, std::size_t pos, Tail tail,
                                         bool alt, Emitter& emit) {
  const std::size_t key_pos = alt ? pos + 1 : pos;
  PlainKey plain = decode_plain(data.substr(key_pos));
  if (plain.incomplete && tail != Tail::Flush) return hold(data, pos);
  if (plain.incomplete) {  // the rest of the character never came
    KeyEvent key = make_key(Kind::Unknown);
    key.bytes.assign(data.substr(pos));
    emit.key(std::move(key));
    return data.size();
  }
  const std::size_t end = key_pos + plain.length;
  plain.key.alt = plain.key.alt || alt;
  plain.key.bytes.assign(data.substr(pos, end - pos));
  emit.key(std::move(plain.key));
  return end;
}

// Paste markers, focus, mouse and the prefix key: consumed here whatever the mode.
bool InputDecoder::handle_own_sequence(char introducer, std::string_view params, char final,
                                       Emitter& emit) {
  if (introducer == 'M') {
    if (auto mouse = x10_mouse(params)) emit.mouse(*mouse);
    return true;
  }
  if (introducer != '[') return false;
  if (final == '~' && params == "200") {
    emit.signal(InputEvent::Kind::PasteStart);
    in_paste_ = true;
    return true;
  }
  if (final == '~' && params == "201") return true;  // a stray end: nothing to end
  if (params.empty() && (final == 'I' || final == 'O')) {
    emit.signal(final == 'I' ? InputEvent::Kind::FocusIn : InputEvent::Kind::FocusOut);
    return true;
  }
  if ((final == 'M' || final == 'm') && params.starts_with('<')) {
    const Params numbers = parse_params(params.substr(1));
    if (!numbers.valid || numbers.count != 3) return false;
    if (auto mouse =
            make_mouse(numbers.values[0], numbers.values[1], numbers.values[2], final == 'm')) {
      emit.mouse(*mouse);
    }
    return true;
  }
  if (is_prefix_sequence(params, final)) {
    emit_prefix(emit);
    return true;
  }
  return false;
}

// CSI 27;5;93~ (modifyOtherKeys) or CSI 93;5u (kitty/fixterms) for a prefix byte of 0x1d.
bool InputDecoder::is_prefix_sequence(std::string_view text, char final) const {
  const Params params = parse_params(text);
  const int code = prefix_key_code(prefix_byte_);
  if (!params.valid || code < 0) return false;
  if (final == '~') {
    return params.count == 3 && params.values[0] == 27 && is_ctrl_only(params.values[1]) &&
           params.values[2] == code;
  }
  if (final == 'u') {
    return params.count >= 2 && params.values[0] == code && is_ctrl_only(params.values[1]);
  }
  return false;
}

}  // namespace sddsh::tui
