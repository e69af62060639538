#include "recorder/git_snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <git2/sys/repository.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <thread>

#include "recorder/git_repository.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

// ---------------------------------------------------------------------------------------------
// Facts

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool is_ssh_scheme(std::string_view scheme) {
  return equals_ignoring_case(scheme, "ssh") || equals_ignoring_case(scheme, "git+ssh") ||
         equals_ignoring_case(scheme, "ssh+git");
}

Result<void> read_head(git_repository* repo, GitFacts& facts) {
  facts.detached = git_repository_head_detached(repo) == 1;
  git_reference* head = nullptr;
  int code = git_repository_head(&head, repo);
  if (code == GIT_EUNBORNBRANCH || code == GIT_ENOTFOUND) {
    facts.unborn = true;
    return {};
  }
  if (code < 0) return git_failure("read HEAD", code);
  UniqueReference owner(head);
  if (const git_oid* target = git_reference_target(head)) facts.head = oid_hex(*target);
  if (!facts.detached) facts.branch = git_reference_shorthand(head);
  return {};
}

// The configured remote.<name>.url. Not git_remote_lookup: libgit2 1.5 leaks PCRE2 match data in
// it (fixed upstream in libgit2#6382), and the url.<base>.insteadOf rewriting it would add
// changes nothing for a record of where the code comes from.
std::string remote_url(git_repository* repo, const std::string& remote_name) {
  git_config* config = nullptr;
  if (git_repository_config_snapshot(&config, repo) < 0) return {};
  UniqueConfig owner(config);
  const char* url = nullptr;
  std::string key = "remote." + remote_name + ".url";
  if (git_config_get_string(&url, config, key.c_str()) < 0 || !url) return {};
  return strip_credentials(url);
}

// The branch's upstream remote when it has one that exists (not "." for a local upstream),
// else origin's.
std::string upstream_remote_url(git_repository* repo, const std::string& branch) {
  if (!branch.empty()) {
    UniqueBuf name;
    std::string refname = "refs/heads/" + branch;
    if (git_branch_upstream_remote(name.get(), repo, refname.c_str()) == 0) {
      std::string url = remote_url(repo, name.str());
      if (!url.empty()) return url;
    }
  }
  return remote_url(repo, "origin");
}

char index_status_letter(unsigned int status) {
  if (status & GIT_STATUS_INDEX_NEW) return 'A';
  if (status & GIT_STATUS_INDEX_MODIFIED) return 'M';
  if (status & GIT_STATUS_INDEX_DELETED) return 'D';
  if (status & GIT_STATUS_INDEX_RENAMED) return 'R';
  if (status & GIT_STATUS_INDEX_TYPECHANGE) return 'T';
  return ' ';
}

char workdir_status_letter(unsigned int status) {
  if (status & GIT_STATUS_WT_MODIFIED) return 'M';
  if (status & GIT_STATUS_WT_DELETED) return 'D';
  if (status & GIT_STATUS_WT_RENAMED) return 'R';
  if (status & GIT_STATUS_WT_TYPECHANGE) return 'T';
  return ' ';
}

// One line as `git status --porcelain` would print it (without its quoting of odd paths).
std::string porcelain_line(const git_status_entry& entry) {
  const git_diff_delta* staged = entry.head_to_index;
  const git_diff_delta* unstaged = entry.index_to_workdir;
  std::string code;
  if (entry.status & GIT_STATUS_CONFLICTED) {
    code = "UU";
  } else if (entry.status & GIT_STATUS_WT_NEW) {
    code = "??";
  } else {
    code = {index_status_letter(entry.status), workdir_status_letter(entry.status)};
  }
  if (staged && (entry.status & GIT_STATUS_INDEX_RENAMED)) {
    return code + " " + staged->old_file.path + " -> " + staged->new_file.path;
  }
  const git_diff_delta* delta = staged ? staged : unstaged;
  const char* path = delta->new_file.path ? delta->new_file.path : delta->old_file.path;
  return code + " " + path;
}

Result<void> read_dirty_files(git_repository* repo, GitFacts& facts) {
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  // No GIT_STATUS_OPT_UPDATE_INDEX: that would write the real index.
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
                  GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY;
  git_status_list* list = nullptr;
  int code = git_status_list_new(&list, repo, &options);
  if (code < 0) return git_failure("read git status", code);
  UniqueStatusList owner(list);
  facts.dirty_total = git_status_list_entrycount(list);
  for (std::size_t i = 0; i < facts.dirty_total && i < max_dirty_files; ++i) {
    const git_status_entry* entry = git_status_byindex(list, i);
    if (entry->head_to_index || entry->index_to_workdir) {
      facts.dirty_files.push_back(porcelain_line(*entry));
    }
  }
  return {};
}

}  // namespace

