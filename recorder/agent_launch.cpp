#include "recorder/agent_launch.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sddsh::recorder {

namespace {

using nlohmann::json;

// The Claude Code events sddsh listens to.
// Notification: Claude Code asks for a permission or has waited for the user a while.
constexpr std::array<const char*, 5> kClaudeHookEvents{"UserPromptSubmit", "PostToolUse", "Stop",
                                                       "Notification", "SessionEnd"};

// Subcommands, after which the agent does not start a conversation.
constexpr std::array<std::string_view, 15> kClaudeSubcommands{
    "agents",  "auth",    "auto-mode",   "doctor",      "gateway", "install", "mcp",   "plugin",
    "plugins", "project", "setup-token", "ultrareview", "update",  "upgrade", "config"};
constexpr std::array<std::string_view, 9> kGeminiSubcommands{
    "mcp", "extensions", "extension", "skills", "skill", "hooks", "hook", "gemma", "gemini"};
constexpr std::array<std::string_view, 15> kCopilotSubcommands{
    "app",      "login",    "help",   "init", "config", "update",      "version", "workflow",
    "sessions", "memories", "plugin", "mcp",  "skill",  "instruction", "lsp"};

template <std::size_t N>
bool runs_subcommand(const std::vector<std::string>& argv,
                     const std::array<std::string_view, N>& subcommands) {
  if (argv.size() < 2) return false;
  return std::find(subcommands.begin(), subcommands.end(), argv[1]) != subcommands.end();
}

// The value of `--name value` or `--name=value` (or its short form), if the user gave it.
std::optional<std::string> option_value(const std::vector<std::string>& argv, std::string_view name,
                                        std::string_view short_name = {}) {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") break;
    if (arg == name || (!short_name.empty() && arg == short_name))
      return i + 1 < argv.size() ? argv[i + 1] : "";
    if (arg.size() > name.size() && arg.compare(0, name.size(), name) == 0 &&
        arg[name.size()] == '=')
      return arg.substr(name.size() + 1);
  }
  return std::nullopt;
}

bool has_option(const std::vector<std::string>& argv, std::string_view name,
                std::string_view short_name = {}) {
  return option_value(argv, name, short_name).has_value();
}

// The user's own --settings (JSON text or a file), which ours must extend, not replace.
std::optional<json> user_settings(const std::string& value) {
  json parsed = json::parse(value, nullptr, false);
  if (parsed.is_object()) return parsed;
  std::ifstream file(value);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  parsed = json::parse(text.str(), nullptr, false);
  if (parsed.is_object()) return parsed;
  return std::nullopt;
}

json hook_entries(const std::string& hook_command) {
  json hooks = json::object();
  for (const char* event : kClaudeHookEvents) {
    json entry = {{"hooks", json::array({{{"type", "command"}, {"command", hook_command}}})}};
    if (std::string_view(event) == "PostToolUse") entry["matcher"] = "*";
    hooks[event] = json::array({entry});
  }
  return hooks;
}

// Removes `--settings X` / `--settings=X` from argv.
std::vector<std::string> without_settings(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--settings") {
      ++i;
      continue;
    }
    if (argv[i].rfind("--settings=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

void insert_after_command(std::vector<std::string>& argv, std::initializer_list<std::string> args) {
  argv.insert(argv.begin() + 1, args);
}

LaunchPlan plan_claude(const LaunchRequest& request) {
  LaunchPlan plan{.argv = request.argv, .agent_session_id = {}, .hooks = false, .notes = {}};
  if (runs_subcommand(request.argv, kClaudeSubcommands)) {
    plan.notes.push_back("a subcommand: no session id or hooks passed");
    return plan;
  }
  if (auto given = option_value(request.argv, "--session-id")) {
    plan.agent_session_id = *given;
  } else if (has_option(request.argv, "--resume", "-r") ||
             has_option(request.argv, "--continue", "-c") ||
             has_option(request.argv, "--from-pr")) {
    plan.notes.push_back("resuming: the transcript is found through the hooks");
  } else {
    insert_after_command(plan.argv, {"--session-id", request.session_id});
    plan.agent_session_id = request.session_id;
  }
  if (request.hook_command.empty()) return plan;
  json settings = json::object();
  if (auto given = option_value(request.argv, "--settings")) {
    auto parsed = user_settings(*given);
    if (!parsed) {
      plan.notes.push_back("--settings could not be read: no hooks, turns are heuristic");
      return plan;
    }
    settings = std::move(*parsed);
    plan.argv = without_settings(plan.argv);
  }
  json& hooks = settings["hooks"];
  if (!hooks.is_object()) hooks = json::object();
  const json ours = hook_entries(request.hook_command);
  for (const auto& [event, entries] : ours.items()) {
    json& list = hooks[event];
    if (!list.is_array()) list = json::array();
    for (const auto& entry : entries) list.push_back(entry);
  }
  insert_after_command(plan.argv, {"--settings", settings.dump()});
  plan.hooks = true;
  return plan;
}

// Gemini CLI and Copilot CLI take `--session-id <uuid>` for a new session in recent versions.
template <std::size_t N>
LaunchPlan plan_session_id_flag(const LaunchRequest& request,
                                const std::array<std::string_view, N>& subcommands,
                                std::initializer_list<std::string_view> resuming) {
  LaunchPlan plan{.argv = request.argv, .agent_session_id = {}, .hooks = false, .notes = {}};
  if (runs_subcommand(request.argv, subcommands)) return plan;
  if (auto given = option_value(request.argv, "--session-id")) {
    plan.agent_session_id = *given;
    return plan;
  }
  for (std::string_view option : resuming)
    if (has_option(request.argv, option)) {
      plan.notes.push_back("resuming: the transcript is found by watching its folder");
      return plan;
    }
  if (request.supports_flag && !request.supports_flag("--session-id")) {
    plan.notes.push_back("this version takes no --session-id: the transcript is found by watching");
    return plan;
  }
  insert_after_command(plan.argv, {"--session-id", request.session_id});
  plan.agent_session_id = request.session_id;
  return plan;
}

}  // namespace

std::string claude_hook_settings(const std::string& hook_command) {
  return json{{"hooks", hook_entries(hook_command)}}.dump();
}

LaunchPlan plan_launch(const LaunchRequest& request) {
  if (request.argv.empty()) return {};
  switch (request.kind) {
    case AgentKind::ClaudeCode:
      return plan_claude(request);
    case AgentKind::GeminiCli:
      return plan_session_id_flag(request, kGeminiSubcommands,
                                  {"--resume", "-r", "--session-file", "--list-sessions"});
    case AgentKind::CopilotCli:
      return plan_session_id_flag(request, kCopilotSubcommands,
                                  {"--resume", "-r", "--continue", "--connect"});
    case AgentKind::Codex:
    case AgentKind::Generic:
      break;
  }
  return LaunchPlan{.argv = request.argv, .agent_session_id = {}, .hooks = false, .notes = {}};
}

}  // namespace sddsh::recorder
