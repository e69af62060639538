#pragma once
// Temporary git repositories for the recorder's git tests, made with the real git CLI (no
// global or system config, so the machine's settings cannot change the outcome).
#include <cstdint>
#include <string>
#include <string_view>

namespace sddsh::recorder::testing {

struct CommandResult {
  int status = -1;     // exit status; -1 when it did not exit normally
  std::string output;  // standard output
  std::string errors;  // standard error
};

CommandResult run_command(const std::string& command_line);
std::string shell_quote(std::string_view text);

// A directory under /tmp that is removed with everything in it.
class TempDirectory {
 public:
  TempDirectory();
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  ~TempDirectory();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class GitTestRepo {
 public:
  GitTestRepo();  // `git init` on branch main, no commit
  const std::string& path() const { return directory_.path(); }
  std::string absolute(std::string_view relative) const;

  // `git ARGUMENTS` in the repository; a test failure if it exits non-zero. Its stdout.
  std::string git(const std::string& arguments) const;
  // The same without the failure: for commands expected to fail.
  CommandResult try_git(const std::string& arguments) const;
  // `git` and `write` for another directory (a submodule, a linked worktree).
  static std::string git_in(const std::string& directory, const std::string& arguments);
  static void write_in(const std::string& directory, std::string_view relative,
                       std::string_view content);

  void write(std::string_view relative, std::string_view content) const;  // makes directories
  std::string read(std::string_view relative) const;
  void remove(std::string_view relative) const;
  void commit_all(const std::string& message) const;  // git add -A && git commit

 private:
  TempDirectory directory_;
};

std::string read_file(const std::string& path);
std::int64_t mtime_nanoseconds(const std::string& path);
std::string trim(std::string text);  // without trailing newlines

}  // namespace sddsh::recorder::testing
