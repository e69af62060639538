// libFuzzer target for replay's bundle loader: any bytes as session.json, terminal.cast and the
// keyframe cache of a bundle, opened by a Player that then seeks, steps and skips turns.
//
// Input: SESSION "=====\n" CAST "=====\n" CACHE, where CACHE's first byte says what the cache
// file becomes: 'R' the bytes as they are; 'S' the bytes sealed with the right key and checksum
// (so the payload decoder sees them); 'B' a real cache built by a first open, with the bytes
// XORed into it; anything else, no cache.
//
// Invariants: opening never fails when the cast's header is readable; seeking to the end ends
// there; and but for a sealed ('S') cache, which is trusted by design, the screen after a seek
// shows what a fresh screen fed every event up to that point shows.
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "replay/keyframes.hpp"
#include "replay/player.hpp"
#include "tui/screen.hpp"
#include "tui/utf8.hpp"

namespace {

using sddsh::replay::Player;
using sddsh::replay::PlayerOptions;

constexpr std::string_view kSeparator = "=====\n";

struct Parts {
  std::string_view session, cast, cache;
};

Parts split(std::string_view input) {
  Parts parts;
  const std::size_t first = input.find(kSeparator);
  if (first == std::string_view::npos) {
    parts.cast = input;
    return parts;
  }
  parts.session = input.substr(0, first);
  input.remove_prefix(first + kSeparator.size());
  const std::size_t second = input.find(kSeparator);
  parts.cast = input.substr(0, second);
  if (second != std::string_view::npos) parts.cache = input.substr(second + kSeparator.size());
  return parts;
}

// One directory for the whole run, on tmpfs when there is one (the cache is fsynced), removed
// when the run ends.
class BundleDir {
 public:
  BundleDir() {
    path_ = std::filesystem::exists("/dev/shm") ? "/dev/shm/sddsh-bundle-fuzz-XXXXXX"
                                                : "/tmp/sddsh-bundle-fuzz-XXXXXX";
    if (::mkdtemp(path_.data()) == nullptr) std::abort();
  }
  ~BundleDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  BundleDir(const BundleDir&) = delete;
  BundleDir& operator=(const BundleDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::string& bundle_dir() {
  static const BundleDir dir;
  return dir.path();
}

void write(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Many keyframes even in a small cast.
PlayerOptions options(bool use_cache) {
  PlayerOptions options;
  options.keyframe_bytes = 64;
  options.keyframe_seconds = 0.5;
  options.use_cache = use_cache;
  return options;
}

sddsh::replay::IndexOptions index_options() {
  sddsh::replay::IndexOptions index;
  index.keyframe_bytes = 64;
  index.keyframe_seconds = 0.5;
  return index;
}

// Returns true when the cache was forged with the right key, so that its content is trusted.
bool prepare_cache(std::string_view cache, const std::string& dir) {
  const std::string cache_path = dir + "/replay/keyframes";
  std::filesystem::create_directories(dir + "/replay");
  if (cache.empty()) return false;
  const char mode = cache.front();
  cache.remove_prefix(1);
  if (mode == 'R') {
    write(cache_path, cache);
  } else if (mode == 'S') {
    const auto key = sddsh::replay::cache_key(dir + "/terminal.cast", index_options());
    if (key) write(cache_path, sddsh::replay::seal_cache(*key, cache));
    return true;
  } else if (mode == 'B') {
    if (!Player::open(dir, options(true))) return false;
    std::ifstream in(cache_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::size_t i = 0; i < cache.size() && !bytes.empty(); ++i) {
      bytes[(i * 131) % bytes.size()] ^= cache[i];
    }
    write(cache_path, bytes);
  }
  return false;
}

// What the screen shows after every event up to `recorded`, fed from the start by the rules
// the player follows: the keyframes restored on the way must change nothing.
class Reference {
 public:
  explicit Reference(std::string_view cast) {
    auto file = sddsh::recorder::parse_cast(cast);
    if (!file) std::abort();
    header_ = file->header;
    events_ = std::move(file->events);
  }

  // libvterm 0.1.4 keeps an unfinished UTF-8 character across control characters ("\xd1\r\x80"
  // draws U+0440), which a keyframe does not carry (a gap of tui's save_state): a seek can
  // differ from feeding everything only in output that is not UTF-8, so that is not compared.
  bool comparable() const {
    std::string output;
    for (const auto& event : events_) {
      if (event.type == 'o') output += event.data;
    }
    std::string again;
    sddsh::tui::append_utf8(again, sddsh::tui::decode_utf8(output));
    return again == output;
  }

  std::vector<std::string> text_at(double recorded) const {
    sddsh::tui::Screen screen(sddsh::replay::replay_screen_options(header_));
    sddsh::replay::MonotoneClock clock;
    for (const auto& event : events_) {
      if (clock.time_of(event.time) > recorded) break;
      if (sddsh::replay::is_screen_event(event)) sddsh::replay::apply_event(screen, event);
    }
    return screen.text_lines();
  }

 private:
  sddsh::recorder::CastHeader header_;
  std::vector<sddsh::recorder::CastEvent> events_;
};

void exercise(Player& player, const Reference* reference) {
  const double duration = player.duration();
  const double targets[] = {duration / 2, 0, duration, duration / 3, duration * 0.9};
  for (const double target : targets) {
    player.seek(target);
    // The player takes in events up to a hair past its position (it went through doubles).
    const double position = player.recorded_time(player.position());
    const double recorded = position + 1e-9 + std::abs(position) * 1e-12;
    if (reference && player.screen().text_lines() != reference->text_at(recorded)) std::abort();
  }
  player.seek(duration);
  if (!player.at_end()) std::abort();
  for (int i = 0; i < 3; ++i) player.step_back();
  for (int i = 0; i < 2; ++i) player.step_forward();
  player.set_idle_limited(false);
  player.advance(0.7);
  player.seek_turn(-1);
  player.seek_turn(1);
  player.set_idle_limited(true);
  player.seek(duration / 4);
  (void)player.current_turn();
  (void)player.until_next_event();
}

// Screens near replay's largest (kMaxCols x kMaxRows) take seconds per input under ASan and teach
// the fuzzer nothing the unit tests (PlayerDamage.HugeRecordedSizesAreCapped) do not: left out.
bool has_huge_screen(std::string_view cast) {
  constexpr long kMostCells = 256 * 256;
  const auto file = sddsh::recorder::parse_cast(cast);
  if (!file) return false;
  if (long{file->header.width} * file->header.height > kMostCells) return true;
  for (const auto& event : file->events) {
    const auto size = event.type == 'r' ? sddsh::recorder::parse_resize(event.data) : std::nullopt;
    if (size && long{std::min(size->cols, sddsh::replay::kMaxCols)} *
                        std::min(size->rows, sddsh::replay::kMaxRows) >
                    kMostCells) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Parts parts = split(std::string_view(reinterpret_cast<const char*>(data), size));
  if (has_huge_screen(parts.cast)) return 0;
  const std::string& dir = bundle_dir();
  std::filesystem::remove_all(dir + "/replay");
  std::filesystem::remove(dir + "/session.json");
  if (!parts.session.empty()) write(dir + "/session.json", parts.session);
  write(dir + "/terminal.cast", parts.cast);
  const bool trusted = prepare_cache(parts.cache, dir);

  auto player = Player::open(dir, options(true));
  const bool has_header = static_cast<bool>(sddsh::recorder::CastReader::from_memory(parts.cast));
  if (static_cast<bool>(player) != has_header) std::abort();
  if (!player) return 0;
  std::optional<Reference> reference;
  if (!trusted) reference.emplace(parts.cast);
  if (reference && !reference->comparable()) reference.reset();
  exercise(**player, reference ? &*reference : nullptr);
  return 0;
}
