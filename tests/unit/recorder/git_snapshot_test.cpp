#include "recorder/git_snapshot.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "tests/unit/recorder/git_test_repo.hpp"

using sddsh::recorder::read_git_facts;
using sddsh::recorder::session_ref_name;
using sddsh::recorder::SnapshotOptions;
using sddsh::recorder::Snapshotter;
using sddsh::recorder::strip_credentials;
using sddsh::recorder::testing::GitTestRepo;
using sddsh::recorder::testing::mtime_nanoseconds;
using sddsh::recorder::testing::read_file;
using sddsh::recorder::testing::TempDirectory;
using sddsh::recorder::testing::trim;

namespace {

std::string files_in(const GitTestRepo& repo, const std::string& commit) {
  return repo.git("ls-tree -r --name-only " + commit);
}

std::string content_in(const GitTestRepo& repo, const std::string& commit,
                       const std::string& path) {
  return repo.git("show " + commit + ":" + path);
}

// Everything of the repository that snapshots must leave exactly as it was.
struct RepositoryState {
  std::string index_bytes;
  std::int64_t index_mtime = 0;
  std::string head_file, head_log, branches, stash, status, refs;

  static RepositoryState of(const GitTestRepo& repo) {
    RepositoryState state;
    // Read before any git command: `git status` may refresh the index file itself.
    state.index_bytes = read_file(repo.absolute(".git/index"));
    state.index_mtime = mtime_nanoseconds(repo.absolute(".git/index"));
    state.head_file = read_file(repo.absolute(".git/HEAD"));
    state.head_log = read_file(repo.absolute(".git/logs/HEAD"));
    state.branches = repo.git("branch -a -v");
    state.stash = repo.git("stash list");
    state.status = repo.git("--no-optional-locks status --porcelain=v1 --untracked-files=all");
    state.refs = repo.git("for-each-ref refs/heads refs/remotes refs/stash refs/tags");
    return state;
  }
  bool operator==(const RepositoryState&) const = default;
};

void set_mtime(const std::string& path, std::int64_t seconds) {
  const timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

#define ASSERT_OK(result) ASSERT_TRUE(result) << (result).error().message

}  // namespace

// ---------------------------------------------------------------------------------------------
// Facts

TEST(StripCredentials, RemovesUserAndPasswordFromHttpUrls) {
  EXPECT_EQ(strip_credentials("https://user:pw@host/x.git"), "https://host/x.git");
  EXPECT_EQ(strip_credentials("https://token@github.com/o/r"), "https://github.com/o/r");
  EXPECT_EQ(strip_credentials("http://u:p@host:8080/x?q=1"), "http://host:8080/x?q=1");
  EXPECT_EQ(strip_credentials("https://u:p@ss@host/x"), "https://host/x");
  EXPECT_EQ(strip_credentials("https://u:p@host"), "https://host");
}

TEST(StripCredentials, KeepsSshUserButNotPassword) {
  EXPECT_EQ(strip_credentials("ssh://git@host/x.git"), "ssh://git@host/x.git");
  EXPECT_EQ(strip_credentials("ssh://git:secret@host:22/x"), "ssh://git@host:22/x");
  EXPECT_EQ(strip_credentials("git+ssh://me:pw@host/x"), "git+ssh://me@host/x");
}

TEST(StripCredentials, LeavesUrlsWithoutCredentialsAlone) {
  EXPECT_EQ(strip_credentials("git@github.com:o/r.git"), "git@github.com:o/r.git");
  EXPECT_EQ(strip_credentials("https://host/a@b"), "https://host/a@b");
  EXPECT_EQ(strip_credentials("/srv/git/x.git"), "/srv/git/x.git");
  EXPECT_EQ(strip_credentials("file:///srv/git/x.git"), "file:///srv/git/x.git");
  EXPECT_EQ(strip_credentials(""), "");
}

TEST(GitFacts, OutsideARepositoryIsNotAnError) {
  TempDirectory directory;
  auto facts = read_git_facts(directory.path());
  ASSERT_OK(facts);
  EXPECT_FALSE(facts->in_repository);
  EXPECT_TRUE(facts->dirty_files.empty());
}

TEST(GitFacts, BranchHeadRemoteAndDirtyFiles) {
  GitTestRepo repo;
  repo.write(".gitignore", "*.log\n");
  repo.write("a.txt", "a\n");
  repo.write("b.txt", "b\n");
  repo.commit_all("one");
  repo.git("remote add origin https://alice:s3cret@example.com/o/r.git");
  repo.write("a.txt", "changed\n");
  repo.remove("b.txt");
  repo.write("new.txt", "new\n");
  repo.write("noise.log", "ignored\n");
  repo.write("staged.txt", "s\n");
  repo.git("add staged.txt");

  auto facts = read_git_facts(repo.absolute("."));
  ASSERT_OK(facts);
  EXPECT_TRUE(facts->in_repository);
  EXPECT_EQ(facts->branch, "main");
  EXPECT_FALSE(facts->detached);
  EXPECT_FALSE(facts->unborn);
  EXPECT_EQ(facts->head, trim(repo.git("rev-parse HEAD")));
  EXPECT_EQ(facts->remote_url, "https://example.com/o/r.git");
  EXPECT_EQ(std::filesystem::canonical(facts->workdir), std::filesystem::canonical(repo.path()));
  EXPECT_EQ(std::filesystem::canonical(facts->common_dir),
            std::filesystem::canonical(repo.absolute(".git")));
  EXPECT_EQ(facts->dirty_files,
            (std::vector<std::string>{" M a.txt", " D b.txt", "?? new.txt", "A  staged.txt"}));
  EXPECT_EQ(facts->dirty_total, 4u);
}

TEST(GitFacts, ShowsStagedRenamesAndWorksFromASubdirectory) {
  GitTestRepo repo;
  repo.write("src/old.txt", "some content that stays the same\n");
  repo.commit_all("one");
  repo.git("mv src/old.txt src/new.txt");
  auto facts = read_git_facts(repo.absolute("src"));
  ASSERT_OK(facts);
  EXPECT_EQ(facts->dirty_files, std::vector<std::string>{"R  src/old.txt -> src/new.txt"});
}

TEST(GitFacts, PrefersTheUpstreamRemote) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  repo.git("remote add origin https://example.com/origin.git");
  repo.git("remote add upstream https://bob:pw@example.com/upstream.git");
  repo.git("config branch.main.remote upstream");
  repo.git("config branch.main.merge refs/heads/main");
  auto facts = read_git_facts(repo.path());
  ASSERT_OK(facts);
  EXPECT_EQ(facts->remote_url, "https://example.com/upstream.git");
}

