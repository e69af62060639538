#include "recorder/git_diff.hpp"

#include "recorder/git_repository.hpp"

namespace sddsh::recorder {
namespace {

// The tree of commit `hex`, or none (the empty tree) for an empty id.
Result<UniqueTree> tree_of(git_repository* repo, const std::string& hex) {
  if (hex.empty()) return UniqueTree();
  auto commit = lookup_commit(repo, hex);
  if (!commit) return Failure{commit.error()};
  return commit_tree(commit->get());
}

Result<UniqueDiff> diff_trees(git_repository* repo, git_tree* from, git_tree* to) {
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  git_diff* diff = nullptr;
  int code = git_diff_tree_to_tree(&diff, repo, from, to, &options);
  if (code < 0) return git_failure("diff the snapshots", code);
  UniqueDiff owner(diff);
  git_diff_find_options find = GIT_DIFF_FIND_OPTIONS_INIT;
  find.flags = GIT_DIFF_FIND_RENAMES;
  code = git_diff_find_similar(diff, &find);
  if (code < 0) return git_failure("detect renames", code);
  return owner;
}

char status_letter(git_delta_t status) {
  switch (status) {
    case GIT_DELTA_ADDED:
      return 'A';
    case GIT_DELTA_DELETED:
      return 'D';
    case GIT_DELTA_RENAMED:
      return 'R';
    case GIT_DELTA_COPIED:
      return 'C';
    case GIT_DELTA_TYPECHANGE:
      return 'T';
    default:
      return 'M';
  }
}

// Line counts come from the file's patch, which is also what decides whether it is binary.
Result<FileChange> file_change(git_diff* diff, std::size_t i) {
  git_patch* patch = nullptr;
  int code = git_patch_from_diff(&patch, diff, i);
  if (code < 0) return git_failure("make a file's patch", code);
  UniquePatch owner(patch);
  const git_diff_delta* delta = git_diff_get_delta(diff, i);
  FileChange change;
  change.status = status_letter(delta->status);
  change.old_path = delta->old_file.path;
  change.path = delta->status == GIT_DELTA_DELETED ? delta->old_file.path : delta->new_file.path;
  change.binary = (delta->flags & GIT_DIFF_FLAG_BINARY) != 0;
  std::size_t added = 0;
  std::size_t deleted = 0;
  if (patch && git_patch_line_stats(nullptr, &added, &deleted, patch) == 0) {
    change.added = static_cast<int>(added);
    change.deleted = static_cast<int>(deleted);
  }
  return change;
}

// Without GIT_DIFF_INCLUDE_TYPECHANGE a file that became a symlink (or the reverse) is a
// deletion and an addition of the same path, next to each other: in the patch that shows both
// contents, as `git diff` does (libgit2's type-change patch shows neither), and in the list it is
// one change.
void merge_type_changes(std::vector<FileChange>& changes) {
  std::vector<FileChange> merged;
  for (FileChange& change : changes) {
    if (!merged.empty() && merged.back().status == 'D' && change.status == 'A' &&
        merged.back().path == change.path) {
      FileChange& type_change = merged.back();
      type_change.status = 'T';
      type_change.added = change.added;
      type_change.binary = type_change.binary || change.binary;
      continue;
    }
    merged.push_back(std::move(change));
  }
  changes = std::move(merged);
}

void add_totals(DiffResult& result) {
  result.files = static_cast<int>(result.changes.size());
  for (const FileChange& change : result.changes) {
    result.insertions += change.added;
    result.deletions += change.deleted;
  }
}

Result<void> add_patch_text(git_diff* diff, DiffResult& result) {
  UniqueBuf text;
  int code = git_diff_to_buf(text.get(), diff, GIT_DIFF_FORMAT_PATCH);
  if (code < 0) return git_failure("format the patch", code);
  result.patch = text.str();
  return {};
}

Result<DiffResult> describe(git_diff* diff) {
  DiffResult result;
  for (std::size_t i = 0, n = git_diff_num_deltas(diff); i < n; ++i) {
    auto change = file_change(diff, i);
    if (!change) return Failure{change.error()};
    result.changes.push_back(std::move(*change));
  }
  merge_type_changes(result.changes);
  add_totals(result);
  if (auto text = add_patch_text(diff, result); !text) return Failure{text.error()};
  return result;
}

}  // namespace

Result<DiffResult> diff_snapshots(const std::string& directory, const std::string& from_commit,
                                  const std::string& to_commit) {
  GitLibrary library;
  auto repo = open_repository(directory);
  if (!repo) return Failure{repo.error()};
  auto from = tree_of(repo->get(), from_commit);
  if (!from) return Failure{from.error()};
  auto to = tree_of(repo->get(), to_commit);
  if (!to) return Failure{to.error()};
  auto diff = diff_trees(repo->get(), from->get(), to->get());
  if (!diff) return Failure{diff.error()};
  return describe(diff->get());
}

}  // namespace sddsh::recorder
