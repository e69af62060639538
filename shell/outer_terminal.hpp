#pragma once
// The user's terminal around sddsh: raw input while an agent runs, and restored on every way
// out — normal exit, exceptions, and crash signals (SIGSEGV, SIGABRT, ...) alike.
#include <sys/ioctl.h>
#include <termios.h>

#include <optional>
#include <string_view>

namespace sddsh::shell {

class OuterTerminal {
 public:
  OuterTerminal(int input_fd, int output_fd);
  OuterTerminal(const OuterTerminal&) = delete;
  OuterTerminal& operator=(const OuterTerminal&) = delete;
  ~OuterTerminal() { restore(); }

  int input_fd() const { return input_fd_; }
  int output_fd() const { return output_fd_; }
  bool input_is_tty() const { return input_is_tty_; }
  bool output_is_tty() const { return output_is_tty_; }

  // The size of whichever side is a terminal; nothing when neither is.
  std::optional<winsize> size() const;
  // The user's line discipline before raw mode, to start the agent's PTY alike.
  std::optional<termios> original_modes() const { return saved_modes_; }

  // Raw input (when a terminal); non-blocking output when the caller writes through the event
  // loop (pass-through), blocking when a library writes whole frames (curses).
  void enter_raw(bool nonblocking_output = true);
  // What to write to the terminal on the way out (modes the agent or the UI left on).
  // Kept in a fixed buffer so that the crash handler can write it without allocating.
  void set_reset_sequence(std::string_view bytes);
  // Idempotent.
  void restore();

 private:
  int input_fd_;
  int output_fd_;
  bool input_is_tty_;
  bool output_is_tty_;
  std::optional<termios> saved_modes_;
  int saved_output_flags_ = -1;
  bool active_ = false;
};

}  // namespace sddsh::shell