TEST(GitFacts, DetachedHead) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  repo.git("checkout -q --detach");
  auto facts = read_git_facts(repo.path());
  ASSERT_OK(facts);
  EXPECT_TRUE(facts->detached);
  EXPECT_EQ(facts->branch, "");
  EXPECT_EQ(facts->head, trim(repo.git("rev-parse HEAD")));
  EXPECT_EQ(facts->remote_url, "");
}

TEST(GitFacts, UnbornBranch) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  auto facts = read_git_facts(repo.path());
  ASSERT_OK(facts);
  EXPECT_TRUE(facts->in_repository);
  EXPECT_TRUE(facts->unborn);
  EXPECT_FALSE(facts->detached);
  EXPECT_EQ(facts->head, "");
  EXPECT_EQ(facts->branch, "");
  EXPECT_EQ(facts->dirty_files, std::vector<std::string>{"?? a.txt"});
}

TEST(GitFacts, CapsTheDirtyFileList) {
  GitTestRepo repo;
  for (int i = 0; i < 1005; ++i) repo.write("f" + std::to_string(i), "x");
  auto facts = read_git_facts(repo.path());
  ASSERT_OK(facts);
  EXPECT_EQ(facts->dirty_files.size(), sddsh::recorder::max_dirty_files);
  EXPECT_EQ(facts->dirty_total, 1005u);
}

