#include "recorder/worktree.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "recorder/git_repository.hpp"

namespace sddsh::recorder {

namespace {

namespace fs = std::filesystem;

using UniqueWorktree = std::unique_ptr<git_worktree, GitFree<git_worktree_free>>;

// git_strarray is a struct, not a pointer, so it gets its own owner.
class UniqueStrarray {
 public:
  UniqueStrarray() = default;
  UniqueStrarray(const UniqueStrarray&) = delete;
  UniqueStrarray& operator=(const UniqueStrarray&) = delete;
  ~UniqueStrarray() { git_strarray_dispose(&array_); }

  git_strarray* get() { return &array_; }
  bool contains(const std::string& name) const {
    return std::any_of(array_.strings, array_.strings + array_.count,
                       [&](const char* entry) { return name == entry; });
  }

 private:
  git_strarray array_{};
};

const char* const branch_prefix = "sddsh/";
const char* const include_file = ".worktreeinclude";

Failure failure(std::string message) {
  return Failure{Error{0, std::move(message)}};
}

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// The repository whose common dir `repo` shares: .worktreeinclude, the tracked files and the
// default location all belong to the main worktree, whichever worktree the caller stands in.
Result<UniqueRepository> open_main_repository(git_repository* repo) {
  return open_repository(git_repository_commondir(repo));
}

// The main worktree's directory, or the common dir of a bare repository (which has none).
std::string main_root(git_repository* main) {
  const char* workdir = git_repository_workdir(main);
  return without_trailing_slash(workdir ? workdir : git_repository_commondir(main));
}

std::string worktrees_location(const std::string& root, const WorktreeOptions& options) {
  if (options.location.empty()) return root + ".worktrees";
  fs::path location(options.location);
  if (location.is_relative()) location = fs::path(root) / location;
  return without_trailing_slash(location.lexically_normal().string());
}

bool has_glob(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

// One .worktreeinclude line as path components, or why it is refused. "./" and doubled slashes
// are dropped; ".." and ".git" are refused because they reach outside what the worktree owns.
std::optional<std::vector<std::string>> include_components(const std::string& line,
                                                           std::vector<std::string>& warnings) {
  if (line.front() == '/') {
    warnings.push_back(std::string(include_file) + ": skipped \"" + line + "\": absolute path");
    return std::nullopt;
  }
  std::vector<std::string> components;
  std::istringstream parts(line);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == ".." || part == ".git") {
      warnings.push_back(std::string(include_file) + ": skipped \"" + line +
                         "\": outside the working tree");
      return std::nullopt;
    }
    if (!part.empty() && part != ".") components.push_back(part);
  }
  if (components.empty()) return std::nullopt;
  return components;
}

// The patterns of the main worktree's .worktreeinclude, each as path components.
std::vector<std::vector<std::string>> read_include_patterns(const std::string& root,
                                                            std::vector<std::string>& warnings) {
  std::vector<std::vector<std::string>> patterns;
  std::ifstream in(root + "/" + include_file);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    line.erase(0, line.find_first_not_of(" \t"));
    if (line.empty() || line.front() == '#') continue;
    if (auto components = include_components(line, warnings)) patterns.push_back(*components);
  }
  return patterns;
}

std::string join(const std::vector<std::string>& components) {
  std::string joined;
  for (const std::string& component : components) joined += (joined.empty() ? "" : "/") + component;
  return joined;
}

// Adds to `found` the paths under `root` that match components[index..], one directory level
// per component, so that `*` never crosses a '/'.
void expand_pattern(const std::string& root, const std::vector<std::string>& components,
                    std::size_t index, const std::string& prefix, std::vector<std::string>& found) {
  auto visit = [&](const std::string& relative) {
    std::error_code error;
    fs::file_status status = fs::symlink_status(root + "/" + relative, error);
    if (error || !fs::exists(status)) return;
    if (index + 1 == components.size())
      found.push_back(relative);
    else if (fs::is_directory(status))
      expand_pattern(root, components, index + 1, relative, found);
  };
  const std::string& component = components[index];
  std::string base = prefix.empty() ? "" : prefix + "/";
  if (!has_glob(component)) return visit(base + component);
  std::error_code error;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root + "/" + prefix, error))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names)
    if (name != ".git" && fnmatch(component.c_str(), name.c_str(), 0) == 0) visit(base + name);
}

