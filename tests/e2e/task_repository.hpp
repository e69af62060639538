#pragma once
// A temporary git repository whose store (and local tracker) is under .git/sddsh, and sddsh run
// in it through its command line: the tests of tasks in sessions share these.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace sddsh::e2e {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline std::string make_temp_dir(const std::string& tag) {
  std::string tmpl = "/tmp/sddsh-tasks-" + tag + "-XXXXXX";
  return mkdtemp(tmpl.data());
}

inline constexpr const char* kGit = "git -c user.name=t -c user.email=t@example.com ";

// A repository with one commit; its store (and tracker) is under .git/sddsh.
inline std::string make_repository() {
  const std::string dir = make_temp_dir("repo");
  auto r =
      run_piped({"sh", "-c",
                 "cd " + shell_quote(dir) + " && git init -q -b main . && echo base > README && " +
                     kGit + "add -A && " + kGit + "commit -qm init"});
  EXPECT_EQ(exit_code(r.status), 0) << r.err;
  return dir;
}

// sddsh in `dir` with the store of that repository (not the harness's scratch store).
// `env` (NAME=value words) goes into sddsh's environment, and so its agents'.
inline std::string sddsh_in(const std::string& dir, const std::string& args,
                            const std::string& env = "") {
  return "cd " + shell_quote(dir) + " && exec env -u SDDSH_STORE SDDSH_ACTOR=tester " +
         (env.empty() ? "" : env + " ") + shell_quote(sddsh_binary()) + " " + args;
}

inline nlohmann::json run_json(const std::string& dir, const std::string& args) {
  auto r = run_piped({"sh", "-c", sddsh_in(dir, args)});
  EXPECT_EQ(exit_code(r.status), 0) << args << "\n" << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

inline std::string add_task(const std::string& dir, const std::string& title, int priority) {
  nlohmann::json task = run_json(dir, "task add " + shell_quote(title) + " --priority " +
                                          std::to_string(priority) + " --json");
  return task.value("id", "");
}

inline nlohmann::json session_of(const std::string& dir) {
  return run_json(dir, "show --json last");
}

}  // namespace sddsh::e2e
