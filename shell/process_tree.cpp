#include "shell/process_tree.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

namespace sddsh::shell {

void become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

namespace {

// Parent pid from /proc/<pid>/stat; the command name may hold spaces and parentheses,
// so the fields are read after the last ')'.
pid_t parent_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::ifstream in(path);
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 > stat.size()) return -1;
  // After ") " come the state and then the parent pid.
  pid_t parent = -1;
  const char* first = stat.c_str() + close + 4;
  std::from_chars(first, stat.c_str() + stat.size(), parent);
  return parent;
}

std::multimap<pid_t, pid_t> children_by_parent() {
  std::multimap<pid_t, pid_t> tree;
  DIR* proc = opendir("/proc");
  if (!proc) return tree;
  while (auto* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    auto parent = parent_of(static_cast<pid_t>(pid));
    if (parent > 0) tree.emplace(parent, static_cast<pid_t>(pid));
  }
  closedir(proc);
  return tree;
}

}  // namespace

std::vector<pid_t> descendants_of(pid_t root) {
  const auto tree = children_by_parent();
  std::vector<pid_t> found;
  std::vector<pid_t> pending{root};
  while (!pending.empty()) {
    pid_t parent = pending.back();
    pending.pop_back();
    auto [first, last] = tree.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      found.push_back(it->second);
      pending.push_back(it->second);
    }
  }
  return found;
}

void signal_each(const std::vector<pid_t>& pids, int sig) {
  for (pid_t pid : pids) ::kill(pid, sig);
}

Reaped reap_children(pid_t watched) {
  Reaped result;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == watched) {
      result.watched_exited = true;
      result.watched_status = status;
    }
  }
  return result;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace sddsh::shell