// ---------------------------------------------------------------------------------------------
// Snapshots

TEST(GitSnapshot, TakesTrackedAndUntrackedFiles) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  repo.write("a.txt", "changed\n");
  repo.write("new/b.txt", "b\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(snapshot->label, "start");
  EXPECT_EQ(files_in(repo, snapshot->commit), "a.txt\nnew/b.txt\n");
  EXPECT_EQ(content_in(repo, snapshot->commit, "a.txt"), "changed\n");
  EXPECT_EQ(trim(repo.git("rev-parse " + snapshot->commit + "^{tree}")), snapshot->tree);
  EXPECT_NEAR(static_cast<double>(snapshot->time), static_cast<double>(now_seconds()), 5);
  EXPECT_TRUE(snapshot->omitted_large.empty());
  EXPECT_TRUE(snapshot->omitted_lfs.empty());
  EXPECT_TRUE(snapshot->omitted_unreadable.empty());
}

TEST(GitSnapshot, OpensFromASubdirectory) {
  GitTestRepo repo;
  repo.write("top.txt", "t\n");
  repo.write("deep/down/file.txt", "f\n");
  auto snapshotter = Snapshotter::open(repo.absolute("deep/down"), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(files_in(repo, snapshot->commit), "deep/down/file.txt\ntop.txt\n");
}

TEST(GitSnapshot, LeavesIgnoredFilesOut) {
  GitTestRepo repo;
  repo.write(".gitignore", "*.log\nbuild/\n");
  repo.write("keep.txt", "k\n");
  repo.write("noise.log", "n\n");
  repo.write("build/out.o", "o\n");
  repo.write(".git/info/exclude", "secret.env\n");
  repo.write("secret.env", "TOKEN=1\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(files_in(repo, snapshot->commit), ".gitignore\nkeep.txt\n");
}

TEST(GitSnapshot, DropsDeletedFiles) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.write("dir/b.txt", "b\n");
  repo.commit_all("one");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  repo.remove("a.txt");
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  EXPECT_EQ(files_in(repo, start->commit), "dir/b.txt\n");
  repo.remove("dir");
  repo.write("c.txt", "c\n");
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(files_in(repo, turn->commit), "c.txt\n");
}

TEST(GitSnapshot, OmitsAndListsLargeFiles) {
  GitTestRepo repo;
  repo.write("tracked.bin", std::string(50, 't'));
  repo.commit_all("one");
  repo.write("tracked.bin", std::string(200, 'T'));
  repo.write("big.bin", std::string(200, 'b'));
  repo.write("small.bin", std::string(100, 's'));
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"), SnapshotOptions{100});
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(snapshot->omitted_large, (std::vector<std::string>{"big.bin", "tracked.bin"}));
  EXPECT_EQ(files_in(repo, snapshot->commit), "small.bin\ntracked.bin\n");
  // A tracked large file keeps the version the real index has.
  EXPECT_EQ(content_in(repo, snapshot->commit, "tracked.bin"), std::string(50, 't'));
}

TEST(GitSnapshot, OmitsAndListsLfsFiles) {
  GitTestRepo repo;
  repo.write(".gitattributes", "*.psd filter=lfs diff=lfs merge=lfs -text\n");
  repo.write("art.psd", "pretend this is a huge image");
  repo.write("notes.txt", "n\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(snapshot->omitted_lfs, std::vector<std::string>{"art.psd"});
  EXPECT_EQ(files_in(repo, snapshot->commit), ".gitattributes\nnotes.txt\n");
}

TEST(GitSnapshot, RecordsASubmoduleAsItsCommit) {
  GitTestRepo library;
  library.write("lib.txt", "l\n");
  library.commit_all("library");
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  repo.git("submodule add -q " + library.path() + " libs/lib");
  repo.git("commit -q -m submodule");
  repo.write("libs/lib/dirty.txt", "uncommitted work inside the submodule\n");
  repo.write("b.txt", "b\n");

  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  std::string library_head = trim(library.git("rev-parse HEAD"));
  EXPECT_EQ(repo.git("ls-tree " + start->commit + " libs/lib"),
            "160000 commit " + library_head + "\tlibs/lib\n");
  EXPECT_EQ(files_in(repo, start->commit), ".gitmodules\na.txt\nb.txt\nlibs/lib\n");

  // A commit inside the submodule moves the gitlink, as `git add -A` would.
  GitTestRepo::git_in(repo.absolute("libs/lib"), "add dirty.txt");
  GitTestRepo::git_in(repo.absolute("libs/lib"), "commit -q -m more");
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  std::string moved = trim(GitTestRepo::git_in(repo.absolute("libs/lib"), "rev-parse HEAD"));
  EXPECT_EQ(repo.git("ls-tree " + turn->commit + " libs/lib"),
            "160000 commit " + moved + "\tlibs/lib\n");
}

TEST(GitSnapshot, WorksOnADetachedHead) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  repo.write("a.txt", "b\n");
  repo.commit_all("two");
  repo.git("checkout -q --detach HEAD~1");
  repo.write("c.txt", "c\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(files_in(repo, snapshot->commit), "a.txt\nc.txt\n");
  EXPECT_EQ(content_in(repo, snapshot->commit, "a.txt"), "a\n");
  EXPECT_EQ(
      trim(repo.git("log -1 '--format=%(trailers:key=sddsh-head,valueonly)' " + snapshot->commit)),
      trim(repo.git("rev-parse HEAD")));
}

TEST(GitSnapshot, WorksInARepositoryWithoutCommits) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.write("dir/b.txt", "b\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  EXPECT_EQ(files_in(repo, start->commit), "a.txt\ndir/b.txt\n");
  EXPECT_EQ(trim(repo.git("rev-list --parents " + start->commit)), start->commit);
  EXPECT_EQ(
      trim(repo.git("log -1 '--format=%(trailers:key=sddsh-head,valueonly)' " + start->commit)),
      "(unborn)");
  EXPECT_FALSE(std::filesystem::exists(repo.absolute(".git/index")));
  EXPECT_TRUE(repo.try_git("rev-parse --verify -q HEAD").output.empty());
}

TEST(GitSnapshot, ChainsSnapshotsUnderTheSessionRef) {
  GitTestRepo repo;
  repo.write("a.txt", "1\n");
  repo.commit_all("one");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("abc"));
  ASSERT_OK(snapshotter);
  EXPECT_EQ(snapshotter->ref_name(), "refs/sddsh/sessions/abc");
  EXPECT_EQ(snapshotter->tip(), "");
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  repo.write("a.txt", "2\n");
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  repo.write("a.txt", "3\n");
  auto end = snapshotter->take("end");
  ASSERT_OK(end);
  EXPECT_EQ(snapshotter->tip(), end->commit);

  EXPECT_EQ(repo.git("log --format=%s refs/sddsh/sessions/abc"), "end\nturn 1\nstart\n");
  EXPECT_EQ(trim(repo.git("rev-parse refs/sddsh/sessions/abc")), end->commit);
  EXPECT_EQ(trim(repo.git("rev-parse refs/sddsh/sessions/abc^")), turn->commit);
  EXPECT_EQ(trim(repo.git("rev-parse refs/sddsh/sessions/abc~2")), start->commit);
  EXPECT_EQ(trim(repo.git("rev-list --count refs/sddsh/sessions/abc")), "3");
  EXPECT_EQ(
      trim(repo.git("log -1 '--format=%(trailers:key=sddsh-session,valueonly)' " + end->commit)),
      "abc");
  EXPECT_EQ(trim(repo.git("log -1 --format=%an%x20%ae " + end->commit)), "sddsh sddsh@localhost");
  EXPECT_EQ(content_in(repo, turn->commit, "a.txt"), "2\n");
  EXPECT_EQ(content_in(repo, end->commit, "a.txt"), "3\n");
}

TEST(GitSnapshot, LeavesHeadIndexBranchesStashAndWorkingTreeAlone) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.write("b.txt", "b\n");
  repo.commit_all("one");
  repo.git("branch feature");
  repo.write("a.txt", "stashed\n");
  repo.git("stash -q");
  repo.write("a.txt", "staged\n");
  repo.git("add a.txt");
  repo.write("a.txt", "staged, then changed again\n");
  repo.remove("b.txt");
  repo.write("untracked.txt", "u\n");
  RepositoryState before = RepositoryState::of(repo);
  std::string worktree_a = repo.read("a.txt");

  {
    auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
    ASSERT_OK(snapshotter);
    for (const char* label : {"start", "turn 1", "end"}) ASSERT_OK(snapshotter->take(label));
  }
  EXPECT_TRUE(RepositoryState::of(repo) == before);
  EXPECT_EQ(RepositoryState::of(repo).status, before.status);
  EXPECT_EQ(repo.read("a.txt"), worktree_a);
  EXPECT_FALSE(std::filesystem::exists(repo.absolute("b.txt")));
  // The session's scratch files never outlive the moment they are needed.
  EXPECT_TRUE(std::filesystem::is_empty(repo.absolute(".git/sddsh/tmp")));
}

