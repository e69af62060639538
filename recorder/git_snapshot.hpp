#pragma once
// What a session knows about the git repository it runs in, and snapshot commits of its working
// tree (docs/snapshots.md). Snapshots never touch HEAD, the index, branches, the stash or the
// working tree: they are built in a private index and chained under refs/sddsh/sessions/<id>.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::recorder {

inline constexpr std::size_t max_dirty_files = 1000;

struct GitFacts {
  bool in_repository = false;
  std::string workdir;     // empty for a bare repository
  std::string common_dir;  // shared by all worktrees: the session store goes under it
  std::string branch;      // short name; empty when detached or unborn
  bool detached = false;
  bool unborn = false;
  std::string head;        // commit id (hex); empty when unborn
  std::string remote_url;  // the branch's upstream remote, else "origin"; credentials stripped
  // `git status --porcelain`-like lines ("XY path", "?? new", "R  old -> new"), at most
  // max_dirty_files of them; dirty_total counts them all.
  std::vector<std::string> dirty_files;
  std::size_t dirty_total = 0;
  std::string dirty_error;  // why there are no dirty_files when status could not be read
};

// Outside a repository: in_repository is false, which is not an error.
Result<GitFacts> read_git_facts(const std::string& directory);

// https://user:token@host/x → https://host/x. ssh URLs keep their user name (it is not a
// secret: "ssh://git@host/x") but lose a password; scp-like "git@host:path" and paths are kept.
std::string strip_credentials(std::string_view url);

// "refs/sddsh/sessions/<session_id>".
std::string session_ref_name(std::string_view session_id);

struct SnapshotOptions {
  std::uint64_t max_file_size = 10u << 20;  // bytes; bigger files are left out
};

struct Snapshot {
  std::string commit;     // hex id of the snapshot commit
  std::string tree;       // hex id of its tree
  std::string label;      // "start", "turn 3", "end"
  std::int64_t time = 0;  // unix seconds
  // Paths whose current content is not in the snapshot (the tree keeps the version the real
  // index or an earlier snapshot had, if any).
  std::vector<std::string> omitted_large;  // over SnapshotOptions::max_file_size
  std::vector<std::string> omitted_lfs;    // filter=lfs
  // Could not be read (permissions, deleted while read), directories that could not be listed
  // ("dir/"), repositories without a commit nested in the working tree.
  std::vector<std::string> omitted_unreadable;
};

// The snapshots of one session, taken from one thread. It owns its own repository handle and a
// private index that starts as a copy of the real one (so its stat cache spares unchanged files
// from hashing) and stays warm from one snapshot to the next.
class Snapshotter {
 public:
  // `ref_name` is usually session_ref_name(id). If it exists (a recovered session), the chain
  // continues from its tip. Fails outside a repository and in a bare one.
  static Result<Snapshotter> open(const std::string& directory, std::string ref_name,
                                  SnapshotOptions options = {});

  Snapshotter(Snapshotter&&) noexcept;
  Snapshotter& operator=(Snapshotter&&) noexcept;
  ~Snapshotter();

  // Commits the working tree (tracked files and untracked ones that are not ignored) with the
  // previous snapshot as parent, and moves the ref to it.
  Result<Snapshot> take(const std::string& label);

  const std::string& ref_name() const;
  std::string tip() const;  // the last snapshot's commit id; empty before the first

 private:
  struct State;
  explicit Snapshotter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sddsh::recorder
