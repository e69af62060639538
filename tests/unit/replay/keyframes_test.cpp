#include "replay/keyframes.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "replay/timeline.hpp"
#include "replay_test_casts.hpp"
#include "tests/support/temp_dir.hpp"

namespace sddsh::replay {
namespace {

using test::CastMaker;
using test::read_file;
using test::Reference;
using test::view_of;
using test::write_file;

// ---- CastReader::position() and seek(), which keyframes are made of

// Every kind of line the reader meets: an "x" after an event with bytes that are not UTF-8,
// blank lines, a type of more than one letter, input, markers, resizes.
std::string varied_cast() {
  CastMaker cast(40, 10);
  cast.output(0.1, "plain\r\n");
  cast.output(0.2, "bad \xff\xfe bytes\r\n");  // followed by its "x" line
  cast.input(0.3, "y");
  cast.marker(0.4, "turn \xc0 1");  // a marker with an "x" too
  cast.resize(0.5, 50, 12);
  cast.output(0.6, "\xe2\x94\x80 wide \xe4\xb8\xad\r\n");
  std::string text = cast.text();
  text += "\n   \n[0.7, \"zz\", \"a later format\"]\n[0.8, \"o\", \"last\"]\n";
  return text;
}

struct ReadEvents {
  std::vector<recorder::CastEvent> events;
  std::vector<recorder::CastPosition> positions;  // before each event
};

ReadEvents read_with_positions(recorder::CastReader& reader) {
  ReadEvents read;
  for (;;) {
    const auto position = reader.position();
    auto event = reader.next();
    if (!event) break;
    read.positions.push_back(position);
    read.events.push_back(std::move(*event));
  }
  return read;
}

std::vector<recorder::CastEvent> rest_of(recorder::CastReader& reader) {
  std::vector<recorder::CastEvent> events;
  while (auto event = reader.next()) events.push_back(std::move(*event));
  return events;
}

void expect_seeks_read_on_alike(recorder::CastReader& reader) {
  const ReadEvents all = read_with_positions(reader);
  ASSERT_EQ(all.events.size(), 7u);
  EXPECT_EQ(all.events[1].data, "bad \xff\xfe bytes\r\n");
  // Forwards and backwards, from every event's position.
  for (std::size_t k = all.events.size(); k-- > 0;) {
    reader.seek(all.positions[k]);
    EXPECT_EQ(reader.position(), all.positions[k]);
    const std::vector<recorder::CastEvent> expected(all.events.begin() + static_cast<long>(k),
                                                    all.events.end());
    EXPECT_EQ(rest_of(reader), expected) << "from event " << k;
    EXPECT_FALSE(reader.problem());
  }
}

TEST(CastReaderPosition, SeekingToAnEventsPositionReadsOnAlikeFromAFile) {
  test_support::TempDir dir("sddsh-replay");
  write_file(dir / "a.cast", varied_cast());
  auto reader = recorder::CastReader::open(dir / "a.cast");
  ASSERT_TRUE(reader);
  expect_seeks_read_on_alike(*reader);
}

TEST(CastReaderPosition, SeekingToAnEventsPositionReadsOnAlikeFromMemory) {
  const std::string text = varied_cast();
  auto reader = recorder::CastReader::from_memory(text);
  ASSERT_TRUE(reader);
  expect_seeks_read_on_alike(*reader);
}

TEST(CastReaderPosition, PositionsCountLinesAndBytes) {
  const std::string text = varied_cast();
  auto reader = recorder::CastReader::from_memory(text);
  ASSERT_TRUE(reader);
  const auto first = reader->position();
  EXPECT_EQ(first.line, 1u);
  EXPECT_EQ(first.offset, text.find('\n') + 1);
  const ReadEvents all = read_with_positions(*reader);
  for (const auto& position : all.positions) {
    ASSERT_LT(position.offset, text.size());
    // An event line starts there, never an "x" line.
    const std::string line =
        text.substr(position.offset, text.find('\n', position.offset) - position.offset);
    EXPECT_EQ(line.front(), '[');
    EXPECT_EQ(line.find("\"x\""), std::string::npos) << line;
    const auto lines_before = static_cast<std::uint64_t>(
        std::count(text.begin(), text.begin() + static_cast<long>(position.offset), '\n'));
    EXPECT_EQ(position.line, lines_before);
  }
  EXPECT_EQ(reader->position().offset, text.size());
}

TEST(CastReaderPosition, ABadLineIsMetAgainAfterASeek) {
  CastMaker cast(40, 10);
  cast.output(0.1, "a");
  cast.output(0.2, "b");
  const std::string text = cast.text() + "[0.3, \"o\", oops]\n[0.4, \"o\", \"c\"]\n";
  test_support::TempDir dir("sddsh-replay");
  write_file(dir / "a.cast", text);
  auto reader = recorder::CastReader::open(dir / "a.cast");
  ASSERT_TRUE(reader);
  const ReadEvents all = read_with_positions(*reader);
  ASSERT_EQ(all.events.size(), 2u);
  ASSERT_EQ(reader->problem(), "line 4: not an asciicast event");
  // The position is where the bad line starts, not past it: reading on never skips it.
  const auto at_bad_line = reader->position();
  EXPECT_EQ(at_bad_line.offset, text.find("[0.3"));
  EXPECT_EQ(at_bad_line.line, 3u);
  reader->seek(all.positions[1]);
  EXPECT_FALSE(reader->problem());
  EXPECT_EQ(rest_of(*reader).size(), 1u);
  EXPECT_EQ(reader->problem(), "line 4: not an asciicast event");
  reader->seek(at_bad_line);
  EXPECT_FALSE(reader->next());
  EXPECT_EQ(reader->problem(), "line 4: not an asciicast event");
}

TEST(CastReaderPosition, SeekPastTheEndReadsNothing) {
  CastMaker cast(40, 10);
  cast.output(0.1, "a");
  const std::string text = cast.text();
  auto reader = recorder::CastReader::from_memory(text);
  ASSERT_TRUE(reader);
  reader->seek({text.size() + 100, 50});
  EXPECT_FALSE(reader->next());
  EXPECT_FALSE(reader->problem());
}

// ---- the timeline

TEST(Timeline, SqueezesEachLongPauseToTheLimit) {
  const Timeline timeline({{1, 11}, {11.5, 31.5}}, 2);
  EXPECT_DOUBLE_EQ(timeline.shown(0.5), 0.5);
  EXPECT_DOUBLE_EQ(timeline.shown(1), 1);
  EXPECT_DOUBLE_EQ(timeline.shown(6), 2);
  EXPECT_DOUBLE_EQ(timeline.shown(11), 3);
  EXPECT_DOUBLE_EQ(timeline.shown(11.5), 3.5);
  EXPECT_DOUBLE_EQ(timeline.shown(31.5), 5.5);
  EXPECT_DOUBLE_EQ(timeline.shown(40), 14);
  EXPECT_DOUBLE_EQ(timeline.recorded(3), 11);
  EXPECT_DOUBLE_EQ(timeline.recorded(4.5), 21.5);
  EXPECT_DOUBLE_EQ(timeline.recorded(14), 40);
  EXPECT_DOUBLE_EQ(timeline.recorded(-1), -1);
  for (double recorded = 0; recorded < 45; recorded += 0.01) {
    EXPECT_NEAR(timeline.recorded(timeline.shown(recorded)), recorded, 1e-9);
  }
}

TEST(Timeline, WithoutPausesBothClocksAgree) {
  const Timeline timeline;
  EXPECT_EQ(timeline.shown(12.5), 12.5);
  EXPECT_EQ(timeline.recorded(12.5), 12.5);
}

TEST(MonotoneClock, AnEarlierStampCountsAsTheTimeBefore) {
  MonotoneClock clock;
  EXPECT_EQ(clock.time_of(-3), 0);
  EXPECT_EQ(clock.time_of(2), 2);
  EXPECT_EQ(clock.time_of(1), 2);
  EXPECT_EQ(clock.time_of(2.5), 2.5);
  EXPECT_EQ(clock.now(), 2.5);
}

// ---- packed states

TEST(StateCodec, RoundTripsAndRefusesWhatItDidNotMake) {
  StateCodec codec;
  tui::Screen screen({.rows = 30, .cols = 100});
  screen.feed(read_file(test::kAgentScreens + "gemini-100x30.bytes"));
  const std::string state = screen.save_state(200);
  const std::string packed = codec.pack(state);
  EXPECT_LT(packed.size(), state.size());
  EXPECT_EQ(codec.unpack(packed), state);
  EXPECT_FALSE(codec.unpack(""));
  EXPECT_FALSE(codec.unpack("not zstd at all"));
  EXPECT_FALSE(codec.unpack(packed.substr(0, packed.size() / 2)));
}

// ---- building

std::string write_cast(const test_support::TempDir& dir, const std::string& text) {
  write_file(dir / "terminal.cast", text);
  return dir / "terminal.cast";
}

TEST(BuildIndex, KeyframesEveryFewBytes) {
  CastMaker cast(40, 10);
  for (int i = 0; i < 50; ++i)
    cast.output(0.01 * i, std::string(99, static_cast<char>('a' + i % 26)) + "\n");
  test_support::TempDir dir("sddsh-replay");
  IndexOptions options;
  options.keyframe_bytes = 1000;
  options.keyframe_seconds = 1000;
  const auto index = build_index(write_cast(dir, cast.text()), options);
  ASSERT_TRUE(index);
  std::vector<std::uint64_t> at;
  for (const auto& frame : index->keyframes) at.push_back(frame.event_index);
  EXPECT_EQ(at, (std::vector<std::uint64_t>{0, 10, 20, 30, 40, 50}));
  EXPECT_EQ(index->screen_events, 50u);
  EXPECT_DOUBLE_EQ(index->end_time, 0.49);
  EXPECT_TRUE(index->pauses.empty());
  EXPECT_FALSE(index->problem);
}

TEST(BuildIndex, KeyframesEveryFewSeconds) {
  CastMaker cast(40, 10);
  for (int i = 1; i <= 10; ++i) cast.output(0.3 * i, "x");
  test_support::TempDir dir("sddsh-replay");
  IndexOptions options;
  options.keyframe_seconds = 1.0;
  const auto index = build_index(write_cast(dir, cast.text()), options);
  ASSERT_TRUE(index);
  std::vector<double> times;
  for (const auto& frame : index->keyframes) times.push_back(frame.time);
  EXPECT_EQ(times, (std::vector<double>{0, 1.2, 2.4}));  // 0.3 * 4 and 0.3 * 8
}

TEST(BuildIndex, KeyframesRestoreToWhatFeedingShows) {
  const std::string text = test::agent_session().text();
  const Reference reference(text);
  const auto views = reference.after_each_event();
  test_support::TempDir dir("sddsh-replay");
  IndexOptions options;
  options.keyframe_bytes = 2000;
  const std::string path = write_cast(dir, text);
  const auto index = build_index(path, options);
  ASSERT_TRUE(index);
  ASSERT_GT(index->keyframes.size(), 10u);
  auto reader = recorder::CastReader::open(path);
  ASSERT_TRUE(reader);
  StateCodec codec;
  for (const auto& frame : index->keyframes) {
    tui::Screen screen({.rows = 5, .cols = 7});  // restore makes it any size
    const auto state = codec.unpack(frame.packed_state);
    ASSERT_TRUE(state);
    ASSERT_TRUE(screen.restore_state(*state));
    ASSERT_EQ(view_of(screen), views[frame.event_index]) << "keyframe at " << frame.event_index;
    // Its position is where the next screen event (or what precedes it) starts.
    reader->seek(frame.next);
    std::uint64_t applied = frame.event_index;
    while (auto event = reader->next()) {
      if (!is_screen_event(*event)) continue;
      apply_event(screen, *event);
      if (++applied % 7 == 0) {
        ASSERT_EQ(view_of(screen), views[applied]) << applied;
      }
    }
    ASSERT_EQ(applied, views.size() - 1);
    ASSERT_EQ(view_of(screen), views.back());
  }
}

TEST(BuildIndex, PausesEndAndProblem) {
  CastMaker cast(40, 10);
  cast.output(0.5, "one");
  cast.output(1.0, "two");
  cast.marker(11.0, "turn");
  cast.output(11.5, "three");
  cast.resize(31.5, 20, 5);
  cast.input(32.0, "q");
  test_support::TempDir dir("sddsh-replay");
  const std::string text = cast.text();
  auto index = build_index(write_cast(dir, text), {});
  ASSERT_TRUE(index);
  EXPECT_EQ(index->pauses, (std::vector<Pause>{{1.0, 11.0}, {11.5, 31.5}}));
  EXPECT_DOUBLE_EQ(index->end_time, 32.0);
  EXPECT_EQ(index->screen_events, 4u);
  IndexOptions no_limit;
  no_limit.idle_limit = 0;
  EXPECT_TRUE(build_index(write_cast(dir, text), no_limit)->pauses.empty());
  index = build_index(write_cast(dir, text + "[33.0, \"o\", \"cut"), {});
  ASSERT_TRUE(index);
  EXPECT_EQ(index->problem, "line 8: truncated");
  EXPECT_DOUBLE_EQ(index->end_time, 32.0);
}

TEST(BuildIndex, ReportsProgress) {
  CastMaker cast(40, 10);
  for (int i = 0; i < 2000; ++i) cast.output(0.01 * i, std::string(4000, 'z'));
  test_support::TempDir dir("sddsh-replay");
  std::vector<double> reported;
  ASSERT_TRUE(build_index(write_cast(dir, cast.text()), {},
                          [&](double fraction) { reported.push_back(fraction); }));
  ASSERT_GE(reported.size(), 2u);
  EXPECT_TRUE(std::is_sorted(reported.begin(), reported.end()));
  EXPECT_EQ(reported.back(), 1.0);
}

TEST(BuildIndex, FailsOnlyWithoutAHeader) {
  test_support::TempDir dir("sddsh-replay");
  EXPECT_FALSE(build_index(dir / "missing.cast", {}));
  EXPECT_FALSE(build_index(write_cast(dir, "{\"version\": 1}\n"), {}));
  const auto header_only = build_index(write_cast(dir, CastMaker(40, 10).text()), {});
  ASSERT_TRUE(header_only);
  EXPECT_EQ(header_only->keyframes.size(), 1u);
  EXPECT_EQ(header_only->end_time, 0);
}

// ---- the cache file

CastIndex small_index() {
  CastMaker cast(40, 10);
  for (int i = 0; i < 30; ++i) cast.output(0.5 * i * i, "line " + std::to_string(i) + "\r\n");
  test_support::TempDir dir("sddsh-replay");
  IndexOptions options;
  options.keyframe_bytes = 40;
  auto index = build_index(write_cast(dir, cast.text() + "[1e6, \"o\", \"cut"), options);
  EXPECT_TRUE(index);
  return std::move(*index);
}

void expect_same(const CastIndex& a, const CastIndex& b) {
  EXPECT_EQ(a.end_time, b.end_time);
  EXPECT_EQ(a.screen_events, b.screen_events);
  EXPECT_EQ(a.problem, b.problem);
  EXPECT_EQ(a.pauses, b.pauses);
  ASSERT_EQ(a.keyframes.size(), b.keyframes.size());
  for (std::size_t i = 0; i < a.keyframes.size(); ++i) {
    EXPECT_EQ(a.keyframes[i].event_index, b.keyframes[i].event_index);
    EXPECT_EQ(a.keyframes[i].next, b.keyframes[i].next);
    EXPECT_EQ(a.keyframes[i].time, b.keyframes[i].time);
    EXPECT_EQ(a.keyframes[i].packed_state, b.keyframes[i].packed_state);
  }
}

TEST(KeyframeCache, RoundTrips) {
  const CastIndex index = small_index();
  ASSERT_GT(index.keyframes.size(), 5u);
  ASSERT_FALSE(index.pauses.empty());
  ASSERT_TRUE(index.problem);
  const std::string file = seal_cache("key", encode_payload(index));
  const CacheLoad load = decode_cache(file, "key");
  ASSERT_EQ(load.status, CacheLoad::Status::Loaded) << load.why;
  expect_same(load.index, index);
}

TEST(KeyframeCache, AnotherKeyOrFormatIsStale) {
  const std::string file = seal_cache("key", encode_payload(small_index()));
  EXPECT_EQ(decode_cache(file, "key2").status, CacheLoad::Status::Stale);
  std::string other_format = file;
  other_format[16] = 2;  // the version follows the 16-byte magic
  EXPECT_EQ(decode_cache(other_format, "key").status, CacheLoad::Status::Stale);
}

TEST(KeyframeCache, EveryCutAndEveryFlippedByteIsCaught) {
  const std::string file = seal_cache("key", encode_payload(small_index()));
  for (std::size_t size = 0; size < file.size(); ++size) {
    ASSERT_NE(decode_cache(file.substr(0, size), "key").status, CacheLoad::Status::Loaded) << size;
  }
  for (std::size_t at = 0; at < file.size(); ++at) {
    std::string flipped = file;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
    ASSERT_NE(decode_cache(flipped, "key").status, CacheLoad::Status::Loaded) << at;
  }
  EXPECT_EQ(decode_cache(file + "x", "key").status, CacheLoad::Status::Damaged);
}

TEST(KeyframeCache, AnInconsistentPayloadIsDamagedEvenWithTheRightChecksum) {
  const CastIndex good = small_index();
  const auto damaged = [](const CastIndex& index) {
    return decode_cache(seal_cache("key", encode_payload(index)), "key").status ==
           CacheLoad::Status::Damaged;
  };
  CastIndex index = good;
  std::swap(index.keyframes[2], index.keyframes[3]);
  EXPECT_TRUE(damaged(index));
  index = good;
  index.keyframes.clear();
  EXPECT_TRUE(damaged(index));
  index = good;
  index.keyframes[0].event_index = 1;
  EXPECT_TRUE(damaged(index));
  index = good;
  index.screen_events = 1;
  EXPECT_TRUE(damaged(index));
  index = good;
  index.end_time = std::nan("");
  EXPECT_TRUE(damaged(index));
  index = good;
  index.pauses.push_back({index.end_time + 1, index.end_time + 5});
  EXPECT_TRUE(damaged(index));
  index = good;
  index.keyframes[4].time = -1;
  EXPECT_TRUE(damaged(index));
}

TEST(KeyframeCache, SavedAtomicallyPrivateAndLoaded) {
  test_support::TempDir dir("sddsh-replay");
  const CastIndex index = small_index();
  const std::string path = dir / "replay/keyframes";
  EXPECT_EQ(load_cache(path, "key").status, CacheLoad::Status::Missing);
  ASSERT_TRUE(save_cache(path, "key", index));
  struct stat status {};
  ASSERT_EQ(::stat((dir / "replay").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const CacheLoad load = load_cache(path, "key");
  ASSERT_EQ(load.status, CacheLoad::Status::Loaded);
  expect_same(load.index, index);
  EXPECT_EQ(load_cache(dir / "replay", "key").status, CacheLoad::Status::Damaged);  // a directory
}

TEST(KeyframeCache, CannotBeSavedUnderAFile) {
  test_support::TempDir dir("sddsh-replay");
  write_file(dir / "replay", "a file");
  EXPECT_FALSE(save_cache(dir / "replay/keyframes", "key", small_index()));
}

// Rewrites the file keeping its modification time, as a change the time cannot show.
void rewrite_keeping_time(const std::string& path, const std::string& text) {
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  write_file(path, text);
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

TEST(KeyframeCache, KeyFollowsTheCastsContentSizeTimeAndOptions) {
  test_support::TempDir dir("sddsh-replay");
  const std::string path = dir / "terminal.cast";
  const std::string text = CastMaker(40, 10).text() + std::string(300000, ' ') + "\n";
  write_file(path, text);
  const auto key = cache_key(path, {});
  ASSERT_TRUE(key);
  EXPECT_EQ(*cache_key(path, {}), *key);
  for (const std::size_t at : {std::size_t{200}, text.size() - 100}) {  // head, then tail
    std::string changed = text;
    changed[at] = 'x';
    rewrite_keeping_time(path, changed);
    EXPECT_NE(*cache_key(path, {}), *key) << at;
  }
  rewrite_keeping_time(path, text);
  EXPECT_EQ(*cache_key(path, {}), *key);
  IndexOptions other;
  other.keyframe_seconds = 3;
  EXPECT_NE(*cache_key(path, other), *key);
  other = {};
  other.scrollback_lines = 10;
  EXPECT_NE(*cache_key(path, other), *key);
  write_file(path, text + " ");
  EXPECT_NE(*cache_key(path, {}), *key);
  EXPECT_FALSE(cache_key(dir / "missing", {}));
}

}  // namespace
}  // namespace sddsh::replay
