#include "tui/terminal_probe.hpp"

#include <charconv>

namespace sddsh::tui {

namespace {

std::optional<std::uint8_t> parse_channel(std::string_view hex) {
  if (hex.empty() || hex.size() > 4) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
  // Scale to 8 bits whatever the number of digits (f → ff, fff → ff, ffff → ff).
  const unsigned max = (1u << (4 * hex.size())) - 1;
  return static_cast<std::uint8_t>(value * 255 / max);
}

// The end of an OSC reply starting at `start` (index past its terminator), or npos.
std::size_t osc_end(const std::string& buffer, std::size_t start, std::size_t& body_end) {
  for (std::size_t i = start; i < buffer.size(); ++i) {
    if (buffer[i] == '\a') {
      body_end = i;
      return i + 1;
    }
    if (buffer[i] == '\x1b' && i + 1 < buffer.size() && buffer[i + 1] == '\\') {
      body_end = i;
      return i + 2;
    }
  }
  return std::string::npos;
}

}  // namespace

std::optional<Rgb> parse_colour_spec(std::string_view spec) {
  if (!spec.starts_with("rgb:")) return std::nullopt;
  spec.remove_prefix(4);
  auto first = spec.find('/');
  auto second = spec.find('/', first == std::string_view::npos ? 0 : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
  auto r = parse_channel(spec.substr(0, first));
  auto g = parse_channel(spec.substr(first + 1, second - first - 1));
  auto b = parse_channel(spec.substr(second + 1));
  if (!r || !g || !b) return std::nullopt;
  return Rgb{*r, *g, *b};
}

bool take_probe_replies(std::string& buffer, TerminalColours& colours, std::string& typed) {
  bool done = false;
  std::size_t i = 0;
  while (i < buffer.size()) {
    if (buffer.compare(i, 5, "\x1b]10;") == 0 || buffer.compare(i, 5, "\x1b]11;") == 0) {
      std::size_t body_end = 0;
      const std::size_t end = osc_end(buffer, i + 5, body_end);
      if (end == std::string::npos) break;  // the rest comes with the next read
      auto colour = parse_colour_spec(std::string_view(buffer).substr(i + 5, body_end - i - 5));
      (buffer[i + 3] == '0' ? colours.foreground : colours.background) = colour;
      i = end;
    } else if (buffer.compare(i, 3, "\x1b[?") == 0) {
      const std::size_t end = buffer.find_first_not_of("0123456789;", i + 3);
      if (end == std::string::npos) break;
      if (buffer[end] == 'c') {
        done = true;
        i = end + 1;
      } else {
        typed += buffer[i++];
      }
    } else if (buffer[i] == '\x1b' && buffer.size() - i < 3) {
      break;  // maybe the start of a reply
    } else {
      typed += buffer[i++];
    }
  }
  buffer.erase(0, i);
  return done;
}

}  // namespace sddsh::tui
