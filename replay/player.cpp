#include "replay/player.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "recorder/cast_reader.hpp"
#include "replay/keyframes.hpp"
#include "replay/timeline.hpp"

namespace sddsh::replay {
namespace {

// "Previous turn" restarts the current one when the position is further into it than this
// (shown seconds), as a music player's "previous" does.
constexpr double kRestartThreshold = 1.0;
// Times that went through doubles (shown -> recorded, turn times) are compared with this much
// slack: a few thousand rounding errors of the time, and never less than a nanosecond.
double slack(double time) {
  return 1e-9 + std::abs(time) * 1e-12;
}

struct Source {
  std::string bundle_dir;  // empty for a bare cast file
  std::string cast_path;
  std::string cast_name;  // for problem lines: "terminal.cast"
};

std::optional<Source> locate(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;
  if (S_ISDIR(status.st_mode)) return Source{path, path + "/terminal.cast", "terminal.cast"};
  const std::size_t slash = path.rfind('/');
  return Source{{}, path, slash == std::string::npos ? path : path.substr(slash + 1)};
}

IndexOptions index_options(const PlayerOptions& options) {
  IndexOptions index;
  index.keyframe_bytes = std::max<std::size_t>(options.keyframe_bytes, 1);
  index.keyframe_seconds = options.keyframe_seconds > 0 ? options.keyframe_seconds : 1e300;
  index.idle_limit = std::isfinite(options.idle_limit) ? std::max(options.idle_limit, 0.0) : 0;
  return index;
}

// session.json, or the problem line that says why there are no turns.
std::optional<recorder::SessionRecord> read_record(const std::string& bundle_dir,
                                                   std::vector<std::string>& problems) {
  const std::string path = bundle_dir + "/session.json";
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    problems.push_back("session.json: missing; no turns");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.push_back("session.json: unreadable; no turns");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto record = recorder::parse_session_record(text.str());
  if (!record) {
    problems.push_back(record.error().message + "; no turns");
    return std::nullopt;
  }
  return std::move(*record);
}

struct ObtainedIndex {
  CastIndex index;
  Player::KeyframeInfo info;
};

std::uint64_t file_size_or_zero(const std::string& path) {
  struct stat status {};
  return ::stat(path.c_str(), &status) == 0 ? static_cast<std::uint64_t>(status.st_size) : 0;
}

// The cached index when it is current and sound. A damaged one is worth a note; a stale one
// (the cast or the options changed) is not.
std::optional<ObtainedIndex> load_cached_index(const std::string& cache_path,
                                               const std::string& key,
                                               const recorder::CastPosition& start,
                                               std::vector<std::string>& problems) {
  CacheLoad load = load_cache(cache_path, key);
  if (load.status == CacheLoad::Status::Loaded && load.index.keyframes.front().next != start) {
    load = {CacheLoad::Status::Damaged, "it starts elsewhere in the cast", {}};
  }
  if (load.status == CacheLoad::Status::Damaged) {
    problems.push_back("keyframe cache: " + load.why + "; built again");
  }
  if (load.status != CacheLoad::Status::Loaded) return std::nullopt;
  Player::KeyframeInfo info{true, load.index.keyframes.size(), file_size_or_zero(cache_path),
                            cache_path};
  return ObtainedIndex{std::move(load.index), std::move(info)};
}

// One pass over the cast; the result goes to the cache when it can be written.
Result<ObtainedIndex> build_and_keep_index(const std::string& cast_path,
                                           const std::string& cache_path, const std::string& key,
                                           const IndexOptions& options,
                                           const OpenProgress& progress) {
  auto built = build_index(cast_path, options, progress);
  if (!built) return Failure{built.error()};
  Player::KeyframeInfo info{false, built->keyframes.size(), 0, {}};
  if (!key.empty() && save_cache(cache_path, key, *built)) {
    info.cache_bytes = file_size_or_zero(cache_path);
    info.cache_path = cache_path;
  }
  return ObtainedIndex{std::move(*built), std::move(info)};
}

Result<ObtainedIndex> obtain_index(const std::string& cast_path, const std::string& cache_path,
                                   const IndexOptions& options, const recorder::CastPosition& start,
                                   const OpenProgress& progress,
                                   std::vector<std::string>& problems) {
  std::string key;  // none: memory only
  if (!cache_path.empty()) {
    if (auto made = cache_key(cast_path, options)) key = std::move(*made);
  }
  if (!key.empty()) {
    if (auto cached = load_cached_index(cache_path, key, start, problems)) {
      if (progress) progress(1.0);
      return std::move(*cached);
    }
  }
  return build_and_keep_index(cast_path, cache_path, key, options, progress);
}

}  // namespace

struct Player::Impl {
  Impl(PlayerOptions player_options, Source where, recorder::CastReader cast_reader)
      : options(std::move(player_options)),
        source(std::move(where)),
        header(cast_reader.header()),
        screen(replay_screen_options(header)),
        reader(std::move(cast_reader)) {}

