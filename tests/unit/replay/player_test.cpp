#include "replay/player.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "recorder/session_record.hpp"
#include "replay_test_casts.hpp"
#include "tests/support/temp_dir.hpp"

namespace sddsh::replay {
namespace {

using test::CastMaker;
using test::read_file;
using test::Reference;
using test::view_of;
using test::write_file;

// Small keyframe steps, so that a short test cast has dozens of keyframes to seek between.
PlayerOptions small_steps() {
  PlayerOptions options;
  options.keyframe_bytes = 1024;
  options.keyframe_seconds = 2.0;
  return options;
}

struct Bundle {
  test_support::TempDir dir{"sddsh-replay"};
  std::string cast_text;

  explicit Bundle(std::string cast, const std::vector<double>& turn_starts = {})
      : cast_text(std::move(cast)) {
    write_file(cast_path(), cast_text);
    recorder::SessionRecord record;
    record.id = "test";
    for (std::size_t i = 0; i < turn_starts.size(); ++i) {
      recorder::TurnRecord turn;
      turn.index = static_cast<int>(i) + 1;
      turn.start = turn_starts[i];
      turn.prompt = "turn " + std::to_string(i + 1);
      record.turns.push_back(turn);
    }
    write_file(dir / "session.json", recorder::to_json_text(record));
  }
  std::string path() const { return dir.path(); }
  std::string cast_path() const { return dir / "terminal.cast"; }
  std::string cache_path() const { return dir / "replay/keyframes"; }
};

std::unique_ptr<Player> open_player(const std::string& path,
                                    PlayerOptions options = small_steps()) {
  auto player = Player::open(path, options);
  EXPECT_TRUE(player) << (player ? "" : player.error().message);
  return player ? std::move(*player) : nullptr;
}

bool mentions(const std::vector<std::string>& problems, std::string_view what) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& line) { return line.find(what) != std::string::npos; });
}

// ---- seeking shows what feeding everything shows

class AgentSession : public ::testing::Test {
 protected:
  AgentSession() : bundle(test::agent_session().text()), reference(bundle.cast_text) {}
  Bundle bundle;
  Reference reference;
};

TEST_F(AgentSession, HasManyKeyframes) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_GT(player->keyframe_info().count, 30u);
  EXPECT_TRUE(player->problems().empty()) << player->problems().front();
}

TEST_F(AgentSession, SeekToEveryEventTimeMatchesFeedingEverything) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  player->set_idle_limited(false);
  const auto times = reference.screen_event_times();
  // Backwards, so every seek goes through a keyframe.
  for (auto time = times.rbegin(); time != times.rend(); ++time) {
    player->seek(*time);
    ASSERT_EQ(view_of(player->screen()), reference.at_time(*time)) << "at " << *time;
  }
}

TEST_F(AgentSession, SeekToEveryEventsShownTimeIncludesIt) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  ASSERT_TRUE(player->idle_limited());
  const auto times = reference.screen_event_times();
  for (std::size_t i = 0; i < times.size(); i += 3) {
    player->seek(player->shown_time(times[i]));
    ASSERT_EQ(view_of(player->screen()), reference.at_time(times[i])) << "at " << times[i];
  }
}

TEST_F(AgentSession, SeeksInRandomOrderMatchFeedingEverything) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  std::mt19937 random(3);
  std::uniform_real_distribution<double> anywhere(-1, player->duration() + 1);
  for (int i = 0; i < 150; ++i) {
    const double shown = anywhere(random);
    player->seek(shown);
    const double recorded = player->recorded_time(player->position());
    ASSERT_EQ(view_of(player->screen()), reference.at_time(recorded))
        << "seek " << i << " to " << shown << " (recorded " << recorded << ")";
  }
}

