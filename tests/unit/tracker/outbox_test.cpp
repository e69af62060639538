// The upload path against the real sddsh-tracker, in-process on a free loopback port: a real
// bundle on disk with planted secrets of every kind is packed into the outbox (redacted, the cast
// sliced per task segment), drained (removed only once the server confirmed it), kept when the
// server is down or refuses it, resumed after a cut upload, never sent twice (a second drain, two
// drains at once, a re-pack); the background uploader, `sddsh sync`, --redact-local and the
// recorder's segment listener.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "app/sync_command.hpp"
#include "app/upload_packer.hpp"
#include "app/uploader.hpp"
#include "recorder/cast_reader.hpp"
#include "recorder/cast_writer.hpp"
#include "recorder/redaction.hpp"
#include "recorder/session_record.hpp"
#include "recorder/session_recorder.hpp"
#include "recorder/store.hpp"
#include "tests/support/loopback_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tracker-client/http_client.hpp"
#include "tracker-client/outbox.hpp"
#include "tracker-client/remote_tracker.hpp"
#include "tracker-server/server.hpp"

namespace sddsh::app {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using tracker::Outbox;
using tracker::RemoteConfig;
using tracker::RetryPolicy;

// ---- scaffolding ----

using test_support::TempDir;

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every regular file under `dir`, by path relative to it.
std::map<std::string, std::string> read_tree(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& item : std::filesystem::recursive_directory_iterator(dir))
    if (item.is_regular_file())
      files[std::filesystem::relative(item.path(), dir).string()] = read_file(item.path());
  return files;
}

// The real server on a free loopback port, and a client's configuration for it.
class TestServer : public test_support::LoopbackServer {
 public:
  RemoteConfig config(const std::string& project) {
    return RemoteConfig{.url = url(), .project = project,
                        .token = token(project, server::Role::Write), .source = "test"};
  }
};

// Retries are fast in tests: the behaviour is the same, the waits are milliseconds.
RetryPolicy fast_policy(int attempts = 3) {
  RetryPolicy policy;
  policy.max_attempts = attempts;
  policy.first_backoff = 1ms;
  policy.max_backoff = 5ms;
  policy.connect_timeout = 2000ms;
  policy.request_timeout = 10000ms;
  return policy;
}

// ---- the planted secrets ----

std::string random_text(std::size_t size, unsigned seed, const std::string& alphabet) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string text;
  for (std::size_t i = 0; i < size; ++i) text += alphabet[pick(random)];
  return text;
}

const std::string kAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const std::string kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
// Filler text is drawn from other seeds than the secrets: the same seed would start with a secret.
constexpr unsigned kNoiseSeed = 1000000;

struct Secrets {
  std::string anthropic = "sk-ant-api03-" + random_text(48, 1, kAlnum);
  std::string openai = "sk-" + random_text(48, 2, kAlnum);
  std::string github = "ghp_" + random_text(36, 3, kAlnum);
  std::string github_fine = "github_pat_" + random_text(82, 4, kAlnum);
  std::string aws = "AKIA" + random_text(16, 5, kUpperDigits);
  std::string aws_in_transcript = "AKIA" + random_text(16, 6, kUpperDigits);
  std::string slack = "xoxb-123456789012-1234567890123-" + random_text(24, 7, kAlnum);
  std::string jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ik" +
                    random_text(16, 8, kAlnum) + "In0." + random_text(43, 9, kAlnum);
  std::string password = "pw" + random_text(20, 10, kAlnum);
  std::string url = "https://alice:" + password + "@git.example.com/team/repo.git";
  std::string env_token = random_text(32, 11, kAlnum);
  std::vector<std::string> key_lines = {random_text(64, 12, kAlnum), random_text(64, 13, kAlnum),
                                        random_text(40, 14, kAlnum)};

  std::string private_key(const std::string& prefix) const {
    std::string block = prefix + "-----BEGIN RSA PRIVATE KEY-----\n";
    for (const auto& line : key_lines) block += prefix + line + "\n";
    return block + prefix + "-----END RSA PRIVATE KEY-----\n";
  }
  std::vector<std::string> environment() const {
    return {"MY_SERVICE_TOKEN=" + env_token, "HOME=/home/test", "PATH=/usr/bin:/bin"};
  }
  // Everything that must never show after redaction (the split key's halves too).
  std::vector<std::string> values() const {
    std::vector<std::string> all{anthropic,
                                 anthropic.substr(0, 30),
                                 anthropic.substr(30),
                                 openai,
                                 github,
                                 github_fine,
                                 aws,
                                 aws_in_transcript,
                                 slack,
                                 jwt,
                                 password,
                                 env_token};
    all.insert(all.end(), key_lines.begin(), key_lines.end());
    return all;
  }
};

// The first secret value found in `text`, or "" when it holds none.
std::string leaked(const Secrets& secrets, const std::string& text) {
  for (const auto& value : secrets.values())
    if (text.find(value) != std::string::npos) return value;
  return "";
}

