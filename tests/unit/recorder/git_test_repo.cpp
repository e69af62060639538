#include "tests/unit/recorder/git_test_repo.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sddsh::recorder::testing {

namespace {

// Settings every test git command runs with.
const char* const git_prefix =
    "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -c user.name=t -c user.email=t@t "
    "-c init.defaultBranch=main -c protocol.file.allow=always -c advice.detachedHead=false ";

}  // namespace

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  std::string errors_path = "/tmp/sddsh-git-test-stderr-XXXXXX";
  int errors_fd = ::mkstemp(errors_path.data());
  if (errors_fd < 0) return result;
  ::close(errors_fd);
  FILE* pipe = ::popen((command_line + " 2>" + errors_path).c_str(), "r");
  if (pipe) {
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
      result.output.append(buffer, got);
    int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  result.errors = read_file(errors_path);
  ::unlink(errors_path.c_str());
  return result;
}

std::string shell_quote(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

TempDirectory::TempDirectory() {
  std::string pattern = "/tmp/sddsh-git-test-XXXXXX";
  if (::mkdtemp(pattern.data())) path_ = pattern;
  EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
}

TempDirectory::~TempDirectory() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

GitTestRepo::GitTestRepo() {
  git("init -q");
}

std::string GitTestRepo::absolute(std::string_view relative) const {
  return path() + "/" + std::string(relative);
}

CommandResult GitTestRepo::try_git(const std::string& arguments) const {
  return run_command("cd " + shell_quote(path()) + " && " + git_prefix + arguments);
}

std::string GitTestRepo::git(const std::string& arguments) const {
  return git_in(path(), arguments);
}

std::string GitTestRepo::git_in(const std::string& directory, const std::string& arguments) {
  CommandResult result =
      run_command("cd " + shell_quote(directory) + " && " + git_prefix + arguments);
  EXPECT_EQ(result.status, 0) << "git " << arguments << ":\n" << result.output << result.errors;
  return result.output;
}

void GitTestRepo::write(std::string_view relative, std::string_view content) const {
  write_in(path(), relative, content);
}

// Truncates in place, so the inode stays: the hard case for stat caches.
void GitTestRepo::write_in(const std::string& directory, std::string_view relative,
                           std::string_view content) {
  std::filesystem::path file = directory + "/" + std::string(relative);
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string GitTestRepo::read(std::string_view relative) const {
  return read_file(absolute(relative));
}

void GitTestRepo::remove(std::string_view relative) const {
  std::filesystem::remove_all(absolute(relative));
}

void GitTestRepo::commit_all(const std::string& message) const {
  git("add -A");
  git("commit -q -m " + shell_quote(message));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::int64_t mtime_nanoseconds(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) < 0) return -1;
  return static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace sddsh::recorder::testing
