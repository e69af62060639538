#include "recorder/bundle_diff.hpp"

#include <cctype>
#include <cstdio>

namespace sddsh::recorder {

std::string turn_patch_name(int turn_index) {
  char name[32];
  std::snprintf(name, sizeof name, "diffs/turn-%04d.patch", turn_index);
  return name;
}

std::string task_patch_name(int segment_number, const std::string& task_id) {
  std::string name = task_id.substr(0, 64);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  char number[16];
  std::snprintf(number, sizeof number, "%02d", segment_number);
  return "diffs/task-" + std::string(number) + "-" + name + ".patch";
}

Result<BundleDiff> store_diff(const std::string& bundle_dir, const std::string& patch_file,
                              const std::string& workdir, const std::string& from,
                              const std::string& to) {
  auto diff = diff_snapshots(workdir, from, to);
  if (!diff) return Failure{diff.error()};
  if (auto written = write_file_atomically(bundle_dir + "/" + patch_file, diff->patch); !written)
    return Failure{written.error()};
  BundleDiff stored{patch_file, {diff->files, diff->insertions, diff->deletions}, {}};
  for (const FileChange& change : diff->changes)
    stored.changes.push_back({change.path, change.old_path == change.path ? "" : change.old_path,
                              change.status, change.added, change.deleted, change.binary});
  return stored;
}

}  // namespace sddsh::recorder
