// sddsh as a multiplexer, through the real binary in tmux, in a repository whose tracker holds
// three ready tasks: one window per task, each in the task's own worktree; every window shows
// what a plain tmux pane shows for the same shell and keys, whichever way the user switches; each
// window records its own session with its own task's diff; closing a window, a command that does
// not exist, SIGTERM. Then the panel's Windows section and the marks of hidden windows, and
// --worktree-setup for windows opened in the TUI. (Real agents: multiplexer_agents_test.cpp.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "task_repository.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Cleanup races with sddsh processes still closing their files: never a test failure.
std::error_code ignored;

// Every agent's pane; sddsh's tmux window has one more row below it, the status line.
constexpr int kCols = 100;
constexpr int kRows = 30;
// The agent of every window, in sddsh and in the plain tmux panes alike: a shell with a fixed
// prompt, the terminal type sddsh gives its agents, and no history file.
const std::string kShellEnv = "PS1='$ ' HISTFILE= TERM=xterm-256color LANG=C.UTF-8";
const std::string kShell = "bash --norc --noprofile";

// What each window's shell does: a file of its own, and text of its own (more than a screen).
struct WindowWork {
  std::string word;  // "one"
  std::string file;  // "one.txt"
  std::string command() const {
    return "echo " + word + " > " + file + "; seq -f 'window " + word + " says line %g' 45";
  }
  std::string last_line() const { return "window " + word + " says line 45"; }
};
const std::vector<WindowWork> kWork = {
    {"one", "one.txt"}, {"two", "two.txt"}, {"three", "three.txt"}};

class MultiplexerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
    repo_ = make_repository();
    direct_dir_ = make_temp_dir("direct");
  }
  void TearDown() override {
    if (repo_.empty()) return;
    fs::remove_all(repo_ + ".worktrees", ignored);
    fs::remove_all(repo_, ignored);
    fs::remove_all(direct_dir_, ignored);
  }

  // sddsh in the repository, the shell its agent; `options` before the `--`. The pane's shell
  // then says how sddsh exited, and stays (tmux 3.3 keeps neither a dead pane's status nor, once
  // it says the pane is dead, all of its text).
  void start_sddsh(const std::string& options, const std::string& agent = kShell) {
    tmux_.new_session("sddsh",
                      "(" + sddsh_in(repo_, options + " -- " + agent, kShellEnv) +
                          "); echo \"sddsh exited $?\"; exec sleep 100000",
                      kCols, kRows + 1);
  }
  // sddsh is the pane's shell's only child.
  pid_t sddsh_pid() {
    const std::string shell = pane_option("#{pane_pid}");
    const std::string children = read_file("/proc/" + shell + "/task/" + shell + "/children");
    return children.empty() ? -1 : static_cast<pid_t>(std::stoi(children));
  }
  bool sddsh_exited(int code) {
    return shows("sddsh", "sddsh exited " + std::to_string(code) + "\n", 20s);
  }
  // The same shell in a plain tmux pane the size of sddsh's pane (in a directory of its own).
  void start_direct(int window) {
    const std::string dir = direct_dir_ + "/" + std::to_string(window);
    fs::create_directories(dir);
    tmux_.new_session(direct(window),
                      "cd " + shell_quote(dir) + " && exec env " + kShellEnv + " " + kShell, kCols,
                      kRows);
  }
  static std::string direct(int window) { return "direct" + std::to_string(window); }
  std::string worktree(const std::string& task) const { return repo_ + ".worktrees/" + task; }

  std::string rows(const std::string& target, int first, int last) {
    return tmux_.run({"capture-pane", "-p", "-t", target, "-S", std::to_string(first), "-E",
                      std::to_string(last)});
  }
  // The agent's rows: with the panel hidden, sddsh's pane is its window's full width.
  std::string pane(const std::string& target) { return rows(target, 0, kRows - 1); }
  std::string status_line() {
    const auto lines = split_lines(rows("sddsh", kRows, kRows));
    const std::string line = lines.empty() ? "" : trim_right(lines.front());
    return line.substr(std::min(line.size(), line.find_first_not_of(' ')));
  }
  std::string pane_option(const std::string& format) {
    std::string value = tmux_.run({"display-message", "-p", "-t", "sddsh", format});
    if (!value.empty() && value.back() == '\n') value.pop_back();
    return value;
  }

  bool shows(const std::string& target, const std::string& text, Clock::duration timeout = 15s) {
    return tmux_.wait_for_screen(
        target, [&](auto& s) { return s.find(text) != std::string::npos; }, timeout);
  }
  bool status_shows(const std::string& text, Clock::duration timeout = 15s) {
    return wait_until([&] { return status_line().find(text) != std::string::npos; }, timeout);
  }
  // The status line starts with `text` (the windows, which come before what may follow).
  bool status_starts(const std::string& text, Clock::duration timeout = 15s) {
    return wait_until([&] { return status_line().starts_with(text); }, timeout);
  }
  // A shell at its prompt, nothing after it: its last line that is not blank is "$".
  bool at_prompt(const std::string& target) {
    return wait_until(
        [&] {
          auto lines = split_lines(pane(target));
          while (!lines.empty() && trim_right(lines.back()).empty()) lines.pop_back();
          return !lines.empty() && trim_right(lines.back()) == "$";
        },
        15s);
  }

  // sddsh's window in front shows what the plain pane shows, line for line.
  void expect_pane_as_direct(int window, const std::string& when) {
    std::string direct_text, through;
    const bool same = wait_until(
        [&] {
          direct_text = pane(direct(window));
          through = pane("sddsh");
          return direct_text == through;
        },
        15s);
    EXPECT_TRUE(same) << when << "\n--- plain tmux pane (" << kCols << "x" << kRows << "):\n"
                      << direct_text << "--- sddsh's window " << window << ":\n"
                      << through << "--- status line: " << status_line();
  }

  // The window's work, typed into sddsh's window in front and into its plain twin.
  void do_work(int window) {
    const WindowWork& work = kWork[static_cast<std::size_t>(window - 1)];
    for (const std::string& target : {std::string("sddsh"), direct(window)}) {
      tmux_.send_literal(target, work.command());
      tmux_.send_keys(target, {"Enter"});
    }
    for (const std::string& target : {std::string("sddsh"), direct(window)}) {
      ASSERT_TRUE(shows(target, work.last_line() + "\n$")) << target << ":\n"
                                                           << tmux_.capture(target);
    }
    expect_pane_as_direct(window, "window " + std::to_string(window) + " after its work");
  }

  // prefix c: the default command, the first of `ready` ready tasks (↓), a worktree (Tab). The
  // task's brief, pasted into the shell's input (not run), is taken back with C-u: the screen is
  // then the plain shell's.
  void open_task_window(int number, const std::string& task, const std::string& title, int ready) {
    tmux_.send_keys("sddsh", {"C-]", "c"});
    ASSERT_TRUE(shows("sddsh", "command   " + kShell)) << "the command sddsh started with:\n"
                                                       << tmux_.capture("sddsh");
    ASSERT_TRUE(shows("sddsh", "(↓ " + std::to_string(ready) + " ready)"))
        << tmux_.capture("sddsh");
    tmux_.send_keys("sddsh", {"Down"});
    ASSERT_TRUE(shows("sddsh", "task      " + task + "  " + title)) << tmux_.capture("sddsh");
    tmux_.send_keys("sddsh", {"Tab"});
    ASSERT_TRUE(shows("sddsh", "worktree  yes")) << tmux_.capture("sddsh");
    tmux_.send_keys("sddsh", {"Enter"});
    ASSERT_TRUE(status_shows(std::to_string(number) + ":")) << "window " << number << " opened:\n"
                                                            << tmux_.capture("sddsh");
    ASSERT_TRUE(shows("sddsh", "$ Task " + task + ": " + title))
        << "its brief is in the shell's input:\n"
        << tmux_.capture("sddsh");
    tmux_.send_keys("sddsh", {"C-u"});
    expect_pane_as_direct(number,
                          "window " + std::to_string(number) + " with its brief taken back");
  }

  // The session of each task, from `sddsh sessions --json`.
  std::map<std::string, json> sessions_by_task() {
    std::map<std::string, json> by_task;
    for (const json& session : run_json(repo_, "sessions --json"))
      if (session["task"].is_string()) by_task[session["task"].get<std::string>()] = session;
    return by_task;
  }
  json bundle_record(const json& session) {
    return json::parse(read_file(session["bundle"].get<std::string>() + "/session.json"), nullptr,
                       false);
  }

  // Processes running in the worktrees: the windows' shells.
  std::vector<pid_t> processes_in_worktrees() {
    std::vector<pid_t> found;
    const std::string prefix = repo_ + ".worktrees/";
    for (const auto& entry : fs::directory_iterator("/proc", ignored)) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::error_code error;
      const std::string cwd = fs::read_symlink(entry.path() / "cwd", error).string();
      if (!error && cwd.starts_with(prefix)) found.push_back(static_cast<pid_t>(std::stoi(name)));
    }
    return found;
  }

  Tmux tmux_;
  std::string repo_;
  std::string direct_dir_;
};

}  // namespace