TEST_F(AgentSession, StepForwardThenBackShowsEachEvent) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  const auto views = reference.after_each_event();
  ASSERT_EQ(view_of(player->screen()), views[0]);
  for (std::size_t i = 1; i < views.size(); ++i) {
    ASSERT_TRUE(player->step_forward()) << i;
    ASSERT_EQ(player->event_index(), i);
    ASSERT_EQ(view_of(player->screen()), views[i]) << "after event " << i;
  }
  EXPECT_FALSE(player->step_forward());
  for (std::size_t i = views.size() - 1; i > 0; --i) {
    ASSERT_TRUE(player->step_back()) << i;
    ASSERT_EQ(player->event_index(), i - 1);
    ASSERT_EQ(view_of(player->screen()), views[i - 1]) << "back to event " << i - 1;
  }
  EXPECT_FALSE(player->step_back());
}

TEST_F(AgentSession, StepsFromASeekedPosition) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  const auto views = reference.after_each_event();
  player->seek(player->duration() / 2);
  const std::uint64_t middle = player->event_index();
  ASSERT_GT(middle, 5u);
  ASSERT_TRUE(player->step_back());
  EXPECT_EQ(view_of(player->screen()), views[middle - 1]);
  ASSERT_TRUE(player->step_forward());
  ASSERT_TRUE(player->step_forward());
  EXPECT_EQ(view_of(player->screen()), views[middle + 1]);
}

TEST_F(AgentSession, AdvancingInSmallStepsEqualsOneSeek) {
  auto playing = open_player(bundle.path());
  auto seeking = open_player(bundle.path());
  ASSERT_TRUE(playing && seeking);
  int steps = 0;
  while (!playing->at_end()) {
    playing->advance(0.0371);  // a frame at some odd speed
    ASSERT_LT(++steps, 100000);
    if (steps % 25 != 0) continue;
    seeking->seek(playing->position());
    ASSERT_EQ(view_of(playing->screen()), view_of(seeking->screen())) << "at " << steps;
    ASSERT_EQ(playing->event_index(), seeking->event_index());
  }
  EXPECT_EQ(view_of(playing->screen()), reference.at_time(1e9));
  EXPECT_DOUBLE_EQ(playing->position(), playing->duration());
}

TEST_F(AgentSession, SeekAfterToggleMatches) {
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  player->seek(player->duration() * 0.7);
  player->set_idle_limited(false);
  player->seek(player->position() - 20);
  EXPECT_EQ(view_of(player->screen()), reference.at_time(player->position()));
}

// ---- the clocks

// Events at 0.5, 1, 11 (a 10 s pause), 11.5, 31.5 (20 s), and typing at 32.
std::string paused_cast() {
  CastMaker cast(40, 10);
  cast.output(0.5, "one\r\n");
  cast.output(1.0, "two\r\n");
  cast.output(11.0, "three\r\n");
  cast.output(11.5, "four\r\n");
  cast.output(31.5, "five\r\n");
  cast.input(32.0, "q");
  return cast.text();
}

TEST(PlayerClocks, IdleLimitCutsLongPauses) {
  Bundle bundle(paused_cast());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_TRUE(player->idle_limited());
  EXPECT_DOUBLE_EQ(player->duration(), 32.0 - 8.0 - 18.0);
  EXPECT_DOUBLE_EQ(player->shown_time(11.0), 3.0);
  EXPECT_DOUBLE_EQ(player->shown_time(6.0), 2.0);  // a squeezed pause passes evenly
  EXPECT_DOUBLE_EQ(player->recorded_time(3.0), 11.0);
  EXPECT_DOUBLE_EQ(player->shown_time(31.5), 5.5);
  player->set_idle_limited(false);
  EXPECT_DOUBLE_EQ(player->duration(), 32.0);
  EXPECT_DOUBLE_EQ(player->shown_time(11.0), 11.0);
  EXPECT_DOUBLE_EQ(player->recorded_time(7.25), 7.25);
}

TEST(PlayerClocks, ShownAndRecordedRoundTrip) {
  Bundle bundle(test::agent_session().text());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  for (double shown = 0; shown <= player->duration(); shown += 0.0913) {
    EXPECT_NEAR(player->shown_time(player->recorded_time(shown)), shown, 1e-9);
  }
  double last = -1;
  for (double recorded = 0; recorded <= 200; recorded += 0.0731) {
    const double shown = player->shown_time(recorded);
    EXPECT_NEAR(player->recorded_time(shown), recorded, 1e-9);
    EXPECT_GE(shown, last);  // never backwards
    last = shown;
  }
}