std::string strip_credentials(std::string_view url) {
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);  // scp-like, or a path
  std::size_t authority_begin = scheme_end + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  // The last '@': a password may hold an unescaped one, a host never does.
  std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);

  std::string stripped(url.substr(0, authority_begin));
  if (is_ssh_scheme(url.substr(0, scheme_end))) {
    std::string_view user_info = authority.substr(0, at);
    stripped += user_info.substr(0, user_info.find(':'));
    stripped += '@';
  }
  stripped += authority.substr(at + 1);
  stripped += url.substr(authority_end);
  return stripped;
}

std::string session_ref_name(std::string_view session_id) {
  return "refs/sddsh/sessions/" + std::string(session_id);
}

Result<GitFacts> read_git_facts(const std::string& directory) {
  GitLibrary library;
  GitFacts facts;
  auto repo = open_repository(directory);
  if (!repo && repo.error().code == GIT_ENOTFOUND) return facts;
  if (!repo) return Failure{repo.error()};
  git_repository* handle = repo->get();

  facts.in_repository = true;
  if (const char* workdir = git_repository_workdir(handle)) facts.workdir = workdir;
  facts.common_dir = git_repository_commondir(handle);
  if (auto head = read_head(handle, facts); !head) return Failure{head.error()};
  facts.remote_url = upstream_remote_url(handle, facts.branch);
  // Status needs the real index, which libgit2 cannot read in every repository (a split
  // index): the other facts stand without it.
  if (!git_repository_is_bare(handle)) {
    if (auto dirty = read_dirty_files(handle, facts); !dirty)
      facts.dirty_error = dirty.error().message;
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Snapshots

namespace {

Result<void> copy_contents(int from, int to, const std::string& what) {
  char buffer[1 << 16];
  for (;;) {
    ssize_t got = ::read(from, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return system_failure("read " + what);
    if (got == 0) return {};
    for (ssize_t done = 0; done < got;) {
      ssize_t put = ::write(to, buffer + done, static_cast<std::size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) return system_failure("copy " + what);
      done += put;
    }
  }
}

// <common dir>/sddsh/tmp: beside the real index, so on the filesystem whose clock stamps it.
Result<std::filesystem::path> scratch_directory(git_repository* repo) {
  std::filesystem::path directory =
      std::filesystem::path(git_repository_commondir(repo)) / "sddsh" / "tmp";
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return Failure{Error{error.value(), "create " + directory.string() + ": " + error.message()}};
  }
  return directory;
}

// A new file in `directory`, named in `path`.
Result<shell::UniqueFd> new_file(const std::filesystem::path& directory, std::string& path) {
  path = (directory / "index-XXXXXX").string();
  shell::UniqueFd file(::mkostemp(path.data(), O_CLOEXEC));
  if (!file) return system_failure("create a file in " + directory.string());
  return file;
}

// Removes a file when it goes out of scope.
class RemovedOnExit {
 public:
  explicit RemovedOnExit(std::string path) : path_(std::move(path)) {}
  RemovedOnExit(const RemovedOnExit&) = delete;
  RemovedOnExit& operator=(const RemovedOnExit&) = delete;
  ~RemovedOnExit() { ::unlink(path_.c_str()); }

 private:
  std::string path_;
};

Result<std::string> real_index_path(git_repository* repo) {
  UniqueBuf path;
  int code = git_repository_item_path(path.get(), repo, GIT_REPOSITORY_ITEM_INDEX);
  if (code < 0) return git_failure("locate the index", code);
  return path.str();
}

// The real index, in memory. libgit2 reads an index only from a file, and one bound to the real
// path could be written back or reloaded over our changes, so it reads a copy, removed at once.
// The index stays bound to that removed path: nothing here writes it, and a reload finds no file
// and keeps what is in memory. Without a real index (a new repository) it starts empty.
struct IndexCopy {
  UniqueIndex index;
  std::optional<timespec> written;  // the real index's mtime, for racily clean entries
};

// Copies the real index into `copy`. Its mtime; none when there is no real index.
Result<std::optional<timespec>> copy_real_index(const std::string& real_index, int copy) {
  shell::UniqueFd original(::open(real_index.c_str(), O_RDONLY | O_CLOEXEC));
  if (!original && errno == ENOENT) return std::optional<timespec>();
  if (!original) return system_failure("open " + real_index);
  // fstat and read the same inode: git replaces the index by rename, never in place.
  struct stat status {};
  if (::fstat(original.get(), &status) < 0) return system_failure("stat " + real_index);
  if (auto copied = copy_contents(original.get(), copy, real_index); !copied) {
    return Failure{copied.error()};
  }
  return std::optional<timespec>(status.st_mtim);
}

Result<IndexCopy> read_index_copy(const std::string& real_index,
                                  const std::filesystem::path& scratch) {
  std::string copy_path;
  auto copy_file = new_file(scratch, copy_path);
  if (!copy_file) return Failure{copy_file.error()};
  RemovedOnExit removed(copy_path);
  auto written = copy_real_index(real_index, copy_file->get());
  if (!written) return Failure{written.error()};
  if (!*written) ::unlink(copy_path.c_str());  // libgit2 reads a missing index as an empty one
  git_index* index = nullptr;
  int code = git_index_open(&index, copy_path.c_str());
  if (code < 0) return git_failure("read the index " + real_index, code);
  return IndexCopy{UniqueIndex(index), *written};
}

std::optional<git_oid> resolve(git_repository* repo, const char* name) {
  git_oid id;
  if (git_reference_name_to_id(&id, repo, name) < 0) return std::nullopt;
  return id;
}

// HEAD's tree as an index without stat data, for a real index that libgit2 cannot read (a split
// or sparse index): the first snapshot hashes every file, the next ones are warm again.
Result<IndexCopy> index_from_head(git_repository* repo, const std::filesystem::path& scratch) {
  std::string path;
  if (auto file = new_file(scratch, path); !file) return Failure{file.error()};
  ::unlink(path.c_str());
  git_index* index = nullptr;
  int code = git_index_open(&index, path.c_str());
  if (code < 0) return git_failure("make an index", code);
  IndexCopy copy{UniqueIndex(index), std::nullopt};
  auto head = resolve(repo, "HEAD");
  if (!head) return copy;  // unborn
  auto commit = lookup_commit(repo, oid_hex(*head));
  if (!commit) return Failure{commit.error()};
  auto tree = commit_tree(commit->get());
  if (!tree) return Failure{tree.error()};
  code = git_index_read_tree(index, tree->get());
  if (code < 0) return git_failure("read HEAD's tree into an index", code);
  return copy;
}

// The filesystem's clock, the one that stamps the working tree's files: the mtime an (unlinked)
// file gets when touched. Entries staged before that time can be trusted by their stat data
// once their files' mtimes are older, exactly as git trusts those older than its index file.
class FilesystemClock {
 public:
  static Result<FilesystemClock> in(const std::filesystem::path& directory) {
    std::string path;
    auto file = new_file(directory, path);
    if (!file) return Failure{file.error()};
    ::unlink(path.c_str());  // the descriptor is all it needs
    return FilesystemClock(std::move(*file));
  }

  std::optional<timespec> now() const {
    struct stat status {};
    if (::futimens(file_.get(), nullptr) < 0 || ::fstat(file_.get(), &status) < 0) {
      return std::nullopt;
    }
    return status.st_mtim;
  }

 private:
  explicit FilesystemClock(shell::UniqueFd file) : file_(std::move(file)) {}
  shell::UniqueFd file_;
};

// Makes `index` the repository's index in this handle only, so that libgit2's attribute lookups
// and submodule additions use it. Its capabilities (filemode, symlinks, ignorecase) then come
// from the repository's config.
Result<void> adopt_index(git_repository* repo, git_index* index) {
  int code = git_repository_set_index(repo, index);
  if (code == 0) code = git_index_set_caps(index, GIT_INDEX_CAPABILITY_FROM_OWNER);
  if (code < 0) return git_failure("use the private index", code);
  return {};
}

std::string session_id_of(const std::string& ref_name) {
  return ref_name.substr(ref_name.rfind('/') + 1);
}

// The subject line is the label; control characters would break it (or forge trailers).
std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(),
      [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; }, ' ');
  return text;
}

// Why a changed path is left out of a snapshot, if it is.
enum class Omission { none, lfs, large };

}  // namespace

