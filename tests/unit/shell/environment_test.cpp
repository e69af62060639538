#include "shell/environment.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using sddsh::shell::agent_environment;

namespace {

std::optional<std::string> lookup(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
  return std::nullopt;
}

}  // namespace

TEST(AgentEnvironment, RemovesClaudeCodeNestingMarkerAndSetsSession) {
  auto env = agent_environment({"HOME=/h", "CLAUDECODE=1", "PATH=/bin"},
                               {.session_id = "abc", .task_id = "T1", .passthrough = false});
  EXPECT_FALSE(lookup(env, "CLAUDECODE"));
  EXPECT_EQ(lookup(env, "HOME"), "/h");
  EXPECT_EQ(lookup(env, "SDDSH_SESSION_ID"), "abc");
  EXPECT_EQ(lookup(env, "SDDSH_TASK_ID"), "T1");
}

TEST(AgentEnvironment, TuiAgentSeesTheEmulatorsTerm) {
  auto env = agent_environment({"TERM=xterm-kitty", "COLORTERM=no"}, {.session_id = "s"});
  EXPECT_EQ(lookup(env, "TERM"), "xterm-256color");
  EXPECT_EQ(lookup(env, "COLORTERM"), "truecolor");
}

TEST(AgentEnvironment, PassthroughKeepsTheUsersTerminal) {
  auto env = agent_environment({"TERM=xterm-kitty", "COLORTERM=24bit"},
                               {.session_id = "s", .passthrough = true});
  EXPECT_EQ(lookup(env, "TERM"), "xterm-kitty");
  EXPECT_EQ(lookup(env, "COLORTERM"), "24bit");
}

TEST(AgentEnvironment, PassthroughReplacesDumbOrMissingTerm) {
  auto dumb = agent_environment({"TERM=dumb"}, {.session_id = "s", .passthrough = true});
  EXPECT_EQ(lookup(dumb, "TERM"), "xterm-256color");
  auto missing = agent_environment({}, {.session_id = "s", .passthrough = true});
  EXPECT_EQ(lookup(missing, "TERM"), "xterm-256color");
  EXPECT_EQ(lookup(missing, "COLORTERM"), "truecolor");
}

TEST(AgentEnvironment, OuterTaskIsNotInheritedWithoutATask) {
  auto env = agent_environment({"SDDSH_TASK_ID=old", "SDDSH_SESSION_ID=old"}, {.session_id = "new"});
  EXPECT_FALSE(lookup(env, "SDDSH_TASK_ID"));
  EXPECT_EQ(lookup(env, "SDDSH_SESSION_ID"), "new");
}

TEST(AgentEnvironment, IgnoresMalformedEntries) {
  auto env = agent_environment({"=x", "NOEQUALS", "A=1=2"}, {.session_id = "s"});
  EXPECT_EQ(lookup(env, "A"), "1=2");
  EXPECT_EQ(std::ranges::count_if(env, [](auto& e) { return e.starts_with("="); }), 0);
}
