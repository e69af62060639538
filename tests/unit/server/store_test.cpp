// The server's store on a real data dir: tokens kept only as hashes, each project's tracker in
// the local tracker's own file, resumable content-addressed uploads, session uploads.
#include <cerrno>
#include <filesystem>
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "server_test_support.hpp"
#include "tracker-client/local_tracker.hpp"
#include "tracker-client/sha256.hpp"
#include "tracker-server/store.hpp"
#include "tracker-server/validate.hpp"

namespace sddsh::server {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = open_sqlite_store(dir_.path() + "/data");
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    ASSERT_TRUE(store_->create_project("demo"));
  }

  UploadPiece piece(const std::string& bytes, std::uint64_t start,
                    const std::string& name = "terminal.cast", const std::string& uid = "s1.0") {
    return {.project = "demo",
            .uid = uid,
            .name = name,
            .sha256 = tracker::sha256_hex(bytes),
            .start = start,
            .total = bytes.size()};
  }

  // Sends bytes [start, end) of `bytes` as one piece and finishes it.
  UploadFinish send(const std::string& bytes, std::uint64_t start, std::uint64_t end) {
    auto begun = store_->begin_upload(piece(bytes, start));
    EXPECT_TRUE(begun) << begun.error().message;
    EXPECT_EQ(begun->refusal, UploadRefusal::None);
    EXPECT_TRUE(begun->sink);
    EXPECT_TRUE(begun->sink->write(std::string_view(bytes).substr(start, end - start)));
    auto finished = begun->sink->finish();
    EXPECT_TRUE(finished) << finished.error().message;
    return *finished;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, TokensAreKeptOnlyAsTheirHash) {
  auto token = store_->create_token("demo", Role::Write, "alice laptop");
  ASSERT_TRUE(token);
  auto found = store_->find_token(*token);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->project, "demo");
  EXPECT_EQ((*found)->role, Role::Write);
  EXPECT_EQ((*found)->label, "alice laptop");
  // Neither the database nor its write-ahead log holds the token itself.
  for (const auto* file : {"/data/server.db", "/data/server.db-wal"})
    EXPECT_EQ(testing::read_file(dir_.path() + file).find(*token), std::string::npos) << file;
  const auto stored = testing::read_file(dir_.path() + "/data/server.db") +
                      testing::read_file(dir_.path() + "/data/server.db-wal");
  EXPECT_NE(stored.find(tracker::sha256_hex(*token)), std::string::npos);
  auto unknown = store_->find_token(*token + "x");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST_F(StoreTest, TokenForANewProjectMakesTheProject) {
  ASSERT_TRUE(store_->create_token("fresh", Role::Read, "r"));
  auto exists = store_->has_project("fresh");
  ASSERT_TRUE(exists);
  EXPECT_TRUE(*exists);
  EXPECT_FALSE(store_->create_token("Not A Name", Role::Read, "r"));
}

TEST_F(StoreTest, RevokedTokenIsUnknown) {
  auto token = store_->create_token("demo", Role::Admin, "ci");
  ASSERT_TRUE(token);
  auto tokens = store_->list_tokens();
  ASSERT_TRUE(tokens);
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ(tokens->front().identity.label, "ci");
  auto revoked = store_->revoke_token(tokens->front().identity.id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  auto found = store_->find_token(*token);
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);
  auto again = store_->revoke_token(tokens->front().identity.id);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_F(StoreTest, ProjectTasksLiveInTheLocalTrackersFile) {
  {
    auto locked = store_->tracker("demo", Access::Write);
    ASSERT_TRUE(locked) << locked.error().message;
    ASSERT_TRUE((*locked)->create({.title = "from the server"}));
  }
  // The same file, read by the local tracker's code in another connection.
  auto local = tracker::open_local_tracker(dir_.path() + "/data/projects/demo/tracker.db");
  ASSERT_TRUE(local);
  auto tasks = (*local)->list({});
  ASSERT_TRUE(tasks);
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->front().title, "from the server");
}

TEST_F(StoreTest, TrackerOfAMissingProjectIsNotFound) {
  auto locked = store_->tracker("nobody", Access::Read);
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, ENOENT);
}