// ---------------------------------------------------------------------------------------------
// What changed in the working tree since the private index last saw it
//
// `git add -A` in two passes, as git itself does it (read-cache.c's refresh, dir.c's untracked
// walk), rather than libgit2's index-to-workdir diff, which stats every file by its absolute
// path on one thread: here the stats are relative to the working tree's descriptor and spread
// over a few threads. Only the paths found here are hashed and staged, by libgit2.

namespace {

// How git decides from stat data alone that a tracked file is unchanged (ie_match_stat).
struct StatRules {
  bool trust_ctime = true;             // core.trustctime
  bool file_mode = true;               // core.filemode
  std::optional<timespec> index_time;  // mtime of the index file the entries were saved in
};

// An index time of 0 ns comes from a writer without sub-second times: then seconds decide.
bool same_time(const git_index_time& recorded, const timespec& actual) {
  if (recorded.seconds != static_cast<std::int32_t>(actual.tv_sec)) return false;
  return recorded.nanoseconds == 0 ||
         recorded.nanoseconds == static_cast<std::uint32_t>(actual.tv_nsec);
}

// Racily clean: written in the same tick as (or after) the index that recorded it, so a later
// change within that tick would leave the same stat data. Such entries are always rehashed.
bool is_racy(const git_index_time& recorded, const std::optional<timespec>& index_time) {
  if (!index_time) return true;
  auto index_seconds = static_cast<std::int32_t>(index_time->tv_sec);
  if (recorded.seconds != index_seconds) return recorded.seconds > index_seconds;
  return recorded.nanoseconds == 0 ||
         recorded.nanoseconds >= static_cast<std::uint32_t>(index_time->tv_nsec);
}

bool same_mode(std::uint32_t recorded, mode_t actual, bool file_mode) {
  if (S_ISLNK(actual)) return recorded == GIT_FILEMODE_LINK;
  if (!S_ISREG(actual)) return false;
  if (recorded != GIT_FILEMODE_BLOB && recorded != GIT_FILEMODE_BLOB_EXECUTABLE) return false;
  return !file_mode || ((actual & S_IXUSR) != 0) == (recorded == GIT_FILEMODE_BLOB_EXECUTABLE);
}

bool stat_matches(const git_index_entry& entry, const struct stat& status, const StatRules& rules) {
  return same_mode(entry.mode, status.st_mode, rules.file_mode) &&
         entry.file_size == static_cast<std::uint32_t>(status.st_size) &&
         same_time(entry.mtime, status.st_mtim) &&
         (!rules.trust_ctime || same_time(entry.ctime, status.st_ctim)) &&
         entry.ino == static_cast<std::uint32_t>(status.st_ino) && entry.uid == status.st_uid &&
         entry.gid == status.st_gid && !is_racy(entry.mtime, rules.index_time);
}

enum class Verdict : std::uint8_t { unchanged, changed, removed };

// Conflicts, intent-to-add entries and submodules cannot be judged by stat data: they are
// always staged again (submodules are few; staging reads their HEAD).
bool always_restaged(const git_index_entry& entry) {
  return GIT_INDEX_ENTRY_STAGE(&entry) != 0 ||
         (entry.flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD) != 0 ||
         entry.mode == GIT_FILEMODE_COMMIT;
}

Verdict judge(int workdir_fd, const git_index_entry& entry, const StatRules& rules) {
  if (entry.flags_extended & GIT_INDEX_ENTRY_SKIP_WORKTREE) return Verdict::unchanged;
  if (always_restaged(entry)) return Verdict::changed;
  struct stat status {};
  if (::fstatat(workdir_fd, entry.path, &status, AT_SYMLINK_NOFOLLOW) < 0) {
    return errno == ENOENT || errno == ENOTDIR ? Verdict::removed : Verdict::changed;
  }
  if (S_ISDIR(status.st_mode)) return Verdict::removed;  // its files are untracked ones now
  return stat_matches(entry, status, rules) ? Verdict::unchanged : Verdict::changed;
}

// A directory listing that closes itself.
using UniqueDir = std::unique_ptr<DIR, decltype([](DIR* dir) { ::closedir(dir); })>;

struct WorktreeChanges {
  std::vector<std::string> removed;     // tracked paths that are gone
  std::vector<std::string> changed;     // tracked paths whose stat data differ; untracked paths
  std::vector<std::string> unreadable;  // directories that could not be listed
};

class WorktreeScan {
 public:
  WorktreeScan(git_repository* repo, git_index* index, int workdir_fd, const StatRules& rules)
      : repo_(repo), workdir_fd_(workdir_fd), rules_(rules) {
    for (std::size_t i = 0, n = git_index_entrycount(index); i < n; ++i) {
      entries_.push_back(git_index_get_byindex(index, i));
    }
    // Byte order for the searches below (libgit2 sorts case-insensitively under core.ignorecase).
    auto by_path = [](const git_index_entry* a, const git_index_entry* b) {
      return std::strcmp(a->path, b->path) < 0;
    };
    if (!std::is_sorted(entries_.begin(), entries_.end(), by_path)) {
      std::stable_sort(entries_.begin(), entries_.end(), by_path);
    }
  }

