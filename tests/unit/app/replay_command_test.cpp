// `sddsh replay` and `sddsh export --redact` run in-process on a store in a temporary directory:
// what they say when the session is not there or there is no terminal, what a task with several
// sessions lists, that an upload fetched from the tracker opens in the player, and that a
// redacted export has no secret left.
#include "app/replay_command.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "app/conversation_commands.hpp"
#include "app/fetched_bundle.hpp"
#include "app/task_sessions.hpp"
#include "app/upload_packer.hpp"
#include "recorder/cast_writer.hpp"
#include "recorder/conversation_builder.hpp"
#include "recorder/redaction.hpp"
#include "recorder/session_record.hpp"
#include "recorder/store.hpp"
#include "replay/pager.hpp"
#include "replay/player.hpp"
#include "tests/support/temp_dir.hpp"
#include "tracker-client/outbox.hpp"

using namespace sddsh;
using namespace sddsh::app;

namespace {

// A fake GitHub token, built here so that no scanner of this repository takes it for a real one.
std::string planted_token() { return "ghp_" + std::string("R3pl4yT3stT0k3nAbCdEfGhIjKlMnOpQrStUv").substr(0, 36); }

// Sets environment variables for one test and puts them back after it.
class ScopedEnvironment {
 public:
  void set(const std::string& name, const std::optional<std::string>& value) {
    if (!saved_.contains(name)) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value) ::setenv(name.c_str(), value->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int newlines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

// Both ends of a pipe: a standard input and output that are not a terminal.
class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe(fds_), 0); }
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

class ReplayCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set("SDDSH_STORE", store_.path());
    env_.set("SDDSH_CONFIG", store_ / "no-config.json");
    for (const char* name : {"SDDSH_TRACKER_URL", "SDDSH_TRACKER_PROJECT", "SDDSH_TRACKER_TOKEN",
                             "SDDSH_TRACKER_TOKEN_FILE", "SDDSH_TRACKER_CA_FILE"})
      env_.set(name, std::nullopt);
  }

  // A finished session in the store: `outputs` at 1 s, 2 s, …; one turn; a segment on `task`.
  std::string add_session(const std::string& id, const std::string& task, const std::vector<std::string>& outputs,
                          const std::string& prompt = "make hello.txt") {
    const std::string dir = store_ / ("sessions/" + id);
    EXPECT_TRUE(recorder::make_directories(dir + "/diffs"));
    recorder::CastHeader header;
    header.width = 60;
    header.height = 12;
    auto writer = recorder::CastWriter::create(dir + "/terminal.cast", header);
    EXPECT_TRUE(writer);
    for (std::size_t i = 0; i < outputs.size(); ++i) (*writer)->output(1.0 + static_cast<double>(i), outputs[i]);
    EXPECT_TRUE((*writer)->close());

    recorder::SessionRecord r;
    r.id = id;
    r.agent = "claude";
    r.argv = {"claude"};
    r.started_at = "2026-11-21T10:04:05.123Z";
    r.started_unix_ms = 1795256645123 + static_cast<std::int64_t>(id[0]);
    r.duration = static_cast<double>(outputs.size()) + 1.0;
    r.status = recorder::SessionRecord::Status::Finished;
    r.cols = 60;
    r.rows = 12;
    recorder::TurnRecord turn;
    turn.index = 1;
    turn.start = 0.5;
    turn.end = r.duration;
    turn.prompt = prompt;
    turn.diff = "diffs/turn-0001.patch";
    turn.stat = recorder::DiffStat{1, 1, 0};
    r.turns = {turn};
    recorder::TaskSegment segment;
    segment.task_id = task;
    segment.end = r.duration;
    segment.turns = {1};
    segment.diff = "diffs/task-01-" + task + ".patch";
    segment.stat = turn.stat;
    r.task_segments = {segment};
    EXPECT_TRUE(recorder::write_file_atomically(dir + "/session.json", recorder::to_json_text(r)));
    const std::string patch = "diff --git a/hello.txt b/hello.txt\n--- a/hello.txt\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello\n";
    EXPECT_TRUE(recorder::write_file_atomically(dir + "/diffs/turn-0001.patch", patch));
    EXPECT_TRUE(recorder::write_file_atomically(dir + "/" + segment.diff, patch));
    recorder::ConversationMessage said{.turn = 1, .ts_ms = 0, .role = recorder::ConversationMessage::Role::User,
                                       .text = prompt};
    EXPECT_TRUE(recorder::write_conversation(dir, {said}));
    return dir;
  }

  int replay(const ReplayCommand& command, std::string& err) {
    Pipe in, out;
    ::testing::internal::CaptureStderr();
    const int code = run_replay(command, in.read_end(), out.write_end());
    err = ::testing::internal::GetCapturedStderr();
    return code;
  }

  test_support::TempDir store_{"sddsh-replay-command"};
  ScopedEnvironment env_;
};

}  // namespace

