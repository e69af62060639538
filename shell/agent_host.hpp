#pragma once
// The agent seen from sddsh: its PTY, its input queue, its process tree and its end.
// Both session kinds (pass-through and TUI) sit on top of this; they decide where the agent's
// output goes and where its input comes from.
#include <sys/ioctl.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shell/event_loop.hpp"
#include "shell/process_tree.hpp"
#include "shell/pty_child.hpp"

namespace sddsh::shell {

class AgentHost {
 public:
  struct Callbacks {
    // Bytes the agent wrote. The consumer calls pause_output(true) if it cannot take more.
    std::function<void(std::string_view)> on_output;
    // The agent exited and its output is drained (or sddsh ended it): nothing more will come.
    std::function<void()> on_finished;
    // The agent took all queued input: a paused reader of the user's input may read again.
    std::function<void()> on_input_drained;
  };

  // Input queued beyond this makes the caller stop reading the user's input until drained.
  static constexpr std::size_t kInputBacklogLimit = std::size_t{64} * 1024;
  bool input_backlogged() const { return input_pending_.size() > kInputBacklogLimit; }

  AgentHost(EventLoop& loop, PtyChild child, Callbacks callbacks);
  AgentHost(const AgentHost&) = delete;
  AgentHost& operator=(const AgentHost&) = delete;

  // Input for the agent, queued while its terminal does not take it.
  void write(std::string_view bytes);
  std::size_t input_backlog() const { return input_pending_.size(); }
  // Ends the input the way a terminal does: the EOF character (twice after an unfinished line).
  void send_end_of_file();

  // Backpressure: while paused, nothing is read from the agent, so it blocks in write().
  void pause_output(bool paused);
  void resize(const winsize& size) { child_.resize(size); }
  // SIGINT/SIGQUIT that reached sddsh itself go to the agent's foreground job.
  void signal_foreground(int sig);

  // After SIGCHLD: reaps every exited child (sddsh is a subreaper).
  void reap();
  // The same, when one reaper serves several agents: true if `child` was this agent.
  bool take_exit(const ExitedChild& child);

  // Which processes ending the agent ends. Alone in sddsh, everything below sddsh is the agent's;
  // beside other agents, only its own tree and the orphans left in its session.
  enum class TreeScope : unsigned char { EverythingBelowSddsh, OwnSession };
  void set_tree_scope(TreeScope scope) { scope_ = scope; }
  // Ends the agent's whole tree: SIGHUP+SIGTERM now, SIGKILL after a grace period, or at once
  // when called a second time. `sig` is remembered as the reason sddsh ends.
  void terminate(int sig);

  bool finished() const { return finished_; }
  pid_t pid() const { return child_.pid(); }
  // The exit code for sddsh: 128+N when terminated by signal N, else the agent's own.
  int exit_code() const;

 private:
  void on_master(short revents);
  void flush_input();
  void update_watch();
  void arm_drain_timer();
  void kill_remaining_tree();
  void maybe_finish();
  std::vector<pid_t> tree() const;

  EventLoop& loop_;
  PtyChild child_;
  Callbacks callbacks_;
  std::unique_ptr<char[]> buffer_;
  EventLoop::Watch master_watch_;
  EventLoop::Timer drain_timer_;
  EventLoop::Timer kill_timer_;
  std::string input_pending_;
  bool last_input_was_newline_ = true;
  bool output_paused_ = false;
  bool master_closed_ = false;
  bool drained_ = false;
  bool finished_ = false;
  int terminated_by_ = 0;
  TreeScope scope_ = TreeScope::EverythingBelowSddsh;
};

}  // namespace sddsh::shell
