#pragma once
// xterm's 256-colour palette, for terminals that have fewer colours or only direct colour.
#include <cstdint>

namespace sddsh::tui {

// 0xRRGGBB of palette entry `index` (0..255), as xterm defines it.
std::uint32_t palette_rgb(int index);
// The nearest entry of the 6x6x6 cube or the grey ramp (16..255) to an RGB colour.
int nearest_256(std::uint32_t rgb);
// The nearest of the first `colors` (8 or 16) ANSI colours.
int nearest_ansi(std::uint32_t rgb, int colors);

}  // namespace sddsh::tui