TEST_F(ReplayCommandTest, UnknownSessionIsOneLineAndExitOne) {
  add_session("aaaa1111-0000-4000-8000-000000000001", "sd-1", {"hello\r\n"});
  std::string err;
  EXPECT_EQ(replay({.session = "zzzz"}, err), 1);
  EXPECT_EQ(newlines(err), 1) << err;
  EXPECT_TRUE(err.starts_with("sddsh: no session matches 'zzzz'")) << err;
}

TEST_F(ReplayCommandTest, NoTerminalIsOneLineAndExitTwo) {
  add_session("aaaa1111-0000-4000-8000-000000000001", "sd-1", {"hello\r\n"});
  for (const std::string& name : std::vector<std::string>{
           "last", "aaaa", store_ / "sessions/aaaa1111-0000-4000-8000-000000000001",
           store_ / "sessions/aaaa1111-0000-4000-8000-000000000001/terminal.cast"}) {
    std::string err;
    EXPECT_EQ(replay({.session = name}, err), 2) << name;
    EXPECT_EQ(newlines(err), 1) << err;
    EXPECT_NE(err.find("replay needs a terminal"), std::string::npos) << err;
  }
}

TEST_F(ReplayCommandTest, BundleWithADamagedSessionJsonIsStillFoundByItsId) {
  const std::string dir = add_session("bbbb2222-0000-4000-8000-000000000002", "sd-1", {"hello\r\n"});
  std::ofstream(dir + "/session.json", std::ios::trunc) << "{ not json";
  std::string err;
  EXPECT_EQ(replay({.session = "bbbb"}, err), 2) << err;  // found: only the terminal is missing
}

TEST_F(ReplayCommandTest, TaskWithSeveralSessionsListsThemWithoutATerminal) {
  add_session("aaaa1111-0000-4000-8000-000000000001", "sd-7", {"one\r\n"});
  add_session("bbbb2222-0000-4000-8000-000000000002", "sd-7", {"two\r\n"});
  add_session("cccc3333-0000-4000-8000-000000000003", "sd-8", {"other\r\n"});
  std::string err;
  EXPECT_EQ(replay({.task = "sd-7"}, err), 2);
  EXPECT_EQ(newlines(err), 1) << err;
  EXPECT_NE(err.find("task sd-7 has 2 sessions; choose one with --pick N: 1) "), std::string::npos) << err;
  EXPECT_NE(err.find("2) "), std::string::npos) << err;
  EXPECT_NE(err.find("aaaa1111"), std::string::npos) << err;
  EXPECT_NE(err.find("bbbb2222"), std::string::npos) << err;
  EXPECT_EQ(err.find("cccc3333"), std::string::npos) << err;

  EXPECT_EQ(replay({.task = "sd-7", .pick = 2}, err), 2);
  EXPECT_NE(err.find("needs a terminal"), std::string::npos) << err;
  EXPECT_EQ(replay({.task = "sd-7", .pick = 3}, err), 2);
  EXPECT_NE(err.find("--pick 3: task sd-7 has 2 sessions"), std::string::npos) << err;
  EXPECT_EQ(replay({.task = "sd-9"}, err), 1);
  EXPECT_EQ(err, "sddsh: no sessions of task sd-9 here\n");
  EXPECT_EQ(replay({.task = "sd-8"}, err), 2);  // just one: no need to choose
  EXPECT_NE(err.find("needs a terminal"), std::string::npos) << err;
}