TEST(PlayerClocks, TogglingKeepsTheSameEvent) {
  Bundle bundle(paused_cast());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  player->seek(3.0);  // recorded 11: "three" is shown
  EXPECT_EQ(player->event_index(), 3u);
  player->set_idle_limited(false);
  EXPECT_NEAR(player->position(), 11.0, 1e-6);
  EXPECT_EQ(player->event_index(), 3u);
  player->set_idle_limited(true);
  EXPECT_NEAR(player->position(), 3.0, 1e-9);
  // Inside a pause, too.
  player->seek(2.0);  // recorded 6
  player->set_idle_limited(false);
  EXPECT_NEAR(player->position(), 6.0, 1e-9);
  EXPECT_EQ(player->event_index(), 2u);
}

TEST(PlayerClocks, NextEventAndEnd) {
  Bundle bundle(paused_cast());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_EQ(player->event_index(), 0u);
  ASSERT_TRUE(player->until_next_event());
  EXPECT_DOUBLE_EQ(*player->until_next_event(), 0.5);
  player->seek(1.0);
  EXPECT_NEAR(*player->until_next_event(), 2.0, 1e-9);  // "three" at shown 3
  player->advance(1.5);
  EXPECT_EQ(player->event_index(), 2u);
  player->advance(0.5);
  EXPECT_EQ(player->event_index(), 3u);
  EXPECT_FALSE(player->at_end());
  player->seek(5.5);
  EXPECT_EQ(player->event_index(), 5u);
  EXPECT_FALSE(player->until_next_event());
  EXPECT_FALSE(player->at_end());  // the typing at 32 is still ahead
  player->advance(10);
  EXPECT_TRUE(player->at_end());
  EXPECT_DOUBLE_EQ(player->position(), player->duration());
  player->seek(1e9);
  EXPECT_DOUBLE_EQ(player->position(), player->duration());
  player->seek(-5);
  EXPECT_EQ(player->position(), 0.0);
  EXPECT_EQ(player->event_index(), 0u);
}

// Found by bundle_loader_fuzz: 0.3 + 2 - 0.3 is a hair under 2, so the shown end mapped back to
// a hair before the recorded end, and seeking to the end did not reach it.
TEST(PlayerClocks, SeekingToTheEndReachesIt) {
  CastMaker cast(40, 8);
  cast.output(0.3, "a");
  cast.output(9.0, "b");
  Bundle bundle(cast.text());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  player->seek(player->duration());
  EXPECT_TRUE(player->at_end());
  EXPECT_EQ(player->event_index(), 2u);
  player->seek(0);
  player->advance(player->duration());
  EXPECT_TRUE(player->at_end());
}

// Found by bundle_loader_fuzz: at 93 million seconds, shown -> recorded -> shown is off by
// more than a nanosecond, and the event at the end was left out of seeking to its shown time.
TEST(PlayerClocks, EventsAtHugeTimesAreReachedByTheirShownTime) {
  CastMaker cast(40, 8);
  cast.output(0.3, "a");
  cast.output(93000000, "b");
  cast.output(93000000.5, "c");
  Bundle bundle(cast.text());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  player->seek(player->shown_time(93000000));
  EXPECT_EQ(player->event_index(), 2u);
  player->seek(player->duration());
  EXPECT_TRUE(player->at_end());
  player->seek(player->shown_time(0.3));
  EXPECT_EQ(player->event_index(), 1u);
}

// ---- turns

TEST(PlayerTurns, CurrentTurnAndTicks) {
  Bundle bundle(paused_cast(), {0.5, 11.0, 31.5});
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  ASSERT_TRUE(player->record());
  ASSERT_EQ(player->record()->turns.size(), 3u);
  EXPECT_EQ(player->current_turn(), -1);
  std::vector<double> ticks;
  for (const auto& turn : player->record()->turns) ticks.push_back(player->shown_time(turn.start));
  EXPECT_EQ(ticks, (std::vector<double>{0.5, 3.0, 5.5}));
  player->seek(0.5);
  EXPECT_EQ(player->current_turn(), 0);
  player->seek(2.9);
  EXPECT_EQ(player->current_turn(), 0);
  player->seek(3.0);
  EXPECT_EQ(player->current_turn(), 1);
  player->seek(player->duration());
  EXPECT_EQ(player->current_turn(), 2);
}

