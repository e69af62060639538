// The TUI session seen from the user's terminal (the test plays it): clipboard, attention,
// title, and the terminal as it was after sddsh ends.
#include <gtest/gtest.h>
#include <signal.h>

#include "harness.hpp"

using namespace sddsh::e2e;

namespace {

std::vector<std::string> sddsh_tui(const std::string& script) {
  return {sddsh_binary(), "--", "sh", "-c", script};
}

}  // namespace

TEST(TuiSession, ClipboardFromTheAgentReachesTheUsersTerminal) {
  PtyProcess term(sddsh_tui("printf '\\033]52;c;aGVsbG8=\\007copied'; exec sleep 1000"), {24, 100, 0, 0},
                  {"TERM=xterm-256color"});
  ASSERT_TRUE(term.wait_for_output("copied", 10s)) << term.output();
  EXPECT_TRUE(term.wait_for_output("\x1b]52;c;aGVsbG8=\a", 5s));
  ::kill(term.pid(), SIGTERM);
  EXPECT_TRUE(term.wait_exit(10s));
}

TEST(TuiSession, BellMeansWaitingUntilTheUserTypes) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  Tmux tmux;
  // The pane's text is what the user sees; curses rewrites only changed cells, so the test
  // reads the screen, not the byte stream.
  tmux.new_session("s", "env TERM=xterm-256color " + shell_quote(sddsh_binary()) + " -- sh -c " +
                            shell_quote("printf '\\033]0;my-agent-title\\007'; read x; printf '\\007asking'; "
                                        "read y; echo answered; exec sleep 1000"),
                   120, 24);
  auto shows = [&](const std::string& text) {
    return tmux.wait_for_screen("s", [&](auto& screen) { return screen.find(text) != std::string::npos; }, 10s);
  };
  EXPECT_TRUE(shows("title    my-agent-title")) << tmux.capture("s");
  EXPECT_TRUE(shows("state    running")) << tmux.capture("s");
  tmux.send_keys("s", {"Enter"});
  ASSERT_TRUE(shows("asking")) << tmux.capture("s");
  EXPECT_TRUE(shows("state    waiting for you")) << tmux.capture("s");
  EXPECT_TRUE(shows("sddsh · sh · waiting for you")) << "the status line says it too";
  tmux.send_keys("s", {"Enter"});
  ASSERT_TRUE(shows("answered")) << tmux.capture("s");
  EXPECT_TRUE(shows("state    running")) << "typing clears it:\n" << tmux.capture("s");
}

TEST(TuiSession, TerminalIsRestoredWhenTheAgentExits) {
  PtyProcess term(sddsh_tui("printf '\\033[?1h\\033[>4;2m\\033[?2004hbye'; exit 3"), {24, 80, 0, 0},
                  {"TERM=xterm-256color"});
  const termios before = term.modes();
  auto status = term.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(exit_code(*status), 3);
  const auto& out = term.output();
  const auto left_alt = out.rfind("\x1b[?1049l");
  ASSERT_NE(left_alt, std::string::npos) << "curses left its alternate screen";
  const std::string tail = out.substr(left_alt);
  for (const char* reset : {"\x1b[?2004l", "\x1b[?1004l", "\x1b[?1000l", "\x1b[?1006l", "\x1b[?1l", "\x1b[>4m"})
    EXPECT_NE(tail.find(reset), std::string::npos) << "missing reset " << reset + 1;
  const termios after = term.modes();
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
}