// ---- a bundle on disk ----

// Session ids are UUIDs (the store lists nothing else).
std::string uuid(int n) {
  char text[40];
  std::snprintf(text, sizeof text, "3f2a9c1d-0000-4000-8000-%012d", n);
  return text;
}
const std::string kSessionId = uuid(1);

// A finished session of two task segments: [0, 5) on `first_task`, [5, 10) on `second_task`,
// with a cast, a conversation, diffs and a transcript, secrets planted in each.
void write_bundle(const std::string& bundle, const std::string& session_id,
                  const std::string& first_task, const std::string& second_task, const Secrets& s,
                  std::size_t padding_bytes = 0) {
  std::filesystem::create_directories(bundle + "/diffs");
  recorder::SessionRecord record;
  record.id = session_id;
  record.agent = "claude";
  record.argv = {"claude", "--token", s.github};
  record.cwd = "/home/test/project";
  record.hostname = "box";
  record.started_unix_ms = 1795256645000;
  record.started_at = recorder::iso8601_utc(record.started_unix_ms);
  record.duration = 10;
  record.ended_at = recorder::iso8601_utc(record.started_unix_ms + 10000);
  record.status = recorder::SessionRecord::Status::Finished;
  record.cols = 100;
  record.rows = 30;
  record.agent_info.kind = "claude";
  recorder::TurnRecord one{
      .index = 1, .start = 1.0, .end = 3.0, .prompt = "use " + s.github + " please"};
  one.diff = "diffs/turn-0001.patch";
  one.stat = recorder::DiffStat{1, 2, 0};
  recorder::TurnRecord two{.index = 2, .start = 6.0, .end = 8.0, .prompt = "second task"};
  record.turns = {one, two};
  recorder::TaskSegment first{.task_id = first_task, .start = 0, .end = 5.0, .turns = {1}};
  first.diff = "diffs/task-01-first.patch";
  first.stat = recorder::DiffStat{1, 5, 0};
  recorder::TaskSegment second{.task_id = second_task, .start = 5.0, .end = 10.0, .turns = {2}};
  record.task_segments = {first, second};
  record.transcripts = {{"/home/test/.claude/x.jsonl", "transcript/abc.jsonl", 0}};
  write_file(bundle + "/session.json", recorder::to_json_text(record));

  recorder::CastHeader header;
  header.width = 100;
  header.height = 30;
  header.timestamp = record.started_unix_ms / 1000;
  recorder::CastEncoder encoder;
  std::string cast = recorder::CastEncoder::header_line(header);
  encoder.output(cast, 0.5, "hello\r\n");
  encoder.marker(cast, 1.0, "turn 1: use " + s.github);
  encoder.output(cast, 1.5, "your key is " + s.anthropic.substr(0, 30));  // split in two
  encoder.output(cast, 1.6, s.anthropic.substr(30) + "\r\n");
  encoder.input(cast, 2.0, "export AWS_ACCESS_KEY_ID=" + s.aws + "\r");
  encoder.output(cast, 2.5, "token=" + s.env_token + "\r\n");
  encoder.resize(cast, 3.0, 120, 40);
  for (std::size_t done = 0; done < padding_bytes; done += 1000)
    encoder.output(cast, 3.5,
                   random_text(998, kNoiseSeed + static_cast<unsigned>(done), kAlnum) + "\r\n");
  encoder.output(cast, 4.0, "jwt " + s.jwt + "\r\n");
  encoder.marker(cast, 5.0, "task " + second_task);
  encoder.output(cast, 6.0, "slack " + s.slack + " second-segment-words\r\n");
  encoder.finish(cast);
  write_file(bundle + "/terminal.cast", cast);

  write_file(
      bundle + "/conversation.jsonl",
      json({{"turn", 1}, {"role", "user"}, {"text", "my key " + s.openai}}).dump() + "\n" +
          json({{"turn", 1}, {"role", "assistant"}, {"text", "cloning " + s.url}}).dump() + "\n" +
          json({{"turn", 2}, {"role", "user"}, {"text", "second-segment-words"}}).dump() + "\n");
  write_file(bundle + "/diffs/task-01-first.patch",
             "diff --git a/id_rsa b/id_rsa\nnew file mode 100600\n--- /dev/null\n+++ b/id_rsa\n"
             "@@ -0,0 +1,5 @@\n" +
                 s.private_key("+"));
  write_file(bundle + "/diffs/turn-0001.patch",
             "--- a/.env\n+++ b/.env\n@@ -0,0 +1,2 @@\n+GH=" + s.github_fine + "\n+X=1\n");
  write_file(bundle + "/transcript/abc.jsonl",
             json({{"type", "tool"}, {"output", "aws " + s.aws_in_transcript}}).dump() + "\n" +
                 json({{"type", "user"}, {"message", {{"content", "key " + s.anthropic}}}}).dump() +
                 "\nnot json: " + s.url + "\n");
}