TEST_F(StoreTest, OnlyWritesBumpTheGeneration) {
  const auto before = store_->tracker_generation("demo");
  { ASSERT_TRUE(store_->tracker("demo", Access::Read)); }
  EXPECT_EQ(store_->tracker_generation("demo"), before);
  {
    auto locked = store_->tracker("demo", Access::Write);
    ASSERT_TRUE(locked);
    EXPECT_EQ(locked->generation(), before + 1);
  }
  EXPECT_EQ(store_->tracker_generation("demo"), before + 1);
}

TEST_F(StoreTest, UploadResumesFromThePartialsSize) {
  const std::string bytes(10000, 'x');
  auto first = send(bytes, 0, 4000);
  EXPECT_FALSE(first.state.complete);
  EXPECT_EQ(first.state.offset, 4000u);
  auto state = store_->upload_state("demo", "s1.0", "terminal.cast", "");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->offset, 4000u);
  // A piece that does not start where the server stands is refused with the offset.
  auto wrong = store_->begin_upload(piece(bytes, 3000));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->refusal, UploadRefusal::OffsetMismatch);
  EXPECT_EQ(wrong->state.offset, 4000u);
  auto rest = send(bytes, 4000, 10000);
  ASSERT_TRUE(rest.state.complete);
  const auto sha = tracker::sha256_hex(bytes);
  EXPECT_EQ(testing::read_file(dir_.path() + "/data/blobs/" + sha.substr(0, 2) + "/" + sha), bytes);
  EXPECT_FALSE(fs::exists(dir_.path() + "/data/partial/demo/s1.0/terminal.cast"));
  auto files = store_->session_files("demo", "s1.0");
  ASSERT_TRUE(files);
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->front().sha256, sha);
}

TEST_F(StoreTest, AHashMismatchDropsThePartial) {
  const std::string bytes = "the real bytes";
  auto begun = store_->begin_upload(piece(bytes, 0));
  ASSERT_TRUE(begun && begun->sink);
  ASSERT_TRUE(begun->sink->write("other  bytes!!"));
  auto finished = begun->sink->finish();
  ASSERT_TRUE(finished);
  EXPECT_TRUE(finished->hash_mismatch);
  begun->sink.reset();
  auto state = store_->upload_state("demo", "s1.0", "terminal.cast", "");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->offset, 0u);
  EXPECT_FALSE(state->complete);
  EXPECT_FALSE(fs::exists(dir_.path() + "/data/partial/demo/s1.0/terminal.cast"));
}