TEST_F(MultiplexerTest, WindowsOnTasksInWorktreesShowWhatTmuxShowsAndRecordApart) {
  const std::vector<std::string> titles = {"Task of window one", "Task of window two",
                                           "Task of window three"};
  std::vector<std::string> tasks;
  for (int i = 0; i < 3; ++i)
    tasks.push_back(add_task(repo_, titles[static_cast<std::size_t>(i)], i + 1));
  for (const auto& task : tasks) ASSERT_FALSE(task.empty());
  for (int window = 1; window <= 3; ++window) start_direct(window);

  // Window 1: the task and its worktree from the command line.
  start_sddsh("--no-panel --task " + tasks[0] + " --worktree");
  ASSERT_TRUE(status_starts("sddsh · bash")) << tmux_.capture("sddsh");
  ASSERT_TRUE(at_prompt("sddsh")) << tmux_.capture("sddsh");
  for (int window = 1; window <= 3; ++window)
    ASSERT_TRUE(at_prompt(direct(window))) << tmux_.capture(direct(window));
  ASSERT_NO_FATAL_FAILURE(do_work(1));

  // Windows 2 and 3: prefix c, each on the next ready task (the first is window 1's now).
  ASSERT_NO_FATAL_FAILURE(open_task_window(2, tasks[1], titles[1], 2));
  EXPECT_TRUE(status_starts("sddsh · 1:bash 2:bash*")) << status_line();
  ASSERT_NO_FATAL_FAILURE(do_work(2));
  ASSERT_NO_FATAL_FAILURE(open_task_window(3, tasks[2], titles[2], 1));
  EXPECT_TRUE(status_starts("sddsh · 1:bash 2:bash 3:bash*")) << status_line();
  ASSERT_NO_FATAL_FAILURE(do_work(3));

  // Every way of switching brings the window's screen back exactly, and the status line says which.
  struct Switch {
    std::vector<std::string> keys;
    int window;
  };
  const std::vector<Switch> switches = {{{"C-]", "1"}, 1}, {{"C-]", "2"}, 2}, {{"C-]", "3"}, 3},
                                        {{"C-]", "p"}, 2}, {{"C-]", "n"}, 3}, {{"C-]", "n"}, 1},
                                        {{"C-]", "p"}, 3}, {{"C-]", "2"}, 2}};
  for (const Switch& step : switches) {
    std::string keys;
    for (const auto& key : step.keys) keys += key + " ";
    tmux_.send_keys("sddsh", step.keys);
    std::string expected = "sddsh ·";
    for (int w = 1; w <= 3; ++w)
      expected += " " + std::to_string(w) + ":bash" + (w == step.window ? "*" : "");
    EXPECT_TRUE(status_starts(expected))
        << keys << "→ window " << step.window << ": " << status_line();
    expect_pane_as_direct(step.window, "after " + keys);
  }
  // The window list: every window with its task; ↑ and Enter pick the one above.
  tmux_.send_keys("sddsh", {"C-]", "w"});
  for (int w = 1; w <= 3; ++w)
    EXPECT_TRUE(
        shows("sddsh", std::to_string(w) + "  bash  " + tasks[static_cast<std::size_t>(w - 1)]))
        << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"Up"});
  tmux_.send_keys("sddsh", {"Enter"});
  EXPECT_TRUE(status_starts("sddsh · 1:bash* 2:bash 3:bash")) << status_line();
  expect_pane_as_direct(1, "after the window list's ↑ Enter");

  // Each file is in its own task's worktree only, on the task's branch.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(read_file(worktree(tasks[i]) + "/" + kWork[i].file), kWork[i].word + "\n");
    EXPECT_FALSE(fs::exists(repo_ + "/" + kWork[i].file))
        << kWork[i].file << " in the main checkout";
    for (std::size_t j = 0; j < 3; ++j) {
      if (j == i) continue;
      EXPECT_FALSE(fs::exists(worktree(tasks[j]) + "/" + kWork[i].file))
          << kWork[i].file << " in " << tasks[j];
    }
    auto branch = run_piped({"git", "-C", worktree(tasks[i]), "rev-parse", "--abbrev-ref", "HEAD"});
    EXPECT_EQ(branch.out, "sddsh/" + tasks[i] + "\n");
  }
  // Each window is a session of its own, on its own task.
  auto sessions = sessions_by_task();
  ASSERT_EQ(sessions.size(), 3u) << run_json(repo_, "sessions --json").dump(2);
  for (const auto& task : tasks) {
    ASSERT_TRUE(sessions.count(task)) << task;
    EXPECT_EQ(sessions[task]["status"], "running");
    EXPECT_EQ(run_json(repo_, "task show " + task + " --json").value("status", ""), "in_progress")
        << task;
  }

  // prefix & closes window 3 after a yes; its session is finished.
  tmux_.send_keys("sddsh", {"C-]", "3"});
  ASSERT_TRUE(status_starts("sddsh · 1:bash 2:bash 3:bash*")) << status_line();
  tmux_.send_keys("sddsh", {"C-]", "&"});
  ASSERT_TRUE(shows("sddsh", "Close window 3 (bash)?")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"y"});
  ASSERT_TRUE(wait_until([&] { return status_line().find("3:") == std::string::npos; }, 15s))
      << status_line();
  EXPECT_TRUE(status_starts("sddsh · 1:bash")) << status_line();
  EXPECT_TRUE(wait_until([&] { return sessions_by_task()[tasks[2]]["status"] == "finished"; }, 20s))
      << run_json(repo_, "sessions --json").dump(2);

  // A command that does not exist: the window says why and stays, through switching, until closed.
  tmux_.send_keys("sddsh", {"C-]", "c"});
  ASSERT_TRUE(shows("sddsh", "command   " + kShell)) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", std::vector<std::string>(kShell.size(), "BSpace"));
  tmux_.send_literal("sddsh", "no-such-cmd");
  ASSERT_TRUE(shows("sddsh", "command   no-such-cmd")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"Enter"});
  ASSERT_TRUE(status_shows("3:no-such-cmd*")) << tmux_.capture("sddsh");
  ASSERT_TRUE(shows("sddsh", "sddsh: no-such-cmd: ")) << tmux_.capture("sddsh");
  // Said as a shell says it, and as sddsh says it of its first agent (README): the name once.
  EXPECT_TRUE(shows("sddsh", "sddsh: no-such-cmd: command not found")) << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "This window stays until you close it")) << tmux_.capture("sddsh");
  EXPECT_TRUE(status_shows("failed to start, & closes")) << status_line();
  tmux_.send_keys("sddsh", {"C-]", "1"});
  EXPECT_TRUE(status_starts("sddsh · 1:bash* 2:bash 3:no-such-cmd")) << status_line();
  expect_pane_as_direct(1, "back in window 1 beside the failed one");
  tmux_.send_keys("sddsh", {"C-]", "3"});
  ASSERT_TRUE(status_shows("3:no-such-cmd*")) << status_line();
  EXPECT_TRUE(shows("sddsh", "sddsh: no-such-cmd: ")) << "the reason is still there:\n"
                                                      << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"C-]", "&"});  // an ended window goes without a question
  EXPECT_TRUE(wait_until([&] { return status_line().find("3:") == std::string::npos; }, 15s))
      << "closed at once:\n"
      << tmux_.capture("sddsh");
  EXPECT_EQ(run_json(repo_, "sessions --json").size(), 3u)
      << "a window that never ran records no session";

  // SIGTERM ends every window's agent; sddsh exits 128+15 with every session finished.
  const pid_t sddsh = sddsh_pid();
  ASSERT_GT(sddsh, 0);
  ::kill(sddsh, SIGTERM);
  ASSERT_TRUE(shows("sddsh", "sddsh exited ", 20s)) << tmux_.capture("sddsh");
  EXPECT_TRUE(sddsh_exited(128 + SIGTERM)) << tmux_.capture("sddsh");
  EXPECT_TRUE(wait_until([&] { return processes_in_worktrees().empty(); }, 10s))
      << processes_in_worktrees().size() << " processes still run in the worktrees";

  sessions = sessions_by_task();
  ASSERT_EQ(sessions.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const json record = bundle_record(sessions[tasks[i]]);
    EXPECT_EQ(record.value("status", ""), "finished") << tasks[i];
    EXPECT_TRUE(record["exit_code"].is_number()) << tasks[i] << ": " << record["exit_code"];
    const json& segments = record["task_segments"];
    ASSERT_EQ(segments.size(), 1u) << record.dump(2);
    EXPECT_EQ(segments[0]["task_id"], tasks[i]);
    ASSERT_TRUE(segments[0]["diff"].is_string()) << segments[0];
    const std::string patch = read_file(sessions[tasks[i]]["bundle"].get<std::string>() + "/" +
                                        segments[0]["diff"].get<std::string>());
    EXPECT_NE(patch.find("+++ b/" + kWork[i].file), std::string::npos) << tasks[i] << ":\n"
                                                                       << patch;
    for (std::size_t j = 0; j < 3; ++j) {
      if (j == i) continue;
      EXPECT_EQ(patch.find(kWork[j].file), std::string::npos) << "window " << i + 1 << "'s diff:\n"
                                                              << patch;
    }
    EXPECT_EQ(segments[0]["stat"]["files"], 1) << "only its own file:\n" << patch;
  }
  // Window 1's agent ended by the signal, and so did sddsh's status.
  EXPECT_EQ(bundle_record(sessions[tasks[0]])["exit_code"], 143);
}

