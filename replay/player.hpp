#pragma once
// Plays a recorded session back: the cast's output through the same screen model as a live
// session, at any point of it without replaying from the start (keyframes.hpp), on two clocks —
// the recorded one and the shown one, which cuts pauses longer than the idle limit.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recorder/cast_writer.hpp"
#include "recorder/session_record.hpp"
#include "shell/result.hpp"
#include "tui/screen.hpp"

namespace sddsh::replay {

struct PlayerOptions {
  double idle_limit = 2.0;  // seconds: a longer pause between two events is shown as this long
  // A keyframe after this many output bytes or recorded seconds since the last one, whichever
  // comes first (see keyframes.hpp).
  std::size_t keyframe_bytes = 256u << 10;
  double keyframe_seconds = 10.0;
  // Where the keyframe cache goes: empty = <bundle>/replay/keyframes (none when the bundle is a
  // bare cast file or cannot be written; the keyframes are then kept in memory only).
  std::string cache_path;
  bool use_cache = true;
};

// Building keyframes on the first open of a long session: 0..1 of the cast read.
using OpenProgress = std::function<void(double fraction)>;

class Player {
 public:
  // `path`: a bundle directory (session.json + terminal.cast) or a .cast file. A missing or
  // damaged session.json, a truncated cast or an unusable cache are not errors: what is readable
  // plays, and problems() says what was not. Fails only when there is nothing to play (no cast,
  // or its header unreadable).
  static Result<std::unique_ptr<Player>> open(const std::string& path, PlayerOptions options = {},
                                              OpenProgress progress = {});
  ~Player();
  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  const recorder::CastHeader& header() const;
  // session.json, when it could be read: turns, task segments, agent, times.
  const std::optional<recorder::SessionRecord>& record() const;
  const std::string& bundle_dir() const;  // empty for a bare cast file
  // One line each: "terminal.cast: line 5012: truncated; replay ends at 41:07".
  const std::vector<std::string>& problems() const;

  // The screen at the current position, at the recorded size (resizes in the cast apply).
  tui::Screen& screen();

  // ---- the clocks (seconds). "Shown" time cuts each pause to the idle limit while it is on.
  bool idle_limited() const;
  void set_idle_limited(bool on);  // keeps the position (the same event stays current)
  double duration() const;         // shown time of the last event
  double position() const;         // shown time of the current position
  double shown_time(double recorded) const;
  double recorded_time(double shown) const;

  // ---- moving. Each leaves screen() showing all output up to the new position.
  void seek(double shown);  // clamped to [0, duration()]
  // Playing: moves on by `shown_seconds` of shown time (already multiplied by the speed).
  void advance(double shown_seconds);
  // Shown seconds from position() to the next output event; none at the end.
  std::optional<double> until_next_event() const;
  bool at_end() const;
  // One output event forward or back (while paused); false at either end.
  bool step_forward();
  bool step_back();
  // Output events applied so far (0 at the start): what step_forward/back move.
  std::uint64_t event_index() const;

  // ---- turns (record()->turns), by index into that vector.
  // The turn whose start is at or before position(), or -1 before the first.
  int current_turn() const;
  // Seeks to the start of the next (delta 1) or previous (delta -1) turn; false when none.
  // "Previous" from inside a turn goes to that turn's start first, like a music player.
  bool seek_turn(int delta);

  // ---- where the keyframes came from (for tests, the bench probe and a status line).
  struct KeyframeInfo {
    bool from_cache = false;        // read from the cache file rather than built by this open
    std::size_t count = 0;          // keyframes, the start included
    std::uint64_t cache_bytes = 0;  // the cache file's size; 0 when kept in memory only
    std::string cache_path;         // empty when kept in memory only
  };
  const KeyframeInfo& keyframe_info() const;

 private:
  struct Impl;
  explicit Player(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sddsh::replay
