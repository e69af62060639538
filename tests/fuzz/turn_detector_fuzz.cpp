// The turn detector takes whatever the user's terminal sends. Chunks of the input are fed at
// advancing times (so the debounce and Esc timing are exercised); every prompt must be valid
// UTF-8 and within the size bound, and the line never outgrows it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "recorder/turn_detector.hpp"

using sddsh::recorder::TurnDetector;

namespace {

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

void check(const std::string& text) {
  if (!valid_utf8(text) || text.size() > TurnDetector::kMaxPromptBytes + 1024) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  TurnDetector detector;
  auto now = TurnDetector::Clock::time_point{} + std::chrono::hours(1);
  std::size_t i = 0;
  while (i < size) {
    // Each chunk's first byte: its length (low 5 bits) and the time since the last (high 3 bits).
    const std::uint8_t control = data[i++];
    const std::size_t length = std::min<std::size_t>(control & 31u, size - i);
    now += std::chrono::milliseconds((control >> 5) * 60);
    for (const auto& submission : detector.feed(std::string_view(reinterpret_cast<const char*>(data + i), length), now))
      check(submission.text);
    check(detector.pending_text());
    if (detector.pending_text().size() > TurnDetector::kMaxPromptBytes) std::abort();
    i += length;
  }
  TurnDetector whole;
  for (const auto& submission : whole.feed(std::string_view(reinterpret_cast<const char*>(data), size), now))
    check(submission.text);
  return 0;
}
