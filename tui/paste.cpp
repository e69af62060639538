#include "tui/paste.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace sddsh::tui {

namespace {

constexpr std::array<std::string_view, 2> kMarkers{"\x1b[200~", "\x1b[201~"};

// Removing a marker can join two halves into a new one ("\e[20" "\e[201~" "1~"): repeat.
void strip_markers(std::string& text) {
  for (bool removed = true; removed;) {
    removed = false;
    for (auto marker : kMarkers) {
      for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
        text.erase(at, marker.size());
        removed = true;
      }
    }
  }
}

// Length of the longest end of `text` that could begin a marker.
std::size_t marker_prefix_at_end(std::string_view text) {
  const std::size_t longest = kMarkers[0].size() - 1;
  for (std::size_t n = std::min(longest, text.size()); n > 0; --n) {
    const std::string_view tail = text.substr(text.size() - n);
    for (auto marker : kMarkers)
      if (marker.starts_with(tail)) return n;
  }
  return 0;
}

// How much of the end of `text` to hold for the next chunk: the end that could begin a marker,
// and again the end before it, until what is sent ends in no marker's start. Otherwise, when the
// held part turns into a marker and goes, what was sent meets the chunk after it: "1\e[201",
// "\e[201", "~~" sent "1", "\e[201", "~", and the agent got "1\e[201~" (found by fuzzing).
std::size_t held_length(std::string_view text) {
  std::size_t held = 0;
  while (const std::size_t more = marker_prefix_at_end(text.substr(0, text.size() - held))) {
    held += more;
  }
  return held;
}

}  // namespace

std::string PasteSanitizer::filter(std::string_view chunk) {
  std::string text = std::move(held_);
  text += chunk;
  strip_markers(text);
  const std::size_t hold = held_length(text);
  held_.assign(text, text.size() - hold, hold);
  text.resize(text.size() - hold);
  return text;
}

std::string PasteSanitizer::finish() { return std::exchange(held_, {}); }

std::string bracketed_paste(std::string_view text) {
  std::string body(text);
  strip_markers(body);
  return std::string(kMarkers[0]) + body + std::string(kMarkers[1]);
}

}  // namespace sddsh::tui
