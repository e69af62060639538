#include "recorder/git_diff.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "recorder/git_snapshot.hpp"
#include "tests/unit/recorder/git_test_repo.hpp"

using sddsh::recorder::diff_snapshots;
using sddsh::recorder::DiffResult;
using sddsh::recorder::FileChange;
using sddsh::recorder::session_ref_name;
using sddsh::recorder::Snapshotter;
using sddsh::recorder::testing::GitTestRepo;

namespace {

#define ASSERT_OK(result) ASSERT_TRUE(result) << (result).error().message

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Snapshots taken one after another, each after its own change to the working tree.
class SnapshotDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Snapshotter::open(repo.path(), session_ref_name("diff"));
    ASSERT_OK(opened);
    snapshotter.emplace(std::move(*opened));
  }

  std::string take(const std::string& label) {
    auto snapshot = snapshotter->take(label);
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    return snapshot ? snapshot->commit : std::string();
  }

  DiffResult diff(const std::string& from, const std::string& to) {
    auto result = diff_snapshots(repo.path(), from, to);
    EXPECT_TRUE(result) << result.error().message;
    return result ? *result : DiffResult{};
  }

  GitTestRepo repo;
  std::optional<Snapshotter> snapshotter;
};

}  // namespace

TEST_F(SnapshotDiffTest, ModifiedFileWithLineCounts) {
  repo.write("a.txt", "one\ntwo\nthree\n");
  std::string start = take("start");
  repo.write("a.txt", "one\n2\nthree\nfour\n");
  std::string turn = take("turn 1");
  DiffResult result = diff(start, turn);
  EXPECT_EQ(result.files, 1);
  EXPECT_EQ(result.insertions, 2);
  EXPECT_EQ(result.deletions, 1);
  ASSERT_EQ(result.changes.size(), 1u);
  const FileChange& change = result.changes[0];
  EXPECT_EQ(change.status, 'M');
  EXPECT_EQ(change.path, "a.txt");
  EXPECT_EQ(change.old_path, "a.txt");
  EXPECT_EQ(change.added, 2);
  EXPECT_EQ(change.deleted, 1);
  EXPECT_FALSE(change.binary);
  EXPECT_TRUE(contains(result.patch, "diff --git a/a.txt b/a.txt\n")) << result.patch;
  EXPECT_TRUE(contains(result.patch, "-two\n+2\n three\n+four\n")) << result.patch;
  // The same patch git itself makes.
  EXPECT_EQ(result.patch, repo.git("diff " + start + " " + turn));
}

TEST_F(SnapshotDiffTest, AddedAndDeletedFiles) {
  repo.write("old.txt", "old\n");
  std::string start = take("start");
  repo.remove("old.txt");
  repo.write("new.txt", "new\nlines\n");
  std::string turn = take("turn 1");
  DiffResult result = diff(start, turn);
  ASSERT_EQ(result.changes.size(), 2u);
  EXPECT_EQ(result.changes[0].status, 'A');
  EXPECT_EQ(result.changes[0].path, "new.txt");
  EXPECT_EQ(result.changes[0].added, 2);
  EXPECT_EQ(result.changes[1].status, 'D');
  EXPECT_EQ(result.changes[1].path, "old.txt");
  EXPECT_EQ(result.changes[1].deleted, 1);
  EXPECT_EQ(result.insertions, 2);
  EXPECT_EQ(result.deletions, 1);
}

TEST_F(SnapshotDiffTest, DetectsRenames) {
  std::string body;
  for (int i = 0; i < 20; ++i) body += "line " + std::to_string(i) + "\n";
  repo.write("src/before.cpp", body);
  std::string start = take("start");
  repo.remove("src/before.cpp");
  repo.write("src/after.cpp", body + "one more\n");
  std::string turn = take("turn 1");
  DiffResult result = diff(start, turn);
  ASSERT_EQ(result.changes.size(), 1u);
  EXPECT_EQ(result.changes[0].status, 'R');
  EXPECT_EQ(result.changes[0].old_path, "src/before.cpp");
  EXPECT_EQ(result.changes[0].path, "src/after.cpp");
  EXPECT_EQ(result.changes[0].added, 1);
  EXPECT_EQ(result.files, 1);
  EXPECT_TRUE(contains(result.patch, "rename from src/before.cpp\nrename to src/after.cpp\n"))
      << result.patch;
}

