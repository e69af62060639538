#include "shell/outer_terminal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

namespace sddsh::shell {

namespace {

// The crash handler can reach nothing but globals; this is the only global state of the
// shell module, and only that handler and OuterTerminal touch it.
struct CrashRestore {
  std::atomic<bool> armed{false};
  int input_fd = -1;
  int output_fd = -1;
  bool have_modes = false;
  termios modes{};
  int output_flags = -1;
  bool write_reset = false;
  // Two buffers, so the handler never reads one that is being rewritten.
  std::array<std::array<char, 1024>, 2> reset{};
  std::array<std::size_t, 2> reset_length{};
  std::atomic<int> current{0};
};
CrashRestore g_crash;

constexpr std::array kCrashSignals{SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP};
std::array<struct sigaction, kCrashSignals.size()> g_previous_actions{};

void write_all_signal_safe(int fd, const char* data, std::size_t length) {
  while (length > 0) {
    ssize_t n = ::write(fd, data, length);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    data += n;
    length -= static_cast<std::size_t>(n);
  }
}

void restore_from_crash_state() {
  if (!g_crash.armed.exchange(false)) return;
  if (g_crash.write_reset) {
    int i = g_crash.current.load();
    write_all_signal_safe(g_crash.output_fd, g_crash.reset[i].data(), g_crash.reset_length[i]);
  }
  if (g_crash.output_flags >= 0) fcntl(g_crash.output_fd, F_SETFL, g_crash.output_flags);
  if (g_crash.have_modes) tcsetattr(g_crash.input_fd, TCSANOW, &g_crash.modes);
}

void on_crash_signal(int sig) {
  restore_from_crash_state();
  // Hand the signal to whoever had it before (the default action, or a sanitizer's report).
  for (std::size_t i = 0; i < kCrashSignals.size(); ++i)
    if (kCrashSignals[i] == sig) sigaction(sig, &g_previous_actions[i], nullptr);
  raise(sig);
}

void install_crash_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction action {};
  action.sa_handler = on_crash_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (std::size_t i = 0; i < kCrashSignals.size(); ++i)
    sigaction(kCrashSignals[i], &action, &g_previous_actions[i]);
}

}  // namespace

OuterTerminal::OuterTerminal(int input_fd, int output_fd)
    : input_fd_(input_fd),
      output_fd_(output_fd),
      input_is_tty_(isatty(input_fd) == 1),
      output_is_tty_(isatty(output_fd) == 1) {
  termios modes{};
  if (input_is_tty_ && tcgetattr(input_fd_, &modes) == 0) saved_modes_ = modes;
}

std::optional<winsize> OuterTerminal::size() const {
  winsize ws{};
  for (int fd : {output_fd_, input_fd_})
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
      return ws;
  return std::nullopt;
}

void OuterTerminal::enter_raw(bool nonblocking_output) {
  if (active_) return;
  active_ = true;
  saved_output_flags_ = fcntl(output_fd_, F_GETFL);

  g_crash.input_fd = input_fd_;
  g_crash.output_fd = output_fd_;
  g_crash.have_modes = saved_modes_.has_value();
  if (saved_modes_) g_crash.modes = *saved_modes_;
  g_crash.output_flags = saved_output_flags_;
  g_crash.write_reset = output_is_tty_;
  g_crash.armed = true;
  install_crash_handlers();

  if (saved_modes_) {
    termios raw = *saved_modes_;
    cfmakeraw(&raw);
    // TCSANOW, not TCSAFLUSH: keys typed before sddsh was ready belong to the agent.
    tcsetattr(input_fd_, TCSANOW, &raw);
  }
  if (nonblocking_output && saved_output_flags_ >= 0)
    fcntl(output_fd_, F_SETFL, saved_output_flags_ | O_NONBLOCK);
}

void OuterTerminal::set_reset_sequence(std::string_view bytes) {
  int next = 1 - g_crash.current.load();
  auto length = std::min(bytes.size(), g_crash.reset[next].size());
  if (length > 0) std::memcpy(g_crash.reset[next].data(), bytes.data(), length);  // data() may be null
  g_crash.reset_length[next] = length;
  g_crash.current.store(next);
}

void OuterTerminal::restore() {
  if (!active_) return;
  active_ = false;
  // Output must be blocking again before the final reset bytes are written.
  if (saved_output_flags_ >= 0) fcntl(output_fd_, F_SETFL, saved_output_flags_);
  g_crash.output_flags = -1;
  restore_from_crash_state();
}

}  // namespace sddsh::shell
