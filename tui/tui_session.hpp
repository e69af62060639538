#pragma once
// `sddsh AGENT`: agents in windows of sddsh's own terminal UI — one in front, drawn in the pane,
// the others kept current behind it — with a side panel and a status line. Keys pass through to
// the agent in front except sddsh's prefix key.
#include <string>

#include "shell/result.hpp"
#include "tui/window_launcher.hpp"

namespace sddsh::tui {

struct TuiOptions {
  WindowBacking* first = nullptr;        // the agent sddsh was started with (window 1)
  WindowLauncher* launcher = nullptr;    // makes the windows opened later; null: none can be
  char prefix_byte = 0x1d;    // Ctrl-]
  std::string prefix_label = "C-]";
  bool panel = true;
  int input_fd = 0;
  int output_fd = 1;
  std::string term;        // the user's TERM, for ncurses
  bool truecolor = false;  // the user's COLORTERM announces 24-bit colour
};

// sddsh's exit code: the first window's agent's, as in pass-through mode (128+N when it was
// ended by signal N), whichever window ended last. The error is the first agent failing to start.
Result<int> run_tui(const TuiOptions& options);

}  // namespace sddsh::tui