  // ---- the playhead

  // The next screen event after those applied, read ahead so until_next_event() can answer.
  void load_next() {
    next.reset();
    if (applied >= index.screen_events) return;  // the readable part ends here
    while (auto event = reader.next()) {
      const double time = clock.time_of(event->time);
      if (is_screen_event(*event)) {
        event->time = time;
        next = std::move(event);
        return;
      }
    }
  }

  void apply_next() {
    apply_event(screen, *next);
    ++applied;
    applied_time = next->time;
    load_next();
  }

  bool restore(const Keyframe& frame) {
    const auto state = codec.unpack(frame.packed_state);
    if (!state || !screen.restore_state(*state)) return false;
    reader.seek(frame.next);
    applied = frame.event_index;
    applied_time = frame.time;
    clock = MonotoneClock(frame.time);
    load_next();
    return true;
  }

  // Keyframe `k`, or the nearest one before it that restores; a keyframe that does not (a
  // damaged state that passed the cache's checks) is dropped so the next seek does not retry it.
  void restore_at_or_before(std::size_t k) {
    while (k > 0 && !restore(index.keyframes[k])) {
      index.keyframes.erase(index.keyframes.begin() + static_cast<std::ptrdiff_t>(k));
      --k;
      if (!noted_bad_keyframe) {
        problems.push_back("keyframe cache: a keyframe would not restore; seeking is slower");
        noted_bad_keyframe = true;
      }
    }
    // The start was made by this open's own screen, so it restores.
    if (k == 0) restore(index.keyframes.front());
  }

  // Going on from where the screen stands is right when it shows a prefix of the target, and
  // faster unless a keyframe far ahead saves reading.
  bool can_continue_to(const Keyframe& frame, bool screen_is_prefix) const {
    if (!screen_is_prefix) return false;
    if (frame.event_index <= applied) return true;
    return frame.next.offset < reader.position().offset + index_options.keyframe_bytes / 4;
  }

  std::size_t last_keyframe_at_or_before_time(double time) const {
    const auto after =
        std::upper_bound(index.keyframes.begin(), index.keyframes.end(), time,
                         [](double t, const Keyframe& frame) { return t < frame.time; });
    return static_cast<std::size_t>(after - index.keyframes.begin()) - 1;
  }

  std::size_t last_keyframe_at_or_before_event(std::uint64_t event) const {
    const auto after = std::upper_bound(
        index.keyframes.begin(), index.keyframes.end(), event,
        [](std::uint64_t e, const Keyframe& frame) { return e < frame.event_index; });
    return static_cast<std::size_t>(after - index.keyframes.begin()) - 1;
  }

  // Events up to `target` and a hair beyond: an event at exactly a shown time must be in,
  // though shown -> recorded went through doubles (a turn's tick is shown_time(turn.start)).
  void seek_recorded(double target) {
    target = std::isnan(target) ? 0 : std::clamp(target, 0.0, index.end_time);
    const double reach = target + slack(target);
    const std::size_t k = last_keyframe_at_or_before_time(reach);
    if (!can_continue_to(index.keyframes[k], applied_time <= reach)) restore_at_or_before(k);
    while (next && next->time <= reach) apply_next();
    recorded_position = target;
  }