// The panel lists the windows when there is more than one; a hidden window's output marks it
// with •, its bell with ! and "waiting for you"; an agent that exits leaves its window until
// closed.
TEST_F(MultiplexerTest, PanelListsWindowsAndMarksWhatHiddenOnesDid) {
  // The window's steps wait for the test, each on a fifo of its own (a writer of the last step
  // may still hold its fifo open when the next step opens one).
  auto fifo = [&](int step) { return direct_dir_ + "/go" + std::to_string(step); };
  for (int step = 1; step <= 3; ++step) ASSERT_EQ(::mkfifo(fifo(step).c_str(), 0600), 0);
  int released = 0;
  auto release = [&] {  // a line into the next fifo: the window's next step
    auto r = run_piped({"sh", "-c", "echo go > " + shell_quote(fifo(++released))}, "", 20s);
    ASSERT_EQ(exit_code(r.status), 0) << r.err;
  };
  start_sddsh("");
  ASSERT_TRUE(status_starts("sddsh · bash")) << tmux_.capture("sddsh");
  ASSERT_TRUE(shows("sddsh", " Session")) << "the panel is shown:\n" << tmux_.capture("sddsh");
  EXPECT_EQ(tmux_.capture("sddsh").find(" Windows"), std::string::npos) << "one window, no list";

  // Window 2 runs a script that waits for the test between its steps (and is never typed to).
  const std::string script = "read x < " + fifo(1) + "; echo output-while-hidden; read x < " +
                             fifo(2) + "; printf '\\a'; read x < " + fifo(3) + "; exit 5";
  tmux_.send_keys("sddsh", {"C-]", "c"});
  ASSERT_TRUE(shows("sddsh", "command   " + kShell)) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", std::vector<std::string>(kShell.size(), "BSpace"));
  tmux_.send_literal("sddsh", "sh -c " + shell_quote(script));
  tmux_.send_keys("sddsh", {"Enter"});
  ASSERT_TRUE(status_starts("sddsh · 1:bash 2:sh*")) << tmux_.capture("sddsh");
  ASSERT_TRUE(shows("sddsh", " Windows")) << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "1 bash")) << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "2 sh")) << tmux_.capture("sddsh");

  tmux_.send_keys("sddsh", {"C-]", "1"});
  ASSERT_TRUE(status_starts("sddsh · 1:bash* 2:sh")) << status_line();
  EXPECT_EQ(status_line().find("waiting for you"), std::string::npos) << status_line();
  ASSERT_NO_FATAL_FAILURE(release());
  EXPECT_TRUE(status_starts("sddsh · 1:bash* 2:sh•")) << "output unseen:\n"
                                                      << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "2 sh•")) << tmux_.capture("sddsh");
  ASSERT_NO_FATAL_FAILURE(release());
  EXPECT_TRUE(status_starts("sddsh · 1:bash* 2:sh! · 1 waiting for you")) << "a bell unseen:\n"
                                                                          << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "2 sh!")) << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "  waiting for you")) << "the panel's line for window 2:\n"
                                                   << tmux_.capture("sddsh");

  // Seen: the mark goes; it waits for the user until they type to it.
  tmux_.send_keys("sddsh", {"C-]", "2"});
  EXPECT_TRUE(status_starts("sddsh · 1:bash 2:sh* · 1 waiting for you")) << status_line();
  EXPECT_TRUE(shows("sddsh", "output-while-hidden")) << tmux_.capture("sddsh");
  tmux_.send_literal("sddsh", "x");
  EXPECT_TRUE(
      wait_until([&] { return status_line().find("waiting for you") == std::string::npos; }, 15s))
      << status_line();

  // Its agent exits: the window stays, saying so, until closed (at once: nothing runs in it).
  ASSERT_NO_FATAL_FAILURE(release());
  EXPECT_TRUE(status_shows("sddsh · 1:bash 2:sh* · exited 5, & closes")) << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "exited 5")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"C-]", "&"});
  EXPECT_TRUE(wait_until([&] { return status_line().starts_with("sddsh · bash"); }, 15s))
      << tmux_.capture("sddsh");
  EXPECT_EQ(tmux_.capture("sddsh").find(" Windows"), std::string::npos) << "one window again";

  // Quit: asked, then sddsh ends with its first window's agent.
  tmux_.send_keys("sddsh", {"C-]", "q"});
  ASSERT_TRUE(shows("sddsh", "End the agent and quit sddsh?")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"y"});
  EXPECT_TRUE(sddsh_exited(128 + SIGHUP)) << tmux_.capture("sddsh");
}

