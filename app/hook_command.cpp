#include "app/hook_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "recorder/hook_channel.hpp"

namespace sddsh::app {

namespace {

// A hook's input is one JSON object; a pasted prompt can make it large, but not this large.
constexpr std::size_t kMaxInput = std::size_t{16} << 20;
constexpr std::chrono::milliseconds kSendTimeout{2000};

std::string read_standard_input() {
  std::string input;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (input.size() < kMaxInput) input.append(buffer, static_cast<std::size_t>(n));
  }
  return input;
}

}  // namespace

int run_hook() {
  if (::isatty(0) == 1) {
    std::fputs(
        "sddsh hook: reads an agent's hook event (JSON) from standard input; the hooks "
        "sddsh gives an agent run it\n",
        stderr);
    return 2;
  }
  const std::string input = read_standard_input();
  const char* socket = std::getenv(recorder::kHookSocketVariable);
  if (socket == nullptr || *socket == '\0') return 0;  // not under sddsh (a copied settings file)
  const std::string message = recorder::hook_message_from_agent_input(input);
  if (message.empty()) return 0;
  (void)recorder::send_hook_message(socket, message, kSendTimeout);
  return 0;
}

}  // namespace sddsh::app
