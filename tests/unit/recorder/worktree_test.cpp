// Task worktrees on temporary repositories, checked with the git CLI: creation, reuse,
// .worktreeinclude copies, the shared session store, and refusal to remove unsaved work.
#include "recorder/worktree.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "recorder/store.hpp"
#include "tests/unit/recorder/git_test_repo.hpp"

using namespace sddsh::recorder;
using namespace sddsh::recorder::testing;
namespace fs = std::filesystem;

namespace {

// A repository at <temp>/repo with one commit, so that the default sibling location
// <temp>/repo.worktrees is cleaned up with the temporary directory.
class WorktreeTest : public ::testing::Test {
 protected:
  WorktreeTest() {
    GitTestRepo::git_in(parent_.path(), "init -q repo");
    write(".gitignore", ".env*\nbuild/\n");
    write("README", "hello\n");
    commit_all("first");
  }

  std::string repo() const { return parent_.path() + "/repo"; }
  std::string parent() const { return parent_.path(); }
  std::string git(const std::string& arguments) const {
    return GitTestRepo::git_in(repo(), arguments);
  }
  void write(const std::string& relative, const std::string& content) const {
    GitTestRepo::write_in(repo(), relative, content);
  }
  void commit_all(const std::string& message) const {
    git("add -A");
    git("commit -q -m " + shell_quote(message));
  }

  Worktree ensure(const std::string& task_id, const WorktreeOptions& options = {}) const {
    auto worktree = ensure_task_worktree(repo(), task_id, options);
    EXPECT_TRUE(worktree) << worktree.error().message;
    return worktree ? *worktree : Worktree{};
  }

  static std::string head_branch(const std::string& worktree) {
    return trim(GitTestRepo::git_in(worktree, "rev-parse --abbrev-ref HEAD"));
  }

  bool listed_by_git(const std::string& path) const {
    return git("worktree list --porcelain").find("worktree " + path + "\n") != std::string::npos;
  }