// --worktree-setup applies to windows opened in the TUI too: it runs in the new window, before
// its agent, once per new worktree; the window is named after its agent, and what the setup made
// is not the agent's work (as with --task --worktree on the command line, where it runs before
// the session starts).
TEST_F(MultiplexerTest, WorktreeSetupRunsInTheNewWindowBeforeItsAgent) {
  const std::string first = add_task(repo_, "The first window's task", 1);
  const std::string task = add_task(repo_, "Set up and work", 2);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(task.empty());
  start_sddsh("--no-panel --task " + first +
              " --worktree --worktree-setup 'echo setting-up; touch setup-ran'");
  ASSERT_TRUE(status_starts("sddsh · bash")) << tmux_.capture("sddsh");
  ASSERT_TRUE(at_prompt("sddsh")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"C-]", "c"});
  ASSERT_TRUE(shows("sddsh", "(↓ 1 ready)")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"Down"});
  ASSERT_TRUE(shows("sddsh", "task      " + task)) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"Tab"});
  ASSERT_TRUE(shows("sddsh", "worktree  yes")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"Enter"});
  ASSERT_TRUE(status_shows("2:")) << tmux_.capture("sddsh");
  EXPECT_TRUE(shows("sddsh", "setting-up")) << "the setup's output is in the window:\n"
                                            << tmux_.capture("sddsh");
  ASSERT_TRUE(shows("sddsh", "$ Task " + task + ": ")) << "then the agent, with its brief:\n"
                                                       << tmux_.capture("sddsh");
  EXPECT_TRUE(status_starts("sddsh · 1:bash 2:bash*"))
      << "named after its agent, not the setup's shell: " << status_line();
  EXPECT_TRUE(fs::exists(worktree(task) + "/setup-ran"));
  tmux_.send_keys("sddsh", {"C-u"});
  tmux_.send_literal("sddsh", "pwd; echo work > work.txt");
  tmux_.send_keys("sddsh", {"Enter"});
  ASSERT_TRUE(shows("sddsh", "\n" + worktree(task) + "\n$")) << "the agent runs in the worktree:\n"
                                                             << tmux_.capture("sddsh");

  const pid_t sddsh = sddsh_pid();
  ASSERT_GT(sddsh, 0);
  ::kill(sddsh, SIGTERM);
  ASSERT_TRUE(shows("sddsh", "sddsh exited ", 20s)) << tmux_.capture("sddsh");
  auto sessions = sessions_by_task();
  ASSERT_TRUE(sessions.count(task)) << run_json(repo_, "sessions --json").dump(2);
  const json record = bundle_record(sessions[task]);
  ASSERT_EQ(record["task_segments"].size(), 1u) << record.dump(2);
  const std::string patch = read_file(sessions[task]["bundle"].get<std::string>() + "/" +
                                      record["task_segments"][0]["diff"].get<std::string>());
  EXPECT_NE(patch.find("+++ b/work.txt"), std::string::npos) << patch;
  EXPECT_EQ(patch.find("setup-ran"), std::string::npos)
      << "the setup's file is not the agent's change:\n"
      << patch;
}

