#include "recorder/git_repository.hpp"

namespace sddsh::recorder {

Failure git_failure(std::string_view doing, int code) {
  const git_error* last = git_error_last();
  std::string message(doing);
  message += ": ";
  message += last && last->message ? last->message : "libgit2 error " + std::to_string(code);
  return Failure{Error{code, std::move(message)}};
}

Result<UniqueRepository> open_repository(const std::string& directory) {
  git_repository* repo = nullptr;
  // No GIT_REPOSITORY_OPEN_FROM_ENV: the agent's GIT_DIR or GIT_INDEX_FILE must not redirect us.
  int code = git_repository_open_ext(&repo, directory.c_str(), 0, nullptr);
  if (code < 0) return git_failure("open git repository at " + directory, code);
  return UniqueRepository(repo);
}

Result<UniqueCommit> lookup_commit(git_repository* repo, const std::string& hex) {
  git_oid id;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex.c_str()) < 0) {
    return Failure{Error{GIT_EINVALIDSPEC, "not a commit id: \"" + hex + "\""}};
  }
  git_commit* commit = nullptr;
  int code = git_commit_lookup(&commit, repo, &id);
  if (code < 0) return git_failure("look up commit " + hex, code);
  return UniqueCommit(commit);
}

Result<UniqueTree> commit_tree(const git_commit* commit) {
  git_tree* tree = nullptr;
  int code = git_commit_tree(&tree, commit);
  if (code < 0)
    return git_failure("read the tree of commit " + oid_hex(*git_commit_id(commit)), code);
  return UniqueTree(tree);
}

std::string oid_hex(const git_oid& id) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &id);
  return hex;
}

}  // namespace sddsh::recorder
