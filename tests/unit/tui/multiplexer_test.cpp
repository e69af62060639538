// Window lifecycle on the headless painter: real shells in real PTYs, the user's keys through a
// pipe, every wait bounded by a deadline.
#include "tui/multiplexer.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "shell/environment.hpp"
#include "shell/signal_fd.hpp"
#include "tui/headless_painter.hpp"

namespace sddsh::tui {
namespace {

using namespace std::chrono_literals;

constexpr char kPrefix[] = "\x1d";

// A window's app side, without a recorder or a tracker: what the multiplexer asks and tells.
class TestBacking final : public WindowBacking {
 public:
  explicit TestBacking(std::vector<std::string> argv) {
    spawn_.argv = std::move(argv);
    spawn_.environment = shell::current_environment();
    spawn_.environment.push_back("PS1=$ ");
  }
  const shell::SpawnOptions& spawn() const override { return spawn_; }
  std::string agent_name() const override { return spawn_.argv.front(); }
  shell::SessionTap* tap() override { return nullptr; }
  TaskDesk* desk() override { return nullptr; }
  std::string brief() const override { return ""; }
  void spawn_failed() override { failed_to_spawn = true; }
  void finished(int exit_code) override { finished_with = exit_code; }
  std::optional<std::string> worktree() const override { return std::nullopt; }
  std::optional<std::string> worktree_removal_blocker() const override { return "no worktree"; }
  Result<void> remove_worktree() override { return Failure{Error{ENOENT, "no worktree"}}; }

  bool failed_to_spawn = false;
  std::optional<int> finished_with;

 private:
  shell::SpawnOptions spawn_;
};

class TestLauncher final : public WindowLauncher {
 public:
  std::string default_command() const override { return "sh"; }
  Result<WindowBacking*> open(const WindowRequest& request) override {
    std::istringstream words(request.command.empty() ? default_command() : request.command);
    std::vector<std::string> argv;
    for (std::string word; words >> word;) argv.push_back(word);
    if (argv.empty()) return Failure{Error{EINVAL, "no command given"}};
    backings.push_back(std::make_unique<TestBacking>(std::move(argv)));
    return backings.back().get();
  }
  TestBacking& make(std::vector<std::string> argv) {
    backings.push_back(std::make_unique<TestBacking>(std::move(argv)));
    return *backings.back();
  }
  std::vector<std::unique_ptr<TestBacking>> backings;
};

class WindowLifecycle : public ::testing::Test {
 protected:
  void start(std::vector<std::string> first_argv, bool panel = true) {
    ASSERT_EQ(::pipe(input_), 0);
    TestBacking& first = launcher_.make(std::move(first_argv));
    options_.first = &first;
    options_.launcher = &launcher_;
    options_.panel = panel;
    options_.input_fd = input_[0];
    TerminalHooks hooks{.size = [this] { return std::optional<winsize>(size_); },
                        .set_reset_sequence = [](std::string) {},
                        .leave = [] {}};
    shell::SpawnOptions spawn = first.spawn();
    mux_ = std::make_unique<Multiplexer>(options_, painter_, std::move(hooks), signals_, shell::PtyChild::spawn(spawn));
    mux_->start();
    // The terminal answers sddsh's start-up probe (DA1 ends it), as any terminal does.
    type("\x1b[?62;22c");
  }

  void TearDown() override {
    if (mux_ && !mux_->done()) {
      type(std::string(kPrefix) + "q");
      type("y");
      run_until([&] { return mux_->done(); }, 10s);
    }
    mux_.reset();
    if (input_[0] >= 0) ::close(input_[0]);
    if (input_[1] >= 0) ::close(input_[1]);
  }

