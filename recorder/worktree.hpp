#pragma once
// A task's own git worktree: `sddsh/<task-id>` checked out in `<repo>.worktrees/<task-id>`, so
// agents working on different tasks do not step on each other's files. The session store stays
// shared because it lives in the git common dir (recorder/store.hpp). Removal is conservative:
// nothing is deleted while the worktree holds work that is not committed.
#include <optional>
#include <string>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::recorder {

struct WorktreeOptions {
  // Where task worktrees go. Empty: `<main worktree>.worktrees`, a sibling folder. A relative
  // location is taken from the main worktree's directory.
  std::string location;
};

struct Worktree {
  std::string path;    // absolute
  std::string branch;  // sddsh/<task-id>
  std::string task_id;
  bool reused = false;                // it existed already
  std::vector<std::string> copied;    // .worktreeinclude files copied, relative to the repository
  std::vector<std::string> warnings;  // .worktreeinclude lines skipped, and why
};

// True for ids made of [A-Za-z0-9._-] that do not start with '-' or '.' and give a valid
// branch name (so no "..", no ".lock" suffix).
bool is_valid_task_id(const std::string& task_id);

// Creates, or reuses when it is already registered and valid, the worktree of `task_id` for the
// repository containing `cwd` (which may itself be a linked worktree): branch sddsh/<task-id>
// from HEAD (reused if it exists), directory <location>/<task-id>. Then copies from the main
// worktree each existing, untracked file that its .worktreeinclude lists (one path or fnmatch
// glob per line, `#` comments), keeping modes and never overwriting; absolute paths and paths
// that leave the repository are skipped with a warning.
Result<Worktree> ensure_task_worktree(const std::string& cwd, const std::string& task_id,
                                      const WorktreeOptions& options);

// Why the linked worktree at `worktree_path` must not be removed, or nothing: it is locked, it
// is not a linked worktree, or it has uncommitted changes (modified, staged or untracked files;
// ignored files and untracked files that .worktreeinclude lists do not count).
Result<std::optional<std::string>> worktree_removal_blocker(const std::string& worktree_path);

// Deletes the worktree directory and git's record of it, keeping the branch. Refuses, deleting
// nothing, when worktree_removal_blocker gives a reason.
Result<void> remove_task_worktree(const std::string& worktree_path);

}  // namespace sddsh::recorder
