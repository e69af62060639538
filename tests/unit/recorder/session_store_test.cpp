// session.json, the store's catalog and the background queue.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>

#include "recorder/background.hpp"
#include "recorder/recover.hpp"
#include "recorder/session_catalog.hpp"
#include "recorder/session_record.hpp"
#include "recorder/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace sddsh::recorder;
namespace fs = std::filesystem;

namespace {

// Removed when the test's process ends (each test is a process of its own).
std::string temp_dir() {
  static std::deque<sddsh::test_support::TempDir> dirs;
  return dirs.emplace_back("sddsh-store").path();
}

SessionRecord sample_record(const std::string& id, std::int64_t started_ms) {
  SessionRecord r;
  r.id = id;
  r.agent = "claude";
  r.argv = {"claude", "--model", "x"};
  r.cwd = "/work";
  r.started_unix_ms = started_ms;
  r.started_at = iso8601_utc(started_ms);
  r.status = SessionRecord::Status::Finished;
  r.exit_code = 3;
  r.git = GitRecord{.workdir = "/work", .branch = "main", .head = "abc", .remote_url = "https://h/x", .ref = "refs/sddsh/sessions/" + id};
  r.git->snapshots.push_back({"start", "c1", 0, {"big.bin"}, {}});
  TurnRecord turn;
  turn.index = 1;
  turn.start = 1.5;
  turn.end = 9.25;
  turn.prompt = "fix it\nplease";
  turn.stat = DiffStat{2, 10, 3};
  turn.diff = "diffs/turn-0001.patch";
  r.turns.push_back(turn);
  r.task_segments.push_back({"T-1", 0, 9.25});
  r.session_stat = DiffStat{2, 10, 3};
  r.session_diff = "diffs/session.patch";
  return r;
}

void store_record(const Store& store, const SessionRecord& r) {
  ASSERT_TRUE(make_directories(store.bundle_dir(r.id)));
  ASSERT_TRUE(write_file_atomically(store.bundle_dir(r.id) + "/session.json", to_json_text(r)));
}

}  // namespace

TEST(SessionRecord, RoundTripsThroughJson) {
  const SessionRecord r = sample_record("3f2a9c1d-0000-4000-8000-000000000001", 1795256645123);
  auto back = parse_session_record(to_json_text(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->argv, r.argv);
  EXPECT_EQ(back->exit_code, 3);
  EXPECT_EQ(back->status, SessionRecord::Status::Finished);
  ASSERT_TRUE(back->git);
  EXPECT_EQ(back->git->snapshots.at(0).omitted_large, std::vector<std::string>{"big.bin"});
  ASSERT_EQ(back->turns.size(), 1u);
  EXPECT_EQ(back->turns[0].prompt, "fix it\nplease");
  EXPECT_EQ(back->turns[0].end, 9.25);
  EXPECT_EQ(back->turns[0].stat->deletions, 3);
  EXPECT_EQ(back->task_segments.at(0).task_id, "T-1");
  EXPECT_EQ(back->session_stat->insertions, 10);
  EXPECT_EQ(back->started_at, "2026-11-21T10:24:05.123Z");
}

TEST(SessionRecord, RejectsWhatItCannotRead) {
  EXPECT_FALSE(parse_session_record("{"));
  EXPECT_FALSE(parse_session_record("[]"));
  EXPECT_FALSE(parse_session_record(R"({"format":"other","version":1})"));
  auto future = parse_session_record(R"({"format":"sddsh-session","version":99})");
  ASSERT_FALSE(future);
  EXPECT_NE(future.error().message.find("version 99"), std::string::npos);
  // Wrong types in known fields are defaults, not crashes.
  auto odd = parse_session_record(R"({"format":"sddsh-session","version":1,"turns":[{"index":"x"}],"git":5})");
  EXPECT_FALSE(odd.has_value() && odd->git.has_value());
}

// Found by session_record_fuzz: a format that is not a string threw out of the parser, and a
// number out of an integer field's range (1e79 as a count) was undefined behaviour.
TEST(SessionRecord, FieldsOfTheWrongShapeNeitherThrowNorOverflow) {
  EXPECT_FALSE(parse_session_record(R"({"format":[]})"));
  EXPECT_FALSE(parse_session_record(R"({"format":"sddsh-session","version":1e300})"));
  auto odd = parse_session_record(
      R"({"format":"sddsh-session","version":1,"pid":1e300,"started_unix_ms":-1e300,)"
      R"("terminal":{"cols":1e20,"rows":2.5},"stats":{"output_bytes":-1,"events":1e79},)"
      R"("conversation":{"unknown_records":1e79},"turns":[{"index":4294967296,"stat":{"files":1e300}}],)"
      R"("transcripts":[{"file":"t.jsonl","bytes":"x"}]})");
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->pid, 0);
  EXPECT_EQ(odd->started_unix_ms, 0);
  EXPECT_EQ(odd->cols, 80);
  EXPECT_EQ(odd->rows, 24);
  EXPECT_EQ(odd->stats.output_bytes, 0u);
  EXPECT_EQ(odd->stats.events, 0u);
  ASSERT_TRUE(odd->conversation.has_value());
  EXPECT_EQ(odd->conversation->unknown_records, 0u);
  ASSERT_EQ(odd->turns.size(), 1u);
  EXPECT_EQ(odd->turns[0].index, 0);
  ASSERT_TRUE(odd->turns[0].stat.has_value());
  EXPECT_EQ(odd->turns[0].stat->files, 0);
  ASSERT_EQ(odd->transcripts.size(), 1u);
  EXPECT_EQ(odd->transcripts[0].bytes, 0u);
}

