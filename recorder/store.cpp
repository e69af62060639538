#include "recorder/store.hpp"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

#include <git2.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "recorder/session_id.hpp"

namespace sddsh::recorder {

namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string strip_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

std::string git_common_dir(const std::string& directory) {
  git_libgit2_init();
  git_repository* raw = nullptr;
  std::string common;
  if (git_repository_open_ext(&raw, directory.c_str(), 0, nullptr) == 0) {
    std::unique_ptr<git_repository, decltype(&git_repository_free)> repository(raw,
                                                                               git_repository_free);
    if (!git_repository_is_bare(raw)) common = strip_trailing_slash(git_repository_commondir(raw));
  }
  git_libgit2_shutdown();
  return common;
}

void remove_git_reference(const std::string& directory, const std::string& name) {
  git_libgit2_init();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, directory.c_str(), 0, nullptr) == 0) {
    std::unique_ptr<git_repository, decltype(&git_repository_free)> repository(raw,
                                                                               git_repository_free);
    git_reference_remove(raw, name.c_str());
  }
  git_libgit2_shutdown();
}

void remove_tree(const std::string& path) {
  auto remove_entry = [](const char* entry, const struct stat*, int, FTW*) {
    return ::remove(entry);
  };
  ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

Result<Store> locate_store(const std::string& directory) {
  if (std::string forced = environment("SDDSH_STORE"); !forced.empty())
    return Store{strip_trailing_slash(forced), false};
  if (std::string common = git_common_dir(directory); !common.empty())
    return Store{common + "/sddsh", true};
  std::string data = environment("XDG_DATA_HOME");
  if (data.empty() || data.front() != '/') {
    std::string home = environment("HOME");
    if (home.empty()) return Failure{Error{0, "no store: neither XDG_DATA_HOME nor HOME is set"}};
    data = home + "/.local/share";
  }
  return Store{strip_trailing_slash(data) + "/sddsh", false};
}

std::vector<std::string> list_bundle_ids(const Store& store) {
  std::vector<std::string> ids;
  struct CloseDir {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> dir(opendir(store.sessions_dir().c_str()));
  if (!dir) return ids;
  while (dirent* entry = readdir(dir.get()))
    if (is_session_id(entry->d_name)) ids.emplace_back(entry->d_name);
  return ids;
}

Result<void> make_directories(const std::string& path) {
  if (path.empty()) return {};
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return system_failure("mkdir " + prefix);
    if (slash == std::string::npos) break;
  }
  return {};
}

}  // namespace sddsh::recorder