// ---- the fixture ----

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tracker::RemoteTracker tracker(remote, fast_policy());
    for (auto* id : {&first_task, &second_task}) {
      tracker::NewTask task;
      task.title = id == &first_task ? "first" : "second";
      auto created = tracker.create(task);
      ASSERT_TRUE(created) << created.error().message;
      *id = created->id;
    }
    write_bundle(bundle(), kSessionId, first_task, second_task, secrets);
  }

  std::string bundle(const std::string& id = kSessionId) const { return store.bundle_dir(id); }
  // A recorder on the first task, outside any repository: no snapshots, still segments.
  auto recorder_outside_a_repository(const std::string& session_id) {
    const std::string work = dir / "work";
    std::filesystem::create_directories(work);
    recorder::RecorderOptions options;
    options.session_id = session_id;
    options.argv = {"sh"};
    options.cwd = work;
    options.task_id = first_task;
    return recorder::SessionRecorder::create(store, options);
  }
  recorder::Redactor redactor() const {
    auto made = recorder::Redactor::create(secrets.environment());
    if (!made) throw std::runtime_error(made.error().message);
    return *made;
  }
  PackedUpload pack(std::size_t segment, const std::string& id = kSessionId) {
    auto packed = pack_segment(outbox, remote.url, remote.project, bundle(id), segment, redactor());
    if (!packed) throw std::runtime_error("pack: " + packed.error().message);
    return *packed;
  }
  tracker::DrainReport drain(RetryPolicy policy = fast_policy()) {
    tracker::HttpClient http(remote, policy);
    tracker::DrainOptions options;
    options.on_outcome = record_outcome;
    return outbox.drain(http, options);
  }
  std::vector<json> sessions_of(const std::string& task) {
    tracker::RemoteTracker tracker(remote, fast_policy());
    auto sessions = tracker.task_sessions(task);
    if (!sessions) throw std::runtime_error("sessions: " + sessions.error().message);
    return *sessions;
  }
  // The server's copy of an upload: session.json (its metadata) and every file.
  std::map<std::string, std::string> fetched(const std::string& upload_id) {
    const std::string dest = dir / ("fetched-" + upload_id);
    tracker::RemoteTracker tracker(remote, fast_policy());
    auto done = tracker.fetch_session(upload_id, dest);
    if (!done) throw std::runtime_error("fetch: " + done.error().message);
    return read_tree(dest);
  }
  SyncOptions sync_options() {
    SyncOptions options;
    options.remote = remote;
    options.store_root = store.root;
    options.terminal = false;
    options.environment = secrets.environment();
    options.policy = fast_policy();
    return options;
  }

  TempDir dir;
  recorder::Store store{dir / "store", false};
  Outbox outbox{store.root};
  TestServer server;
  RemoteConfig remote = server.config("alpha");
  Secrets secrets;
  std::string first_task, second_task;
  const std::string upload0 = kSessionId + ".0";
  const std::string upload1 = kSessionId + ".1";
};

// ---- packing ----

TEST_F(OutboxTest, PackingRedactsEveryFileAndSummarizesKindsAndCounts) {
  const PackedUpload packed = pack(0);
  EXPECT_EQ(packed.upload_id, upload0);
  const auto files = read_tree(packed.entry_dir + "/files");
  EXPECT_EQ(files.size(), 6u);  // the four parts, the transcript, session.json
  for (const auto* name : {"terminal.cast", "conversation.jsonl", "task.patch", "turn-0001.patch",
                           "transcript-abc.jsonl", "session.json"})
    EXPECT_TRUE(files.count(name)) << name;
  for (const auto& [name, text] : files) {
    EXPECT_EQ(leaked(secrets, text), "") << name;
    EXPECT_NE(text.find("[REDACTED:"), std::string::npos) << name;
  }
  EXPECT_EQ(leaked(secrets, read_file(packed.entry_dir + "/manifest.json")), "");
  EXPECT_NE(files.at("task.patch").find("[REDACTED:private_key]"), std::string::npos);
  EXPECT_NE(files.at("terminal.cast").find("[REDACTED:anthropic_key]"), std::string::npos);
  EXPECT_NE(files.at("terminal.cast").find("[REDACTED:env:MY_SERVICE_TOKEN]"), std::string::npos);

  const json meta = json::parse(files.at("session.json"));
  const json expected = {{"anthropic_key", 2},
                         {"aws_access_key", 2},
                         {"env:MY_SERVICE_TOKEN", 1},
                         {"github_token", 4},
                         {"jwt", 1},
                         {"openai_key", 1},
                         {"private_key", 1},
                         {"url_credentials", 2}};
  EXPECT_EQ(meta.at("redaction"), expected);
  EXPECT_EQ(packed.redaction.to_json(), expected);
  EXPECT_EQ(meta.at("upload_id"), upload0);
  EXPECT_EQ(meta.at("session_id"), kSessionId);
  EXPECT_EQ(meta.at("task_id"), first_task);
  EXPECT_EQ(meta.at("segment"), 0);
  EXPECT_EQ(meta.at("started_at"), "2026-11-21T10:24:05.000Z");
  EXPECT_EQ(meta.at("ended_at"), "2026-11-21T10:24:10.000Z");
  EXPECT_EQ(meta.at("turns").size(), 1u);
  EXPECT_EQ(meta.at("argv").dump().find(secrets.github), std::string::npos);
  // session.json lists the other five files; the metadata to PUT lists all six.
  EXPECT_EQ(meta.at("files").size(), 5u);
  auto entry = outbox.entry(upload0);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->manifest.metadata.at("files").size(), 6u);
  EXPECT_EQ(entry->manifest.metadata.at("redaction"), expected);
}