TEST(SessionRecord, InvalidUtf8InAPromptIsReplacedNotThrown) {
  SessionRecord r = sample_record("3f2a9c1d-0000-4000-8000-000000000002", 0);
  r.turns[0].prompt = "bad \xff byte";
  auto back = parse_session_record(to_json_text(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->turns[0].prompt, "bad \xef\xbf\xbd byte");
}

TEST(Catalog, FindsByPrefixLastAndPathAndSaysWhatIsAmbiguous) {
  Store store{temp_dir(), false};
  store_record(store, sample_record("aaaa1111-0000-4000-8000-000000000001", 1000));
  store_record(store, sample_record("aaaa2222-0000-4000-8000-000000000002", 3000));
  store_record(store, sample_record("bbbb3333-0000-4000-8000-000000000003", 2000));
  make_directories(store.bundle_dir("cccc4444-0000-4000-8000-000000000004")).has_value();
  std::ofstream(store.bundle_dir("cccc4444-0000-4000-8000-000000000004") + "/session.json") << "{broken";

  Catalog catalog = load_catalog(store);
  ASSERT_EQ(catalog.sessions.size(), 3u);
  EXPECT_EQ(catalog.sessions[0].record.id.substr(0, 8), "aaaa2222");
  EXPECT_EQ(catalog.sessions[2].record.id.substr(0, 8), "aaaa1111");
  ASSERT_EQ(catalog.unreadable.size(), 1u);

  EXPECT_EQ(find_session(store, "last")->record.id.substr(0, 8), "aaaa2222");
  EXPECT_EQ(find_session(store, "bbbb")->record.id.substr(0, 8), "bbbb3333");
  EXPECT_EQ(find_session(store, "aaaa1")->record.id.substr(0, 8), "aaaa1111");
  auto ambiguous = find_session(store, "aaaa");
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message.find("matches 2 sessions"), std::string::npos);
  EXPECT_FALSE(find_session(store, "dddd"));
  EXPECT_EQ(find_session(store, store.bundle_dir("bbbb3333-0000-4000-8000-000000000003"))->record.id.substr(0, 8), "bbbb3333");
}

TEST(Store, OutsideARepositoryUsesXdgDataHome) {
  const std::string dir = temp_dir();
  ::unsetenv("SDDSH_STORE");
  ::setenv("XDG_DATA_HOME", (dir + "/data").c_str(), 1);
  auto store = locate_store(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->root, dir + "/data/sddsh");
  EXPECT_FALSE(store->in_git);
  ::setenv("SDDSH_STORE", (dir + "/forced/").c_str(), 1);
  EXPECT_EQ(locate_store(dir)->root, dir + "/forced");
  ::unsetenv("SDDSH_STORE");
  ::unsetenv("XDG_DATA_HOME");
}

TEST(Store, InsideARepositoryUsesTheCommonDirSharedByWorktrees) {
  const std::string dir = temp_dir();
  ::unsetenv("SDDSH_STORE");
  ASSERT_EQ(std::system(("cd " + dir + " && git init -q main && cd main && git -c user.name=t -c user.email=t@t "
                         "commit -q --allow-empty -m x && git worktree add -q ../wt 2>/dev/null").c_str()), 0);
  fs::create_directories(dir + "/main/sub");
  EXPECT_EQ(locate_store(dir + "/main/sub")->root, fs::canonical(dir + "/main/.git").string() + "/sddsh");
  EXPECT_EQ(locate_store(dir + "/wt")->root, fs::canonical(dir + "/main/.git").string() + "/sddsh");
  EXPECT_TRUE(locate_store(dir + "/main")->in_git);
}

