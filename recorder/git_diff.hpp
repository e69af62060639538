#pragma once
// What changed between two snapshots (recorder/git_snapshot.hpp): per turn (snapshot N-1 → N)
// and for the whole session (start → end), as a unified patch with rename detection and stats.
#include <string>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::recorder {

struct FileChange {
  std::string path;      // the path after the change (before it, for a deletion)
  std::string old_path;  // the path before a rename; otherwise equal to path
  char status = 'M';     // A added, M modified, D deleted, R renamed, T type changed
  int added = 0;         // lines; 0 for binary files
  int deleted = 0;
  bool binary = false;  // the patch says "Binary files … differ" instead of the bytes
};

struct DiffResult {
  std::string patch;  // `git diff`-style unified patch
  int files = 0;
  int insertions = 0;
  int deletions = 0;
  std::vector<FileChange> changes;
};

// Both commits are full hex ids (Snapshot::commit) in the repository that contains `directory`;
// an empty `from_commit` diffs from the empty tree.
Result<DiffResult> diff_snapshots(const std::string& directory, const std::string& from_commit,
                                  const std::string& to_commit);

}  // namespace sddsh::recorder
