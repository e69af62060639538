// Keys, pastes, mouse and focus reach the agent through the TUI as they do without sddsh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "harness.hpp"

using namespace sddsh::e2e;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string temp_path(const std::string& name) {
  return "/tmp/sddsh-input-" + std::to_string(getpid()) + "-" + name;
}

// A program that records every byte it receives, after writing `setup` to its terminal.
std::string logger(const std::string& file, const std::string& setup) {
  return "sh -c " + shell_quote("printf '" + setup + "'; stty raw -echo; exec dd bs=1 of=" + file + " 2>/dev/null");
}

class KeysThroughTmux : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }
  // Sends the same keys to a logger run directly and one run in sddsh; returns both recordings.
  std::pair<std::string, std::string> record(const std::string& setup,
                                             const std::function<void(const std::string&)>& send) {
    const std::string direct = temp_path("direct"), through = temp_path("sddsh");
    tmux_.new_session("direct", "env TERM=xterm-256color " + logger(direct, setup), 100, 30);
    tmux_.new_session("sddsh", "env TERM=xterm-256color " + shell_quote(sddsh_binary()) + " --no-panel -- " +
                                   logger(through, setup), 100, 31);
    // The logger is ready once raw mode is on; sddsh also once its status line is drawn.
    EXPECT_TRUE(tmux_.wait_for_screen("sddsh", [](auto& s) { return s.find("sddsh") != std::string::npos; }, 10s));
    EXPECT_TRUE(wait_until([&] { return ::access(direct.c_str(), F_OK) == 0 && ::access(through.c_str(), F_OK) == 0; }, 10s));
    for (const char* target : {"direct", "sddsh"}) {
      send(target);
      tmux_.send_literal(target, "<END>");
    }
    EXPECT_TRUE(wait_until([&] {
      return read_file(direct).ends_with("<END>") && read_file(through).ends_with("<END>");
    }, 20s)) << "direct: " << read_file(direct).size() << " bytes, through sddsh: " << read_file(through).size();
    auto result = std::make_pair(read_file(direct), read_file(through));
    ::unlink(direct.c_str());
    ::unlink(through.c_str());
    return result;
  }

  Tmux tmux_;
};

const std::vector<std::string> kKeys{
    "Up", "Down", "Left", "Right", "Home", "End", "PPage", "NPage", "IC", "DC",
    "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
    "M-x", "M-b", "C-a", "C-b", "C-c", "C-e", "C-k", "C-u", "C-w", "C-z", "C-i", "BTab", "Escape",
    "Tab", "Enter", "BSpace", "C-Up", "S-Left", "M-Right", "C-Home", "S-F5"};

}  // namespace

TEST_F(KeysThroughTmux, KeysArriveAsTheyDoWithoutSddsh) {
  auto [direct, through] = record("", [&](const std::string& target) {
    for (const auto& key : kKeys) tmux_.send_keys(target, {key});
    tmux_.send_literal(target, "text: héllo 中文 🎉");
  });
  EXPECT_FALSE(direct.empty());
  EXPECT_EQ(through, direct);
}

TEST_F(KeysThroughTmux, ApplicationCursorAndKeypadModesToo) {
  auto [direct, through] = record("\\033[?1h\\033=", [&](const std::string& target) {
    for (const auto& key : kKeys) tmux_.send_keys(target, {key});
  });
  EXPECT_NE(direct.find("\x1bOA"), std::string::npos) << "the logger asked for application cursor keys";
  EXPECT_EQ(through, direct);
}

TEST_F(KeysThroughTmux, HundredKilobytePasteBracketed) {
  std::string text;
  for (int i = 0; text.size() < 100 * 1024; ++i) text += "pasted line " + std::to_string(i) + " with some words\n";
  const std::string buffer_file = temp_path("paste");
  std::ofstream(buffer_file) << text;
  // No start-server of its own: a server without sessions exits at once, and the client may
  // see that as "server exited unexpectedly". The sessions record() makes keep it up.
  auto [direct, through] = record("\\033[?2004h", [&](const std::string& target) {
    tmux_.run({"load-buffer", "-b", "p", buffer_file});
    tmux_.run({"paste-buffer", "-p", "-b", "p", "-t", target});
  });
  ::unlink(buffer_file.c_str());
  EXPECT_TRUE(direct.starts_with("\x1b[200~")) << direct.substr(0, 20);
  EXPECT_GT(direct.size(), text.size());
  EXPECT_EQ(through.size(), direct.size());
  EXPECT_TRUE(through == direct);
}

// Mouse and focus reports come from the user's terminal; sddsh passes them on only when the
// agent asked for them. The test plays the user's terminal itself.
TEST(TuiMouse, ForwardedOnlyWhenTheAgentEnabledIt) {
  const std::string with = temp_path("mouse-on"), without = temp_path("mouse-off");
  for (const auto& [logged, setup] : {std::pair{with, std::string("\\033[?1000h\\033[?1006h\\033[?1004h")},
                                      std::pair{without, std::string("")}}) {
    const std::string& file = logged;  // lambdas cannot capture a structured binding before clang 16
    PtyProcess term({"sh", "-c", "exec " + shell_quote(sddsh_binary()) + " --no-panel -- " + logger(file, setup + "READY")},
                    {24, 80, 0, 0}, {"TERM=xterm-256color"});
    // Shown means sddsh has read the agent's modes: the user can only click on what is drawn.
    ASSERT_TRUE(term.wait_for_output("READY", 10s)) << term.output();
    ASSERT_TRUE(wait_until([&] { return ::access(file.c_str(), F_OK) == 0; }, 10s));
    term.write("\x1b[<0;5;3M\x1b[<0;5;3m\x1b[<64;5;3M\x1b[I");  // click at column 5, row 3; wheel; focus in
    term.write("<END>");
    ASSERT_TRUE(wait_until([&] { return read_file(file).ends_with("<END>"); }, 10s))
        << "agent got: " << read_file(file) << "\nscreen: " << term.output().substr(term.output().size() > 400 ? term.output().size() - 400 : 0);
    term.write("\x1d");  // prefix
    term.write("q");
    term.write("y");
    EXPECT_TRUE(term.wait_exit(10s));
  }
  // The pane starts at the top-left corner, so the agent sees the same coordinates.
  EXPECT_EQ(read_file(with), "\x1b[<0;5;3M\x1b[<0;5;3m\x1b[<64;5;3M\x1b[I<END>");
  EXPECT_EQ(read_file(without), "<END>");
  ::unlink(with.c_str());
  ::unlink(without.c_str());
}

TEST(TuiMouse, WheelScrollsBackWhenTheAgentDoesNotUseTheMouse) {
  PtyProcess term({sddsh_binary(), "--no-panel", "--", "sh", "-c", "seq 1 100; exec sleep 1000"}, {24, 80, 0, 0},
                  {"TERM=xterm-256color"});
  ASSERT_TRUE(term.wait_for_output("100", 10s));
  term.write("\x1b[<64;5;3M");
  EXPECT_TRUE(term.wait_for_output("history", 10s)) << "the status line shows the scrollback view";
  ::kill(term.pid(), SIGTERM);
  auto status = term.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(exit_code(*status), 143);
}