TEST_F(OutboxTest, TheCastSliceHoldsOnlyItsSegmentRebasedWithTheSizeAtItsStart) {
  pack(0);
  pack(1);
  auto first = recorder::read_cast(outbox.entry(upload0)->file_path("terminal.cast"));
  auto second = recorder::read_cast(outbox.entry(upload1)->file_path("terminal.cast"));
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->problem);
  EXPECT_EQ(first->header.width, 100);
  EXPECT_EQ(first->header.height, 30);
  ASSERT_FALSE(first->events.empty());
  EXPECT_EQ(first->events.back().time, 4.0);
  for (const auto& event : first->events)
    EXPECT_EQ(event.data.find("second-segment"), std::string::npos);
  // The second segment began after the resize: its header has the new size; its times start at 0.
  EXPECT_EQ(second->header.width, 120);
  EXPECT_EQ(second->header.height, 40);
  EXPECT_EQ(second->header.timestamp, first->header.timestamp + 5);
  ASSERT_EQ(second->events.size(), 2u);
  EXPECT_EQ(second->events[0], (recorder::CastEvent{0.0, 'm', "task " + second_task}));
  EXPECT_EQ(second->events[1].time, 1.0);
  EXPECT_NE(second->events[1].data.find("[REDACTED:slack_token]"), std::string::npos);
  // Markers are kept (redacted); the split key left one marker and no half.
  bool turn_marker = false;
  for (const auto& event : first->events)
    turn_marker =
        turn_marker || (event.type == 'm' && event.data.starts_with("turn 1: use [REDACTED:"));
  EXPECT_TRUE(turn_marker);
  const std::string conversation =
      read_file(outbox.entry(upload1)->file_path("conversation.jsonl"));
  EXPECT_EQ(conversation,
            json({{"turn", 2}, {"role", "user"}, {"text", "second-segment-words"}}).dump() + "\n");
}

// A long cast goes through in overlapping batches: secrets split across two events anywhere,
// also across the first batch's boundary (placed there on purpose), are all found, each counted
// once.
TEST_F(OutboxTest, LongCastsAreRedactedInOverlappingBatchesWithoutMissingOrDoubleCounting) {
  constexpr std::size_t kEventBytes = 1000;
  constexpr std::size_t kEvents = 10000;  // 10 MB: three batches
  // The event whose arrival fills the first batch: a key split after it straddles the boundary.
  const std::size_t boundary = (kCastRedactionBatchBytes + kEventBytes - 1) / kEventBytes - 1;
  const auto is_head = [&](std::size_t i) {
    return i + 1 < kEvents &&
           (i == boundary || (i % 37 == 0 && i + 1 != boundary && i != boundary + 1));
  };
  const auto filler = [](std::size_t size, std::size_t i) {
    return random_text(size, kNoiseSeed + static_cast<unsigned>(i), kAlnum);
  };
  std::string cast = recorder::CastEncoder::header_line({});
  recorder::CastEncoder encoder;
  std::vector<std::string> planted;
  for (std::size_t i = 0; i < kEvents; ++i) {
    const double time = static_cast<double>(i) / 1000;
    if (is_head(i)) {  // "...filler ghp_<half>" then "<other half> filler..."
      const std::string key = "ghp_" + random_text(36, static_cast<unsigned>(100 + i), kAlnum);
      planted.push_back(key);
      encoder.output(cast, time, filler(kEventBytes - 20, i) + " " + key.substr(0, 19));
      encoder.output(cast, time + 0.0005, key.substr(19) + " " + filler(kEventBytes - 22, i + 1));
      ++i;
      continue;
    }
    encoder.output(cast, time, filler(kEventBytes - 1, i) + "\n");
  }
  encoder.finish(cast);
  write_file(dir / "long.cast", cast);
  auto summary =
      write_cast_slice(dir / "long.cast", dir / "slice.cast", 0, std::nullopt, redactor());
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->counts,
            (std::map<std::string, std::size_t>{{"github_token", planted.size()}}));
  const std::string slice = read_file(dir / "slice.cast");
  for (const auto& key : planted) {
    ASSERT_EQ(slice.find(key.substr(0, 19)), std::string::npos) << key;
    ASSERT_EQ(slice.find(key.substr(19)), std::string::npos) << key;
  }
  auto read = recorder::read_cast(dir / "slice.cast");
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->problem);
  EXPECT_EQ(read->events.size(), kEvents);
}