  void seek_event(std::uint64_t target) {
    target = std::min(target, index.screen_events);
    const std::size_t k = last_keyframe_at_or_before_event(target);
    if (!can_continue_to(index.keyframes[k], applied <= target)) restore_at_or_before(k);
    while (applied < target && next) apply_next();
    recorded_position = applied_time;
  }

  // ---- clocks

  double shown(double recorded) const { return idle_limited ? timeline.shown(recorded) : recorded; }
  double recorded(double shown_time) const {
    return idle_limited ? timeline.recorded(shown_time) : shown_time;
  }

  // ---- turns

  const std::vector<recorder::TurnRecord>* turns() const {
    return record ? &record->turns : nullptr;
  }

  int current_turn() const {
    int best = -1;
    const auto* all = turns();
    for (std::size_t i = 0; all != nullptr && i < all->size(); ++i) {
      const double start = (*all)[i].start;
      if (start <= recorded_position + slack(recorded_position) &&
          (best < 0 || start >= (*all)[static_cast<std::size_t>(best)].start)) {
        best = static_cast<int>(i);
      }
    }
    return best;
  }

  // A turn that starts after the readable part of the cast cannot be shown: it is skipped.
  std::optional<double> next_turn_start() const {
    std::optional<double> found;
    for (const auto& turn : *turns()) {
      if (turn.start > recorded_position + slack(recorded_position) &&
          turn.start <= index.end_time && (!found || turn.start < *found)) {
        found = turn.start;
      }
    }
    return found;
  }

  std::optional<double> previous_turn_start() const {
    const int current = current_turn();
    if (current < 0) return std::nullopt;
    const double start = (*turns())[static_cast<std::size_t>(current)].start;
    if (shown(recorded_position) - shown(start) > kRestartThreshold) return start;
    std::optional<double> found;
    for (const auto& turn : *turns()) {
      if (turn.start < start - slack(start) && (!found || turn.start > *found)) found = turn.start;
    }
    return found;
  }

  PlayerOptions options;
  IndexOptions index_options;
  Source source;
  recorder::CastHeader header;
  std::optional<recorder::SessionRecord> record;
  std::vector<std::string> problems;
  CastIndex index;
  Timeline timeline;
  KeyframeInfo keyframe_info;
  bool idle_limited = true;
  bool noted_bad_keyframe = false;

  tui::Screen screen;
  recorder::CastReader reader;
  StateCodec codec;

