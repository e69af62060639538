// The TUI shows real agents exactly as tmux does: the text of sddsh's agent pane equals the
// capture of the same agent run directly in a tmux pane of the pane's size — at start, after
// typing, after a resize, and after toggling the side panel.
#include <gtest/gtest.h>

#include "agents.hpp"
#include "harness.hpp"

using namespace sddsh::e2e;

namespace {

class TuiAgents : public ::testing::TestWithParam<AgentSetup> {
 protected:
  void SetUp() override {
    if (!GetParam().installed()) GTEST_SKIP() << GetParam().name << " is not installed: run scripts/install-agents";
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }

  bool ready(const std::string& screen) const { return GetParam().shows_ready(screen); }

  // The agent pane of sddsh's window: `rows` rows, `cols` columns (the panel cut away).
  std::string pane_of_sddsh(int rows, int cols) {
    auto lines = split_lines(tmux_.capture("sddsh"));
    std::string out;
    for (int r = 0; r < rows && r < static_cast<int>(lines.size()); ++r)
      out += trim_right(cut_columns(lines[static_cast<std::size_t>(r)], cols)) + "\n";
    return out;
  }
  std::string direct_screen(int rows) {
    auto lines = split_lines(tmux_.capture("direct"));
    std::string out;
    for (int r = 0; r < rows && r < static_cast<int>(lines.size()); ++r) out += lines[static_cast<std::size_t>(r)] + "\n";
    return out;
  }
  // Waits until both show the same text; reports both if they never do.
  void expect_same(int rows, int cols, const std::string& when) {
    std::string direct, through;
    bool same = wait_until([&] {
      direct = direct_screen(rows);
      through = pane_of_sddsh(rows, cols);
      return direct == through;
    }, 20s);
    EXPECT_TRUE(same) << when << "\n--- direct (" << cols << "x" << rows << "):\n" << direct
                      << "--- sddsh pane:\n" << through << "--- sddsh window:\n" << tmux_.capture("sddsh");
    settle(rows, cols);
  }
  // Agents re-render a while after a resize (debounced); the next step must not land in the
  // middle of that on one side only. Settled: both screens unchanged for 700 ms.
  void settle(int rows, int cols) {
    std::string last;
    auto stable_since = Clock::now();
    wait_until([&] {
      std::string now = direct_screen(rows) + pane_of_sddsh(rows, cols);
      if (now != last) {
        last = std::move(now);
        stable_since = Clock::now();
      }
      return Clock::now() - stable_since >= 700ms;
    }, 10s);
  }

  Tmux tmux_;
};

TEST_P(TuiAgents, PaneShowsTheAgentAsTmuxDoes) {
  const AgentSetup& agent = GetParam();
  const std::string sddsh = shell_quote(sddsh_binary()) + " --no-panel --";
  // 100x30 for the agent: sddsh's window has one more row for its status line.
  tmux_.new_session("direct", agent.command("direct"), 100, 30);
  tmux_.new_session("sddsh", agent.command("sddsh", sddsh), 100, 31);
  for (const char* target : {"direct", "sddsh"})
    ASSERT_TRUE(tmux_.wait_for_screen(target, [&](auto& s) { return ready(s); }, 60s))
        << target << " never became ready:\n" << tmux_.capture(target);
  expect_same(30, 100, "at start");

  // Typing reaches the agent and shows the same.
  for (const char* target : {"direct", "sddsh"}) tmux_.send_literal(target, "hello sddsh");
  ASSERT_TRUE(tmux_.wait_for_screen("direct", [](auto& s) { return s.find("hello sddsh") != std::string::npos; }, 10s));
  expect_same(30, 100, "after typing");

  // A resize of the user's terminal resizes the agent.
  tmux_.resize_window("direct", 90, 26);
  tmux_.resize_window("sddsh", 90, 27);
  expect_same(26, 90, "after resize to 90x26");

  // Showing the panel narrows the agent's pane: 90 columns → panel 27, separator 1, pane 62.
  tmux_.send_keys("sddsh", {"C-]"});
  tmux_.send_literal("sddsh", "s");
  tmux_.resize_window("direct", 62, 26);
  expect_same(26, 62, "after showing the panel");
}

INSTANTIATE_TEST_SUITE_P(RealAgents, TuiAgents, ::testing::ValuesIn(all_agent_setups()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