  // The tracked files are judged on worker threads while this one walks the directories.
  WorktreeChanges run() {
    std::vector<Verdict> verdicts(entries_.size(), Verdict::unchanged);
    {
      std::vector<std::jthread> workers = start_judging(verdicts);
      walk_directory(shell::UniqueFd(::dup(workdir_fd_)), "");
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) record(verdicts[i], entries_[i]->path);
    deduplicate(changes_.removed);
    deduplicate(changes_.changed);
    // A tracked "dir/file" that the walk found under a symlink now called "dir" (a stat follows
    // it) is removed, not changed.
    std::erase_if(changes_.changed, [this](const std::string& path) {
      return std::binary_search(changes_.removed.begin(), changes_.removed.end(), path);
    });
    return std::move(changes_);
  }

 private:
  static constexpr std::size_t entries_per_worker = 4096;

  std::vector<std::jthread> start_judging(std::vector<Verdict>& verdicts) {
    std::size_t count = std::clamp<std::size_t>(entries_.size() / entries_per_worker, 1,
                                                std::max(2u, std::thread::hardware_concurrency()));
    std::vector<std::jthread> workers;
    std::size_t begin = 0;
    for (std::size_t w = 0; w < count; ++w) {
      std::size_t end = entries_.size() * (w + 1) / count;
      try {
        workers.emplace_back([this, &verdicts, begin, end] { judge_range(verdicts, begin, end); });
      } catch (const std::system_error&) {  // no thread to be had: do it here
        judge_range(verdicts, begin, end);
      }
      begin = end;
    }
    return workers;
  }

