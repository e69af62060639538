#include "shell/environment.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

namespace sddsh::shell {

namespace {

// Claude Code refuses to start when it believes it runs inside itself.
constexpr std::array<std::string_view, 1> kRemoved{"CLAUDECODE"};

constexpr std::string_view kEmulatorTerm = "xterm-256color";

bool usable_term(const std::string& term) { return !term.empty() && term != "dumb"; }

}  // namespace

std::string environment_value(const std::vector<std::string>& env, std::string_view name) {
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    const std::string_view entry = *it;
    if (entry.size() > name.size() && entry.substr(0, name.size()) == name &&
        entry[name.size()] == '=')
      return std::string(entry.substr(name.size() + 1));
  }
  return "";
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

std::vector<std::string> agent_environment(const std::vector<std::string>& parent,
                                           const AgentEnvironmentOptions& options) {
  // Ordered by name so the result is deterministic; the last definition of a name wins.
  std::map<std::string, std::string, std::less<>> vars;
  for (const auto& entry : parent) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (auto name : kRemoved) vars.erase(std::string(name));
  vars.erase("SDDSH_TASK_ID");  // a nested sddsh must not inherit the outer task
  vars.erase("SDDSH_HOOK_SOCKET");  // nor report its agent's hooks to the outer one

  auto term = vars.find("TERM");
  bool keep_user_term = options.passthrough && term != vars.end() && usable_term(term->second);
  if (!keep_user_term) vars["TERM"] = std::string(kEmulatorTerm);
  if (!options.passthrough || !vars.contains("COLORTERM")) vars["COLORTERM"] = "truecolor";

  vars["SDDSH_SESSION_ID"] = options.session_id;
  if (options.task_id) vars["SDDSH_TASK_ID"] = *options.task_id;
  if (options.hook_socket) vars["SDDSH_HOOK_SOCKET"] = *options.hook_socket;

  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [name, value] : vars) {
    std::string entry = name;
    entry += '=';
    entry += value;
    env.push_back(std::move(entry));
  }
  return env;
}

}  // namespace sddsh::shell
