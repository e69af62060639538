// How sddsh hands agents their session id and hooks, and how it tells agents apart.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "recorder/agent_kind.hpp"
#include "recorder/agent_launch.hpp"

using namespace sddsh::recorder;
using nlohmann::json;
using Args = std::vector<std::string>;

namespace {

constexpr const char* kId = "0b5c2f4e-1d2a-4c3b-8e9f-0a1b2c3d4e5f";

LaunchPlan plan(AgentKind kind, Args argv, bool supports = true) {
  return plan_launch({.kind = kind,
                      .argv = std::move(argv),
                      .session_id = kId,
                      .hook_command = "'/opt/sddsh' hook",
                      .supports_flag = [supports](const std::string&) { return supports; }});
}

// The JSON given to --settings in a planned command line.
json settings_of(const LaunchPlan& p) {
  for (std::size_t i = 0; i + 1 < p.argv.size(); ++i)
    if (p.argv[i] == "--settings") return json::parse(p.argv[i + 1]);
  return nullptr;
}

}  // namespace

TEST(AgentKind, ComesFromTheCommandNameOrItsFlag) {
  EXPECT_EQ(agent_kind_of_command("claude"), AgentKind::ClaudeCode);
  EXPECT_EQ(agent_kind_of_command("/usr/local/bin/claude"), AgentKind::ClaudeCode);
  EXPECT_EQ(agent_kind_of_command("codex-x86_64-unknown-linux-musl"), AgentKind::Codex);
  EXPECT_EQ(agent_kind_of_command("gemini"), AgentKind::GeminiCli);
  EXPECT_EQ(agent_kind_of_command("copilot"), AgentKind::CopilotCli);
  EXPECT_EQ(agent_kind_of_command("claudette"), AgentKind::Generic);
  EXPECT_EQ(agent_kind_of_command("bash"), AgentKind::Generic);
  for (AgentKind kind : {AgentKind::ClaudeCode, AgentKind::GeminiCli, AgentKind::CopilotCli,
                         AgentKind::Codex, AgentKind::Generic})
    EXPECT_EQ(parse_agent_kind(agent_kind_name(kind)), kind);
  EXPECT_FALSE(parse_agent_kind("cursor"));
}

TEST(LaunchPlan, ClaudeGetsTheSessionIdAndHooksForThisSessionOnly) {
  const LaunchPlan p = plan(AgentKind::ClaudeCode, {"claude", "--permission-mode", "acceptEdits"});
  ASSERT_GE(p.argv.size(), 5u);
  EXPECT_EQ(Args(p.argv.begin(), p.argv.begin() + 3), (Args{"claude", "--settings", p.argv[2]}));
  EXPECT_EQ(Args(p.argv.begin() + 3, p.argv.end()),
            (Args{"--session-id", kId, "--permission-mode", "acceptEdits"}));
  EXPECT_EQ(p.agent_session_id, kId);
  EXPECT_TRUE(p.hooks);
  const json hooks = settings_of(p)["hooks"];
  for (const char* event : {"UserPromptSubmit", "PostToolUse", "Stop", "Notification", "SessionEnd"}) {
    ASSERT_TRUE(hooks.contains(event)) << event;
    EXPECT_EQ(hooks[event][0]["hooks"][0]["command"], "'/opt/sddsh' hook") << event;
    EXPECT_EQ(hooks[event][0]["hooks"][0]["type"], "command") << event;
  }
  EXPECT_EQ(hooks["PostToolUse"][0]["matcher"], "*");
}

TEST(LaunchPlan, ClaudeKeepsTheUsersSessionChoices) {
  const LaunchPlan own = plan(AgentKind::ClaudeCode, {"claude", "--session-id=abc"});
  EXPECT_EQ(own.agent_session_id, "abc");
  EXPECT_EQ(std::count(own.argv.begin(), own.argv.end(), "--session-id"), 0);
  EXPECT_TRUE(own.hooks);
  for (const Args& resume :
       {Args{"claude", "--resume"}, Args{"claude", "-c"}, Args{"claude", "-r", "x"}}) {
    const LaunchPlan p = plan(AgentKind::ClaudeCode, resume);
    EXPECT_FALSE(p.agent_session_id) << resume.back();
    EXPECT_TRUE(p.hooks) << "the hooks name the transcript of a resumed session";
    EXPECT_FALSE(p.notes.empty());
  }
  const LaunchPlan sub = plan(AgentKind::ClaudeCode, {"claude", "mcp", "list"});
  EXPECT_EQ(sub.argv, (Args{"claude", "mcp", "list"}));
  EXPECT_FALSE(sub.hooks);
}

TEST(LaunchPlan, ClaudeHooksJoinTheUsersOwnSettings) {
  const LaunchPlan p =
      plan(AgentKind::ClaudeCode,
           {"claude", "--settings",
            R"({"model":"x","hooks":{"Stop":[{"hooks":[{"type":"command","command":"mine"}]}]}})"});
  EXPECT_EQ(std::count(p.argv.begin(), p.argv.end(), "--settings"), 1);
  const json settings = settings_of(p);
  EXPECT_EQ(settings["model"], "x");
  ASSERT_EQ(settings["hooks"]["Stop"].size(), 2u);
  EXPECT_EQ(settings["hooks"]["Stop"][0]["hooks"][0]["command"], "mine");
  EXPECT_EQ(settings["hooks"]["Stop"][1]["hooks"][0]["command"], "'/opt/sddsh' hook");

  const LaunchPlan unreadable =
      plan(AgentKind::ClaudeCode, {"claude", "--settings", "/no/such/file.json"});
  EXPECT_FALSE(unreadable.hooks);
  EXPECT_EQ(unreadable.argv.at(unreadable.argv.size() - 1), "/no/such/file.json")
      << "left as the user gave it";
}

TEST(LaunchPlan, GeminiAndCopilotGetTheIdWhenTheirVersionTakesIt) {
  for (AgentKind kind : {AgentKind::GeminiCli, AgentKind::CopilotCli}) {
    const std::string name = agent_kind_name(kind);
    const LaunchPlan p = plan(kind, {name, "-m", "x"});
    EXPECT_EQ(p.argv, (Args{name, "--session-id", kId, "-m", "x"}));
    EXPECT_EQ(p.agent_session_id, kId);
    EXPECT_FALSE(p.hooks);
    const LaunchPlan old = plan(kind, {name}, /*supports=*/false);
    EXPECT_EQ(old.argv, Args{name});
    EXPECT_FALSE(old.agent_session_id);
    const LaunchPlan resumed = plan(kind, {name, "--resume"});
    EXPECT_EQ(resumed.argv, (Args{name, "--resume"}));
  }
  EXPECT_EQ(plan(AgentKind::GeminiCli, {"gemini", "mcp", "list"}).argv,
            (Args{"gemini", "mcp", "list"}));
}

TEST(LaunchPlan, CodexAndOtherCommandsRunAsTyped) {
  EXPECT_EQ(plan(AgentKind::Codex, {"codex", "--model", "o"}).argv,
            (Args{"codex", "--model", "o"}));
  EXPECT_EQ(plan(AgentKind::Generic, {"sh", "-c", "x"}).argv, (Args{"sh", "-c", "x"}));
}
