#pragma once
// What an installed agent CLI supports, asked of the agent itself (`--help`) once per installed
// version and remembered in a small cache file: options such as `--session-id` come and go
// between versions.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sddsh::recorder {

struct ProbeRequest {
  std::string command;                   // as typed: "gemini" or a path
  std::vector<std::string> environment;  // the agent's (PATH decides which binary runs)
  std::string cache_file;                // where answers are remembered; empty: not at all
  std::chrono::milliseconds timeout{10000};
};

// Whether `command --help` mentions `flag`; nothing when the command could not be asked.
std::optional<bool> help_mentions(const ProbeRequest& request, const std::string& flag);

// The executable `command` names under `path_variable` (a PATH value), or empty.
std::string resolve_command(const std::string& command, const std::string& path_variable);

}  // namespace sddsh::recorder
