#pragma once
// The libgit2 plumbing shared by snapshots and diffs: one RAII owner per libgit2 handle, a guard
// that keeps the library initialised while anything of ours uses it, and errors taken from
// git_error_last(). Only recorder/*.cpp include this; the public headers keep libgit2 out.
#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "shell/result.hpp"

namespace sddsh::recorder {

// git_libgit2_init/shutdown are reference counted, so every owner of libgit2 objects holds one
// of these (declared before the handles, so it outlives them) instead of a process-wide init.
class GitLibrary {
 public:
  GitLibrary() { git_libgit2_init(); }
  GitLibrary(const GitLibrary&) : GitLibrary() {}
  GitLibrary& operator=(const GitLibrary&) { return *this; }  // both sides already hold one
  ~GitLibrary() { git_libgit2_shutdown(); }
};

// A deleter that calls libgit2's own free function.
template <auto free_function>
struct GitFree {
  template <typename T>
  void operator()(T* handle) const {
    free_function(handle);
  }
};

using UniqueRepository = std::unique_ptr<git_repository, GitFree<git_repository_free>>;
using UniqueIndex = std::unique_ptr<git_index, GitFree<git_index_free>>;
using UniqueTree = std::unique_ptr<git_tree, GitFree<git_tree_free>>;
using UniqueCommit = std::unique_ptr<git_commit, GitFree<git_commit_free>>;
using UniqueDiff = std::unique_ptr<git_diff, GitFree<git_diff_free>>;
using UniquePatch = std::unique_ptr<git_patch, GitFree<git_patch_free>>;
using UniqueReference = std::unique_ptr<git_reference, GitFree<git_reference_free>>;
using UniqueSignature = std::unique_ptr<git_signature, GitFree<git_signature_free>>;
using UniqueStatusList = std::unique_ptr<git_status_list, GitFree<git_status_list_free>>;
using UniqueConfig = std::unique_ptr<git_config, GitFree<git_config_free>>;

// A git_buf that frees itself.
class UniqueBuf {
 public:
  UniqueBuf() = default;
  UniqueBuf(const UniqueBuf&) = delete;
  UniqueBuf& operator=(const UniqueBuf&) = delete;
  ~UniqueBuf() { git_buf_dispose(&buf_); }

  git_buf* get() { return &buf_; }
  std::string str() const { return buf_.ptr ? std::string(buf_.ptr, buf_.size) : std::string(); }

 private:
  git_buf buf_ = GIT_BUF_INIT;
};

// "doing: libgit2's last message". Error::code is libgit2's (negative) return code, so a caller
// can tell GIT_ENOTFOUND from the rest.
Failure git_failure(std::string_view doing, int code);

// The repository that contains `directory` (searching upward, like git). GIT_ENOTFOUND in the
// error code when there is none.
Result<UniqueRepository> open_repository(const std::string& directory);

// The commit `hex` names; an error if it is not a valid id or not a commit of the repository.
Result<UniqueCommit> lookup_commit(git_repository* repo, const std::string& hex);
Result<UniqueTree> commit_tree(const git_commit* commit);

std::string oid_hex(const git_oid& id);

}  // namespace sddsh::recorder