// ---- draining ----

TEST_F(OutboxTest, DrainUploadsTheEntryRemovesItAndTheServerHoldsNoSecret) {
  ASSERT_TRUE(bind_bundle(bundle(), remote.url, remote.project));
  const PackedUpload packed = pack(0);
  const auto staged = read_tree(packed.entry_dir + "/files");
  std::vector<tracker::DrainProgress> seen;
  tracker::HttpClient http(remote, fast_policy());
  tracker::DrainOptions options;
  options.on_outcome = record_outcome;
  options.progress = [&](const tracker::DrainProgress& progress) { seen.push_back(progress); };
  const auto report = outbox.drain(http, options);
  EXPECT_EQ(report.uploaded, 1u);
  EXPECT_TRUE(report.failed.empty());
  EXPECT_EQ(report.remaining, 0u);
  EXPECT_FALSE(outbox.contains(upload0));
  EXPECT_TRUE(std::filesystem::is_empty(outbox.dir()));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().items, 1u);
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);

  const auto sessions = sessions_of(first_task);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].at("session_id"), kSessionId);
  const auto on_server = fetched(upload0);
  for (const auto& [name, text] : staged) {
    ASSERT_TRUE(on_server.count(name)) << name;
    EXPECT_EQ(on_server.at(name), text) << name;  // byte for byte
  }
  for (const auto& [name, text] : on_server) EXPECT_EQ(leaked(secrets, text), "") << name;
  const auto ledger = read_ledger(bundle());
  ASSERT_TRUE(ledger);
  ASSERT_TRUE(ledger->segment(0));
  EXPECT_EQ(ledger->segment(0)->state, "uploaded");
}

TEST_F(OutboxTest, ASecondDrainSendsNothingAndARepackReplacesWithoutDuplicating) {
  pack(0);
  EXPECT_EQ(drain().uploaded, 1u);
  std::size_t items = 99;
  tracker::HttpClient http(remote, fast_policy());
  tracker::DrainOptions options;
  options.progress = [&](const tracker::DrainProgress& progress) { items = progress.items; };
  const auto again = outbox.drain(http, options);
  EXPECT_EQ(again.uploaded, 0u);
  EXPECT_EQ(items, 99u);  // nothing to report: no progress at all
  pack(0);                // the same segment once more: its files are on the server already
  EXPECT_EQ(drain().uploaded, 1u);
  EXPECT_EQ(sessions_of(first_task).size(), 1u);
}

TEST_F(OutboxTest, ServerDownKeepsTheEntryAndSaysSo) {
  pack(0);
  RemoteConfig dead = remote;
  dead.url = "http://127.0.0.1:1";  // refused
  {
    Outbox elsewhere{store.root};
    const auto entries = elsewhere.pending_for(dead.url, dead.project);
    EXPECT_TRUE(entries.empty());  // bound for the live server, not this one
  }
  // Entries are bound to their remote: re-stage it for the dead one.
  ASSERT_TRUE(pack_segment(outbox, dead.url, dead.project, bundle(), 1, redactor()));
  tracker::HttpClient http(dead, fast_policy(2));
  const auto report = outbox.drain(http);
  EXPECT_TRUE(report.server_down);
  EXPECT_EQ(report.uploaded, 0u);
  EXPECT_EQ(report.remaining, 1u);
  EXPECT_NE(report.error.find("unreachable"), std::string::npos) << report.error;
  auto entry = outbox.entry(upload1);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->manifest.attempts, 1);
  EXPECT_FALSE(entry->manifest.failed);
  EXPECT_FALSE(entry->manifest.last_error.empty());
  EXPECT_TRUE(outbox.contains(upload0));  // the live server's entry was not touched
}

TEST_F(OutboxTest, AfterServerErrorsSyncUploadsExactlyOnce) {
  ASSERT_TRUE(bind_bundle(bundle(), remote.url, remote.project));
  pack(0);
  server->fail_next_requests(50, 500);
  const auto report = drain(fast_policy(1));
  EXPECT_TRUE(report.server_down);
  EXPECT_TRUE(outbox.contains(upload0));
  server->fail_next_requests(0, 500);

  std::ostringstream out, err;
  EXPECT_EQ(run_sync(sync_options(), out, err), 0) << out.str() << err.str();
  // Segment 1 was never packed: sync packed it too.
  EXPECT_EQ(out.str(), "sync: 2 uploads sent, 0 failed, 0 queued\n");
  EXPECT_EQ(sessions_of(first_task).size(), 1u);
  EXPECT_EQ(sessions_of(second_task).size(), 1u);
  std::ostringstream again, quiet;
  EXPECT_EQ(run_sync(sync_options(), again, quiet), 0);
  EXPECT_EQ(again.str(), "sync: 0 uploads sent, 0 failed, 0 queued\n");
  EXPECT_EQ(sessions_of(first_task).size(), 1u);
}