  void type(const std::string& bytes) {
    ASSERT_EQ(::write(input_[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    // Let the multiplexer read it and draw (frames are at most 16 ms apart) before the next keys.
    const auto until = std::chrono::steady_clock::now() + 50ms;
    while (!mux_->done() && std::chrono::steady_clock::now() < until) mux_->step(10ms);
  }

  bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (mux_->done() || std::chrono::steady_clock::now() > deadline) return condition();
      mux_->step(20ms);
    }
    return true;
  }

  std::string frame() const {
    std::string text;
    for (const auto& line : painter_.text_lines()) text += line + "\n";
    return text;
  }
  std::string status_line() const { return painter_.text_lines().back(); }
  bool frame_shows(const std::string& text) const { return frame().find(text) != std::string::npos; }
  // A line of the pane (left of the panel) that reads exactly `text`.
  bool pane_shows_line(const std::string& text) const {
    for (std::string line : painter_.text_lines()) {
      line = line.substr(0, line.find("│"));
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (line == text) return true;
    }
    return false;
  }

  // prefix c, the command typed over the default one, Enter.
  void open_window(const std::string& command = "") {
    type(std::string(kPrefix) + "c");
    ASSERT_EQ(mux_->mode(), Multiplexer::Mode::NewWindow);
    if (!command.empty()) {
      type("\x7f\x7f");  // the default "sh"
      type(command);
    }
    type("\r");
  }

  int current_number() const { return mux_->current() ? mux_->current()->number() : 0; }
  std::size_t window_count() const { return mux_->summaries().size(); }

  int input_[2] = {-1, -1};
  winsize size_{30, 120, 0, 0};
  HeadlessPainter painter_{30, 120};
  shell::SignalFd signals_{SIGCHLD, SIGWINCH, SIGTERM, SIGHUP};
  TestLauncher launcher_;
  TuiOptions options_;
  std::unique_ptr<Multiplexer> mux_;
};

TEST_F(WindowLifecycle, TheOnlyWindowEndingEndsSddshWithItsAgentsCode) {
  start({"sh", "-c", "exit 3"});
  ASSERT_TRUE(run_until([&] { return mux_->done(); }, 10s));
  EXPECT_EQ(mux_->exit_code(), 3);
  EXPECT_EQ(launcher_.backings[0]->finished_with, 3);
}

TEST_F(WindowLifecycle, PrefixCOpensTheDefaultCommandInFrontAndNumbersSwitch) {
  start({"sh"});
  type("echo first-window\r");
  ASSERT_TRUE(run_until([&] { return pane_shows_line("first-window"); }, 10s)) << frame();
  open_window();
  ASSERT_EQ(window_count(), 2u);
  EXPECT_EQ(current_number(), 2);
  EXPECT_EQ(launcher_.backings[1]->spawn().argv, std::vector<std::string>{"sh"});
  type("echo second-window\r");
  ASSERT_TRUE(run_until([&] { return pane_shows_line("second-window"); }, 10s)) << frame();
  EXPECT_FALSE(frame_shows("first-window")) << "only the window in front is drawn:\n" << frame();
  EXPECT_NE(status_line().find("1:sh 2:sh*"), std::string::npos) << status_line();
  EXPECT_TRUE(frame_shows("Windows")) << "the panel lists the windows:\n" << frame();

  type(std::string(kPrefix) + "1");
  EXPECT_EQ(current_number(), 1);
  ASSERT_TRUE(run_until([&] { return pane_shows_line("first-window"); }, 5s)) << frame();
  EXPECT_FALSE(frame_shows("second-window"));
  type(std::string(kPrefix) + "n");
  EXPECT_EQ(current_number(), 2);
  type(std::string(kPrefix) + "n");
  EXPECT_EQ(current_number(), 1) << "n wraps around";
  type(std::string(kPrefix) + "p");
  EXPECT_EQ(current_number(), 2);

  // The window list: ↑ and Enter.
  type(std::string(kPrefix) + "w");
  ASSERT_EQ(mux_->mode(), Multiplexer::Mode::WindowList);
  EXPECT_TRUE(frame_shows("▸ 2  sh")) << frame();
  type("\x1b[A");
  type("\r");
  EXPECT_EQ(current_number(), 1);
  EXPECT_EQ(mux_->mode(), Multiplexer::Mode::Normal);
}

TEST_F(WindowLifecycle, AHiddenWindowKeepsItsScreenCurrentAndIsMarkedUnread) {
  start({"sh"});
  open_window();
  ASSERT_EQ(current_number(), 2);
  type("sleep 0.5; echo printed-while-hidden\r");
  type(std::string(kPrefix) + "1");
  ASSERT_EQ(current_number(), 1);
  ASSERT_TRUE(run_until([&] { return mux_->summaries()[1].unread_output; }, 10s));
  ASSERT_TRUE(run_until([&] { return status_line().find("2:sh•") != std::string::npos; }, 5s)) << status_line();
  EXPECT_FALSE(frame_shows("printed-while-hidden"));
  type(std::string(kPrefix) + "2");
  ASSERT_TRUE(run_until([&] { return pane_shows_line("printed-while-hidden"); }, 5s)) << frame();
  EXPECT_FALSE(mux_->summaries()[1].unread_output) << "seen now";
}

TEST_F(WindowLifecycle, ABellInAHiddenWindowMarksItAndCountsItAsWaiting) {
  start({"sh"});
  open_window();
  type("sleep 0.5; printf '\\a'\r");
  type(std::string(kPrefix) + "1");
  ASSERT_TRUE(run_until([&] { return mux_->summaries()[1].unread_bell; }, 10s));
  EXPECT_EQ(mux_->summaries()[1].state, WindowSummary::State::Waiting);
  ASSERT_TRUE(run_until([&] { return status_line().find("1 waiting for you") != std::string::npos; }, 5s))
      << status_line();
  EXPECT_NE(status_line().find("2:sh!"), std::string::npos) << status_line();
  EXPECT_NE(painter_.terminal_bytes().find('\a'), std::string::npos) << "the bell reaches the user's terminal";
  // Looking at it clears the mark; answering it ends the wait.
  type(std::string(kPrefix) + "2");
  EXPECT_FALSE(mux_->summaries()[1].unread_bell);
  type("\r");
  EXPECT_EQ(mux_->summaries()[1].state, WindowSummary::State::Running);
}

TEST_F(WindowLifecycle, QuietAfterATurnMeansWaiting) {
  start({"sh"});
  type("echo answered\r");
  ASSERT_TRUE(run_until([&] { return pane_shows_line("answered"); }, 10s));
  EXPECT_EQ(mux_->summaries()[0].state, WindowSummary::State::Running);
  ASSERT_TRUE(run_until([&] { return mux_->summaries()[0].state == WindowSummary::State::Waiting; },
                        AgentWindow::kIdleAfterTurn + 5s));
  EXPECT_TRUE(run_until([&] { return status_line().find("waiting for you") != std::string::npos; }, 2s))
      << status_line();
}

TEST_F(WindowLifecycle, AnExitedWindowStaysUntilClosed) {
  start({"sh"});
  open_window("false");
  ASSERT_TRUE(run_until([&] { return mux_->summaries()[1].state == WindowSummary::State::Exited; }, 10s));
  EXPECT_EQ(mux_->summaries()[1].exit_code, 1);
  ASSERT_EQ(current_number(), 2);
  ASSERT_TRUE(run_until([&] { return status_line().find("exited 1, & closes") != std::string::npos; }, 5s))
      << status_line();
  EXPECT_FALSE(mux_->done()) << "window 1 still runs";
  type(std::string(kPrefix) + "&");  // an ended window goes without asking
  ASSERT_TRUE(run_until([&] { return window_count() == 1; }, 5s));
  EXPECT_EQ(current_number(), 1);
  EXPECT_TRUE(launcher_.backings[1]->finished_with.has_value());
}

TEST_F(WindowLifecycle, ClosingARunningWindowAsksThenEndsItsAgent) {
  start({"sh"});
  open_window();
  type(std::string(kPrefix) + "&");
  EXPECT_EQ(mux_->mode(), Multiplexer::Mode::ConfirmClose);
  EXPECT_TRUE(frame_shows("Close window 2 (sh)?")) << frame();
  type("n");
  EXPECT_EQ(window_count(), 2u);
  type(std::string(kPrefix) + "&");
  type("y");
  ASSERT_TRUE(run_until([&] { return window_count() == 1; }, 10s));
  EXPECT_EQ(launcher_.backings[1]->finished_with, 128 + SIGHUP);
  EXPECT_EQ(current_number(), 1);
  // The number is free again.
  open_window();
  EXPECT_EQ(current_number(), 2);
}

TEST_F(WindowLifecycle, AWindowWhoseAgentCannotStartSaysWhyAndStays) {
  start({"sh"});
  open_window("no-such-agent-for-sddsh");
  ASSERT_EQ(window_count(), 2u);
  EXPECT_EQ(current_number(), 2);
  EXPECT_EQ(mux_->summaries()[1].state, WindowSummary::State::Failed);
  EXPECT_TRUE(launcher_.backings[1]->failed_to_spawn);
  ASSERT_TRUE(run_until([&] { return frame_shows("This window stays until you close it"); }, 5s)) << frame();
  EXPECT_TRUE(frame_shows("no-such-agent-for-sddsh: ")) << frame();
  EXPECT_FALSE(mux_->done());
  type(std::string(kPrefix) + "&");
  ASSERT_TRUE(run_until([&] { return window_count() == 1; }, 5s));
}

TEST_F(WindowLifecycle, SigtermEndsEveryAgentAndSddshTakesTheFirstWindowsCode) {
  start({"sh"});
  open_window();
  open_window();
  ASSERT_EQ(window_count(), 3u);
  ::kill(::getpid(), SIGTERM);  // blocked here: it waits in the signalfd
  ASSERT_TRUE(run_until([&] { return mux_->done(); }, 10s));
  EXPECT_EQ(mux_->exit_code(), 128 + SIGTERM);
  for (const auto& backing : launcher_.backings) EXPECT_EQ(backing->finished_with, 128 + SIGTERM);
}

TEST_F(WindowLifecycle, QuitEndsEveryWindow) {
  start({"sh"});
  open_window();
  type(std::string(kPrefix) + "q");
  EXPECT_TRUE(frame_shows("End all 2 agents and quit sddsh?")) << frame();
  type("y");
  ASSERT_TRUE(run_until([&] { return mux_->done(); }, 10s));
  EXPECT_EQ(mux_->exit_code(), 128 + SIGHUP);
}

TEST_F(WindowLifecycle, AResizeReachesHiddenWindowsToo) {
  start({"sh"}, /*panel=*/false);
  open_window();
  size_ = {20, 90, 0, 0};
  ::kill(::getpid(), SIGWINCH);
  ASSERT_TRUE(run_until([&] { return mux_->current()->screen().cols() == 90; }, 5s));
  type(std::string(kPrefix) + "1");
  EXPECT_EQ(mux_->current()->screen().cols(), 90);
  EXPECT_EQ(mux_->current()->screen().rows(), 19) << "the status line takes a row";
  type("stty size\r");
  ASSERT_TRUE(run_until([&] { return pane_shows_line("19 90"); }, 10s)) << frame();
}

TEST_F(WindowLifecycle, TheNewWindowDialogCanBeCancelled) {
  start({"sh"});
  type(std::string(kPrefix) + "c");
  EXPECT_TRUE(frame_shows("command   sh")) << frame();
  type("\x1b");
  run_until([&] { return mux_->mode() == Multiplexer::Mode::Normal; }, 2s);
  EXPECT_EQ(mux_->mode(), Multiplexer::Mode::Normal);
  EXPECT_EQ(window_count(), 1u);
}

}  // namespace
}  // namespace sddsh::tui