TEST(GitSnapshot, ContinuesAnExistingChain) {
  GitTestRepo repo;
  repo.write("a.txt", "1\n");
  std::string first;
  {
    auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("again"));
    ASSERT_OK(snapshotter);
    auto start = snapshotter->take("start");
    ASSERT_OK(start);
    first = start->commit;
  }
  repo.write("a.txt", "2\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("again"));
  ASSERT_OK(snapshotter);
  EXPECT_EQ(snapshotter->tip(), first);
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(trim(repo.git("rev-parse " + turn->commit + "^")), first);
  EXPECT_EQ(repo.git("log --format=%s refs/sddsh/sessions/again"), "turn 1\nstart\n");
}

TEST(GitSnapshot, RefusesToMoveARefSomethingElseMoved) {
  GitTestRepo repo;
  repo.write("a.txt", "1\n");
  repo.commit_all("one");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  ASSERT_OK(snapshotter->take("start"));
  repo.git("update-ref refs/sddsh/sessions/s1 HEAD");
  auto turn = snapshotter->take("turn 1");
  EXPECT_FALSE(turn);
  EXPECT_EQ(trim(repo.git("rev-parse refs/sddsh/sessions/s1")), trim(repo.git("rev-parse HEAD")));
}

// A file rewritten (same size, same inode) in the same clock tick as the previous snapshot
// would have the stat data that snapshot recorded; only the racy-git rules catch it. This loop
// is the real sequence, rewrites right after each snapshot, but whether a rewrite lands in the
// same tick depends on timing; the next two tests pin both tick boundaries exactly.
TEST(GitSnapshot, CatchesFilesRewrittenRightAfterASnapshot) {
  GitTestRepo repo;
  repo.write("a.txt", "v000\n");
  repo.commit_all("one");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  std::vector<std::pair<std::string, std::string>> taken;
  for (int i = 1; i <= 60; ++i) {
    char content[16];
    std::snprintf(content, sizeof content, "v%03d\n", i);
    repo.write("a.txt", content);
    auto snapshot = snapshotter->take("turn");
    ASSERT_OK(snapshot);
    taken.emplace_back(snapshot->commit, content);
  }
  for (const auto& [commit, content] : taken) EXPECT_EQ(content_in(repo, commit, "a.txt"), content);
}