TEST(PlayerTurns, NextAndPrevious) {
  Bundle bundle(paused_cast(), {0.5, 11.0, 31.5});
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->seek_turn(-1));  // before the first: none
  ASSERT_TRUE(player->seek_turn(1));
  EXPECT_EQ(player->current_turn(), 0);
  EXPECT_DOUBLE_EQ(player->position(), 0.5);
  EXPECT_EQ(player->event_index(), 1u);  // the turn's first output is shown
  ASSERT_TRUE(player->seek_turn(1));
  EXPECT_EQ(player->current_turn(), 1);
  EXPECT_DOUBLE_EQ(player->recorded_time(player->position()), 11.0);
  ASSERT_TRUE(player->seek_turn(1));
  EXPECT_EQ(player->current_turn(), 2);
  EXPECT_FALSE(player->seek_turn(1));  // after the last: none
  EXPECT_EQ(player->current_turn(), 2);
  // At a turn's start, "previous" goes to the turn before.
  ASSERT_TRUE(player->seek_turn(-1));
  EXPECT_EQ(player->current_turn(), 1);
  // Well inside a turn, it goes to that turn's start first.
  player->seek(4.5);
  ASSERT_EQ(player->current_turn(), 1);
  ASSERT_TRUE(player->seek_turn(-1));
  EXPECT_EQ(player->current_turn(), 1);
  EXPECT_DOUBLE_EQ(player->position(), 3.0);
  ASSERT_TRUE(player->seek_turn(-1));
  EXPECT_EQ(player->current_turn(), 0);
  EXPECT_FALSE(player->seek_turn(-1));
  EXPECT_TRUE(player->seek_turn(2));
  EXPECT_EQ(player->current_turn(), 2);
}

TEST(PlayerTurns, TurnsBeyondTheCastAreSkipped) {
  Bundle bundle(paused_cast(), {0.5, 500.0});
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  ASSERT_TRUE(player->seek_turn(1));
  EXPECT_FALSE(player->seek_turn(1));
  EXPECT_EQ(player->current_turn(), 0);
}

// ---- the keyframe cache

struct FileStamp {
  ino_t inode = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const std::string& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return {status.st_ino, status.st_mtim.tv_sec * 1'000'000'000LL + status.st_mtim.tv_nsec};
}

mode_t mode_of(const std::string& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

TEST(PlayerCache, WrittenOnceAndReused) {
  Bundle bundle(test::agent_session().text());
  auto first = open_player(bundle.path());
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->keyframe_info().from_cache);
  EXPECT_EQ(first->keyframe_info().cache_path, bundle.cache_path());
  EXPECT_EQ(mode_of(bundle.cache_path()), 0600u);
  EXPECT_EQ(mode_of(bundle.dir / "replay"), 0700u);
  EXPECT_EQ(first->keyframe_info().cache_bytes, std::filesystem::file_size(bundle.cache_path()));
  const FileStamp written = stamp(bundle.cache_path());

  auto second = open_player(bundle.path());
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->keyframe_info().from_cache);
  EXPECT_EQ(second->keyframe_info().count, first->keyframe_info().count);
  EXPECT_EQ(stamp(bundle.cache_path()), written);
  EXPECT_TRUE(second->problems().empty());
  EXPECT_DOUBLE_EQ(second->duration(), first->duration());
  // The cached keyframes seek as the built ones do.
  for (const double at : {0.0, 7.0, 3.3, 40.0, 12.5}) {
    first->seek(at);
    second->seek(at);
    EXPECT_EQ(view_of(second->screen()), view_of(first->screen())) << at;
  }
}

