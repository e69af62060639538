#pragma once
// How sddsh starts an agent so that its own transcript can be found: it hands the agent
// sddsh's session id where the agent takes one (`--session-id`), and gives Claude Code hooks
// for this session only (`--settings`), so turns are exact. Nothing is added when the user
// resumes an old session, picks an id, or runs a subcommand: then the transcript is found by
// watching (see transcript_locator.hpp).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "recorder/agent_kind.hpp"

namespace sddsh::recorder {

struct LaunchRequest {
  AgentKind kind = AgentKind::Generic;
  std::vector<std::string> argv;  // as the user typed it
  std::string session_id;         // sddsh's own, a UUID
  std::string hook_command;       // the shell command a hook runs; empty: no hooks
  // Whether the installed agent takes a flag (it probes `--help`); unset: assume it does.
  std::function<bool(const std::string& flag)> supports_flag;
};

struct LaunchPlan {
  std::vector<std::string> argv;                // what runs
  std::optional<std::string> agent_session_id;  // the agent's own session id, when known now
  bool hooks = false;                           // hooks report to sddsh
  std::vector<std::string> notes;               // why something was left out, for session.json
};

LaunchPlan plan_launch(const LaunchRequest& request);

// The `--settings` JSON that makes Claude Code report its prompts, tool uses, stops and end
// to `hook_command`.
std::string claude_hook_settings(const std::string& hook_command);

}  // namespace sddsh::recorder