TEST(GitSnapshot, RehashesFilesNotOlderThanItsIndex) {
  GitTestRepo repo;
  repo.git("config core.trustctime false");  // so that mtime, size and inode are all there is
  repo.write("a.txt", "one\n");
  repo.commit_all("one");
  std::int64_t future = now_seconds() + 3600;
  set_mtime(repo.absolute("a.txt"), future);
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  repo.write("a.txt", "two\n");
  set_mtime(repo.absolute("a.txt"), future);
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(content_in(repo, turn->commit, "a.txt"), "two\n");
}

// The real index's racily clean entries stay racy in the copy: it keeps the original's mtime.
TEST(GitSnapshot, HonoursRacilyCleanEntriesOfTheRealIndex) {
  GitTestRepo repo;
  repo.git("config core.trustctime false");
  std::int64_t tick = now_seconds() - 100;
  repo.write("a.txt", "one\n");
  set_mtime(repo.absolute("a.txt"), tick);
  repo.commit_all("one");
  repo.write("a.txt", "two\n");
  set_mtime(repo.absolute("a.txt"), tick);
  set_mtime(repo.absolute(".git/index"), tick);  // as if the index was written in that tick
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  EXPECT_EQ(content_in(repo, start->commit, "a.txt"), "two\n");
}

TEST(GitSnapshot, WorksDuringAMergeConflict) {
  GitTestRepo repo;
  repo.write("f.txt", "base\n");
  repo.commit_all("base");
  repo.git("checkout -q -b other");
  repo.write("f.txt", "other\n");
  repo.commit_all("other");
  repo.git("checkout -q main");
  repo.write("f.txt", "main\n");
  repo.commit_all("main");
  EXPECT_NE(repo.try_git("merge other").status, 0);
  std::string conflicted = repo.read("f.txt");
  RepositoryState before = RepositoryState::of(repo);

  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(content_in(repo, snapshot->commit, "f.txt"), conflicted);
  EXPECT_TRUE(RepositoryState::of(repo) == before);
  EXPECT_NE(repo.git("ls-files -u"), "");
}