// What `sessions --task ID --fetch` leaves in <store>/remote/<upload-id>/ (the packer's files, as
// the server hands them back) opens in the player, with its turns, diffs and conversation.
TEST_F(ReplayCommandTest, UploadFetchedFromTheTrackerOpensInThePlayer) {
  const std::string bundle =
      add_session("dddd4444-0000-4000-8000-000000000004", "sd-5", {"hello\r\n", "key " + planted_token() + "\r\n", "bye\r\n"});
  auto redactor = recorder::Redactor::create({});
  ASSERT_TRUE(redactor);
  tracker::Outbox outbox(store_.path());
  auto packed = pack_segment(outbox, "http://tracker.invalid", "web", bundle, 0, *redactor);
  ASSERT_TRUE(packed) << packed.error().message;
  const std::string fetched = fetched_session_dir(store_.path(), packed->upload_id);
  std::filesystem::create_directories(fetched);
  for (const auto& file : std::filesystem::directory_iterator(packed->entry_dir + "/files"))
    std::filesystem::copy_file(file.path(), fetched + "/" + file.path().filename().string());

  ASSERT_TRUE(is_fetched_upload(fetched));
  auto made = bundle_of_upload(fetched);
  ASSERT_TRUE(made) << made.error().message;
  auto player = replay::Player::open(*made);
  ASSERT_TRUE(player) << player.error().message;
  EXPECT_TRUE((*player)->problems().empty()) << (*player)->problems().front();
  ASSERT_TRUE((*player)->record());
  const auto& record = *(*player)->record();
  EXPECT_EQ(record.id, "dddd4444-0000-4000-8000-000000000004");
  ASSERT_EQ(record.turns.size(), 1u);
  ASSERT_EQ(record.task_segments.size(), 1u);
  EXPECT_EQ(record.task_segments[0].task_id, "sd-5");
  (*player)->seek((*player)->duration());
  std::string screen;
  for (const auto& line : (*player)->screen().text_lines()) screen += line + "\n";
  EXPECT_NE(screen.find("bye"), std::string::npos) << screen;
  EXPECT_NE(screen.find("[REDACTED:github_token]"), std::string::npos) << screen;

  replay::Pager diff = replay::turn_diff_pager(*made, &record, 0);
  ASSERT_GT(diff.lines().size(), 2u);
  EXPECT_EQ(diff.lines().back().text, "+hello");
  replay::Pager said = replay::turn_conversation_pager(*made, &record, 0);
  ASSERT_FALSE(said.lines().empty());
  EXPECT_EQ(said.lines()[1].text, "> make hello.txt");

  // Replaying it again finds the bundle laid out already and makes it anew.
  EXPECT_TRUE(bundle_of_upload(fetched));
  std::string err;
  EXPECT_EQ(replay({.session = fetched}, err), 2) << err;
}

TEST_F(ReplayCommandTest, ExportRedactRemovesSecretsAlsoSplitAcrossTwoEvents) {
  const std::string token = planted_token();
  // The token comes in two reads of the agent's output, and again in the prompt.
  add_session("eeee5555-0000-4000-8000-000000000005", "sd-1",
              {"export TOKEN=" + token.substr(0, 15), token.substr(15) + "\r\n", "done\r\n"},
              "use " + token + " please");
  const std::string out = store_ / "out.cast";
  ASSERT_EQ(run_export({.session = "eeee", .format = ExportCommand::Format::Cast, .output = out}), 0);
  ASSERT_NE(read_text(out).find(token.substr(15)), std::string::npos) << "without --redact the cast is as recorded";

  ASSERT_EQ(run_export({.session = "eeee", .format = ExportCommand::Format::Cast, .output = out, .redact = true}), 0);
  std::string cast = read_text(out);
  EXPECT_EQ(cast.find(token.substr(0, 15)), std::string::npos) << cast;
  EXPECT_EQ(cast.find(token.substr(15)), std::string::npos) << cast;
  EXPECT_NE(cast.find("[REDACTED:github_token]"), std::string::npos) << cast;
  EXPECT_NE(cast.find("done"), std::string::npos) << cast;

  for (auto format : {ExportCommand::Format::Markdown, ExportCommand::Format::Json}) {
    ASSERT_EQ(run_export({.session = "eeee", .format = format, .output = out, .redact = true}), 0);
    const std::string text = read_text(out);
    EXPECT_EQ(text.find(token), std::string::npos) << text;
    EXPECT_NE(text.find("[REDACTED:"), std::string::npos) << text;
  }
}

// A damaged cast is exported up to its last whole event, with a warning; one that is not a cast
// at all is a one-line error. Never bytes that asciinema cannot read.
TEST_F(ReplayCommandTest, ExportCastOfADamagedCastKeepsOnlyWholeEvents) {
  const std::string dir = add_session("ffff6666-0000-4000-8000-000000000006", "sd-1", {"first\r\n", "second\r\n"});
  const std::string whole = read_text(dir + "/terminal.cast");
  const std::string out = store_ / "out.cast";
  std::ofstream(dir + "/terminal.cast", std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() - 6);
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(run_export({.session = "ffff", .format = ExportCommand::Format::Cast, .output = out}), 0);
  std::string err = ::testing::internal::GetCapturedStderr();
  const std::string exported = read_text(out);
  EXPECT_EQ(exported, whole.substr(0, whole.rfind('\n', whole.size() - 2) + 1)) << "all but the cut last event";
  EXPECT_NE(exported.find("first"), std::string::npos);
  EXPECT_NE(err.find("truncated; exported up to there"), std::string::npos) << err;
  EXPECT_EQ(newlines(err), 1) << err;

  std::ofstream(dir + "/terminal.cast", std::ios::binary | std::ios::trunc) << "\x01garbage\n[1.0, \"o\", \"x\"]\n";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_export({.session = "ffff", .format = ExportCommand::Format::Cast, .output = out}), 1);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("not an asciicast v2 file"), std::string::npos) << err;
  EXPECT_EQ(newlines(err), 1) << err;
}
