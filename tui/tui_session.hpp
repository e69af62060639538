#pragma once
// `sddsh AGENT`: the agent in a pane of sddsh's own terminal UI, with a side panel and a status
// line, keys passing through to it except sddsh's prefix key.
#include <string>

#include "shell/pty_child.hpp"
#include "shell/result.hpp"
#include "shell/session_tap.hpp"
#include "tui/task_desk.hpp"

namespace sddsh::tui {

struct TuiOptions {
  shell::SpawnOptions spawn;  // its size is the pane's
  std::string agent_name;     // shown in the panel
  char prefix_byte = 0x1d;    // Ctrl-]
  std::string prefix_label = "C-]";
  bool panel = true;
  int input_fd = 0;
  int output_fd = 1;
  std::string term;        // the user's TERM, for ncurses
  bool truecolor = false;  // the user's COLORTERM announces 24-bit colour
  shell::SessionTap* tap = nullptr;  // the recorder, if any
  TaskDesk* desk = nullptr;          // the task queue, if there is a tracker
};

// The exit code for sddsh, as for pass-through mode; the error is the agent failing to start.
Result<int> run_tui(const TuiOptions& options);

}  // namespace sddsh::tui