TEST(GitSnapshot, WorksInALinkedWorktree) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  TempDirectory elsewhere;
  std::string worktree = elsewhere.path() + "/wt";
  repo.git("worktree add -q -b side " + worktree);
  GitTestRepo::write_in(worktree, "side.txt", "s\n");
  std::string main_index = read_file(repo.absolute(".git/index"));
  std::string side_index = read_file(repo.absolute(".git/worktrees/wt/index"));

  auto snapshotter = Snapshotter::open(worktree, session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(files_in(repo, snapshot->commit), "a.txt\nside.txt\n");
  EXPECT_EQ(read_file(repo.absolute(".git/index")), main_index);
  EXPECT_EQ(read_file(repo.absolute(".git/worktrees/wt/index")), side_index);
  EXPECT_TRUE(std::filesystem::exists(repo.absolute(".git/sddsh/tmp")));
}

TEST(GitSnapshot, KeepsSymlinksAsLinks) {
  GitTestRepo repo;
  repo.write("target.txt", "t\n");
  std::filesystem::create_symlink("target.txt", repo.absolute("link"));
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(repo.git("ls-tree " + snapshot->commit + " link").substr(0, 6), "120000");
  EXPECT_EQ(content_in(repo, snapshot->commit, "link"), "target.txt");
}

TEST(GitSnapshot, FailsOutsideARepository) {
  TempDirectory directory;
  auto snapshotter = Snapshotter::open(directory.path(), session_ref_name("s1"));
  ASSERT_FALSE(snapshotter);
  EXPECT_NE(snapshotter.error().message.find(directory.path()), std::string::npos)
      << snapshotter.error().message;
}

TEST(GitSnapshot, FailsInABareRepository) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  TempDirectory elsewhere;
  std::string bare = elsewhere.path() + "/bare.git";
  repo.git("clone -q --bare . " + bare);
  auto snapshotter = Snapshotter::open(bare, session_ref_name("s1"));
  ASSERT_FALSE(snapshotter);
  EXPECT_NE(snapshotter.error().message.find("bare"), std::string::npos);
  auto facts = read_git_facts(bare);
  ASSERT_OK(facts);
  EXPECT_TRUE(facts->in_repository);
  EXPECT_EQ(facts->workdir, "");
}