// A symlinked directory in the middle of a path could lead outside the repository.
bool stays_inside(const std::string& root, const std::string& relative) {
  std::error_code error;
  fs::path parent = fs::weakly_canonical(fs::path(root + "/" + relative).parent_path(), error);
  fs::path canonical_root = fs::weakly_canonical(root, error);
  if (error) return false;
  fs::path inside = parent.lexically_relative(canonical_root);
  return !inside.empty() && *inside.begin() != "..";
}

bool is_tracked(git_index* index, const std::string& relative) {
  return git_index_get_bypath(index, relative.c_str(), 0) != nullptr;
}

// Copies one file or symlink (not following it); never overwrites what is already there.
void copy_include(const std::string& from_root, const std::string& to_root,
                  const std::string& relative, Worktree& worktree) {
  fs::path source = from_root + "/" + relative;
  fs::path target = to_root + "/" + relative;
  std::error_code error;
  if (fs::exists(fs::symlink_status(target, error))) return;
  fs::file_status status = fs::symlink_status(source, error);
  if (fs::is_directory(status)) {
    worktree.warnings.push_back(std::string(include_file) + ": skipped \"" + relative +
                                "\": a directory (list its files)");
    return;
  }
  fs::create_directories(target.parent_path(), error);
  if (!error) {
    if (fs::is_symlink(status))
      fs::copy_symlink(source, target, error);
    else
      fs::copy_file(source, target, fs::copy_options::none, error);  // copies the mode too
  }
  if (error) {
    worktree.warnings.push_back("could not copy " + relative + ": " + error.message());
    return;
  }
  worktree.copied.push_back(relative);
}

Result<void> copy_include_files(git_repository* main, Worktree& worktree) {
  if (git_repository_is_bare(main)) return {};
  std::string root = main_root(main);
  git_index* raw_index = nullptr;
  if (int code = git_repository_index(&raw_index, main); code < 0)
    return git_failure("read the index of " + root, code);
  UniqueIndex index(raw_index);
  std::vector<std::string> matches;
  for (const auto& pattern : read_include_patterns(root, worktree.warnings))
    expand_pattern(root, pattern, 0, "", matches);
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  for (const std::string& relative : matches) {
    if (is_tracked(index.get(), relative)) continue;  // the checkout already has it
    if (!stays_inside(root, relative)) {
      worktree.warnings.push_back(std::string(include_file) + ": skipped \"" + relative +
                                  "\": leads outside the repository");
      continue;
    }
    copy_include(root, worktree.path, relative, worktree);
  }
  return {};
}

Result<UniqueReference> ensure_branch(git_repository* main, const std::string& branch) {
  git_reference* raw = nullptr;
  int code = git_branch_lookup(&raw, main, branch.c_str(), GIT_BRANCH_LOCAL);
  if (code == 0) return UniqueReference(raw);
  if (code != GIT_ENOTFOUND) return git_failure("look up branch " + branch, code);
  git_object* head = nullptr;
  if (code = git_revparse_single(&head, main, "HEAD^{commit}"); code < 0)
    return git_failure("find the commit HEAD names (is there a commit yet?)", code);
  std::unique_ptr<git_object, GitFree<git_object_free>> head_owner(head);
  code = git_branch_create(&raw, main, branch.c_str(), reinterpret_cast<git_commit*>(head), 0);
  if (code < 0) return git_failure("create branch " + branch, code);
  return UniqueReference(raw);
}

