#include "agents.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace sddsh::e2e {

namespace fs = std::filesystem;

namespace {

// The HOMEs and work directories of one test process, removed when it ends.
struct AgentsPlace {
  std::string dir = "/tmp/sddsh-agents-" + std::to_string(getpid());
  ~AgentsPlace() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

std::string base_dir() {
  static const AgentsPlace place;
  return place.dir;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string home_of(const AgentSetup& a, const std::string& tag) {
  return base_dir() + "/home-" + a.name + "-" + tag;
}

// Writes the agent's config into a fresh HOME.
void prepare_home(const AgentSetup& a, const std::string& home) {
  fs::remove_all(home);
  fs::create_directories(home);
  const std::string& w = a.workdir;
  if (a.name == "claude") {
    // The key's last 20 characters mark it as approved; the workdir as trusted.
    write_file(home + "/.claude.json",
               R"({"hasCompletedOnboarding": true, "theme": "dark",
  "customApiKeyResponses": {"approved": ["0123456789abcdefghij"], "rejected": []},
  "projects": {")" + w + R"(": {"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true,
  "allowedTools": []}}})");
  } else if (a.name == "codex") {
    write_file(home + "/.codex/auth.json", R"({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-test-123"})");
    // daemon_auto_start=false: otherwise codex leaves two detached daemons behind.
    write_file(home + "/.codex/config.toml", "model = \"gpt-5.1-codex\"\n"
               "openai_base_url = \"http://127.0.0.1:9/v1\"\n"
               "sandbox_mode = \"danger-full-access\"\napproval_policy = \"never\"\n"
               "check_for_update_on_startup = false\n[analytics]\nenabled = false\n"
               "[features]\ndaemon_auto_start = false\n[tui]\nscreen_reader_detection_done = true\n"
               "[projects.\"" + w + "\"]\ntrust_level = \"trusted\"\n");
  } else if (a.name == "gemini") {
    write_file(home + "/.gemini/settings.json",
               R"({"general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
  "privacy": {"usageStatisticsEnabled": false}, "telemetry": {"enabled": false},
  "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
  "ide": {"enabled": false, "hasSeenNudge": true}})");
  } else if (a.name == "copilot") {
    write_file(home + "/.copilot/settings.json", R"({"banner": "never", "showTipsOnStartup": false, "autoUpdate": false})");
    write_file(home + "/.copilot/config.json", R"({"firstLaunchAt": "2026-01-01T00:00:00.000Z", "appTipShown": true,
  "trustedFolders": [")" + w + R"("]})");
  }
}

// Environment beyond PATH/HOME/TERM/COLORTERM: offline endpoints and no self-updates.
std::string agent_env(const AgentSetup& a, const std::string& home) {
  if (a.name == "claude")
    return "ANTHROPIC_API_KEY=sk-ant-api03-testkey-0123456789abcdefghij DISABLE_AUTOUPDATER=1 "
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 ANTHROPIC_BASE_URL=http://127.0.0.1:9";
  if (a.name == "codex") return "CODEX_HOME=" + home + "/.codex TMPDIR=/var/tmp";
  if (a.name == "gemini")
    return "GEMINI_API_KEY=test-key GEMINI_CLI_NO_RELAUNCH=true GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:9";
  if (a.name == "copilot")
    return "COPILOT_OFFLINE=true COPILOT_AUTO_UPDATE=false COPILOT_MASCOT_BLINK=0 "
           "COPILOT_PROVIDER_BASE_URL=http://127.0.0.1:9/v1 COPILOT_PROVIDER_API_KEY=test COPILOT_MODEL=gpt-4.1";
  return "";
}

AgentSetup make(const std::string& name, const std::string& ready, const std::string& second = "") {
  AgentSetup a{.name = name, .binary = agent_binary(name), .workdir = base_dir() + "/work-" + name,
               .args = {}, .ready_marker = ready, .second_marker = second};
  fs::create_directories(a.workdir);
  return a;
}

}  // namespace

std::string AgentSetup::command(const std::string& home_tag, const std::string& wrapper) const {
  const std::string home = home_of(*this, home_tag);
  prepare_home(*this, home);
  std::string cmd = "cd " + shell_quote(workdir) + " && exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=" +
                    shell_quote(home) + " TERM=xterm-256color COLORTERM=truecolor " +
                    agent_env(*this, home) + " " + wrapper + " " + shell_quote(binary);
  for (const auto& arg : args) cmd += " " + shell_quote(arg);
  return cmd;
}

AgentSetup claude_code_setup() { return make("claude", "? for shortcuts"); }
AgentSetup codex_setup() { return make("codex", "for agents · ? for shortcuts"); }
AgentSetup gemini_setup() { return make("gemini", "Authenticated with gemini-api-key", "Type your message"); }
AgentSetup copilot_setup() { return make("copilot", "open sidebar ·"); }

std::vector<AgentSetup> all_agent_setups() {
  return {claude_code_setup(), codex_setup(), gemini_setup(), copilot_setup()};
}

}  // namespace sddsh::e2e
