#include "shell/mode_tracker.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace sddsh::shell {

namespace {

constexpr std::array kMouseModes{9, 1000, 1001, 1002, 1003, 1005, 1006, 1015, 1016, 1007};
constexpr std::size_t kMaxSequence = 64;  // longer CSI sequences are not ours to follow

// Terminals keep a few entries of the kitty keyboard stack; counting far past that only risks
// overflow (a pop of more than were pushed empties it anyway).
constexpr int kMaxKittyDepth = 1 << 16;

int parse_int(std::string_view text, int fallback) {
  int value = fallback;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() ? value : fallback;
}

}  // namespace

void ModeTracker::observe(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    if (state_ == State::ground) {
      p = static_cast<const char*>(std::memchr(p, '\x1b', static_cast<std::size_t>(end - p)));
      if (!p) return;
      ++p;
      state_ = State::escape;
      continue;
    }
    char c = *p++;
    if (state_ == State::escape) {
      if (c == '[') {
        state_ = State::csi;
        sequence_.clear();
      } else {
        on_escape_final(c);
        state_ = State::ground;
      }
      continue;
    }
    // Inside a CSI: parameters and intermediates until a final byte.
    if (c >= 0x40 && c <= 0x7e) {
      on_csi_final(c);
      state_ = State::ground;
    } else if (c == '\x1b') {
      state_ = State::escape;
    } else if (sequence_.size() < kMaxSequence) {
      sequence_.push_back(c);
    } else {
      state_ = State::ground;
    }
  }
}

void ModeTracker::on_escape_final(char c) {
  if (c == '=') app_keypad_ = true;
  if (c == '>') app_keypad_ = false;
  if (c == 'c') *this = ModeTracker{};  // RIS: full reset
  if (c == '=' || c == '>' || c == 'c') changed_ = true;
}

void ModeTracker::on_csi_final(char c) {
  std::string_view seq = sequence_;
  if (seq.empty()) return;
  changed_ = changed_ || c == 'h' || c == 'l' || c == 'u' || c == 'q' || (c == 'm' && seq[0] == '>');
  const char prefix = seq.front();
  if (prefix == '?' && (c == 'h' || c == 'l')) {
    seq.remove_prefix(1);
    // Multi-parameter forms (?1049;2004h) set every mode listed.
    while (!seq.empty()) {
      auto semi = seq.find(';');
      set_private_mode(parse_int(seq.substr(0, semi), -1), c == 'h');
      seq = semi == std::string_view::npos ? std::string_view{} : seq.substr(semi + 1);
    }
  } else if (c == 'u' && prefix == '>') {
    kitty_keyboard_depth_ = std::min(kitty_keyboard_depth_ + 1, kMaxKittyDepth);
  } else if (c == 'u' && prefix == '<') {
    // A count below 1 pops the default one: "CSI < -2000000000 u" made the depth overflow
    // (found by fuzzing).
    const int count = std::max(1, parse_int(seq.substr(1), 1));
    kitty_keyboard_depth_ = std::max(0, kitty_keyboard_depth_ - count);
  } else if (c == 'u' && prefix == '=') {
    kitty_flags_set_ = parse_int(seq.substr(1), 0) != 0;
  } else if (c == 'm' && prefix == '>' && seq.starts_with(">4")) {
    auto semi = seq.find(';');
    modify_other_keys_ = semi == std::string_view::npos ? 0 : parse_int(seq.substr(semi + 1), 0);
  } else if (c == 'q' && seq.back() == ' ') {
    cursor_shape_set_ = parse_int(seq, 0) != 0;
  }
}

void ModeTracker::set_private_mode(int mode, bool on) {
  switch (mode) {
    case 1: app_cursor_keys_ = on; return;
    case 7: autowrap_off_ = !on; return;
    case 25: cursor_hidden_ = !on; return;
    case 47:
    case 1047: alt_screen_47_ = on; return;
    case 1049: alt_screen_1049_ = on; return;
    case 1004: focus_events_ = on; return;
    case 2004: bracketed_paste_ = on; return;
    case 2026: synchronized_ = on; return;
    default: break;
  }
  for (std::size_t i = 0; i < kMouseModes.size(); ++i) {
    if (kMouseModes[i] != mode) continue;
    if (on) mouse_modes_ |= 1U << i;
    else mouse_modes_ &= ~(1U << i);
  }
}

std::string ModeTracker::reset_sequence() const {
  std::string out;
  auto reset_mode = [&out](int mode, char final_byte) {
    out += "\x1b[?" + std::to_string(mode) + final_byte;
  };
  if (synchronized_) reset_mode(2026, 'l');
  for (std::size_t i = 0; i < kMouseModes.size(); ++i)
    if (mouse_modes_ & (1U << i)) reset_mode(kMouseModes[i], 'l');
  if (focus_events_) reset_mode(1004, 'l');
  if (bracketed_paste_) reset_mode(2004, 'l');
  if (kitty_keyboard_depth_ > 0) out += "\x1b[<" + std::to_string(kitty_keyboard_depth_) + "u";
  if (kitty_flags_set_) out += "\x1b[=0u";
  if (modify_other_keys_ != 0) out += "\x1b[>4m";
  if (app_cursor_keys_) reset_mode(1, 'l');
  if (app_keypad_) out += "\x1b>";
  if (autowrap_off_) reset_mode(7, 'h');
  if (alt_screen_1049_) reset_mode(1049, 'l');
  if (alt_screen_47_) reset_mode(1047, 'l');
  if (cursor_shape_set_) out += "\x1b[0 q";
  if (cursor_hidden_) reset_mode(25, 'h');
  return out;
}

}  // namespace sddsh::shell
