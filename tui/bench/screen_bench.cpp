// Feeds 64 MB of typical agent/cat output through libvterm's layers and our Screen, in 4 KB
// chunks as a PTY read would deliver it, and prints MB/s.
// Usage: sddsh_screen_bench [MB [VARIANTS]]   e.g. `sddsh_screen_bench 64 cd`
#include <vterm.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>

#include "tui/screen.hpp"

namespace {

constexpr int kRows = 30;
constexpr int kCols = 100;
constexpr std::size_t kChunk = 4096;

// Lines of 40-120 printable characters, one in eight coloured, ending in CR LF.
std::string make_text(std::size_t bytes) {
  std::mt19937 rng(42);
  std::string out;
  out.reserve(bytes + 256);
  while (out.size() < bytes) {
    const auto len = static_cast<unsigned>(40 + rng() % 81);
    const bool colour = rng() % 8 == 0;
    if (colour) out += "\x1b[3" + std::to_string(1 + rng() % 7) + "m";
    for (unsigned i = 0; i < len; ++i) out += static_cast<char>(' ' + rng() % 95);
    if (colour) out += "\x1b[0m";
    out += "\r\n";
  }
  return out;
}

double time_feed(const std::string& data, const std::function<void(std::string_view)>& feed) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t off = 0; off < data.size(); off += kChunk) {
    feed(std::string_view(data).substr(off, std::min(kChunk, data.size() - off)));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void report(const char* name, const std::string& data, double seconds) {
  std::printf("%-42s %6.2f s  %7.1f MB/s\n", name, seconds,
              static_cast<double>(data.size()) / (1024.0 * 1024.0) / seconds);
}

int on_damage(VTermRect, void*) { return 1; }
int on_pushline(int, const VTermScreenCell*, void*) { return 1; }

void bench_vterm_screen(const std::string& data, bool merge_scroll) {
  VTerm* vt = vterm_new(kRows, kCols);
  vterm_set_utf8(vt, 1);
  VTermScreen* screen = vterm_obtain_screen(vt);
  VTermScreenCallbacks callbacks{};
  callbacks.damage = on_damage;
  callbacks.sb_pushline = on_pushline;
  vterm_screen_set_callbacks(screen, &callbacks, nullptr);
  if (merge_scroll) vterm_screen_set_damage_merge(screen, VTERM_DAMAGE_SCROLL);
  vterm_screen_reset(screen, 1);
  const double seconds =
      time_feed(data, [vt](std::string_view b) { vterm_input_write(vt, b.data(), b.size()); });
  report(merge_scroll ? "(b) VTermScreen, VTERM_DAMAGE_SCROLL" : "(a) VTermScreen, default damage",
         data, seconds);
  vterm_free(vt);
}

int noop_glyph(VTermGlyphInfo*, VTermPos, void*) { return 1; }
int noop_cursor(VTermPos, VTermPos, int, void*) { return 1; }
int noop_scroll(VTermRect, int, int, void*) { return 1; }
int noop_move(VTermRect, VTermRect, void*) { return 1; }
int noop_erase(VTermRect, int, void*) { return 1; }
int noop_pen(VTermAttr, VTermValue*, void*) { return 1; }

void bench_vterm_state(const std::string& data) {
  VTerm* vt = vterm_new(kRows, kCols);
  vterm_set_utf8(vt, 1);
  VTermState* state = vterm_obtain_state(vt);
  VTermStateCallbacks callbacks{};
  callbacks.putglyph = noop_glyph;
  callbacks.movecursor = noop_cursor;
  callbacks.scrollrect = noop_scroll;
  callbacks.moverect = noop_move;
  callbacks.erase = noop_erase;
  callbacks.setpenattr = noop_pen;
  vterm_state_set_callbacks(state, &callbacks, nullptr);
  vterm_state_reset(state, 1);
  const double seconds =
      time_feed(data, [vt](std::string_view b) { vterm_input_write(vt, b.data(), b.size()); });
  report("(c) VTermState, no-op callbacks", data, seconds);
  vterm_free(vt);
}

void bench_screen(const std::string& data) {
  sddsh::tui::Screen screen({.rows = kRows, .cols = kCols});
  const double seconds = time_feed(data, [&screen](std::string_view b) {
    screen.feed(b);
    (void)screen.take_damage();  // a painter takes damage once per read at most
  });
  report("(d) sddsh::tui::Screen (own grid)", data, seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const std::string data = make_text(megabytes << 20);
  std::printf("%zu MB, %dx%d, %zu-byte chunks\n", megabytes, kCols, kRows, kChunk);
  const std::string variants = argc > 2 ? argv[2] : "abcd";
  if (variants.find('a') != std::string::npos) bench_vterm_screen(data, false);
  if (variants.find('b') != std::string::npos) bench_vterm_screen(data, true);
  if (variants.find('c') != std::string::npos) bench_vterm_state(data);
  if (variants.find('d') != std::string::npos) bench_screen(data);
}