TEST_F(OutboxTest, AnUploadCutShortResumesAndArrivesByteIdentical) {
  const std::string big = uuid(2);
  write_bundle(bundle(big), big, first_task, second_task, secrets, 3u << 20);
  const PackedUpload packed = pack(0, big);
  const auto staged = read_tree(packed.entry_dir + "/files");
  ASSERT_GT(staged.at("terminal.cast").size(), 3u << 20);
  server->drop_next_upload_after(1u << 20);
  const auto cut = drain(fast_policy(1));  // one attempt: the cut ends this drain
  EXPECT_EQ(cut.uploaded, 0u);
  ASSERT_TRUE(outbox.contains(packed.upload_id));
  tracker::HttpClient http(remote, fast_policy());
  auto status =
      tracker::json_reply(http.request("GET", http.project_path() + "/sessions/" +
                                                  packed.upload_id + "/files/terminal.cast/status"),
                          {200});
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_GT(status->at("offset").get<std::uint64_t>(), 0u);  // what came was kept
  EXPECT_FALSE(status->at("complete").get<bool>());

  const auto resumed = drain();
  EXPECT_EQ(resumed.uploaded, 1u);
  EXPECT_EQ(sessions_of(first_task).size(), 1u);
  const auto on_server = fetched(packed.upload_id);
  for (const auto& [name, text] : staged) EXPECT_EQ(on_server.at(name), text) << name;
}

TEST_F(OutboxTest, AnEntryTheServerRefusesIsKeptAsFailedAndTheDrainGoesOn) {
  const std::string orphan = uuid(3);
  write_bundle(bundle(orphan), orphan, "sd-nosuchtask", second_task, secrets);
  ASSERT_TRUE(bind_bundle(bundle(orphan), remote.url, remote.project));
  pack(0, orphan);  // first in line
  pack(0);
  const auto report = drain();
  EXPECT_EQ(report.uploaded, 1u);
  ASSERT_EQ(report.failed.size(), 1u);
  EXPECT_EQ(report.failed[0].upload_id, orphan + ".0");
  EXPECT_FALSE(report.failed[0].message.empty());
  EXPECT_FALSE(report.server_down);
  EXPECT_EQ(report.remaining, 1u);
  auto entry = outbox.entry(orphan + ".0");
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->manifest.failed);
  EXPECT_EQ(entry->manifest.last_error, report.failed[0].message);
  const auto ledger = read_ledger(bundle(orphan));
  ASSERT_TRUE(ledger && ledger->segment(0));
  EXPECT_EQ(ledger->segment(0)->state, "failed");
  EXPECT_EQ(sessions_of(first_task).size(), 1u);

  std::ostringstream out, err;
  SyncOptions options = sync_options();
  options.json = true;
  EXPECT_EQ(run_sync(options, out, err), 1);
  const json summary = json::parse(out.str());
  ASSERT_EQ(summary.at("failed").size(), 1u);
  EXPECT_EQ(summary.at("failed")[0].at("upload_id"), orphan + ".0");
  EXPECT_EQ(err.str(), "");  // --json: nothing but the summary
}

TEST_F(OutboxTest, StagingLeftoversAreIgnoredAndCleanedButALiveStagingIsNot) {
  std::filesystem::create_directories(outbox.dir() + "/.staging-dead-0001/files");
  write_file(outbox.dir() + "/.staging-dead-0001/files/terminal.cast", "half");
  std::filesystem::create_directories(outbox.dir() + "/.trash-gone-0002");
  auto live = outbox.stage("live.0", remote.url, remote.project);
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_TRUE(live->add_bytes("session.json", "{}"));
  EXPECT_TRUE(outbox.pending().empty());
  outbox.clean_stale();
  EXPECT_FALSE(std::filesystem::exists(outbox.dir() + "/.staging-dead-0001"));
  EXPECT_FALSE(std::filesystem::exists(outbox.dir() + "/.trash-gone-0002"));
  EXPECT_TRUE(std::filesystem::exists(live->file_path("session.json")));  // its builder holds it
  auto committed = live->commit();
  ASSERT_TRUE(committed) << committed.error().message;
  ASSERT_EQ(outbox.pending().size(), 1u);
  EXPECT_EQ(outbox.pending()[0].manifest.upload_id, "live.0");
  EXPECT_EQ(read_file(outbox.pending()[0].file_path("session.json")), "{}");
}

TEST_F(OutboxTest, AnAbandonedStagingLeavesNoEntry) {
  {
    auto staged = outbox.stage("abandoned.0", remote.url, remote.project);
    ASSERT_TRUE(staged);
    ASSERT_TRUE(staged->add_bytes("session.json", "{}"));
  }  // never committed
  EXPECT_TRUE(outbox.pending().empty());
  EXPECT_TRUE(std::filesystem::is_empty(outbox.dir()));
}