TEST(PlayerCache, ChangedCastMakesItStale) {
  CastMaker cast(40, 10);
  cast.output(0.5, "before\r\n");
  Bundle bundle(cast.text());
  ASSERT_TRUE(open_player(bundle.path()));
  cast.output(3.0, "after\r\n");
  write_file(bundle.cast_path(), cast.text());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->keyframe_info().from_cache);
  EXPECT_TRUE(player->problems().empty());  // a stale cache is no problem of the recording
  player->seek(player->duration());
  EXPECT_EQ(player->screen().text_lines()[1], "after");
  EXPECT_TRUE(open_player(bundle.path())->keyframe_info().from_cache);
}

TEST(PlayerCache, ChangedOptionsMakeItStale) {
  Bundle bundle(test::agent_session().text());
  ASSERT_TRUE(open_player(bundle.path()));
  PlayerOptions other = small_steps();
  other.keyframe_bytes = 4096;
  auto player = open_player(bundle.path(), other);
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->keyframe_info().from_cache);
  other.idle_limit = 5;
  EXPECT_FALSE(open_player(bundle.path(), other)->keyframe_info().from_cache);
  EXPECT_TRUE(open_player(bundle.path(), other)->keyframe_info().from_cache);
}

void expect_rebuilt_after(const std::function<void(std::string&)>& damage) {
  Bundle bundle(test::agent_session().text());
  const Reference reference(bundle.cast_text);
  ASSERT_TRUE(open_player(bundle.path()));
  std::string cache = read_file(bundle.cache_path());
  damage(cache);
  write_file(bundle.cache_path(), cache);
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->keyframe_info().from_cache);
  EXPECT_TRUE(mentions(player->problems(), "keyframe cache"))
      << ::testing::PrintToString(player->problems());
  player->set_idle_limited(false);
  player->seek(40);
  EXPECT_EQ(view_of(player->screen()), reference.at_time(40));
  EXPECT_TRUE(open_player(bundle.path())->keyframe_info().from_cache);  // rewritten whole
}

TEST(PlayerCache, RebuiltWhenTruncated) {
  expect_rebuilt_after([](std::string& cache) { cache.resize(cache.size() / 2); });
}

TEST(PlayerCache, RebuiltWhenBytesAreFlipped) {
  expect_rebuilt_after([](std::string& cache) {
    for (std::size_t at = cache.size() / 3; at < cache.size(); at += cache.size() / 7) {
      cache[at] = static_cast<char>(cache[at] ^ 0x5A);
    }
  });
}

TEST(PlayerCache, RebuiltWhenItIsNotACache) {
  expect_rebuilt_after([](std::string& cache) { cache = "{\"not\": \"a cache\"}"; });
}

TEST(PlayerCache, MemoryOnlyWhenTheBundleCannotTakeIt) {
  Bundle bundle(test::agent_session().text());
  const Reference reference(bundle.cast_text);
  // A file where the cache's directory would go: no mkdir or write gets past it, even as root.
  write_file(bundle.dir / "replay", "in the way");
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->keyframe_info().from_cache);
  EXPECT_TRUE(player->keyframe_info().cache_path.empty());
  EXPECT_EQ(player->keyframe_info().cache_bytes, 0u);
  EXPECT_GT(player->keyframe_info().count, 30u);
  EXPECT_EQ(read_file(bundle.dir / "replay"), "in the way");
  player->set_idle_limited(false);
  player->seek(40);
  EXPECT_EQ(view_of(player->screen()), reference.at_time(40));
  player->seek(10);
  EXPECT_EQ(view_of(player->screen()), reference.at_time(10));
}

TEST(PlayerCache, NoneForABareCastOrWhenTurnedOff) {
  test_support::TempDir dir("sddsh-replay");
  write_file(dir / "a.cast", paused_cast());
  auto bare = open_player(dir / "a.cast");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->keyframe_info().cache_path.empty());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);

  Bundle bundle(paused_cast());
  PlayerOptions off = small_steps();
  off.use_cache = false;
  ASSERT_TRUE(open_player(bundle.path(), off));
  EXPECT_FALSE(std::filesystem::exists(bundle.dir / "replay"));
}

