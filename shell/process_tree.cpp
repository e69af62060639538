#include "shell/process_tree.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
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

struct Lineage {
  pid_t parent = -1;
  pid_t session = -1;
};

// Parent and session from /proc/<pid>/stat; the command name may hold spaces and parentheses,
// so the fields are read after the last ')': state, parent, process group, session.
Lineage lineage_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::ifstream in(path);
  std::string stat;
  if (!std::getline(in, stat)) return {};
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 > stat.size()) return {};
  Lineage lineage;
  const char* end = stat.c_str() + stat.size();
  auto parsed = std::from_chars(stat.c_str() + close + 4, end, lineage.parent);
  pid_t group = -1;
  if (parsed.ec == std::errc{} && parsed.ptr < end) parsed = std::from_chars(parsed.ptr + 1, end, group);
  if (parsed.ec == std::errc{} && parsed.ptr < end) std::from_chars(parsed.ptr + 1, end, lineage.session);
  return lineage;
}

struct ProcessTable {
  std::multimap<pid_t, pid_t> children;  // parent → child
  std::map<pid_t, pid_t> session;        // pid → session id
};

ProcessTable read_process_table() {
  ProcessTable table;
  DIR* proc = opendir("/proc");
  if (!proc) return table;
  while (auto* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const Lineage lineage = lineage_of(static_cast<pid_t>(pid));
    if (lineage.parent > 0) table.children.emplace(lineage.parent, static_cast<pid_t>(pid));
    table.session[static_cast<pid_t>(pid)] = lineage.session;
  }
  closedir(proc);
  return table;
}

std::vector<pid_t> descendants_in(const std::multimap<pid_t, pid_t>& tree, pid_t root) {
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

}  // namespace

std::vector<pid_t> descendants_of(pid_t root) { return descendants_in(read_process_table().children, root); }

std::vector<pid_t> agent_tree(pid_t leader) {
  const ProcessTable table = read_process_table();
  std::vector<pid_t> tree;
  for (pid_t pid : descendants_in(table.children, ::getpid())) {
    const auto session = table.session.find(pid);
    if (session != table.session.end() && session->second == leader) tree.push_back(pid);
  }
  for (pid_t pid : descendants_in(table.children, leader))
    if (std::find(tree.begin(), tree.end(), pid) == tree.end()) tree.push_back(pid);
  return tree;
}

void signal_each(const std::vector<pid_t>& pids, int sig) {
  for (pid_t pid : pids) ::kill(pid, sig);
}

std::vector<ExitedChild> reap_exited_children() {
  std::vector<ExitedChild> exited;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    exited.push_back({pid, status});
  }
  return exited;
}

Reaped reap_children(pid_t watched) {
  Reaped result;
  for (const ExitedChild& child : reap_exited_children()) {
    if (child.pid != watched) continue;
    result.watched_exited = true;
    result.watched_status = child.status;
  }
  return result;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace sddsh::shell
