#pragma once
// Ending an agent means ending everything it started: agents ignore SIGHUP (Copilot CLI),
// relaunch themselves as children (Gemini CLI) or leave helpers behind. sddsh makes itself a
// child subreaper, so every orphaned descendant is re-parented to it and stays findable.
#include <sys/types.h>

#include <vector>

namespace sddsh::shell {

// Makes orphaned descendants of this process its children (PR_SET_CHILD_SUBREAPER).
void become_subreaper();

// Every live descendant of `root` (not `root` itself), read from /proc.
std::vector<pid_t> descendants_of(pid_t root);

// The processes an agent started (agent `leader`, a session leader) among this process's
// descendants: those below it, and the orphans re-parented to us that stayed in its session.
// With several agents under one sddsh, ending one must leave the others' trees alone.
std::vector<pid_t> agent_tree(pid_t leader);

// Sends `sig` to each pid; vanished processes are ignored.
void signal_each(const std::vector<pid_t>& pids, int sig);

// Reaps every exited child without blocking; returns the wait status of `watched` if it was
// among them.
struct Reaped {
  bool watched_exited = false;
  int watched_status = 0;
};
Reaped reap_children(pid_t watched);

// Reaps every exited child without blocking: each one's pid and wait status.
struct ExitedChild {
  pid_t pid = 0;
  int status = 0;
};
std::vector<ExitedChild> reap_exited_children();

// The exit code a shell would report for a wait status: the code, or 128+N for signal N.
int exit_code_of(int wait_status);

}  // namespace sddsh::shell