TEST_F(StoreTest, BytesTheServerHoldsCompleteAtOnceForAnotherSession) {
  const std::string bytes = "shared transcript";
  ASSERT_TRUE(send(bytes, 0, bytes.size()).state.complete);
  auto again = store_->begin_upload(piece(bytes, 0, "transcript-a.jsonl", "s2.0"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->state.complete);
  EXPECT_FALSE(again->sink);
  auto found = store_->find_file("demo", "s2.0", "transcript-a.jsonl");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ(testing::read_file((*found)->path), bytes);
}

TEST_F(StoreTest, APartialWithEveryByteCompletesWhenAskedAbout) {
  const std::string bytes = "all of it arrived, then the request died";
  {
    auto begun = store_->begin_upload(piece(bytes, 0));
    ASSERT_TRUE(begun && begun->sink);
    ASSERT_TRUE(begun->sink->write(bytes));
  }  // dropped before finish(), as when the connection goes
  auto state = store_->upload_state("demo", "s1.0", "terminal.cast", tracker::sha256_hex(bytes));
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(state->complete);
  EXPECT_EQ(state->offset, bytes.size());
}

TEST_F(StoreTest, AnEmptyFileUploads) {
  auto finished = send("", 0, 0);
  EXPECT_TRUE(finished.state.complete);
  EXPECT_EQ(finished.state.offset, 0u);
}

TEST_F(StoreTest, ASecondWriterOfTheSameFileWaitsForTheFirst) {
  const std::string bytes(100, 'y');
  auto first = store_->begin_upload(piece(bytes, 0));
  ASSERT_TRUE(first && first->sink);
  ASSERT_TRUE(first->sink->write(bytes.substr(0, 60)));
  auto second =
      std::async(std::launch::async, [&] { return store_->begin_upload(piece(bytes, 0)); });
  // Held back while the first writer lives (a bounded look: it must not finish meanwhile).
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  ASSERT_TRUE(first->sink->write(bytes.substr(60, 20)));
  first->sink.reset();
  auto started = second.get();
  ASSERT_TRUE(started);
  EXPECT_EQ(started->refusal, UploadRefusal::OffsetMismatch);
  EXPECT_EQ(started->state.offset, 80u);
}

TEST_F(StoreTest, SessionPutTwiceReplacesAndListsNewestFirst) {
  auto put = [&](const std::string& uid, const std::string& started, const std::string& agent) {
    SessionUpload upload{.uid = uid,
                         .task_id = "sd-1",
                         .started_at = started,
                         .metadata = {{"agent", agent}},
                         .uploaded_by = "alice"};
    auto outcome = store_->put_session("demo", upload);
    EXPECT_TRUE(outcome);
    return *outcome;
  };
  EXPECT_EQ(put("a.0", "2026-01-01T00:00:00.000Z", "claude"), PutOutcome::Created);
  EXPECT_EQ(put("b.0", "2026-02-01T00:00:00.000Z", "codex"), PutOutcome::Created);
  EXPECT_EQ(put("a.0", "2026-01-01T00:00:00.000Z", "gemini"), PutOutcome::Replaced);
  auto sessions = store_->task_sessions("demo", "sd-1");
  ASSERT_TRUE(sessions);
  ASSERT_EQ(sessions->size(), 2u);
  EXPECT_EQ((*sessions)[0].uid, "b.0");
  EXPECT_EQ((*sessions)[1].uid, "a.0");
  EXPECT_EQ((*sessions)[1].metadata["agent"], "gemini");
  EXPECT_EQ((*sessions)[1].uploaded_by, "alice");
  EXPECT_FALSE((*sessions)[1].uploaded_at.empty());
}

// ---- validate.hpp ----

TEST(ValidateTest, Names) {
  EXPECT_TRUE(is_project_name("demo-1_x"));
  EXPECT_FALSE(is_project_name("Demo"));
  EXPECT_FALSE(is_project_name("-demo"));
  EXPECT_FALSE(is_project_name(std::string(64, 'a')));
  EXPECT_TRUE(is_project_name(std::string(63, 'a')));
  EXPECT_TRUE(is_task_id("sd-1a2b"));
  EXPECT_TRUE(is_task_id("T012.x"));
  EXPECT_FALSE(is_task_id(".hidden"));
  EXPECT_FALSE(is_task_id("a/b"));
  EXPECT_TRUE(is_upload_id("20261121-101500-ab12cd.0"));
  EXPECT_FALSE(is_upload_id("a..b"));
  EXPECT_FALSE(is_file_name("../x"));
  EXPECT_FALSE(is_file_name("dir/x"));
  EXPECT_TRUE(is_file_name("turn-0001.patch"));
}

TEST(ValidateTest, TargetsDecodeEachSegmentOnItsOwn) {
  auto target = parse_target("/v1/projects/a%2Fb/tasks?limit=5&dir=specs%2F001+x");
  ASSERT_TRUE(target);
  ASSERT_EQ(target->segments.size(), 4u);
  EXPECT_EQ(target->segments[2], "a/b");  // one segment still: and not a project name
  ASSERT_EQ(target->query.size(), 2u);
  EXPECT_EQ(target->query[1].second, "specs/001 x");
  EXPECT_FALSE(parse_target("/v1/%zz"));
  EXPECT_FALSE(parse_target("/v1/%00"));
  EXPECT_FALSE(parse_target("/v1/%4"));
  EXPECT_FALSE(parse_target("v1/health"));
}

TEST(ValidateTest, ContentRange) {
  auto range = parse_content_range("bytes 0-99/1000");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->end, 99u);
  EXPECT_EQ(range->total, 1000u);
  EXPECT_FALSE(parse_content_range("bytes 5-4/10"));
  EXPECT_FALSE(parse_content_range("bytes 0-10/10"));
  EXPECT_FALSE(parse_content_range("bytes */10"));
  EXPECT_FALSE(parse_content_range("bytes -1-5/10"));
  EXPECT_FALSE(parse_content_range("bytes 0-1/99999999999999999999999"));
}

TEST(ValidateTest, JsonDepth) {
  EXPECT_TRUE(json_depth_within(R"({"a":[1,{"b":"[[[["}]})", 3));
  EXPECT_FALSE(json_depth_within(std::string(100, '['), 64));
}

TEST(ValidateTest, BearerTokens) {
  EXPECT_EQ(bearer_token("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(bearer_token("bearer  abc ").value_or(""), "abc");
  EXPECT_FALSE(bearer_token("Basic abc"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(is_plausible_token("has space"));
}

}  // namespace
}  // namespace sddsh::server
