#pragma once
// Keyframes: the screen as it stood at points of a cast, so that replay shows any moment by
// restoring the nearest keyframe before it and feeding the few events after it, instead of
// replaying from the start. One pass over the cast builds them together with what the player's
// clocks need (the long pauses, the last event's time); the result is cached next to the bundle.
//
// Cache file (<bundle>/replay/keyframes), little-endian:
//   "sddsh-keyframes\n"  u64 format version  str key  u64 payload hash  payload
// where str is a u64 length and its bytes, and the payload is
//   f64 end_time  u64 screen_events  u8 has_problem  str problem
//   u64 pauses   {f64 start  f64 end}...
//   u64 keyframes {u64 event_index  u64 offset  u64 line  f64 time  str zstd(state)}...
// The key names what the keyframes were made from (the cast's size, mtime and the hashes of its
// first and last 64 KiB, the options, the sddsh version), so a changed cast or option makes the
// cache stale; the payload hash finds a damaged one. Either way it is built again.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "replay/timeline.hpp"
#include "shell/result.hpp"
#include "tui/screen.hpp"

namespace sddsh::replay {

struct IndexOptions {
  std::size_t keyframe_bytes = 256u << 10;  // output bytes between keyframes, at most
  double keyframe_seconds = 10.0;           // recorded seconds between keyframes, at most
  double idle_limit = 2.0;                  // pauses longer than this are kept (0: none)
  std::size_t scrollback_lines = 200;       // kept in each keyframe, so resizes reflow the same
};

struct Keyframe {
  std::uint64_t event_index = 0;  // screen events applied before this point
  recorder::CastPosition next;    // where the event after them starts in the cast
  double time = 0;                // recorded time of the last event applied (0 at the start)
  std::string packed_state;       // tui::Screen::save_state, compressed (pack_state)
};

struct CastIndex {
  std::vector<Keyframe> keyframes;     // the first is the start: a fresh screen, nothing applied
  std::vector<Pause> pauses;           // longer than the idle limit, for the Timeline
  double end_time = 0;                 // recorded time of the last event
  std::uint64_t screen_events = 0;     // events that change the screen, in the readable part
  std::optional<std::string> problem;  // why reading stopped early: "line 5012: truncated"
};

// ---- the rules every reader of the cast follows, so keyframes, clocks and seeks agree

// Replay draws at the recorded size, but not at any size a damaged header or resize claims.
inline constexpr int kMaxCols = 1024;
inline constexpr int kMaxRows = 512;
tui::ScreenOptions replay_screen_options(const recorder::CastHeader& header);

// 'o' (fed to the screen) and 'r' with a size (resizes it); input and markers change nothing.
bool is_screen_event(const recorder::CastEvent& event);
void apply_event(tui::Screen& screen, const recorder::CastEvent& event);

// Event times made monotone: an event stamped earlier than the one before it happened then.
class MonotoneClock {
 public:
  explicit MonotoneClock(double floor = 0) : floor_(floor) {}
  double time_of(double stamped) {
    if (stamped > floor_) floor_ = stamped;
    return floor_;
  }
  double now() const { return floor_; }

 private:
  double floor_;
};

// ---- compressed screen states (zstd: a screen's cells repeat; states shrink ~5x)
class StateCodec {
 public:
  StateCodec();
  ~StateCodec();
  StateCodec(const StateCodec&) = delete;
  StateCodec& operator=(const StateCodec&) = delete;

  std::string pack(std::string_view state);
  // Nothing when `packed` is not something pack() made (or it is implausibly large).
  std::optional<std::string> unpack(std::string_view packed);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
};

// ---- building

using BuildProgress = std::function<void(double fraction)>;

// One pass over the cast. Fails only when the cast cannot be opened or its header read.
Result<CastIndex> build_index(const std::string& cast_path, const IndexOptions& options,
                              const BuildProgress& progress = {});

// ---- the cache

// What the keyframes of `cast_path` would be made from; fails when the cast cannot be read.
Result<std::string> cache_key(const std::string& cast_path, const IndexOptions& options);

std::string encode_payload(const CastIndex& index);
// The cache file: magic, version, key and payload hash around a payload.
std::string seal_cache(std::string_view key, std::string_view payload);

struct CacheLoad {
  enum class Status : std::uint8_t { Missing, Stale, Damaged, Loaded } status = Status::Missing;
  std::string why;  // for Damaged: what was wrong
  CastIndex index;  // for Loaded
};
// Checks the magic, version, key and hash, then decodes and checks the payload's consistency.
CacheLoad decode_cache(std::string_view bytes, std::string_view key);
CacheLoad load_cache(const std::string& path, std::string_view key);
// Atomically (temporary file, rename), mode 0600; the directory is created 0700 if missing.
Result<void> save_cache(const std::string& path, std::string_view key, const CastIndex& index);

}  // namespace sddsh::replay