TEST(GitSnapshot, RefusesAnInvalidRefName) {
  GitTestRepo repo;
  EXPECT_FALSE(Snapshotter::open(repo.path(), "refs/sddsh/sessions/bad..name"));
  EXPECT_FALSE(Snapshotter::open(repo.path(), "sessions-without-refs"));
}

TEST(GitSnapshot, FollowsFilesAndDirectoriesThatSwapPlaces) {
  GitTestRepo repo;
  repo.write("was-file", "f\n");
  repo.write("was-dir/inner.txt", "i\n");
  repo.write("was-dir-then-link/inner.txt", "l\n");
  repo.write("elsewhere/inner.txt", "e\n");
  repo.commit_all("one");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  ASSERT_OK(snapshotter->take("start"));
  repo.remove("was-file");
  repo.write("was-file/now-inside.txt", "n\n");
  repo.remove("was-dir");
  repo.write("was-dir", "now a file\n");
  repo.remove("was-dir-then-link");
  std::filesystem::create_symlink("elsewhere", repo.absolute("was-dir-then-link"));
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(files_in(repo, turn->commit),
            "elsewhere/inner.txt\nwas-dir\nwas-dir-then-link\nwas-file/now-inside.txt\n");
  EXPECT_EQ(repo.git("ls-tree " + turn->commit + " was-dir-then-link").substr(0, 6), "120000");
}

TEST(GitSnapshot, RecordsTheExecutableBit) {
  GitTestRepo repo;
  repo.write("run.sh", "echo hi\n");
  repo.commit_all("one");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  ASSERT_OK(snapshotter->take("start"));
  std::filesystem::permissions(repo.absolute("run.sh"), std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(repo.git("ls-tree " + turn->commit + " run.sh").substr(0, 6), "100755");
}

TEST(GitSnapshot, RecordsANestedRepositoryAsItsCommit) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.write("vendor/tool/tool.txt", "t\n");
  GitTestRepo::git_in(repo.absolute("vendor/tool"), "init -q");
  GitTestRepo::git_in(repo.absolute("vendor/tool"), "add tool.txt");
  GitTestRepo::git_in(repo.absolute("vendor/tool"), "commit -q -m tool");
  repo.write("empty-repo/file.txt", "no commit yet\n");
  GitTestRepo::git_in(repo.absolute("empty-repo"), "init -q");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  std::string tool_head = trim(GitTestRepo::git_in(repo.absolute("vendor/tool"), "rev-parse HEAD"));
  EXPECT_EQ(repo.git("ls-tree " + snapshot->commit + " vendor/tool"),
            "160000 commit " + tool_head + "\tvendor/tool\n");
  // git add -A refuses a repository without a commit; the snapshot lists it and goes on.
  EXPECT_EQ(snapshot->omitted_unreadable, std::vector<std::string>{"empty-repo"});
  EXPECT_EQ(files_in(repo, snapshot->commit), "a.txt\nvendor/tool\n");
}

TEST(GitSnapshot, KeepsTrackedFilesThatIgnoreRulesMatch) {
  GitTestRepo repo;
  repo.write("config.local", "tracked before it was ignored\n");
  repo.commit_all("one");
  repo.write(".gitignore", "*.local\nbuild/\n!build/keep.txt\n");
  repo.write("config.local", "changed\n");
  repo.write("other.local", "ignored\n");
  repo.write("build/keep.txt", "git does not re-include a file of an excluded directory\n");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(files_in(repo, snapshot->commit), ".gitignore\nconfig.local\n");
  EXPECT_EQ(content_in(repo, snapshot->commit, "config.local"), "changed\n");
}

TEST(GitSnapshot, TakesIntentToAddFilesAndKeepsSkipWorktreeOnes) {
  GitTestRepo repo;
  repo.write("sparse.txt", "s\n");
  repo.commit_all("one");
  repo.git("update-index --skip-worktree sparse.txt");
  repo.remove("sparse.txt");
  repo.write("later.txt", "content\n");
  repo.git("add -N later.txt");
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(files_in(repo, snapshot->commit), "later.txt\nsparse.txt\n");
  EXPECT_EQ(content_in(repo, snapshot->commit, "later.txt"), "content\n");
  EXPECT_EQ(content_in(repo, snapshot->commit, "sparse.txt"), "s\n");
}