// The registered worktree of the task, when it is valid and on the task's branch. A record whose
// directory has gone (removed by hand) is pruned so that the worktree can be made again.
Result<std::optional<std::string>> existing_worktree(git_repository* main, const Worktree& wanted) {
  UniqueStrarray names;
  if (int code = git_worktree_list(names.get(), main); code < 0)
    return git_failure("list worktrees", code);
  if (!names.contains(wanted.task_id)) return std::optional<std::string>();
  git_worktree* raw = nullptr;
  if (int code = git_worktree_lookup(&raw, main, wanted.task_id.c_str()); code < 0)
    return git_failure("look up worktree " + wanted.task_id, code);
  UniqueWorktree worktree(raw);
  if (git_worktree_validate(worktree.get()) < 0) {
    git_worktree_prune_options prune = GIT_WORKTREE_PRUNE_OPTIONS_INIT;  // invalid ones only
    if (int code = git_worktree_prune(worktree.get(), &prune); code < 0)
      return git_failure("prune the stale worktree record " + wanted.task_id, code);
    return std::optional<std::string>();
  }
  git_repository* raw_repo = nullptr;
  if (int code = git_repository_open_from_worktree(&raw_repo, worktree.get()); code < 0)
    return git_failure("open worktree " + wanted.task_id, code);
  UniqueRepository repo(raw_repo);
  git_reference* raw_head = nullptr;
  if (git_repository_head(&raw_head, repo.get()) < 0)
    return failure("worktree " + wanted.task_id + " exists without a branch checked out");
  UniqueReference head(raw_head);
  if (std::string(git_reference_name(head.get())) != "refs/heads/" + wanted.branch)
    return failure("worktree " + wanted.task_id +
                   " exists on another branch: " + git_reference_shorthand(head.get()));
  return std::optional<std::string>(without_trailing_slash(git_worktree_path(worktree.get())));
}

Result<void> add_worktree(git_repository* main, const std::string& location, Worktree& wanted) {
  auto branch = ensure_branch(main, wanted.branch);
  if (!branch) return Failure{branch.error()};
  std::error_code error;
  fs::create_directories(location, error);
  if (error) return failure("create " + location + ": " + error.message());
  wanted.path = location + "/" + wanted.task_id;
  // libgit2 would check out into a directory that is already there; someone else's files are
  // not ours to mix with.
  if (fs::exists(fs::symlink_status(wanted.path, error)))
    return failure(wanted.path + " already exists and is not the worktree of task " +
                   wanted.task_id);
  git_worktree_add_options options = GIT_WORKTREE_ADD_OPTIONS_INIT;
  options.ref = branch->get();
  git_worktree* raw = nullptr;
  int code = git_worktree_add(&raw, main, wanted.task_id.c_str(), wanted.path.c_str(), &options);
  if (code < 0) return git_failure("add worktree " + wanted.path, code);
  UniqueWorktree added(raw);
  return {};
}

// Whether `relative` (an untracked file) is one .worktreeinclude brought in.
bool listed_for_include(const std::vector<std::vector<std::string>>& patterns,
                        const std::string& relative) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const auto& pattern) {
    return fnmatch(join(pattern).c_str(), relative.c_str(), FNM_PATHNAME) == 0;
  });
}

// Paths with uncommitted changes, leaving out untracked files that .worktreeinclude lists.
Result<std::vector<std::string>> uncommitted_paths(git_repository* repo,
                                                   const std::string& include_root) {
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  git_status_list* raw = nullptr;
  if (int code = git_status_list_new(&raw, repo, &options); code < 0)
    return git_failure("read the status of the worktree", code);
  UniqueStatusList list(raw);
  std::vector<std::string> ignored_warnings;
  auto patterns = read_include_patterns(include_root, ignored_warnings);
  std::vector<std::string> paths;
  for (std::size_t i = 0, count = git_status_list_entrycount(list.get()); i < count; ++i) {
    const git_status_entry* entry = git_status_byindex(list.get(), i);
    const git_diff_delta* delta =
        entry->index_to_workdir ? entry->index_to_workdir : entry->head_to_index;
    if (!delta) continue;
    std::string path = delta->new_file.path;
    if (entry->status == GIT_STATUS_WT_NEW && listed_for_include(patterns, path)) continue;
    paths.push_back(path);
  }
  return paths;
}

std::string describe_paths(const std::vector<std::string>& paths) {
  const std::size_t shown = std::min<std::size_t>(paths.size(), 3);
  std::string text;
  for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + paths[i];
  if (paths.size() > shown) text += " and " + std::to_string(paths.size() - shown) + " more";
  return text;
}

bool same_directory(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

}  // namespace