  // Runs on a worker: system calls and reads of entries nobody changes meanwhile, nothing else.
  void judge_range(std::vector<Verdict>& verdicts, std::size_t begin, std::size_t end) const {
    for (std::size_t i = begin; i < end; ++i) {
      verdicts[i] = judge(workdir_fd_, *entries_[i], rules_);
    }
  }

  void record(Verdict verdict, const char* path) {
    if (verdict == Verdict::removed) changes_.removed.emplace_back(path);
    if (verdict == Verdict::changed) changes_.changed.emplace_back(path);
  }

  static void deduplicate(std::vector<std::string>& paths) {
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  }

  // Untracked files and directories under `relative` ("" or "dir/"); the tracked files are the
  // workers' business.
  void walk_directory(shell::UniqueFd directory_fd, const std::string& relative) {
    UniqueDir directory(::fdopendir(directory_fd.get()));
    if (!directory) {
      changes_.unreadable.push_back(relative.empty() ? "." : relative);
      return;
    }
    directory_fd.release();  // the DIR owns it now
    while (const dirent* item = ::readdir(directory.get())) {
      std::string_view name = item->d_name;
      if (name == "." || name == ".." || name == ".git") continue;
      visit(::dirfd(directory.get()), relative + item->d_name, item->d_type);
    }
  }

  void visit(int parent_fd, const std::string& path, unsigned char type) {
    if (type == DT_UNKNOWN) type = type_of(parent_fd, last_component(path));
    if (type == DT_DIR) return visit_directory(parent_fd, path);
    if (type != DT_REG && type != DT_LNK) return;  // sockets, fifos, devices: git skips them too
    if (is_tracked(path)) return;
    remove_tracked_under(path + "/");  // a file (or a symlink) where a directory was tracked
    if (!is_ignored(path)) changes_.changed.push_back(path);
  }

