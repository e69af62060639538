#pragma once
// `sddsh --no-tui`: the agent connected straight to the user's terminal, like script(1):
// its bytes go to the output unchanged, the input goes to it, and sddsh stays out of the way.
#include <sys/ioctl.h>

#include <optional>

#include "shell/result.hpp"
#include "shell/pty_child.hpp"
#include "shell/session_tap.hpp"

namespace sddsh::shell {

struct PassthroughOptions {
  SpawnOptions spawn;                // its size is taken from the terminal unless fixed_size
  std::optional<winsize> fixed_size;  // --size, or the size when no side is a terminal
  int input_fd = 0;
  int output_fd = 1;
  SessionTap* tap = nullptr;  // the recorder, if any
};

// The exit code for sddsh: the agent's (128+N when it died of signal N), or 128+N when sddsh
// itself was ended by signal N (SIGTERM, SIGHUP) and ended the agent in turn. The error is the
// agent failing to start (errno ENOENT: not found).
Result<int> run_passthrough(const PassthroughOptions& options);

}  // namespace sddsh::shell
