// A real agent in a second window of sddsh shows as it does directly in a tmux pane of the same
// size — when opened, after it was hidden while the terminal was resized, after switching back
// and forth, after typing. The shell-only version of these checks is multiplexer_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "agents.hpp"
#include "harness.hpp"

using namespace sddsh::e2e;
namespace fs = std::filesystem;

namespace {

const std::string kShell = "bash --norc --noprofile";

class MultiplexerAgents : public ::testing::TestWithParam<AgentSetup> {
 protected:
  void SetUp() override {
    if (!GetParam().installed())
      GTEST_SKIP() << GetParam().name << " is not installed: run scripts/install-agents";
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }

  bool ready(const std::string& screen) const { return GetParam().shows_ready(screen); }

  std::string capture_rows(const std::string& target, int rows) {
    return tmux_.run(
        {"capture-pane", "-p", "-t", target, "-S", "0", "-E", std::to_string(rows - 1)});
  }
  std::string status_line() {
    const std::string screen = tmux_.capture("sddsh");
    auto lines = split_lines(screen);
    while (!lines.empty() && trim_right(lines.back()).empty()) lines.pop_back();
    return lines.empty() ? "" : lines.back();
  }
  bool status_shows(const std::string& text) {
    return wait_until([&] { return status_line().find(text) != std::string::npos; }, 15s);
  }
  // Waits until both show the same text, then until both stay unchanged for 700 ms (agents
  // re-render a while after a resize); reports both if they never agree.
  void expect_same(int rows, const std::string& when) {
    std::string direct, through;
    const bool same = wait_until(
        [&] {
          direct = capture_rows("direct", rows);
          through = capture_rows("sddsh", rows);
          return direct == through;
        },
        20s);
    EXPECT_TRUE(same) << when << "\n--- direct:\n"
                      << direct << "--- sddsh's window 2:\n"
                      << through << "--- status line: " << status_line();
    std::string last;
    auto stable_since = Clock::now();
    wait_until(
        [&] {
          std::string now = capture_rows("direct", rows) + capture_rows("sddsh", rows);
          if (now != last) {
            last = std::move(now);
            stable_since = Clock::now();
          }
          return Clock::now() - stable_since >= 700ms;
        },
        10s);
  }

  Tmux tmux_;
};

TEST_P(MultiplexerAgents, HiddenAgentWindowKeepsItsScreen) {
  const AgentSetup& agent = GetParam();
  // Window 1 is a shell; the agent is opened in window 2 with prefix c (its command typed in).
  tmux_.new_session("direct", agent.command("direct"), 100, 30);
  tmux_.new_session("sddsh",
                    "cd " + shell_quote(agent.workdir) +
                        " && exec env PS1='$ ' HISTFILE= TERM=xterm-256color " +
                        shell_quote(sddsh_binary()) + " --no-panel -- " + kShell,
                    100, 31);
  ASSERT_TRUE(status_shows("sddsh · bash")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"C-]", "c"});
  ASSERT_TRUE(tmux_.wait_for_screen(
      "sddsh", [](auto& s) { return s.find("command   " + kShell) != std::string::npos; }, 15s))
      << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", std::vector<std::string>(kShell.size(), "BSpace"));
  tmux_.send_literal("sddsh", "sh -c " + shell_quote(agent.command("sddsh")));
  tmux_.send_keys("sddsh", {"Enter"});
  ASSERT_TRUE(status_shows("1:bash 2:sh*")) << tmux_.capture("sddsh");
  for (const char* target : {"direct", "sddsh"})
    ASSERT_TRUE(tmux_.wait_for_screen(
        target, [&](auto& s) { return ready(s); }, 60s))
        << target << " never became ready:\n"
        << tmux_.capture(target);
  expect_same(30, "window 2 at start");

  // Hidden, it is resized with the terminal; shown again, it looks as tmux shows it.
  tmux_.send_keys("sddsh", {"C-]", "1"});
  ASSERT_TRUE(status_shows("1:bash* 2:sh")) << tmux_.capture("sddsh");
  tmux_.resize_window("direct", 90, 26);
  tmux_.resize_window("sddsh", 90, 27);
  ASSERT_TRUE(tmux_.wait_for_screen(
      "sddsh", [](auto& s) { return split_lines(s).size() <= 27; }, 10s));
  tmux_.send_keys("sddsh", {"C-]", "2"});
  ASSERT_TRUE(status_shows("1:bash 2:sh*")) << tmux_.capture("sddsh");
  expect_same(26, "shown again after a resize while hidden");

  // Typing reaches it; away and back (n, p) it is the same.
  for (const char* target : {"direct", "sddsh"}) tmux_.send_literal(target, "hello sddsh");
  ASSERT_TRUE(tmux_.wait_for_screen(
      "direct", [](auto& s) { return s.find("hello sddsh") != std::string::npos; }, 10s));
  expect_same(26, "after typing");
  tmux_.send_keys("sddsh", {"C-]", "n"});
  ASSERT_TRUE(status_shows("1:bash* 2:sh")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"C-]", "p"});
  ASSERT_TRUE(status_shows("1:bash 2:sh*")) << tmux_.capture("sddsh");
  expect_same(26, "after switching away and back");
}

INSTANTIATE_TEST_SUITE_P(RealAgents, MultiplexerAgents, ::testing::ValuesIn(all_agent_setups()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