  void visit_directory(int parent_fd, const std::string& path) {
    const git_index_entry* entry = tracked_entry(path);
    if (entry && entry->mode == GIT_FILEMODE_COMMIT) return;  // a submodule: staged from its HEAD
    std::string relative = path + "/";
    bool tracked = has_tracked_under(relative);
    if (!tracked && is_ignored(path)) return;
    shell::UniqueFd directory_fd(
        ::openat(parent_fd, last_component(path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!directory_fd) {
      changes_.unreadable.push_back(relative);
      return;
    }
    struct stat git_dir {};
    if (!tracked && ::fstatat(directory_fd.get(), ".git", &git_dir, AT_SYMLINK_NOFOLLOW) == 0) {
      changes_.changed.push_back(path);  // a repository of its own: staged as a gitlink
      return;
    }
    walk_directory(std::move(directory_fd), relative);
  }

  static const char* last_component(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return path.c_str() + (slash == std::string::npos ? 0 : slash + 1);
  }

  static unsigned char type_of(int parent_fd, const char* name) {
    struct stat status {};
    if (::fstatat(parent_fd, name, &status, AT_SYMLINK_NOFOLLOW) < 0) return DT_UNKNOWN;
    if (S_ISDIR(status.st_mode)) return DT_DIR;
    if (S_ISREG(status.st_mode)) return DT_REG;
    if (S_ISLNK(status.st_mode)) return DT_LNK;
    return DT_UNKNOWN;
  }

  // The first entry at or after `path` in byte order.
  std::vector<const git_index_entry*>::const_iterator lower_bound(const std::string& path) const {
    return std::lower_bound(entries_.begin(), entries_.end(), path,
                            [](const git_index_entry* entry, const std::string& wanted) {
                              return std::strcmp(entry->path, wanted.c_str()) < 0;
                            });
  }

  const git_index_entry* tracked_entry(const std::string& path) const {
    auto found = lower_bound(path);
    return found != entries_.end() && path == (*found)->path ? *found : nullptr;
  }

  bool is_tracked(const std::string& path) const { return tracked_entry(path) != nullptr; }

  bool has_tracked_under(const std::string& prefix) const {
    auto found = lower_bound(prefix);
    return found != entries_.end() && std::string_view((*found)->path).starts_with(prefix);
  }

  void remove_tracked_under(const std::string& prefix) {
    for (auto it = lower_bound(prefix);
         it != entries_.end() && std::string_view((*it)->path).starts_with(prefix); ++it) {
      changes_.removed.emplace_back((*it)->path);
    }
  }

  bool is_ignored(const std::string& path) const {
    int ignored = 0;
    return git_ignore_path_is_ignored(&ignored, repo_, path.c_str()) == 0 && ignored;
  }

  git_repository* repo_;
  int workdir_fd_;
  StatRules rules_;
  std::vector<const git_index_entry*> entries_;
  WorktreeChanges changes_;
};

bool has_head_commit(const std::string& repository_path) {
  git_repository* nested = nullptr;
  if (git_repository_open(&nested, repository_path.c_str()) < 0) return false;
  UniqueRepository owner(nested);
  git_oid head;
  return git_reference_name_to_id(&head, nested, "HEAD") == 0;
}

bool config_flag(git_config* config, const char* name, bool fallback) {
  int value = 0;
  return config && git_config_get_bool(&value, config, name) == 0 ? value != 0 : fallback;
}

}  // namespace

struct Snapshotter::State {
  GitLibrary library;  // first: outlives every handle below
  UniqueRepository repo;
  UniqueIndex index;  // the private one
  std::optional<FilesystemClock> clock;
  std::string workdir;
  std::string ref_name;
  SnapshotOptions options;
  StatRules stat_rules;
  std::optional<git_oid> tip;

