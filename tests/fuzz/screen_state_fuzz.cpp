// libFuzzer target for keyframes read back: Screen::restore_state takes any bytes, because
// replay's keyframe cache is a file on disk that anything may have written (its hashes find
// damage, not a forger). Input: one byte of options, then the state. Option bit 0: the harness
// puts the right CRC-32 on the state's end, so that what decodes also goes on to libvterm
// (without it, only the decoder sees most inputs). The other bits choose the restoring screen's
// size. Invariants: a refused state leaves the screen as it was; an accepted one gives a screen
// that holds together (cursor on it, every row readable), that saves into a state restoring to
// itself and continues as it does, and that takes more bytes and a resize like any screen.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tui/screen.hpp"

namespace {

using sddsh::tui::Screen;
using sddsh::tui::ScreenOptions;

constexpr std::size_t kScrollback = 200;

// What a fresh screen takes after the restore: cursor moves, scrolling, wide and combining
// characters, REP, a scroll region, the alternate screen and back, a saved cursor.
constexpr std::string_view kMoreBytes =
    "wide \xe4\xb8\xad\xe6\x96\x87 e\xcc\x81\x1b[3b\r\n\x1b[2;4r\x1b[4;1H\n\n\x1b[r\x1b"
    "7"
    "\x1b[?1049h\x1b[10;10Hx\x1b[?1049l\x1b"
    "8\x1b[1;999H\x1b[5@\x1b[2K\x1b[S\x1b[T\tend\r\n";

void check(bool holds) {
  if (!holds) std::abort();
}

std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc & 1u) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

void put_crc(std::string& state) {
  if (state.size() < 4) return;
  const std::uint32_t crc = crc32(std::string_view(state).substr(0, state.size() - 4));
  for (std::size_t i = 0; i < 4; ++i)
    state[state.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
}

// The size the state's header claims ("sdKF", version, varint rows, varint cols), or 0.
std::uint64_t claimed_cells(std::string_view state) {
  std::size_t pos = 5;
  auto varint = [&]() -> std::uint64_t {
    std::uint64_t value = 0;
    for (int shift = 0; pos < state.size() && shift < 64; shift += 7) {
      const auto byte = static_cast<std::uint8_t>(state[pos++]);
      value |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80u) == 0) return value;
    }
    return 0;
  };
  const std::uint64_t rows = varint();
  const std::uint64_t cols = varint();
  return rows * cols;
}

void check_holds_together(const Screen& screen) {
  check(screen.rows() >= 1 && screen.cols() >= 1);
  check(screen.cursor().row >= 0 && screen.cursor().row < screen.rows());
  check(screen.cursor().col >= 0 && screen.cursor().col < screen.cols());
  check(static_cast<int>(screen.text_lines().size()) == screen.rows());
  check(screen.scrollback_size() <= kScrollback);
  (void)screen.scrollback_text_lines();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t options = data[0];
  std::string state(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Screens far above replay's usual sizes take seconds per input under ASan and teach nothing
  // more (the decoder's limits are unit-tested: MalformedStates.SizesOutOfRange).
  if (claimed_cells(state) > 256 * 256) return 0;
  if (options & 1u) put_crc(state);

  const ScreenOptions screen_options{.rows = 1 + ((options >> 1) & 7) * 7,
                                     .cols = 1 + (options >> 4) * 13,
                                     .scrollback_limit = kScrollback};
  Screen screen(screen_options);
  screen.feed("before\r\n\x1b[1mthe\x1b[m restore");
  const std::string before = screen.save_state(kScrollback);
  if (!screen.restore_state(state)) {
    check(screen.save_state(kScrollback) == before);
    return 0;
  }
  check_holds_together(screen);

  const std::string saved = screen.save_state(kScrollback);
  Screen again({.rows = 3, .cols = 5, .scrollback_limit = kScrollback});
  check(again.restore_state(saved));
  check(again.save_state(kScrollback) == saved);

  // Both continue alike: nothing the first restore put into libvterm was left out of `saved`.
  screen.feed(kMoreBytes);
  again.feed(kMoreBytes);
  check_holds_together(screen);
  check(again.text_lines() == screen.text_lines());
  check(again.cursor().row == screen.cursor().row && again.cursor().col == screen.cursor().col);
  screen.resize(1 + (options & 15), 1 + (options >> 3));
  screen.feed(kMoreBytes);
  check_holds_together(screen);
  (void)screen.take_damage();
  (void)screen.take_events();
  return 0;
}
