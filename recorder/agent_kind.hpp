#pragma once
// Which agent CLI a session runs: it decides how sddsh hands the agent a session id, where the
// agent's own transcript is, and how that transcript reads. Chosen from the command's name;
// `--agent-kind` overrides it (a wrapper script, a renamed binary).
#include <optional>
#include <string>
#include <string_view>

namespace sddsh::recorder {

enum class AgentKind : unsigned char { ClaudeCode, GeminiCli, CopilotCli, Codex, Generic };

// "claude", "gemini", "copilot", "codex", "generic": the names `--agent-kind` takes and
// session.json stores.
const char* agent_kind_name(AgentKind kind);
std::optional<AgentKind> parse_agent_kind(std::string_view name);

// From the command as typed: "claude", "/usr/local/bin/claude", "codex-x86_64-linux" → its kind;
// anything unknown is Generic.
AgentKind agent_kind_of_command(std::string_view command);

}  // namespace sddsh::recorder