  std::uint64_t applied = 0;  // screen events applied
  double applied_time = 0;    // recorded time of the last one applied
  MonotoneClock clock;        // of the events read so far (next included)
  double recorded_position = 0;
  std::optional<recorder::CastEvent> next;  // time already made monotone
};

namespace {

// Empty when the keyframes are to be kept in memory only.
std::string cache_path_for(const Source& source, const PlayerOptions& options) {
  if (!options.use_cache) return {};
  if (!options.cache_path.empty()) return options.cache_path;
  return source.bundle_dir.empty() ? std::string() : source.bundle_dir + "/replay/keyframes";
}

void note_cast_problems(const Source& source, const recorder::CastHeader& header,
                        const CastIndex& index, std::vector<std::string>& problems) {
  if (header.width > kMaxCols || header.height > kMaxRows) {
    problems.push_back(source.cast_name + ": the terminal was " + std::to_string(header.width) +
                       "x" + std::to_string(header.height) + "; replay shows at most " +
                       std::to_string(kMaxCols) + "x" + std::to_string(kMaxRows));
  }
  if (index.problem) {
    problems.push_back(source.cast_name + ": " + *index.problem + "; replay ends at " +
                       clock_text(index.end_time));
  }
}

Result<recorder::CastReader> open_cast(const std::string& path, const Source& source) {
  auto reader = recorder::CastReader::open(source.cast_path);
  if (!reader && !source.bundle_dir.empty() && reader.error().code == ENOENT) {
    return Failure{Error{ENOENT, "no terminal.cast in " + path}};
  }
  return reader;
}

}  // namespace

// `progress` by value: player.hpp's signature, which the view is written against.
Result<std::unique_ptr<Player>> Player::open(const std::string& path, PlayerOptions options,
                                             OpenProgress progress) {  // NOLINT
  const auto source = locate(path);
  if (!source) return system_failure(path);
  auto reader = open_cast(path, *source);
  if (!reader) return Failure{reader.error()};
  const recorder::CastPosition start = reader->position();
  auto impl = std::make_unique<Impl>(std::move(options), *source, std::move(*reader));
  impl->index_options = index_options(impl->options);
  if (!source->bundle_dir.empty()) impl->record = read_record(source->bundle_dir, impl->problems);
  auto obtained = obtain_index(source->cast_path, cache_path_for(*source, impl->options),
                               impl->index_options, start, progress, impl->problems);
  if (!obtained) return Failure{obtained.error()};
  impl->index = std::move(obtained->index);
  impl->keyframe_info = std::move(obtained->info);
  impl->timeline = Timeline(impl->index.pauses, impl->index_options.idle_limit);
  note_cast_problems(*source, impl->header, impl->index, impl->problems);
  // The start is this screen as it is now: a cached start state is not trusted to restore.
  impl->index.keyframes.front().packed_state = impl->codec.pack(impl->screen.save_state());
  impl->load_next();
  return std::unique_ptr<Player>(new Player(std::move(impl)));
}

Player::Player(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Player::~Player() = default;

const recorder::CastHeader& Player::header() const {
  return impl_->header;
}
const std::optional<recorder::SessionRecord>& Player::record() const {
  return impl_->record;
}
const std::string& Player::bundle_dir() const {
  return impl_->source.bundle_dir;
}
const std::vector<std::string>& Player::problems() const {
  return impl_->problems;
}
tui::Screen& Player::screen() {
  return impl_->screen;
}
const Player::KeyframeInfo& Player::keyframe_info() const {
  return impl_->keyframe_info;
}

bool Player::idle_limited() const {
  return impl_->idle_limited;
}
void Player::set_idle_limited(bool on) {
  impl_->idle_limited = on;
}
double Player::duration() const {
  return impl_->shown(impl_->index.end_time);
}
double Player::position() const {
  return impl_->shown(impl_->recorded_position);
}
double Player::shown_time(double recorded) const {
  return impl_->shown(recorded);
}
double Player::recorded_time(double shown) const {
  return impl_->recorded(shown);
}

void Player::seek(double shown) {
  // The end exactly: shown -> recorded can land a rounding error short of it.
  impl_->seek_recorded(shown >= duration() ? impl_->index.end_time : impl_->recorded(shown));
  impl_->screen.take_events();  // a bell from a skipped stretch is not news
}

void Player::advance(double shown_seconds) {
  if (!(shown_seconds > 0)) return;
  const double target = impl_->recorded(position() + shown_seconds);
  impl_->seek_recorded(std::max(target, impl_->recorded_position));
}

std::optional<double> Player::until_next_event() const {
  if (!impl_->next) return std::nullopt;
  return std::max(0.0, impl_->shown(impl_->next->time) - position());
}

bool Player::at_end() const {
  const double position = impl_->recorded_position;
  return !impl_->next && position + slack(position) >= impl_->index.end_time;
}

bool Player::step_forward() {
  if (!impl_->next) return false;
  impl_->apply_next();
  impl_->recorded_position = impl_->applied_time;
  return true;
}

bool Player::step_back() {
  if (impl_->applied == 0) return false;
  impl_->seek_event(impl_->applied - 1);
  impl_->screen.take_events();
  return true;
}

std::uint64_t Player::event_index() const {
  return impl_->applied;
}

int Player::current_turn() const {
  return impl_->current_turn();
}

bool Player::seek_turn(int delta) {
  if (impl_->turns() == nullptr) return false;
  bool moved = false;
  for (; delta > 0; --delta) {
    const auto start = impl_->next_turn_start();
    if (!start) break;
    impl_->seek_recorded(*start);
    moved = true;
  }
  for (; delta < 0; ++delta) {
    const auto start = impl_->previous_turn_start();
    if (!start) break;
    impl_->seek_recorded(*start);
    moved = true;
  }
  if (moved) impl_->screen.take_events();
  return moved;
}

}  // namespace sddsh::replay