 private:
  TempDirectory parent_;
};

TEST_F(WorktreeTest, CreatesOnTaskBranchInSiblingFolder) {
  Worktree worktree = ensure("sd-1a2b");
  EXPECT_EQ(worktree.path, repo() + ".worktrees/sd-1a2b");
  EXPECT_EQ(worktree.branch, "sddsh/sd-1a2b");
  EXPECT_EQ(worktree.task_id, "sd-1a2b");
  EXPECT_FALSE(worktree.reused);
  EXPECT_EQ(head_branch(worktree.path), "sddsh/sd-1a2b");
  EXPECT_EQ(read_file(worktree.path + "/README"), "hello\n");
  EXPECT_EQ(GitTestRepo::git_in(worktree.path, "status --porcelain"), "");
  EXPECT_TRUE(listed_by_git(worktree.path));
  EXPECT_EQ(trim(git("rev-parse sddsh/sd-1a2b")), trim(git("rev-parse HEAD")));
}

TEST_F(WorktreeTest, CreatesAtConfiguredLocation) {
  Worktree absolute = ensure("sd-1", {.location = parent() + "/elsewhere/"});
  EXPECT_EQ(absolute.path, parent() + "/elsewhere/sd-1");
  EXPECT_EQ(head_branch(absolute.path), "sddsh/sd-1");
  // Relative locations are taken from the main worktree, not from the caller's directory.
  Worktree relative = ensure("sd-2", {.location = "../trees"});
  EXPECT_EQ(relative.path, parent() + "/trees/sd-2");
  EXPECT_TRUE(listed_by_git(relative.path));
}

TEST_F(WorktreeTest, SecondCallReusesTheWorktree) {
  Worktree first = ensure("sd-1");
  GitTestRepo::write_in(first.path, "work.txt", "in progress\n");
  Worktree second = ensure("sd-1");
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(second.path, first.path);
  EXPECT_EQ(read_file(first.path + "/work.txt"), "in progress\n");
  // From inside the worktree itself, the same task is the same worktree.
  auto from_inside = ensure_task_worktree(first.path, "sd-1", {});
  ASSERT_TRUE(from_inside) << from_inside.error().message;
  EXPECT_EQ(from_inside->path, first.path);
}

TEST_F(WorktreeTest, ReusesAnExistingBranch) {
  std::string first_commit = trim(git("rev-parse HEAD"));
  git("branch sddsh/sd-1");
  write("README", "changed\n");
  commit_all("second");
  Worktree worktree = ensure("sd-1");
  EXPECT_EQ(trim(GitTestRepo::git_in(worktree.path, "rev-parse HEAD")), first_commit);
}

TEST_F(WorktreeTest, RecreatesAWorktreeDeletedByHand) {
  Worktree first = ensure("sd-1");
  fs::remove_all(first.path);
  Worktree second = ensure("sd-1");
  EXPECT_FALSE(second.reused);
  EXPECT_EQ(head_branch(second.path), "sddsh/sd-1");
}

TEST_F(WorktreeTest, CopiesUntrackedFilesListedInWorktreeInclude) {
  write("tracked.local", "committed\n");
  write(".worktreeinclude",
        "# secrets the checkout lacks\n"
        "\n"
        ".env*\n"
        "config/*.local\n"
        "tracked.local\n"
        "missing.txt\n"
        "../x\n"
        "/etc/passwd\n");
  commit_all("include list");
  write("tracked.local", "uncommitted edit\n");
  write(".env", "TOKEN=1\n");
  ::chmod((repo() + "/.env").c_str(), 0600);
  write(".env.local", "LOCAL=1\n");
  write("config/db.local", "db\n");
  write("config/db.yml", "not listed\n");
  GitTestRepo::write_in(parent(), "repo.worktrees/x", "outside\n");

  Worktree worktree = ensure("sd-1");
  EXPECT_EQ(worktree.copied, (std::vector<std::string>{".env", ".env.local", "config/db.local"}));
  EXPECT_EQ(read_file(worktree.path + "/.env"), "TOKEN=1\n");
  struct stat status {};
  ASSERT_EQ(::stat((worktree.path + "/.env").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(worktree.path + "/config/db.local"), "db\n");
  EXPECT_FALSE(fs::exists(worktree.path + "/config/db.yml"));
  EXPECT_FALSE(fs::exists(worktree.path + "/missing.txt"));
  EXPECT_FALSE(fs::exists(worktree.path + "/etc"));
  EXPECT_EQ(read_file(worktree.path + "/tracked.local"), "committed\n");
  ASSERT_EQ(worktree.warnings.size(), 2u);
  EXPECT_NE(worktree.warnings[0].find("\"../x\""), std::string::npos) << worktree.warnings[0];
  EXPECT_NE(worktree.warnings[1].find("\"/etc/passwd\""), std::string::npos)
      << worktree.warnings[1];

  // The copies are not work to save: config/db.local is untracked but listed.
  auto blocker = worktree_removal_blocker(worktree.path);
  ASSERT_TRUE(blocker) << blocker.error().message;
  EXPECT_FALSE(*blocker) << **blocker;
}

TEST_F(WorktreeTest, NeverOverwritesAFileInTheWorktree) {
  write(".worktreeinclude", ".env\n");
  commit_all("include list");
  write(".env", "v1\n");
  Worktree first = ensure("sd-1");
  GitTestRepo::write_in(first.path, ".env", "edited in the worktree\n");
  write(".env", "v2\n");
  Worktree second = ensure("sd-1");
  EXPECT_TRUE(second.copied.empty());
  EXPECT_EQ(read_file(first.path + "/.env"), "edited in the worktree\n");
}

TEST_F(WorktreeTest, SessionStoreIsTheMainRepositorysCommonDir) {
  Worktree worktree = ensure("sd-1");
  EXPECT_EQ(git_common_dir(worktree.path), repo() + "/.git");
  std::string saved = std::getenv("SDDSH_STORE") ? std::getenv("SDDSH_STORE") : "";
  ::unsetenv("SDDSH_STORE");
  auto from_worktree = locate_store(worktree.path);
  auto from_main = locate_store(repo());
  if (!saved.empty()) ::setenv("SDDSH_STORE", saved.c_str(), 1);
  ASSERT_TRUE(from_worktree && from_main);
  EXPECT_TRUE(from_worktree->in_git);
  EXPECT_EQ(from_worktree->root, from_main->root);
}

TEST_F(WorktreeTest, RefusesToRemoveAWorktreeWithUncommittedChanges) {
  struct Change {
    const char* name;
    void (*make)(const std::string& worktree);
  };
  const Change changes[] = {
      {"modified tracked file",
       [](const std::string& wt) { GitTestRepo::write_in(wt, "README", "edited\n"); }},
      {"new untracked file",
       [](const std::string& wt) { GitTestRepo::write_in(wt, "new.txt", "new\n"); }},
      {"staged change",
       [](const std::string& wt) {
         GitTestRepo::write_in(wt, "staged.txt", "staged\n");
         GitTestRepo::git_in(wt, "add staged.txt");
       }},
  };
  int task = 0;
  for (const Change& change : changes) {
    SCOPED_TRACE(change.name);
    Worktree worktree = ensure("sd-" + std::to_string(++task));
    change.make(worktree.path);
    auto blocker = worktree_removal_blocker(worktree.path);
    ASSERT_TRUE(blocker) << blocker.error().message;
    ASSERT_TRUE(*blocker);
    EXPECT_NE((*blocker)->find("uncommitted changes"), std::string::npos) << **blocker;
    auto removed = remove_task_worktree(worktree.path);
    EXPECT_FALSE(removed);
    EXPECT_TRUE(fs::exists(worktree.path + "/README"));
    EXPECT_TRUE(listed_by_git(worktree.path));
  }
}

TEST_F(WorktreeTest, RemovesACleanWorktreeAndKeepsTheBranch) {
  Worktree worktree = ensure("sd-1");
  GitTestRepo::write_in(worktree.path, "done.txt", "done\n");
  GitTestRepo::git_in(worktree.path, "add done.txt");
  GitTestRepo::git_in(worktree.path, "commit -q -m done");
  GitTestRepo::write_in(worktree.path, "build/out.o", "ignored output\n");
  auto removed = remove_task_worktree(worktree.path);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_FALSE(fs::exists(worktree.path));
  EXPECT_FALSE(listed_by_git(worktree.path));
  EXPECT_EQ(git("worktree list --porcelain").find("sd-1"), std::string::npos);
  EXPECT_EQ(git("show sddsh/sd-1:done.txt"), "done\n");
}

TEST_F(WorktreeTest, RefusesToRemoveALockedWorktree) {
  Worktree worktree = ensure("sd-1");
  git("worktree lock --reason busy " + shell_quote(worktree.path));
  auto blocker = worktree_removal_blocker(worktree.path);
  ASSERT_TRUE(blocker && *blocker);
  EXPECT_NE((*blocker)->find("locked: busy"), std::string::npos) << **blocker;
  EXPECT_FALSE(remove_task_worktree(worktree.path));
  EXPECT_TRUE(fs::exists(worktree.path + "/README"));
}

TEST_F(WorktreeTest, RefusesToRemoveTheMainWorkingTreeOrASubdirectory) {
  EXPECT_FALSE(remove_task_worktree(repo()));
  EXPECT_TRUE(fs::exists(repo() + "/README"));
  Worktree worktree = ensure("sd-1");
  GitTestRepo::write_in(worktree.path, "sub/kept.txt", "x\n");
  GitTestRepo::git_in(worktree.path, "add sub");
  GitTestRepo::git_in(worktree.path, "commit -q -m sub");
  EXPECT_FALSE(remove_task_worktree(worktree.path + "/sub"));
  EXPECT_TRUE(fs::exists(worktree.path + "/sub/kept.txt"));
}

TEST_F(WorktreeTest, RefusesBadTaskIds) {
  for (const char* bad : {"", "-x", ".x", "a/b", "a b", "a..b", "x.lock", "a~1", "caf\xc3\xa9"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(is_valid_task_id(bad));
    auto worktree = ensure_task_worktree(repo(), bad, {});
    ASSERT_FALSE(worktree);
    EXPECT_NE(worktree.error().message.find("not a valid task id"), std::string::npos);
  }
  EXPECT_EQ(git("branch --list 'sddsh/*'"), "");
  EXPECT_FALSE(fs::exists(repo() + ".worktrees"));
  EXPECT_TRUE(is_valid_task_id("sd-1a2b"));
  EXPECT_TRUE(is_valid_task_id("A.b_c-9"));
}

TEST(Worktree, OutsideARepositoryIsAClearError) {
  TempDirectory plain;
  auto worktree = ensure_task_worktree(plain.path(), "sd-1", {});
  ASSERT_FALSE(worktree);
  EXPECT_NE(worktree.error().message.find("no git repository at or above " + plain.path()),
            std::string::npos)
      << worktree.error().message;
}

TEST(Worktree, RepositoryWithoutACommitIsAClearError) {
  GitTestRepo empty;
  auto worktree = ensure_task_worktree(empty.path(), "sd-1", {});
  ASSERT_FALSE(worktree);
  EXPECT_NE(worktree.error().message.find("is there a commit yet?"), std::string::npos)
      << worktree.error().message;
}

}  // namespace
