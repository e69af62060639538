// Real agents through `sddsh --no-tui`: their first screen is the one they show when run directly.
#include <gtest/gtest.h>

#include "agents.hpp"
#include "harness.hpp"

using namespace sddsh::e2e;

namespace {

class AgentPassthrough : public ::testing::TestWithParam<AgentSetup> {};

std::string cursor_of(Tmux& tmux, const std::string& target) {
  return tmux.run({"display-message", "-p", "-t", target, "#{cursor_x},#{cursor_y}"});
}


}  // namespace

TEST_P(AgentPassthrough, FirstScreenAsWhenRunDirectly) {
  const AgentSetup& agent = GetParam();
  if (!agent.installed())
    GTEST_SKIP() << agent.name << " is not installed: run scripts/install-agents";
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";

  Tmux tmux;
  tmux.new_session("direct", agent.command("direct"), 100, 30);
  tmux.new_session("wrapped", agent.command("wrapped", shell_quote(sddsh_binary()) + " --no-tui --"), 100, 30);

  for (const char* target : {"direct", "wrapped"})
    ASSERT_TRUE(tmux.wait_for_screen(target, [&](auto& s) { return agent.shows_ready(s); }, 60s))
        << target << " never showed '" << agent.ready_marker << "':\n" << tmux.capture(target);

  // Both are drawn; they must settle on the same screen and cursor.
  std::string direct, wrapped;
  bool same = wait_until([&] {
    direct = tmux.capture("direct") + cursor_of(tmux, "direct");
    wrapped = tmux.capture("wrapped") + cursor_of(tmux, "wrapped");
    return direct == wrapped;
  }, 20s);
  EXPECT_TRUE(same) << "direct:\n" << direct << "\nthrough sddsh --no-tui:\n" << wrapped;
}

INSTANTIATE_TEST_SUITE_P(RealAgents, AgentPassthrough, ::testing::ValuesIn(all_agent_setups()),
                         [](const auto& param_info) { return param_info.param.name; });