TEST_F(OutboxTest, TwoDrainsAtOnceSendEachEntryOnce) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    const std::string id = uuid(10 + i);
    write_bundle(bundle(id), id, first_task, second_task, secrets);
    pack(0, id);
    pack(1, id);
  }
  std::atomic<std::size_t> uploaded{0};
  const auto drainer = [&] {
    tracker::HttpClient http(remote, fast_policy());
    uploaded += outbox.drain(http).uploaded;
  };
  std::thread a(drainer), b(drainer);
  a.join();
  b.join();
  EXPECT_EQ(uploaded.load(), 8u);
  EXPECT_TRUE(outbox.pending().empty());
  EXPECT_EQ(sessions_of(first_task).size(), 4u);
  EXPECT_EQ(sessions_of(second_task).size(), 4u);
}

// ---- the background uploader ----

TEST_F(OutboxTest, TheUploaderPacksClosedSegmentsAndDrainsThemBeforeFinishing) {
  UploaderOptions options;
  options.policy = fast_policy();
  Uploader uploader(store, remote, secrets.environment(), {}, options);
  uploader.session_started(bundle());
  uploader.segment_closed(bundle(), 0);
  uploader.segment_closed(bundle(), 1);
  uploader.finish(20s);
  const UploadStatus status = uploader.status();
  EXPECT_EQ(status.uploaded, 2u);
  EXPECT_EQ(status.queued, 0u);
  EXPECT_FALSE(status.server_down);
  EXPECT_EQ(sessions_of(first_task).size(), 1u);
  EXPECT_EQ(sessions_of(second_task).size(), 1u);
  const auto ledger = read_ledger(bundle());
  ASSERT_TRUE(ledger && ledger->segment(0) && ledger->segment(1));
  EXPECT_EQ(ledger->segment(1)->state, "uploaded");
  for (const auto& [name, text] : fetched(upload1)) EXPECT_EQ(leaked(secrets, text), "") << name;
}

TEST_F(OutboxTest, WithTheServerRefusingConnectionsTheUploaderKeepsTheUploadQueued) {
  RemoteConfig dead = remote;
  dead.url = "http://127.0.0.1:1";  // refused
  UploaderOptions options;
  options.policy = fast_policy(1);
  Uploader uploader(store, dead, secrets.environment(), {}, options);
  uploader.segment_closed(bundle(), 0);
  uploader.finish(10s);
  const UploadStatus status = uploader.status();
  EXPECT_TRUE(status.server_down);
  EXPECT_EQ(status.queued, 1u);
  EXPECT_EQ(status.uploaded, 0u);
  EXPECT_NE(status.last_error.find("unreachable"), std::string::npos) << status.last_error;
  EXPECT_TRUE(outbox.contains(upload0));
}

TEST_F(OutboxTest, TheNextRunDrainsWhatWasLeftAndPacksWhatNeverReachedTheOutbox) {
  server->fail_next_requests(1000, 503);  // down for this run
  {
    UploaderOptions options;
    options.policy = fast_policy(1);
    Uploader uploader(store, remote, secrets.environment(), {}, options);
    uploader.segment_closed(bundle(), 0);
    uploader.finish(10s);
    EXPECT_TRUE(uploader.status().server_down);
    EXPECT_EQ(uploader.status().queued, 1u);
  }
  // The session was bound for the remote when it started (session_started), and segment 1 ended
  // too, but sddsh died before handing it over.
  ASSERT_TRUE(bind_bundle(bundle(), remote.url, remote.project));
  server->fail_next_requests(0, 503);
  UploaderOptions options;
  options.policy = fast_policy();
  Uploader next(store, remote, secrets.environment(), {}, options);
  next.finish(20s);
  EXPECT_EQ(next.status().uploaded, 2u);
  EXPECT_FALSE(next.status().server_down);
  EXPECT_EQ(sessions_of(first_task).size(), 1u);
  EXPECT_EQ(sessions_of(second_task).size(), 1u);
}

TEST_F(OutboxTest, ABadRedactionPatternStopsEveryUpload) {
  Uploader uploader(store, remote, secrets.environment(), {"(unclosed"});
  uploader.session_started(bundle());
  uploader.segment_closed(bundle(), 0);
  uploader.finish(5s);
  EXPECT_NE(uploader.status().last_error.find("uploads off"), std::string::npos);
  EXPECT_TRUE(outbox.pending().empty());
  EXPECT_TRUE(sessions_of(first_task).empty());
}

// ---- sync ----

TEST_F(OutboxTest, SyncWithoutARemoteSaysSoAndExits2) {
  const std::string config = dir / "no-config.json";
  ::setenv("SDDSH_CONFIG", config.c_str(), 1);
  for (const char* name : {"SDDSH_TRACKER_URL", "SDDSH_TRACKER_PROJECT", "SDDSH_TRACKER_TOKEN",
                           "SDDSH_TRACKER_TOKEN_FILE"})
    ::unsetenv(name);
  SyncOptions options = sync_options();
  options.remote.reset();
  std::ostringstream out, err;
  EXPECT_EQ(run_sync(options, out, err), 2);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.str().find("no remote tracker configured"), std::string::npos) << err.str();
  const std::string message = err.str();
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1) << message;
  ::unsetenv("SDDSH_CONFIG");
}