  Result<void> open_private_index();
  void read_stat_rules();
  void note_staging_time();
  Result<void> stage_worktree(Snapshot& snapshot);
  Result<void> stage_path(const std::string& path, Snapshot& snapshot);
  Result<void> stage_repository(const std::string& path, Snapshot& snapshot);
  Result<void> stage_file(const std::string& path, Snapshot& snapshot);
  Result<void> remove_path(const std::string& path);
  void omit(const std::string& path, std::vector<std::string>& list);
  Omission omission_for(const std::string& path, const struct stat& status);
  bool is_lfs(const std::string& path);
  Result<git_oid> write_tree();
  Result<git_oid> commit(const git_oid& tree, const std::string& label, Snapshot& snapshot);
  Result<void> move_ref(const git_oid& commit, const std::string& label);
};

void Snapshotter::State::read_stat_rules() {
  git_config* config = nullptr;
  git_repository_config_snapshot(&config, repo.get());
  UniqueConfig owner(config);
  stat_rules.trust_ctime = config_flag(config, "core.trustctime", true);
  stat_rules.file_mode = config_flag(config, "core.filemode", true);
}

// Every entry's stat data is now older than this: the next scan trusts the entries of files
// whose mtime is older still (git's "index file mtime", without writing an index file). Unknown,
// every entry is rehashed: slow, never wrong.
void Snapshotter::State::note_staging_time() {
  stat_rules.index_time = clock->now();
}

// Brings the private index up to the working tree, as `git add -A` would: removals first (a
// file may have become a directory, or the reverse), then each changed or new path is hashed
// and staged.
Result<void> Snapshotter::State::stage_worktree(Snapshot& snapshot) {
  shell::UniqueFd workdir_fd(::open(workdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!workdir_fd) return system_failure("open the working tree " + workdir);
  WorktreeChanges changes =
      WorktreeScan(repo.get(), index.get(), workdir_fd.get(), stat_rules).run();
  for (const std::string& path : changes.unreadable) snapshot.omitted_unreadable.push_back(path);
  for (const std::string& path : changes.removed) {
    if (auto removed = remove_path(path); !removed) return removed;
  }
  for (const std::string& path : changes.changed) {
    if (auto staged = stage_path(path, snapshot); !staged) return staged;
  }
  return {};
}

Result<void> Snapshotter::State::stage_path(const std::string& path, Snapshot& snapshot) {
  struct stat status {};
  if (::lstat((workdir + path).c_str(), &status) < 0) return remove_path(path);  // gone since
  if (S_ISDIR(status.st_mode)) return stage_repository(path, snapshot);
  if (!S_ISREG(status.st_mode) && !S_ISLNK(status.st_mode)) return remove_path(path);
  switch (omission_for(path, status)) {
    case Omission::lfs:
      omit(path, snapshot.omitted_lfs);
      return {};
    case Omission::large:
      omit(path, snapshot.omitted_large);
      return {};
    case Omission::none:
      break;
  }
  return stage_file(path, snapshot);
}

// A submodule, or a repository inside the working tree that git would add as one: libgit2
// records its HEAD commit. One without a checkout (no .git) keeps what the index has; one
// without a commit is left out, as git refuses it too (and libgit2 1.5 leaks when asked).
Result<void> Snapshotter::State::stage_repository(const std::string& path, Snapshot& snapshot) {
  struct stat status {};
  if (::lstat((workdir + path + "/.git").c_str(), &status) < 0) {
    const git_index_entry* entry = git_index_get_bypath(index.get(), path.c_str(), 0);
    return entry && entry->mode == GIT_FILEMODE_COMMIT ? Result<void>() : remove_path(path);
  }
  if (!has_head_commit(workdir + path)) {
    omit(path, snapshot.omitted_unreadable);
    return {};
  }
  return stage_file(path, snapshot);
}

Result<void> Snapshotter::State::stage_file(const std::string& path, Snapshot& snapshot) {
  if (git_index_add_bypath(index.get(), path.c_str()) == 0) return {};
  struct stat status {};
  if (::lstat((workdir + path).c_str(), &status) < 0) return remove_path(path);  // gone since
  // One unreadable file must not cost the whole snapshot, as it does `git add -A`.
  omit(path, snapshot.omitted_unreadable);
  return {};
}

Result<void> Snapshotter::State::remove_path(const std::string& path) {
  int code = git_index_remove_bypath(index.get(), path.c_str());
  if (code < 0) return git_failure("drop " + path + " from the snapshot index", code);
  return {};
}

// The index keeps what it had for a left-out path, but not as a conflict (stages 1-3), which
// would make the tree unwritable.
void Snapshotter::State::omit(const std::string& path, std::vector<std::string>& list) {
  list.push_back(path);
  const git_index_entry* ancestor = nullptr;
  const git_index_entry* ours = nullptr;
  const git_index_entry* theirs = nullptr;
  if (git_index_conflict_get(&ancestor, &ours, &theirs, index.get(), path.c_str()) == 0) {
    git_index_conflict_remove(index.get(), path.c_str());
  }
}

Omission Snapshotter::State::omission_for(const std::string& path, const struct stat& status) {
  if (is_lfs(path)) return Omission::lfs;
  bool large =
      S_ISREG(status.st_mode) && static_cast<std::uint64_t>(status.st_size) > options.max_file_size;
  return large ? Omission::large : Omission::none;
}

// Git LFS keeps such files out of git (its clean filter stores a pointer); libgit2 has no LFS
// filter, so staging them would put the whole file in the object store.
bool Snapshotter::State::is_lfs(const std::string& path) {
  const char* filter = nullptr;
  int code =
      git_attr_get(&filter, repo.get(), GIT_ATTR_CHECK_FILE_THEN_INDEX, path.c_str(), "filter");
  return code == 0 && filter && std::string_view(filter) == "lfs";
}

Result<git_oid> Snapshotter::State::write_tree() {
  git_oid tree;
  int code = git_index_write_tree(&tree, index.get());
  if (code < 0) return git_failure("write the snapshot tree", code);
  return tree;
}

Result<git_oid> Snapshotter::State::commit(const git_oid& tree_id, const std::string& label,
                                           Snapshot& snapshot) {
  git_tree* tree = nullptr;
  int code = git_tree_lookup(&tree, repo.get(), &tree_id);
  if (code < 0) return git_failure("read the snapshot tree", code);
  UniqueTree tree_owner(tree);

  UniqueCommit parent;
  if (tip) {
    git_commit* found = nullptr;
    code = git_commit_lookup(&found, repo.get(), &*tip);
    if (code < 0) return git_failure("read the previous snapshot " + oid_hex(*tip), code);
    parent.reset(found);
  }
  // A fixed identity: snapshots are sddsh's record, not commits the user made, and they must
  // work where no user.name is configured.
  git_signature* signature = nullptr;
  code = git_signature_now(&signature, "sddsh", "sddsh@localhost");
  if (code < 0) return git_failure("make the snapshot signature", code);
  UniqueSignature signature_owner(signature);

  std::optional<git_oid> head = resolve(repo.get(), "HEAD");
  std::string message = one_line(label) + "\n\nsddsh-session: " + session_id_of(ref_name) +
                        "\nsddsh-head: " + (head ? oid_hex(*head) : "(unborn)") + "\n";
  const git_commit* parents[1] = {parent.get()};
  git_oid commit_id;
  code = git_commit_create(&commit_id, repo.get(), nullptr, signature, signature, nullptr,
                           message.c_str(), tree, parent ? 1 : 0, parents);
  if (code < 0) return git_failure("write the snapshot commit", code);
  snapshot.time = signature->when.time;
  return commit_id;
}

// Moves the ref only from the tip we know: if anything else moved it, fail rather than drop
// that history.
Result<void> Snapshotter::State::move_ref(const git_oid& commit_id, const std::string& label) {
  std::string log_message = "sddsh: " + one_line(label);
  git_reference* ref = nullptr;
  int code = tip ? git_reference_create_matching(&ref, repo.get(), ref_name.c_str(), &commit_id, 1,
                                                 &*tip, log_message.c_str())
                 : git_reference_create(&ref, repo.get(), ref_name.c_str(), &commit_id, 0,
                                        log_message.c_str());
  if (code < 0) return git_failure("update " + ref_name, code);
  UniqueReference owner(ref);
  tip = commit_id;
  return {};
}

namespace {

Result<void> check_ref_name(const std::string& ref_name) {
  int valid = 0;
  if (git_reference_name_is_valid(&valid, ref_name.c_str()) < 0 || !valid ||
      ref_name.rfind("refs/", 0) != 0) {
    return Failure{Error{GIT_EINVALIDSPEC, "not a valid ref name for snapshots: " + ref_name}};
  }
  return {};
}

}  // namespace

// The private index starts as a copy of the real one, so that its stat cache spares unchanged
// files from hashing.
Result<void> Snapshotter::State::open_private_index() {
  auto scratch = scratch_directory(repo.get());
  if (!scratch) return Failure{scratch.error()};
  auto real_index = real_index_path(repo.get());
  if (!real_index) return Failure{real_index.error()};
  auto copy = read_index_copy(*real_index, *scratch);
  bool unreadable_to_libgit2 = !copy && copy.error().code < 0;
  if (unreadable_to_libgit2) copy = index_from_head(repo.get(), *scratch);
  if (!copy) return Failure{copy.error()};
  auto filesystem_clock = FilesystemClock::in(*scratch);
  if (!filesystem_clock) return Failure{filesystem_clock.error()};
  index = std::move(copy->index);
  clock.emplace(std::move(*filesystem_clock));
  if (auto adopted = adopt_index(repo.get(), index.get()); !adopted) return adopted;
  read_stat_rules();
  stat_rules.index_time = copy->written;
  return {};
}

Result<Snapshotter> Snapshotter::open(const std::string& directory, std::string ref_name,
                                      SnapshotOptions options) {
  auto state = std::make_unique<State>();  // initialises libgit2 first
  if (auto valid = check_ref_name(ref_name); !valid) return Failure{valid.error()};
  state->ref_name = std::move(ref_name);
  state->options = options;
  auto repo = open_repository(directory);
  if (!repo) return Failure{repo.error()};
  state->repo = std::move(*repo);
  const char* workdir = git_repository_workdir(state->repo.get());
  if (!workdir) {
    return Failure{Error{
        GIT_EBAREREPO, "cannot snapshot " + directory + ": a bare repository has no working tree"}};
  }
  state->workdir = workdir;
  if (auto opened = state->open_private_index(); !opened) return Failure{opened.error()};
  state->tip = resolve(state->repo.get(), state->ref_name.c_str());
  return Snapshotter(std::move(state));
}

Snapshotter::Snapshotter(std::unique_ptr<State> state) : state_(std::move(state)) {}
Snapshotter::Snapshotter(Snapshotter&&) noexcept = default;
Snapshotter& Snapshotter::operator=(Snapshotter&&) noexcept = default;
Snapshotter::~Snapshotter() = default;

const std::string& Snapshotter::ref_name() const {
  return state_->ref_name;
}

std::string Snapshotter::tip() const {
  return state_->tip ? oid_hex(*state_->tip) : std::string();
}

Result<Snapshot> Snapshotter::take(const std::string& label) {
  Snapshot snapshot;
  snapshot.label = label;
  if (auto staged = state_->stage_worktree(snapshot); !staged) return Failure{staged.error()};
  state_->note_staging_time();
  auto tree = state_->write_tree();
  if (!tree) return Failure{tree.error()};
  auto commit = state_->commit(*tree, label, snapshot);
  if (!commit) return Failure{commit.error()};
  if (auto moved = state_->move_ref(*commit, label); !moved) return Failure{moved.error()};
  snapshot.tree = oid_hex(*tree);
  snapshot.commit = oid_hex(*commit);
  return snapshot;
}

}  // namespace sddsh::recorder
