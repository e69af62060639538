// `sddsh --no-tui`: the acceptance list of the PTY host, driven through the real binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "harness.hpp"
#include "tests/support/temp_dir.hpp"
#include "tui/utf8.hpp"

using sddsh::tui::append_utf8;

using namespace sddsh::e2e;

namespace {

// The test's inputs and outputs (100 MB and more), removed when its process ends.
std::string temp_dir() {
  static const sddsh::test_support::TempDir dir("sddsh-e2e");
  return dir.path();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string without_cr(std::string s) {
  std::erase(s, '\r');
  return s;
}


// Lines of words, `megabytes` long, the same every run.
std::string text_file(std::size_t megabytes) {
  std::string path = temp_dir() + "/text-" + std::to_string(megabytes) + ".txt";
  std::mt19937 rng(42);
  std::string content;
  content.reserve(megabytes << 20);
  while (content.size() < (megabytes << 20)) {
    int words = 3 + static_cast<int>(rng() % 13);
    for (int w = 0; w < words; ++w) {
      int len = 1 + static_cast<int>(rng() % 9);
      for (int i = 0; i < len; ++i) content += static_cast<char>('a' + rng() % 26);
      content += w + 1 < words ? ' ' : '\n';
    }
  }
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Random UTF-8 from ASCII, Latin, CJK, emoji and other 4-byte planes.
std::string utf8_file() {
  std::string path = temp_dir() + "/utf8.txt";
  const std::pair<char32_t, char32_t> ranges[] = {
      {0x20, 0x7e}, {0xa0, 0x7ff}, {0x4e00, 0x9fff}, {0x1f300, 0x1f64f}, {0x10000, 0x100ff}, {0x20000, 0x2a6df}};
  std::mt19937 rng(7);
  std::string content;
  for (int line = 0; line < 100000; ++line) {
    int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      auto [lo, hi] = ranges[rng() % std::size(ranges)];
      append_utf8(content, lo + static_cast<char32_t>(rng() % (hi - lo + 1)));
    }
    content += '\n';
  }
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::vector<std::string> sddsh_args(std::vector<std::string> args) {
  args.insert(args.begin(), sddsh_binary());
  return args;
}

}  // namespace

TEST(Passthrough, ExitCodeOfTheAgent) {
  auto r = run_piped(sddsh_args({"--no-tui", "--", "sh", "-c", "exit 7"}));
  EXPECT_EQ(exit_code(r.status), 7) << r.err;
}

TEST(Passthrough, AgentKilledBySignalGives128PlusN) {
  EXPECT_EQ(exit_code(run_piped(sddsh_args({"--no-tui", "--", "sh", "-c", "kill -TERM $$"})).status), 143);
  EXPECT_EQ(exit_code(run_piped(sddsh_args({"--no-tui", "--", "sh", "-c", "kill -KILL $$"})).status), 137);
}

TEST(Passthrough, CommandNotFoundLikeAShell) {
  auto r = run_piped(sddsh_args({"--no-tui", "--", "sddsh-nosuchcmd"}));
  EXPECT_EQ(exit_code(r.status), 127);
  EXPECT_EQ(r.err, "sddsh: sddsh-nosuchcmd: command not found\n");
  EXPECT_EQ(r.out, "");
}

TEST(Passthrough, UnknownOptionIsOneLineErrorAndExit2) {
  auto r = run_piped(sddsh_args({"--bogus", "claude"}));
  EXPECT_EQ(exit_code(r.status), 2);
  EXPECT_TRUE(r.err.starts_with("sddsh: unknown option: --bogus\n")) << r.err;
}

TEST(Passthrough, FiftyMegabytesOfTextAreByteExact) {
  auto file = text_file(50);
  auto out = temp_dir() + "/text-out";
  auto r = run_piped(sddsh_args({"--no-tui", "--", "cat", file}), "", 120s, out);
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  // The PTY's line discipline turns \n into \r\n (ONLCR); sddsh adds and drops nothing.
  auto got = read_file(out);
  auto want = read_file(file);
  EXPECT_EQ(got.size(), want.size() + static_cast<std::size_t>(std::ranges::count(want, '\n')));
  EXPECT_TRUE(without_cr(got) == want) << "output differs from the file";
}

TEST(Passthrough, RandomUtf8WithFourByteCharactersIsByteExact) {
  auto file = utf8_file();
  auto out = temp_dir() + "/utf8-out";
  auto r = run_piped(sddsh_args({"--no-tui", "--", "cat", file}), "", 60s, out);
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_TRUE(without_cr(read_file(out)) == read_file(file));
}

TEST(Passthrough, PipedInputReachesTheAgentAndItsEndIsAnEof) {
  auto r = run_piped(sddsh_args({"--no-tui", "--", "sh", "-c", "cat > /dev/null; wc -l < /dev/null; echo got-eof"}),
                     "one\ntwo\nthree");
  EXPECT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(r.out.find("got-eof"), std::string::npos) << r.out;
  auto r2 = run_piped(sddsh_args({"--no-tui", "--", "sh", "-c", "read a; read b; echo \"[$a|$b]\""}),
                      "first\nsecond\n");
  EXPECT_NE(r2.out.find("[first|second]"), std::string::npos) << r2.out;
}

TEST(Passthrough, WithoutTerminalTheSizeIs80x24OrGiven) {
  auto r = run_piped(sddsh_args({"--no-tui", "--", "stty", "size"}));
  EXPECT_EQ(without_cr(r.out), "24 80\n");
  auto sized = run_piped(sddsh_args({"--no-tui", "--size", "100x30", "--", "stty", "size"}));
  EXPECT_EQ(without_cr(sized.out), "30 100\n");
}

TEST(Passthrough, AgentEnvironment) {
  auto r = run_piped(
      sddsh_args({"--no-tui", "--task", "T042", "--", "sh", "-c",
             "echo \"id=$SDDSH_SESSION_ID task=$SDDSH_TASK_ID cc=${CLAUDECODE-unset} ct=$COLORTERM\""}));
  auto out = without_cr(r.out);
  EXPECT_NE(out.find("task=T042 cc=unset"), std::string::npos) << out;
  EXPECT_NE(out.find("ct="), std::string::npos) << out;
  auto id = out.substr(out.find("id=") + 3, 36);
  EXPECT_EQ(id.size(), 36U);
  EXPECT_EQ(id[8], '-');
}

TEST(Passthrough, ResizeOfTheUsersTerminalReachesTheAgent) {
  PtyProcess term({sddsh_binary(), "--no-tui", "--", "sh"}, {24, 80, 0, 0}, {"PS1=$ "});
  term.write("stty size\n");
  ASSERT_TRUE(term.wait_for_output("24 80", 10s)) << term.output();
  term.resize({40, 120, 0, 0});  // the kernel sends SIGWINCH to sddsh
  // The resize and the typed command race; repeat the question until the answer changes.
  ASSERT_TRUE(wait_until([&] {
    term.write("stty size\n");
    return term.wait_for_output("40 120", 500ms);
  }, 10s)) << term.output();
  term.write("exit 3\n");
  auto status = term.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(exit_code(*status), 3);
}

TEST(Passthrough, TypedKeysReachTheAgentRaw) {
  // Ctrl-C typed by the user is a byte for the agent's terminal, which makes it SIGINT there.
  PtyProcess term({sddsh_binary(), "--no-tui", "--", "sh", "-c",
                   "trap 'echo got-int; exit 5' INT; echo ready; while :; do sleep 0.1; done"},
                  {24, 80, 0, 0});
  ASSERT_TRUE(term.wait_for_output("ready", 10s)) << term.output();
  term.write("\x03");
  ASSERT_TRUE(term.wait_for_output("got-int", 10s)) << term.output();
  auto status = term.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(exit_code(*status), 5);
}

TEST(Passthrough, SigtermEndsAgentTreeAndRestoresTerminal) {
  const std::string marker = "1000." + std::to_string(getpid());
  PtyProcess term({sddsh_binary(), "--no-tui", "--", "sh", "-c",
                   "trap '' HUP TERM; sleep " + marker + " & echo started; wait"},
                  {24, 80, 0, 0});
  auto before = term.modes();
  ASSERT_TRUE(term.wait_for_output("started", 10s)) << term.output();
  ASSERT_TRUE(wait_until([&] { return !processes_matching("sleep " + marker).empty(); }, 10s));
  auto raw = term.modes();
  EXPECT_FALSE(raw.c_lflag & ICANON) << "sddsh put the terminal in raw mode";

  ASSERT_EQ(::kill(term.pid(), SIGTERM), 0);
  auto status = term.wait_exit(5s);
  ASSERT_TRUE(status) << "sddsh did not exit after SIGTERM";
  EXPECT_EQ(exit_code(*status), 143);
  EXPECT_TRUE(wait_until([&] { return processes_matching("sleep " + marker).empty(); }, 2s))
      << "an orphan of the agent survived";
  auto after = term.modes();
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  EXPECT_EQ(after.c_cflag, before.c_cflag);
  EXPECT_EQ(0, std::memcmp(after.c_cc, before.c_cc, sizeof before.c_cc));
}

TEST(Passthrough, ModesTheAgentLeftOnAreTurnedOff) {
  PtyProcess term({sddsh_binary(), "--no-tui", "--", "sh", "-c",
                   "printf '\\033[?1049h\\033[?25l\\033[?2004hdone'; kill -KILL $$"},
                  {24, 80, 0, 0});
  auto status = term.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(exit_code(*status), 137);
  auto& out = term.output();
  auto done = out.find("done");
  ASSERT_NE(done, std::string::npos) << out;
  auto tail = out.substr(done);
  EXPECT_NE(tail.find("\x1b[?2004l"), std::string::npos);
  EXPECT_NE(tail.find("\x1b[?1049l"), std::string::npos);
  EXPECT_NE(tail.find("\x1b[?25h"), std::string::npos);
}

TEST(Passthrough, ResizeUnderTmuxReachesTheAgent) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  Tmux tmux;
  tmux.new_session("s", shell_quote(sddsh_binary()) + " --no-tui -- sh", 80, 24, {"PS1=$ "});
  tmux.send_keys("s", {"stty size", "Enter"});
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("24 80") != std::string::npos; }, 10s))
      << tmux.capture("s");
  tmux.resize_window("s", 120, 40);
  ASSERT_TRUE(wait_until([&] {
    tmux.send_keys("s", {"clear; stty size", "Enter"});
    return tmux.wait_for_screen("s", [](auto& s) { return s.find("40 120") != std::string::npos; }, 500ms);
  }, 10s)) << tmux.capture("s");
}
