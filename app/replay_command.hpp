#pragma once
// `sddsh replay [SESSION | --task ID]`: a recorded session played back in the user's terminal
// (replay/replay_view.hpp draws it; docs/replay.md has the keys). The session is a bundle of
// this store, a bundle or .cast path, or one of a task's sessions — local, or fetched from the
// remote tracker when chosen.
#include "app/cli.hpp"

namespace sddsh::app {

// The exit code: 0 when the user quits, 1 when the session cannot be found or read, 2 without a
// terminal on `input_fd` and `output_fd` (checked once the session is found, so a bad name is
// reported as such everywhere), 128+N when signal N (SIGTERM, SIGHUP, SIGINT) ended it.
int run_replay(const ReplayCommand& command, int input_fd = 0, int output_fd = 1);

}  // namespace sddsh::app
