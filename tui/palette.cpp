#include "tui/palette.hpp"

#include <array>
#include <climits>
#include <cstdlib>

namespace sddsh::tui {

namespace {

constexpr std::array<std::uint32_t, 16> kAnsi{
    0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
    0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff};
constexpr std::array<int, 6> kCubeLevels{0, 95, 135, 175, 215, 255};

int red(std::uint32_t c) { return static_cast<int>((c >> 16) & 0xff); }
int green(std::uint32_t c) { return static_cast<int>((c >> 8) & 0xff); }
int blue(std::uint32_t c) { return static_cast<int>(c & 0xff); }

int distance(std::uint32_t a, std::uint32_t b) {
  int dr = red(a) - red(b), dg = green(a) - green(b), db = blue(a) - blue(b);
  return dr * dr + dg * dg + db * db;
}

int nearest_cube_level(int value) {
  int best = 0;
  for (int i = 1; i < 6; ++i)
    if (std::abs(kCubeLevels[static_cast<std::size_t>(i)] - value) <
        std::abs(kCubeLevels[static_cast<std::size_t>(best)] - value))
      best = i;
  return best;
}

}  // namespace

std::uint32_t palette_rgb(int index) {
  if (index < 16) return kAnsi[static_cast<std::size_t>(index < 0 ? 0 : index)];
  if (index < 232) {
    int i = index - 16;
    auto level = [](int n) { return static_cast<std::uint32_t>(kCubeLevels[static_cast<std::size_t>(n)]); };
    return (level(i / 36) << 16) | (level((i / 6) % 6) << 8) | level(i % 6);
  }
  auto grey = static_cast<std::uint32_t>(8 + (index - 232) * 10);
  return (grey << 16) | (grey << 8) | grey;
}

int nearest_256(std::uint32_t rgb) {
  int cube = 16 + 36 * nearest_cube_level(red(rgb)) + 6 * nearest_cube_level(green(rgb)) +
             nearest_cube_level(blue(rgb));
  int average = (red(rgb) + green(rgb) + blue(rgb)) / 3;
  int grey = average < 8 ? 232 : average > 238 ? 255 : 232 + (average - 8) / 10;
  return distance(palette_rgb(cube), rgb) <= distance(palette_rgb(grey), rgb) ? cube : grey;
}

int nearest_ansi(std::uint32_t rgb, int colors) {
  int best = 0, best_distance = INT_MAX;
  for (int i = 0; i < colors && i < 16; ++i) {
    int d = distance(kAnsi[static_cast<std::size_t>(i)], rgb);
    if (d < best_distance) {
      best = i;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace sddsh::tui