TEST_F(OutboxTest, SyncShowsProgressAsARedrawnLineOnATerminalAndAsLinesOtherwise) {
  ASSERT_TRUE(bind_bundle(bundle(), remote.url, remote.project));
  SyncOptions options = sync_options();
  options.terminal = true;
  std::ostringstream out, err;
  EXPECT_EQ(run_sync(options, out, err), 0);
  EXPECT_NE(err.str().find('\r'), std::string::npos);
  EXPECT_NE(err.str().find("100%"), std::string::npos);
  EXPECT_NE(err.str().find("terminal.cast"), std::string::npos);
  EXPECT_EQ(err.str().find('\n'), std::string::npos);  // one line, redrawn, then cleared

  const std::string other = uuid(4);
  write_bundle(bundle(other), other, first_task, second_task, secrets);
  ASSERT_TRUE(bind_bundle(bundle(other), remote.url, remote.project));
  options.terminal = false;
  std::ostringstream plain_out, plain_err;
  EXPECT_EQ(run_sync(options, plain_out, plain_err), 0);
  EXPECT_EQ(plain_err.str().find('\r'), std::string::npos);
  EXPECT_NE(plain_err.str().find("sync: 1/2 " + other + ".0 "), std::string::npos)
      << plain_err.str();
  EXPECT_EQ(plain_out.str(), "sync: 2 uploads sent, 0 failed, 0 queued\n");
}

// ---- --redact-local ----

TEST_F(OutboxTest, RedactLocalRewritesTheBundleAndNotesWhatItReplaced) {
  auto summary = redact_bundle_in_place(bundle(), redactor());
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_GT(summary->total(), 10u);
  for (const auto& [name, text] : read_tree(bundle())) EXPECT_EQ(leaked(secrets, text), "") << name;
  auto record = recorder::load_session_record(bundle());
  ASSERT_TRUE(record);
  ASSERT_FALSE(record->warnings.empty());
  EXPECT_TRUE(record->warnings.back().starts_with("redacted locally")) << record->warnings.back();
  auto cast = recorder::read_cast(bundle() + "/terminal.cast");
  ASSERT_TRUE(cast);
  EXPECT_FALSE(cast->problem);
  EXPECT_EQ(cast->events.size(), 10u);  // every event kept
}

// ---- the recorder's segment listener ----

TEST_F(OutboxTest, TheRecorderTellsEachEndedSegmentOnItsWorkerAfterSessionJsonHasIt) {
  auto made = recorder_outside_a_repository(uuid(5));
  ASSERT_TRUE(made) << made.error().message;
  std::mutex mutex;
  std::vector<std::pair<std::size_t, bool>> told;  // index, its end was in session.json
  const auto test_thread = std::this_thread::get_id();
  bool on_worker = true;
  const std::string bundle_dir = (*made)->bundle_dir();
  (*made)->set_segment_listener([&](std::size_t index) {
    auto record = recorder::load_session_record(bundle_dir);
    std::lock_guard lock(mutex);
    on_worker = on_worker && std::this_thread::get_id() != test_thread;
    told.emplace_back(index, record && index < record->task_segments.size() &&
                                 record->task_segments[index].end.has_value());
  });
  (*made)->switch_task(second_task);
  (*made)->finish(0);
  std::lock_guard lock(mutex);
  EXPECT_EQ(told, (std::vector<std::pair<std::size_t, bool>>{{0, true}, {1, true}}));
  EXPECT_TRUE(on_worker);
}

// The panel counts a segment as on its way from the moment it ends (its snapshot and diff are
// still to come) until the listener has it: no gap in which it could stop watching uploads.
TEST_F(OutboxTest, AnEndedSegmentIsInFlightUntilTheListenerHasIt) {
  auto made = recorder_outside_a_repository(uuid(6));
  ASSERT_TRUE(made) << made.error().message;
  recorder::SessionRecorder& recording = **made;
  std::mutex mutex;
  std::vector<std::size_t> in_flight_when_told;
  recording.set_segment_listener([&](std::size_t) {
    std::lock_guard lock(mutex);
    in_flight_when_told.push_back(recording.segments_in_flight());
  });
  EXPECT_EQ(recording.segments_in_flight(), 0u);
  recording.switch_task(second_task);
  EXPECT_EQ(recording.segments_in_flight(), 1u);
  recording.switch_task(std::nullopt);
  EXPECT_EQ(recording.segments_in_flight(), 2u);
  recording.finish(0);
  EXPECT_EQ(recording.segments_in_flight(), 0u);
  std::lock_guard lock(mutex);
  EXPECT_EQ(in_flight_when_told, (std::vector<std::size_t>{2, 1}));
}

}  // namespace
}  // namespace sddsh::app