TEST(PlayerCache, AnExplicitPathIsUsed) {
  test_support::TempDir dir("sddsh-replay");
  write_file(dir / "a.cast", paused_cast());
  PlayerOptions options = small_steps();
  options.cache_path = dir / "cache/a.keyframes";
  EXPECT_FALSE(open_player(dir / "a.cast", options)->keyframe_info().from_cache);
  EXPECT_TRUE(std::filesystem::exists(options.cache_path));
  EXPECT_TRUE(open_player(dir / "a.cast", options)->keyframe_info().from_cache);
}

// ---- damaged bundles

TEST(PlayerDamage, TruncatedCastPlaysUpToItsLastGoodLine) {
  std::string cast = paused_cast();
  const std::size_t last_line = cast.rfind("[31.5");
  cast.resize(last_line + 9);  // "[31.500000, " cut short
  Bundle bundle(cast);
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  ASSERT_EQ(player->problems().size(), 1u) << ::testing::PrintToString(player->problems());
  EXPECT_EQ(player->problems()[0], "terminal.cast: line 6: truncated; replay ends at 00:11");
  player->set_idle_limited(false);
  EXPECT_DOUBLE_EQ(player->duration(), 11.5);
  player->seek(1e9);
  EXPECT_EQ(player->event_index(), 4u);
  EXPECT_EQ(player->screen().text_lines()[3], "four");
  EXPECT_TRUE(player->at_end());
  // The cached index keeps the problem.
  auto again = open_player(bundle.path());
  ASSERT_TRUE(again && again->keyframe_info().from_cache);
  EXPECT_EQ(again->problems(), player->problems());
}

TEST(PlayerDamage, TruncatedLongSessionSaysWhereInHours) {
  CastMaker cast(40, 10);
  cast.output(1.0, "a");
  cast.output(3725.0, "b");
  std::string text = cast.text() + "[3726.0, \"o\", \"c";
  Bundle bundle(text);
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_TRUE(mentions(player->problems(), "line 4: truncated; replay ends at 1:02:05"))
      << ::testing::PrintToString(player->problems());
}

// Found by bundle_loader_fuzz: a time too large for a whole number of seconds.
TEST(PlayerDamage, AbsurdTimesAreSaidSanely) {
  CastMaker cast(40, 10);
  cast.output(1.0, "a");
  Bundle bundle(cast.text() + "[1.1e73, \"o\", \"b\"]\n[2, \"o\", \"c");
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_TRUE(mentions(player->problems(), "line 4: truncated; replay ends at 277777777:46:40"))
      << ::testing::PrintToString(player->problems());
  player->seek(player->duration());
  EXPECT_EQ(player->event_index(), 2u);
}

TEST(PlayerDamage, GarbageSessionJsonMeansNoTurns) {
  Bundle bundle(paused_cast(), {0.5});
  write_file(bundle.dir / "session.json",
             "{\"format\": \"sddsh-session\", \"version\": 1, \"turns\": [");
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->record());
  EXPECT_TRUE(mentions(player->problems(), "session.json")) << player->problems()[0];
  EXPECT_TRUE(mentions(player->problems(), "no turns"));
  EXPECT_EQ(player->current_turn(), -1);
  EXPECT_FALSE(player->seek_turn(1));
  player->seek(player->duration());
  EXPECT_EQ(player->event_index(), 5u);
}

TEST(PlayerDamage, MissingSessionJsonMeansNoTurns) {
  Bundle bundle(paused_cast(), {0.5});
  std::filesystem::remove(bundle.dir / "session.json");
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_FALSE(player->record());
  EXPECT_EQ(player->problems(), std::vector<std::string>{"session.json: missing; no turns"});
  EXPECT_EQ(player->bundle_dir(), bundle.path());
}

