// libFuzzer target for the user's terminal's replies to sddsh's start-up probe (and whatever the
// user typed meanwhile). Invariant: no byte is invented; replies and typed keys come from input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tui/terminal_probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sddsh::tui;
  std::string buffer;
  std::string typed;
  TerminalColours colours;
  std::size_t fed = 0;
  for (std::size_t i = 0; i < size; i += 7) {
    const std::size_t n = std::min<std::size_t>(7, size - i);
    buffer.append(reinterpret_cast<const char*>(data) + i, n);
    fed += n;
    const bool done = take_probe_replies(buffer, colours, typed);
    if (typed.size() + buffer.size() > fed) std::abort();
    if (done) break;
  }
  (void)parse_colour_spec(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
