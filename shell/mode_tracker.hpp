#pragma once
// In pass-through mode the agent drives the user's terminal directly. If it dies without
// undoing what it turned on (alternate screen, hidden cursor, mouse, bracketed paste, kitty
// keyboard flags...), the user's shell is left broken. This follows those modes in the output
// stream, cheaply (only escape sequences are looked at), and says how to undo them.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace sddsh::shell {

class ModeTracker {
 public:
  void observe(std::string_view bytes);
  // True once after any mode changed, so callers rebuild the reset sequence only then.
  bool take_changed() { return std::exchange(changed_, false); }
  // Bytes that turn off every mode still on; empty when the terminal is clean.
  std::string reset_sequence() const;

  // How the agent wants keys encoded; the TUI mirrors these to the user's terminal so that keys
  // pass through as the very bytes the agent expects.
  bool app_cursor_keys() const { return app_cursor_keys_; }
  bool app_keypad() const { return app_keypad_; }
  int modify_other_keys() const { return modify_other_keys_; }

 private:
  enum class State : std::uint8_t { ground, escape, csi };
  void on_escape_final(char c);
  void on_csi_final(char c);
  void set_private_mode(int mode, bool on);

  State state_ = State::ground;
  bool changed_ = false;
  std::string sequence_;  // parameters and intermediates of the CSI being read

  // Modes that need undoing; each is the DEC private mode number that restores it.
  bool alt_screen_1049_ = false;
  bool alt_screen_47_ = false;
  bool cursor_hidden_ = false;
  bool app_cursor_keys_ = false;
  bool app_keypad_ = false;
  bool autowrap_off_ = false;
  bool focus_events_ = false;
  bool bracketed_paste_ = false;
  bool synchronized_ = false;
  bool cursor_shape_set_ = false;
  std::uint32_t mouse_modes_ = 0;  // bit i = mouse-related mode kMouseModes[i]
  int kitty_keyboard_depth_ = 0;
  bool kitty_flags_set_ = false;
  int modify_other_keys_ = 0;  // level 0, 1 or 2
};

}  // namespace sddsh::shell