TEST(BackgroundQueue, RunsJobsInOrderAndCompletionsOnTheOwnerThread) {
  BackgroundQueue queue;
  std::vector<int> ran;
  std::thread::id owner = std::this_thread::get_id();
  std::atomic<int> off_thread{0};
  for (int i = 0; i < 50; ++i)
    queue.post([&, i]() -> BackgroundQueue::Completion {
      if (std::this_thread::get_id() != owner) ++off_thread;
      return [&, i] {
        EXPECT_EQ(std::this_thread::get_id(), owner);
        ran.push_back(i);
      };
    });
  queue.drain();
  EXPECT_EQ(off_thread.load(), 50);
  ASSERT_EQ(ran.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(queue.idle());
}

TEST(BackgroundQueue, DeliversCompletionsThroughTheEventLoop) {
  sddsh::shell::EventLoop loop;
  BackgroundQueue queue;
  queue.attach(loop);
  bool done = false;
  queue.post([&]() -> BackgroundQueue::Completion { return [&] { done = true; }; });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto guard = loop.at(deadline, [] {});
  while (!done && std::chrono::steady_clock::now() < deadline) loop.run_once();
  EXPECT_TRUE(done);
}

TEST(WriteFileAtomically, ReplacesWholeOrNotAtAll) {
  const std::string dir = temp_dir();
  ASSERT_TRUE(write_file_atomically(dir + "/f", "one"));
  ASSERT_TRUE(write_file_atomically(dir + "/f", "two"));
  std::ifstream in(dir + "/f");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "two");
  EXPECT_FALSE(fs::exists(dir + "/f.tmp"));
  auto failed = write_file_atomically(dir + "/missing/f", "x");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("No such file"), std::string::npos);
}

// Files named in session.json are read from the bundle: names that lead out of it are damage.
TEST(SessionRecord, FileNamesThatLeaveTheBundleAreDropped) {
  SessionRecord r = sample_record("3f2a9c1d-0000-4000-8000-000000000003", 0);
  r.turns[0].diff = "../../../../etc/passwd";
  r.task_segments[0].diff = "diffs/../../x.patch";
  r.session_diff = "/etc/shadow";
  r.transcripts = {{"/home/u/.claude/t.jsonl", "/etc/passwd", 1}, {"/home/u/t2.jsonl", "transcript/t2.jsonl", 2}};
  auto back = parse_session_record(to_json_text(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->turns[0].diff, "");
  EXPECT_EQ(back->task_segments[0].diff, "");
  EXPECT_EQ(back->session_diff, "");
  ASSERT_EQ(back->transcripts.size(), 1u);
  EXPECT_EQ(back->transcripts[0].file, "transcript/t2.jsonl");
  // The names sddsh writes come through.
  auto good = parse_session_record(to_json_text(sample_record("3f2a9c1d-0000-4000-8000-000000000004", 0)));
  ASSERT_TRUE(good);
  EXPECT_EQ(good->turns[0].diff, "diffs/turn-0001.patch");
  EXPECT_EQ(good->session_diff, "diffs/session.patch");
}

// A bundle whose session.json is damaged, named by its id (or as the only one, by "last"): the
// error says what is wrong with it, not that there is no such session.
TEST(Catalog, ADamagedBundleNamedByItsIdSaysWhatIsWrong) {
  Store store{temp_dir(), false};
  const std::string id = "cccc4444-0000-4000-8000-000000000004";
  ASSERT_TRUE(make_directories(store.bundle_dir(id)));
  std::ofstream(store.bundle_dir(id) + "/session.json") << "{broken";
  for (const std::string& name : {std::string("cccc"), std::string("last"), store.bundle_dir(id)}) {
    auto found = find_session(store, name);
    ASSERT_FALSE(found) << name;
    EXPECT_NE(found.error().message.find("session.json is not valid JSON"), std::string::npos)
        << name << ": " << found.error().message;
  }
  fs::remove(store.bundle_dir(id) + "/session.json");
  auto missing = find_session(store, store.bundle_dir(id));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("session.json: No such file"), std::string::npos) << missing.error().message;
  EXPECT_NE(find_session(store, "dddd").error().message.find("no session matches 'dddd'"), std::string::npos);
}

// kill -9 between making a bundle and writing its first session.json leaves a lock and an empty
// diffs/: nothing was recorded, so recover removes it. Anything more is kept and reported.
TEST(Recover, ABundleThatDiedWhileStartingIsRemovedOthersAreKept) {
  Store store{temp_dir(), false};
  const std::string empty = store.bundle_dir("aaaa0000-0000-4000-8000-000000000001");
  const std::string kept = store.bundle_dir("bbbb0000-0000-4000-8000-000000000002");
  for (const auto& dir : {empty, kept}) {
    ASSERT_TRUE(make_directories(dir + "/diffs"));
    std::ofstream(dir + "/lock");
  }
  std::ofstream(kept + "/terminal.cast") << "{\"version\": 2, \"width\": 80, \"height\": 24}\n";
  auto reports = recover_store(store, 1 << 20);
  ASSERT_EQ(reports.size(), 2u);
  std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  EXPECT_EQ(reports[0].outcome, RecoverReport::Outcome::Recovered);
  EXPECT_NE(reports[0].detail.find("nothing recorded"), std::string::npos) << reports[0].detail;
  EXPECT_FALSE(fs::exists(empty));
  EXPECT_EQ(reports[1].outcome, RecoverReport::Outcome::Failed);
  EXPECT_NE(reports[1].detail.find("session.json"), std::string::npos) << reports[1].detail;
  EXPECT_TRUE(fs::exists(kept + "/terminal.cast"));
}
