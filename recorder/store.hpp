#pragma once
// Where session bundles live. Inside a git repository: `<git common dir>/sddsh/`, so that every
// worktree of the repository shares one store and `git status` never shows it. Elsewhere:
// `$XDG_DATA_HOME/sddsh/` (~/.local/share/sddsh). SDDSH_STORE overrides both.
#include <string>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::recorder {

struct Store {
  std::string root;  // the store directory; bundles are under root/sessions/<id>/
  bool in_git = false;

  std::string sessions_dir() const { return root + "/sessions"; }
  std::string bundle_dir(const std::string& session_id) const {
    return sessions_dir() + "/" + session_id;
  }
};

// The store for work in `directory`, from the environment (SDDSH_STORE, XDG_DATA_HOME, HOME).
Result<Store> locate_store(const std::string& directory);

// The git common dir of the repository holding `directory`, or empty when there is none.
std::string git_common_dir(const std::string& directory);

// Session ids with a bundle in the store (any order).
std::vector<std::string> list_bundle_ids(const Store& store);

// Deletes a reference (a discarded session's snapshot chain) from the repository holding
// `directory`.
void remove_git_reference(const std::string& directory, const std::string& name);

// Removes a directory tree (a discarded bundle).
void remove_tree(const std::string& path);

// Creates a directory and its missing parents (mode 0700: sessions hold what was typed).
Result<void> make_directories(const std::string& path);

}  // namespace sddsh::recorder
