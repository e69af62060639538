#pragma once
// What a recorder sees of a session. Both session kinds (pass-through and TUI) report the same
// moments through this interface, so the recorder neither knows nor cares which one runs.
// Every call comes from the session's event loop thread.
#include <sys/ioctl.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "shell/event_loop.hpp"

namespace sddsh::shell {

class SessionTap {
 public:
  virtual ~SessionTap() = default;
  // The agent (process `agent_pid`) runs in a terminal of `size`; `loop` is there for the tap's
  // timers and descriptors until ended().
  virtual void started(EventLoop& loop, winsize size, pid_t agent_pid) = 0;
  // Bytes the agent wrote, before anything interprets them.
  virtual void agent_output(std::string_view bytes) = 0;
  // Bytes the user sent to the agent (keys and pastes; not sddsh's own answers to queries).
  virtual void user_input(std::string_view bytes) = 0;
  // The agent's terminal changed size.
  virtual void resized(winsize size) = 0;
  // The agent is gone and its output drained; the loop is about to end.
  virtual void ended() = 0;
  // A few words for the panel: "3 turns", "not in git".
  virtual std::string summary() const = 0;
  // One short line for the status line: empty when all is well, else what went wrong (e.g. the
  // store is full). Shown as a warning; the session goes on.
  virtual std::string warning() const = 0;
  // Who to tell when the agent itself says it waits for the user (its hooks: a turn ended, a
  // question asked). Called on the loop thread; a tap without such news never calls it.
  virtual void on_waiting_for_user(std::function<void()> listener) { (void)listener; }
};

}  // namespace sddsh::shell
