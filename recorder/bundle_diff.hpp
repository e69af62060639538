#pragma once
// A diff between two snapshots, kept in a bundle: the patch under diffs/ and what session.json
// says about it. Shared by the live recorder and `sddsh recover`.
#include <string>
#include <vector>

#include "recorder/git_diff.hpp"
#include "recorder/session_record.hpp"

namespace sddsh::recorder {

struct BundleDiff {
  std::string patch_file;  // bundle-relative: "diffs/turn-0003.patch"
  DiffStat stat;
  std::vector<FileChangeRecord> changes;
};

std::string turn_patch_name(int turn_index);
// "diffs/task-03-sd-1a2b.patch" for segment 3 (from 1) of a task: characters a file name should
// not have become '_'.
std::string task_patch_name(int segment_number, const std::string& task_id);
inline constexpr const char* kSessionPatchName = "diffs/session.patch";

// Diffs `from` → `to` in the repository at `workdir` and writes the patch to <bundle>/<patch_file>.
Result<BundleDiff> store_diff(const std::string& bundle_dir, const std::string& patch_file,
                              const std::string& workdir, const std::string& from,
                              const std::string& to);

}  // namespace sddsh::recorder