bool is_valid_task_id(const std::string& task_id) {
  if (task_id.empty() || task_id.front() == '-' || task_id.front() == '.') return false;
  bool allowed = std::all_of(task_id.begin(), task_id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (!allowed) return false;
  GitLibrary library;
  int valid = 0;
  return git_branch_name_is_valid(&valid, (branch_prefix + task_id).c_str()) == 0 && valid;
}

Result<Worktree> ensure_task_worktree(const std::string& cwd, const std::string& task_id,
                                      const WorktreeOptions& options) {
  if (!is_valid_task_id(task_id))
    return failure("not a valid task id: \"" + task_id +
                   "\" (letters, digits, '.', '_' and '-', not starting with '-' or '.')");
  GitLibrary library;
  auto repo = open_repository(cwd);
  if (!repo) return Failure{Error{repo.error().code, "no git repository at or above " + cwd}};
  auto main = open_main_repository(repo->get());
  if (!main) return Failure{main.error()};
  Worktree worktree{.branch = branch_prefix + task_id, .task_id = task_id};
  auto existing = existing_worktree(main->get(), worktree);
  if (!existing) return Failure{existing.error()};
  if (*existing) {
    worktree.path = **existing;
    worktree.reused = true;
  } else {
    std::string location = worktrees_location(main_root(main->get()), options);
    if (auto added = add_worktree(main->get(), location, worktree); !added)
      return Failure{added.error()};
  }
  if (auto copied = copy_include_files(main->get(), worktree); !copied)
    return Failure{copied.error()};
  return worktree;
}

Result<std::optional<std::string>> worktree_removal_blocker(const std::string& worktree_path) {
  GitLibrary library;
  auto repo = open_repository(worktree_path);
  if (!repo) return Failure{Error{repo.error().code, "no git worktree at " + worktree_path}};
  using Reason = std::optional<std::string>;
  if (!git_repository_is_worktree(repo->get()))
    return Reason(worktree_path + " is the main working tree, not a linked worktree");
  const char* workdir = git_repository_workdir(repo->get());
  if (!workdir || !same_directory(workdir, worktree_path))
    return Reason(worktree_path + " is inside a worktree, not the top of one");
  git_worktree* raw = nullptr;
  if (int code = git_worktree_open_from_repository(&raw, repo->get()); code < 0)
    return git_failure("open worktree " + worktree_path, code);
  UniqueWorktree worktree(raw);
  UniqueBuf lock_reason;
  if (git_worktree_is_locked(lock_reason.get(), worktree.get()) > 0)
    return Reason("the worktree is locked" +
                  (lock_reason.str().empty() ? "" : ": " + lock_reason.str()));
  auto main = open_main_repository(repo->get());
  if (!main) return Failure{main.error()};
  auto paths = uncommitted_paths(repo->get(), main_root(main->get()));
  if (!paths) return Failure{paths.error()};
  if (!paths->empty()) return Reason("uncommitted changes: " + describe_paths(*paths));
  return Reason();
}

Result<void> remove_task_worktree(const std::string& worktree_path) {
  auto blocker = worktree_removal_blocker(worktree_path);
  if (!blocker) return Failure{blocker.error()};
  if (*blocker) return failure("not removing " + worktree_path + ": " + **blocker);
  GitLibrary library;
  auto repo = open_repository(worktree_path);
  if (!repo) return Failure{repo.error()};
  git_worktree* raw = nullptr;
  if (int code = git_worktree_open_from_repository(&raw, repo->get()); code < 0)
    return git_failure("open worktree " + worktree_path, code);
  UniqueWorktree worktree(raw);
  // VALID: the worktree is still there, which is the point; WORKING_TREE: delete its files too.
  // The branch is a reference of the common dir and stays.
  git_worktree_prune_options prune = GIT_WORKTREE_PRUNE_OPTIONS_INIT;
  prune.flags = GIT_WORKTREE_PRUNE_VALID | GIT_WORKTREE_PRUNE_WORKING_TREE;
  if (int code = git_worktree_prune(worktree.get(), &prune); code < 0)
    return git_failure("remove worktree " + worktree_path, code);
  return {};
}

}  // namespace sddsh::recorder