TEST(GitSnapshot, HandlesOddFileNames) {
  GitTestRepo repo;
  repo.write("with space.txt", "1\n");
  repo.write("ünïcödé/名前.txt", "2\n");
  repo.write("-dash", "3\n");
  repo.write("a.b/c", "4\n");
  repo.write("a/b", "5\n");
  repo.write("a-b", "6\n");
  repo.commit_all("one");
  repo.write("a/b", "changed\n");
  repo.write("a.b/d", "new\n");
  std::filesystem::create_directories(repo.absolute("empty/dir"));
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto snapshot = snapshotter->take("start");
  ASSERT_OK(snapshot);
  EXPECT_EQ(repo.git("-c core.quotepath=false ls-tree -r --name-only " + snapshot->commit),
            "-dash\na-b\na.b/c\na.b/d\na/b\nwith space.txt\nünïcödé/名前.txt\n");
  EXPECT_EQ(content_in(repo, snapshot->commit, "a/b"), "changed\n");
}

TEST(GitSnapshot, StagesOnlyWhatChangedAndStillSeesContentChangesBehindSameStat) {
  GitTestRepo repo;
  repo.git("config core.trustctime false");
  repo.write("a.txt", "aaaa\n");
  repo.write("b.txt", "bbbb\n");
  repo.commit_all("one");
  std::int64_t past = now_seconds() - 1000;
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  ASSERT_OK(snapshotter->take("start"));
  // Same size, same inode, same mtime as what the snapshot index recorded for it, and older
  // than that index: by git's rules (and ours) this looks unchanged and is not rehashed.
  std::int64_t recorded = mtime_nanoseconds(repo.absolute("a.txt"));
  repo.write("a.txt", "AAAA\n");
  const timespec same[2] = {{recorded / 1'000'000'000, recorded % 1'000'000'000},
                            {recorded / 1'000'000'000, recorded % 1'000'000'000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, repo.absolute("a.txt").c_str(), same, 0), 0);
  repo.write("b.txt", "BBBB\n");
  set_mtime(repo.absolute("b.txt"), past);
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(content_in(repo, turn->commit, "b.txt"), "BBBB\n");
  // git itself would also miss a.txt here (that is what the stat cache is); the point is that
  // the snapshot relies on it, which is what makes it cheap.
  EXPECT_EQ(content_in(repo, turn->commit, "a.txt"), "aaaa\n");
}

// libgit2 cannot read a split index; the snapshot then starts from HEAD without a stat cache.
TEST(GitSnapshot, WorksWithASplitIndex) {
  GitTestRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit_all("one");
  repo.git("update-index --split-index");
  repo.write("b.txt", "b\n");
  repo.git("add b.txt");
  repo.write("a.txt", "changed\n");
  RepositoryState before = RepositoryState::of(repo);
  auto snapshotter = Snapshotter::open(repo.path(), session_ref_name("s1"));
  ASSERT_OK(snapshotter);
  auto start = snapshotter->take("start");
  ASSERT_OK(start);
  EXPECT_EQ(files_in(repo, start->commit), "a.txt\nb.txt\n");
  EXPECT_EQ(content_in(repo, start->commit, "a.txt"), "changed\n");
  repo.write("c.txt", "c\n");
  auto turn = snapshotter->take("turn 1");
  ASSERT_OK(turn);
  EXPECT_EQ(files_in(repo, turn->commit), "a.txt\nb.txt\nc.txt\n");
  repo.remove("c.txt");
  EXPECT_TRUE(RepositoryState::of(repo) == before);
  auto facts = read_git_facts(repo.path());
  ASSERT_OK(facts);
  EXPECT_EQ(facts->branch, "main");
  EXPECT_NE(facts->dirty_error, "");
}
