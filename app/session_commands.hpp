#pragma once
// The commands that read the store: sessions, show, diff, recover. Each returns the exit code.
#include "app/cli.hpp"

namespace sddsh::app {

int run_sessions(const SessionsCommand& command);
int run_show(const ShowCommand& command);
int run_diff(const DiffCommand& command);
int run_recover(const RecoverCommand& command);

// The largest file a snapshot takes: SDDSH_SNAPSHOT_MAX_FILE_SIZE ("10M", "512k", bytes), else 10 MiB.
std::uint64_t snapshot_max_file_size();

}  // namespace sddsh::app