TEST(PlayerDamage, AsciinemasOwnCastPlays) {
  test_support::TempDir dir("sddsh-replay");
  write_file(dir / "demo.cast",
             "{\"version\": 2, \"width\": 20, \"height\": 4, \"timestamp\": 1700000000, "
             "\"idle_time_limit\": 1.5, \"env\": {\"SHELL\": \"/bin/zsh\", \"TERM\": \"xterm\"}}\n"
             "[0.1, \"o\", \"$ \"]\n[0.9, \"i\", \"l\"]\n[1.0, \"o\", \"ls\\r\\n\"]\n"
             "[1.2, \"o\", \"\\u001b[1;34mdir\\u001b[0m  file\\r\\n$ \"]\n");
  auto player = open_player(dir / "demo.cast");
  ASSERT_TRUE(player);
  EXPECT_TRUE(player->problems().empty());
  EXPECT_TRUE(player->bundle_dir().empty());
  EXPECT_FALSE(player->record());
  EXPECT_EQ(player->header().width, 20);
  player->seek(player->duration());
  EXPECT_EQ(player->screen().text_lines(),
            (std::vector<std::string>{"$ ls", "dir  file", "$", ""}));
  EXPECT_EQ(player->screen().cell(1, 0).pen.fg, tui::Color::indexed(4));
}

TEST(PlayerDamage, NothingToPlay) {
  test_support::TempDir dir("sddsh-replay");
  EXPECT_FALSE(Player::open(dir / "nowhere"));
  const auto empty_bundle = Player::open(dir.path());
  ASSERT_FALSE(empty_bundle);
  EXPECT_NE(empty_bundle.error().message.find("terminal.cast"), std::string::npos);
  write_file(dir / "terminal.cast", "this is not a cast\n");
  EXPECT_FALSE(Player::open(dir.path()));
}

// Found by bundle_loader_fuzz, a gap of tui's save_state: libvterm 0.1.4 keeps an unfinished
// UTF-8 character across control characters ("\xd1\r\x80" draws U+0440 after the CR), and a
// keyframe taken in between does not carry it; here the restored screen shows "\xef\xbf\xbdn4mdir"
// where feeding everything shows "\xef\xbf\xbdn\xef\xbf\xbd4mdir". Only output that is not
// UTF-8 meets it. Enable once tui/screen_state.cpp carries libvterm's unfinished character.
TEST(PlayerDamage, DISABLED_SeekAcrossAnUnfinishedCharacterSplitByAControl) {
  CastMaker cast(20, 4);
  cast.output(0.1, "$ ");
  cast.output(1.0, "l\xd1\r\n");
  cast.output(1.2, "\x1b[1;3\xff\xff\xffn4mdir\x1b[0m  file\r\n$ ");
  Bundle bundle(cast.text());
  const Reference reference(bundle.cast_text);
  PlayerOptions every_event = small_steps();
  every_event.keyframe_bytes = 1;
  auto player = open_player(bundle.path(), every_event);
  ASSERT_TRUE(player);
  player->set_idle_limited(false);
  player->seek(1.1);  // restores the keyframe after the second event
  ASSERT_TRUE(player->step_forward());
  EXPECT_EQ(view_of(player->screen()), reference.at_time(1.2));
}

TEST(PlayerDamage, HugeRecordedSizesAreCapped) {
  CastMaker cast(60000, 50000);
  cast.output(0.5, "big");
  cast.resize(1.0, 70000, 9);
  Bundle bundle(cast.text());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  EXPECT_EQ(player->screen().cols(), kMaxCols);
  EXPECT_EQ(player->screen().rows(), kMaxRows);
  EXPECT_TRUE(mentions(player->problems(), "60000x50000"));
  player->seek(player->duration());
  EXPECT_EQ(player->screen().cols(), kMaxCols);
  EXPECT_EQ(player->screen().rows(), 9);
}

TEST(PlayerDamage, TimesThatGoBackwardsCountAsTheTimeBefore) {
  CastMaker cast(40, 10);
  cast.output(5.0, "one\r\n");
  cast.output(2.0, "two\r\n");  // stamped earlier: it happened at 5
  cast.output(6.0, "three\r\n");
  Bundle bundle(cast.text());
  auto player = open_player(bundle.path());
  ASSERT_TRUE(player);
  player->set_idle_limited(false);
  player->seek(3.0);
  EXPECT_EQ(player->event_index(), 0u);
  player->seek(5.0);
  EXPECT_EQ(player->event_index(), 2u);
  EXPECT_DOUBLE_EQ(player->duration(), 6.0);
}

}  // namespace
}  // namespace sddsh::replay