// A window whose agent exits stays until closed; when every window's agent has ended, sddsh
// ends, with the exit status of window 1's agent.
TEST_F(MultiplexerTest, SddshEndsWhenEveryWindowHasEndedWithWindowOnesStatus) {
  start_sddsh("--no-panel");
  ASSERT_TRUE(status_starts("sddsh · bash")) << tmux_.capture("sddsh");
  ASSERT_TRUE(at_prompt("sddsh")) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"C-]", "c"});
  ASSERT_TRUE(shows("sddsh", "command   " + kShell)) << tmux_.capture("sddsh");
  tmux_.send_keys("sddsh", {"Enter"});
  ASSERT_TRUE(status_starts("sddsh · 1:bash 2:bash*")) << tmux_.capture("sddsh");
  ASSERT_TRUE(at_prompt("sddsh")) << tmux_.capture("sddsh");
  tmux_.send_literal("sddsh", "exit 4");
  tmux_.send_keys("sddsh", {"Enter"});
  EXPECT_TRUE(status_shows("sddsh · 1:bash 2:bash* · exited 4, & closes")) << status_line();
  tmux_.send_keys("sddsh", {"C-]", "1"});
  ASSERT_TRUE(status_starts("sddsh · 1:bash* 2:bash")) << status_line();
  tmux_.send_literal("sddsh", "exit 3");
  tmux_.send_keys("sddsh", {"Enter"});
  EXPECT_TRUE(sddsh_exited(3)) << tmux_.capture("sddsh");
}
