// libFuzzer target for the agent's bytes: the screen model (filter, libvterm, our grid, reflow)
// fed in reads cut at points taken from the input, with resizes in between. Invariants: the
// cursor stays on the screen, every row reads back, the filter holds back a bounded amount.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tui/screen.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  using sddsh::tui::Screen;
  Screen screen({.rows = 1 + data[0] % 60, .cols = 1 + data[1] % 160, .scrollback_limit = 200});
  std::string replies;
  screen.set_output([&](std::string_view bytes) { replies.append(bytes); });
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::size_t step = 1 + data[2] % 97;
  while (!rest.empty()) {
    const std::size_t take = std::min(step, rest.size());
    screen.feed(rest.substr(0, take));
    // A byte of the input decides, now and then, a resize (as a user dragging the window).
    if (static_cast<unsigned char>(rest[0]) % 31 == 0)
      screen.resize(1 + static_cast<unsigned char>(rest[take - 1]) % 60, 1 + static_cast<unsigned char>(rest[0]) % 160);
    rest.remove_prefix(take);
    step = 1 + (step * 7 + take) % 97;
    check(screen.cursor().row >= 0 && screen.cursor().row < screen.rows());
    check(screen.cursor().col >= 0 && screen.cursor().col < screen.cols());
  }
  check(static_cast<int>(screen.text_lines().size()) == screen.rows());
  check(screen.scrollback_size() <= 200);
  (void)screen.take_damage();
  (void)screen.take_events();
  return 0;
}
