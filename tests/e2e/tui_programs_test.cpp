// Full-screen programs (vim, htop) and a shell look and behave in sddsh's pane as in tmux:
// same text and, for vim and bash, the same colours and attributes (capture-pane -e).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace sddsh::e2e;

namespace {

class TuiPrograms : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
    dir_ = "/tmp/sddsh-programs-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Starts `command` directly in a 100x30 window and in sddsh (pane 100x30, panel hidden).
  void start(const std::string& command) {
    const std::string env = "cd " + dir_ + " && exec env -i PATH=/usr/bin:/bin HOME=" + dir_ +
                            " TERM=xterm-256color LANG=C.UTF-8 ";
    tmux_.new_session("direct", env + command, 100, 30);
    tmux_.new_session("sddsh", env + shell_quote(sddsh_binary()) + " --no-panel -- " + command, 100, 31);
  }
  std::string pane(const std::string& target, bool colours) {
    std::vector<std::string> args{"capture-pane", "-p", "-t", target, "-S", "0", "-E", "29"};
    if (colours) args.push_back("-e");
    return without_trailing_sgr(tmux_.run(args));
  }
  // capture-pane -e ends a line with a colour reset when trailing blanks were once written as
  // spaces (vim does), not when they were erased (curses does): the blanks look the same.
  static std::string without_trailing_sgr(const std::string& capture) {
    std::string out;
    for (std::string line : split_lines(capture)) {
      for (;;) {
        auto esc = line.rfind("\x1b[");
        if (esc == std::string::npos || line.back() != 'm' ||
            line.find_first_not_of("0123456789;", esc + 2) != line.size() - 1)
          break;
        line.erase(esc);
      }
      out += line + "\n";
    }
    return out;
  }
  void expect_same(bool colours, const std::string& when) {
    std::string direct, through;
    bool same = wait_until([&] {
      direct = pane("direct", colours);
      through = pane("sddsh", colours);
      return direct == through;
    }, 15s);
    EXPECT_TRUE(same) << when << "\n--- direct:\n" << direct << "--- through sddsh:\n" << through;
  }
  bool both_show(const std::string& text) {
    return tmux_.wait_for_screen("direct", [&](auto& s) { return s.find(text) != std::string::npos; }, 15s) &&
           tmux_.wait_for_screen("sddsh", [&](auto& s) { return s.find(text) != std::string::npos; }, 15s);
  }

  Tmux tmux_;
  std::string dir_;
};

}  // namespace

TEST_F(TuiPrograms, VimWithSyntaxColours) {
  if (::access("/usr/bin/vim", X_OK) != 0) GTEST_SKIP() << "vim is not installed (scripts/setup installs it)";
  std::ofstream(dir_ + "/example.c") << "#include <stdio.h>\n/* a comment */\nint main(void) {\n"
                                        "  printf(\"héllo 中文\\n\");\n  return 0;\n}\n";
  start("vim -N -n -u NONE -i NONE -c 'syntax on' -c 'set number' example.c");
  ASSERT_TRUE(both_show("example.c"));
  expect_same(true, "vim showing a file");
  for (const char* target : {"direct", "sddsh"}) {
    tmux_.send_keys(target, {"G", "o"});
    tmux_.send_literal(target, "// typed in insert mode");
    tmux_.send_keys(target, {"Escape"});
  }
  ASSERT_TRUE(both_show("typed in insert mode"));
  expect_same(true, "after typing in vim");
  for (const char* target : {"direct", "sddsh"}) tmux_.send_literal(target, ":q!\r");
  // Leaving vim leaves its alternate screen: both panes show the (empty) shell screen again.
  expect_same(false, "after :q!");
}

TEST_F(TuiPrograms, BashPromptColoursAndLineEditing) {
  start("bash --norc --noprofile");
  // Keys typed before bash reads them would be echoed by the terminal's line discipline.
  ASSERT_TRUE(both_show("bash-"));
  for (const char* target : {"direct", "sddsh"}) {
    tmux_.send_literal(target, "PS1='\\[\\e[1;32m\\]ok\\[\\e[0m\\]> '; printf '\\e[31mred \\e[48;5;27mblue-bg\\e[0m \\e[4munder\\e[0m\\n'\r");
    tmux_.send_literal(target, "echo first secnd");
    tmux_.send_keys(target, {"Left", "Left"});
    tmux_.send_literal(target, "o");  // secnd → second, typed in the middle of the line
    tmux_.send_keys(target, {"Home"});
    tmux_.send_literal(target, "# ");
  }
  ASSERT_TRUE(both_show("# echo first second"));
  expect_same(true, "bash with colours and line editing");
}

TEST_F(TuiPrograms, HtopRunsInTheAlternateScreenAndQuitsCleanly) {
  if (::access("/usr/bin/htop", X_OK) != 0) GTEST_SKIP() << "htop is not installed (scripts/setup installs it)";
  start("sh -c 'htop -d 100; echo htop-exited; exec sleep 1000'");
  ASSERT_TRUE(both_show("F10Quit"));
  // The meters and the process list change from moment to moment; the key bar does not.
  auto last_line = [&](const std::string& target) {
    auto lines = split_lines(pane(target, false));
    return lines.empty() ? std::string() : lines.back();
  };
  EXPECT_TRUE(wait_until([&] { return last_line("direct") == last_line("sddsh"); }, 10s))
      << last_line("direct") << "\n" << last_line("sddsh");
  for (const char* target : {"direct", "sddsh"}) tmux_.send_keys(target, {"F10"});
  ASSERT_TRUE(both_show("htop-exited"));
  expect_same(false, "after htop quit");
}
