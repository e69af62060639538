#include "recorder/agent_kind.hpp"

#include <array>
#include <utility>

namespace sddsh::recorder {

namespace {

constexpr std::array<std::pair<AgentKind, const char*>, 5> kNames{{
    {AgentKind::ClaudeCode, "claude"},
    {AgentKind::GeminiCli, "gemini"},
    {AgentKind::CopilotCli, "copilot"},
    {AgentKind::Codex, "codex"},
    {AgentKind::Generic, "generic"},
}};

}  // namespace

const char* agent_kind_name(AgentKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "generic";
}

std::optional<AgentKind> parse_agent_kind(std::string_view name) {
  for (const auto& [kind, known] : kNames)
    if (name == known) return kind;
  return std::nullopt;
}

AgentKind agent_kind_of_command(std::string_view command) {
  std::string_view base = command.substr(command.rfind('/') + 1);
  // Platform builds and wrappers add suffixes: "codex-x86_64-unknown-linux-musl", "claude.exe".
  for (const auto& [kind, name] : kNames) {
    const std::string_view known = name;
    if (kind == AgentKind::Generic) continue;
    if (base == known) return kind;
    if (base.size() > known.size() && base.substr(0, known.size()) == known &&
        (base[known.size()] == '-' || base[known.size()] == '.'))
      return kind;
  }
  return AgentKind::Generic;
}

}  // namespace sddsh::recorder