TEST_F(SnapshotDiffTest, NotesBinaryFilesWithoutDumpingThem) {
  std::string bytes("\x00\x01\x02PNG-ish\xff", 11);
  repo.write("image.bin", bytes);
  std::string start = take("start");
  bytes[5] = 'X';
  repo.write("image.bin", bytes);
  std::string turn = take("turn 1");
  DiffResult result = diff(start, turn);
  ASSERT_EQ(result.changes.size(), 1u);
  EXPECT_TRUE(result.changes[0].binary);
  EXPECT_EQ(result.changes[0].added, 0);
  EXPECT_EQ(result.changes[0].deleted, 0);
  EXPECT_TRUE(contains(result.patch, "Binary files a/image.bin and b/image.bin differ"))
      << result.patch;
  EXPECT_FALSE(contains(result.patch, "PNG")) << result.patch;
}

TEST_F(SnapshotDiffTest, WholeSessionFromStartToEnd) {
  repo.write("a.txt", "a\n");
  std::string start = take("start");
  repo.write("a.txt", "a\nb\n");
  take("turn 1");
  repo.write("a.txt", "a\nb\nc\n");
  repo.write("b.txt", "b\n");
  std::string end = take("end");
  DiffResult result = diff(start, end);
  EXPECT_EQ(result.files, 2);
  EXPECT_EQ(result.insertions, 3);
  EXPECT_EQ(result.deletions, 0);
}

TEST_F(SnapshotDiffTest, FromTheEmptyTree) {
  repo.write("a.txt", "a\nb\n");
  repo.write("dir/c.txt", "c\n");
  std::string start = take("start");
  DiffResult result = diff("", start);
  EXPECT_EQ(result.files, 2);
  EXPECT_EQ(result.insertions, 3);
  ASSERT_EQ(result.changes.size(), 2u);
  EXPECT_EQ(result.changes[0].status, 'A');
  EXPECT_EQ(result.changes[1].path, "dir/c.txt");
  EXPECT_TRUE(contains(result.patch, "new file mode 100644")) << result.patch;
}

TEST_F(SnapshotDiffTest, NoChangesIsAnEmptyDiff) {
  repo.write("a.txt", "a\n");
  std::string start = take("start");
  std::string turn = take("turn 1");
  DiffResult result = diff(start, turn);
  EXPECT_EQ(result.files, 0);
  EXPECT_TRUE(result.changes.empty());
  EXPECT_EQ(result.patch, "");
}

TEST_F(SnapshotDiffTest, ReportsTypeChanges) {
  repo.write("link", "a file first\n");
  std::string start = take("start");
  repo.remove("link");
  std::filesystem::create_symlink("elsewhere", repo.absolute("link"));
  std::string turn = take("turn 1");
  DiffResult result = diff(start, turn);
  ASSERT_EQ(result.changes.size(), 1u);
  EXPECT_EQ(result.changes[0].status, 'T');
  EXPECT_EQ(result.changes[0].path, "link");
  EXPECT_EQ(result.changes[0].added, 1);
  EXPECT_EQ(result.changes[0].deleted, 1);
  EXPECT_EQ(result.files, 1);
  EXPECT_EQ(result.patch, repo.git("diff " + start + " " + turn));
}

TEST_F(SnapshotDiffTest, FailsOnUnknownCommits) {
  repo.write("a.txt", "a\n");
  std::string start = take("start");
  auto bad = diff_snapshots(repo.path(), start, "not-a-commit");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().message, "not-a-commit")) << bad.error().message;
  auto missing = diff_snapshots(repo.path(), start, std::string(40, 'a'));
  EXPECT_FALSE(missing);
}

TEST(GitDiff, FailsOutsideARepository) {
  sddsh::recorder::testing::TempDirectory directory;
  EXPECT_FALSE(diff_snapshots(directory.path(), "", std::string(40, 'a')));
}
