#pragma once
// The agent's environment: the user's, plus what tells it where it runs, minus what would make
// it refuse to start nested.
#include <optional>
#include <string>
#include <vector>

namespace sddsh::shell {

struct AgentEnvironmentOptions {
  std::string session_id;
  std::optional<std::string> task_id;
  // In pass-through mode the agent talks to the user's own terminal, so the user's TERM and
  // COLORTERM describe it best; under the TUI it talks to our emulator.
  bool passthrough = false;
};

// `parent` is "NAME=value" strings (usually from environ).
std::vector<std::string> agent_environment(const std::vector<std::string>& parent,
                                           const AgentEnvironmentOptions& options);

// The process's own environment as strings.
std::vector<std::string> current_environment();

}  // namespace sddsh::shell
