#pragma once
// The agent's environment: the user's, plus what tells it where it runs, minus what would make
// it refuse to start nested.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sddsh::shell {

struct AgentEnvironmentOptions {
  std::string session_id;
  std::optional<std::string> task_id;
  // In pass-through mode the agent talks to the user's own terminal, so the user's TERM and
  // COLORTERM describe it best; under the TUI it talks to our emulator.
  bool passthrough = false;
  // Where `sddsh hook` reports, when the agent's hooks are injected (SDDSH_HOOK_SOCKET).
  std::optional<std::string> hook_socket;
};

// `parent` is "NAME=value" strings (usually from environ).
std::vector<std::string> agent_environment(const std::vector<std::string>& parent,
                                           const AgentEnvironmentOptions& options);

// The value of `name` in "NAME=value" strings (the last definition wins), or empty.
std::string environment_value(const std::vector<std::string>& env, std::string_view name);

// The process's own environment as strings.
std::vector<std::string> current_environment();

}  // namespace sddsh::shell
