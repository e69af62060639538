// Tasks in a session, through the real binary in tmux: the panel's queue, starting a task (its
// brief goes into the agent's input, not sent), marking it done, and one segment per task with
// its own diff. First with a shell loop as the agent, then with the real Claude Code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "harness.hpp"
#include "model_server.hpp"
#include "task_repository.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
// Cleanup races with sddsh processes still closing their files: never a test failure.
std::error_code ignored;

// The session.json of the one session recording in `repo` (null until there is one).
json live_session(const std::string& repo) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(repo + "/.git/sddsh/sessions", error))
    return json::parse(read_file(entry.path().string() + "/session.json"), nullptr, false);
  return nullptr;
}

// Waits until the snapshot at the start of task segment `index` is in session.json. The
// recorder takes a task boundary's snapshot on its worker, after the key that made it: work
// the agent does before then would count for the segment before.
bool wait_for_segment_start(const std::string& repo, std::size_t index) {
  return wait_until([&] {
    const json session = live_session(repo);
    if (!session.is_object()) return false;
    const json segments = session.value("task_segments", json::array());
    if (!segments.is_array() || segments.size() <= index || !segments[index].is_object()) return false;
    const json snapshot = segments[index].value("start_snapshot", json());
    return snapshot.is_string() && !snapshot.get<std::string>().empty();
  }, 20s);
}
}  // namespace

TEST(TaskSession, StartingAndFinishingTasksSplitsTheSessionIntoSegments) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  const std::string repo = make_repository();
  const std::string first = add_task(repo, "Write the first file", 1);
  const std::string second = add_task(repo, "Write the second file", 2);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  // The "agent": each line it reads becomes a file of its own.
  const std::string agent =
      "sh -c 'n=0; while read -r line; do n=$((n+1)); printf \"%s\\n\" \"$line\" > file$n.txt; echo made-$n; done'";
  Tmux tmux;
  tmux.new_session("s", sddsh_in(repo, "-- " + agent), 140, 30);
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("Write the first file") != std::string::npos; }, 20s))
      << "the queue is in the panel:\n" << tmux.capture("s");

  // Prefix t: the queue; Enter starts the first (highest priority) task.
  tmux.send_keys("s", {"C-]", "t"});
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("Enter start") != std::string::npos; }, 10s))
      << tmux.capture("s");
  tmux.send_keys("s", {"Enter"});
  // The brief is in the agent's input, and nothing was sent: no file yet.
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("▶ Write the first file") != std::string::npos; }, 10s))
      << tmux.capture("s");
  EXPECT_FALSE(fs::exists(repo + "/file1.txt"));
  EXPECT_EQ(run_json(repo, "task show " + first + " --json").value("status", ""), "in_progress");
  ASSERT_TRUE(wait_for_segment_start(repo, 0)) << live_session(repo).dump(2);
  tmux.send_keys("s", {"Enter"});
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("made-1") != std::string::npos; }, 10s));
  EXPECT_NE(read_file(repo + "/file1.txt").find("Write the first file"), std::string::npos)
      << "the brief was the agent's input: " << read_file(repo + "/file1.txt");

  // Done with it; the second task starts and does its work.
  tmux.send_keys("s", {"C-]", "t"});
  tmux.send_keys("s", {"d"});
  ASSERT_TRUE(wait_until([&] { return run_json(repo, "task show " + first + " --json").value("status", "") == "closed"; },
                         10s));
  tmux.send_keys("s", {"Enter"});  // the queue is still open: its first task is the second one now
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("▶ Write the second file") != std::string::npos; }, 10s))
      << tmux.capture("s");
  // The first segment's end and the second's start are snapshotted before the agent writes.
  ASSERT_TRUE(wait_for_segment_start(repo, 1)) << live_session(repo).dump(2);
  tmux.send_keys("s", {"Enter"});
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("made-2") != std::string::npos; }, 10s));
  tmux.send_keys("s", {"C-]", "t"});
  tmux.send_keys("s", {"d"});
  ASSERT_TRUE(wait_until([&] { return run_json(repo, "task show " + second + " --json").value("status", "") == "closed"; },
                         10s));
  tmux.send_keys("s", {"q"});
  tmux.send_keys("s", {"C-d"});  // the agent's input ends: it exits, and so does sddsh
  ASSERT_TRUE(wait_until([&] { return session_of(repo).value("status", "") == "finished"; }, 20s));

  const json session = session_of(repo);
  const std::string id = session["id"];
  for (const std::string& task : {first, second})
    EXPECT_EQ(run_json(repo, "task show " + task + " --json").value("closed_by_session", ""), id) << task;
  const json& segments = session["task_segments"];
  ASSERT_EQ(segments.size(), 2u) << session.dump(2);
  const std::string bundle = repo + "/.git/sddsh/sessions/" + id;
  for (std::size_t i = 0; i < 2; ++i) {
    const json& segment = segments[i];
    EXPECT_EQ(segment["task_id"], i == 0 ? first : second);
    EXPECT_TRUE(segment["end"].is_number());
    EXPECT_EQ(segment["turns"], json::array({static_cast<int>(i) + 1})) << segment;
    EXPECT_EQ(segment["stat"]["files"], 1) << segment;
    const std::string patch = read_file(bundle + "/" + segment["diff"].get<std::string>());
    const std::string mine = "+++ b/file" + std::to_string(i + 1) + ".txt";
    const std::string other = "file" + std::to_string(2 - i) + ".txt";
    EXPECT_NE(patch.find(mine), std::string::npos) << patch;
    EXPECT_EQ(patch.find(other), std::string::npos) << "each task's diff is its own:\n" << patch;
  }
  const std::string cast = read_file(bundle + "/terminal.cast");
  EXPECT_NE(cast.find("\"m\", \"task " + first + "\""), std::string::npos);
  EXPECT_NE(cast.find("\"m\", \"task " + second + "\""), std::string::npos);
  fs::remove_all(repo, ignored);
}

TEST(TaskSession, StartingOnATaskClaimsItAndATakenOneIsRefused) {
  const std::string repo = make_repository();
  const std::string task = add_task(repo, "Only one may work on this", 2);
  auto r = run_piped({"sh", "-c", sddsh_in(repo, "--no-tui --task " + task + " -- true")});
  EXPECT_EQ(exit_code(r.status), 0) << r.err;
  const json claimed = run_json(repo, "task show " + task + " --json");
  EXPECT_EQ(claimed.value("status", ""), "in_progress");
  EXPECT_EQ(claimed.value("assignee", ""), "tester");
  EXPECT_EQ(session_of(repo)["task_segments"][0]["task_id"], task);
  // Someone else cannot start on it.
  auto other = run_piped({"sh", "-c", "cd " + shell_quote(repo) + " && exec env -u SDDSH_STORE SDDSH_ACTOR=other " +
                                          shell_quote(sddsh_binary()) + " --no-tui --task " + task + " -- true"});
  EXPECT_EQ(exit_code(other.status), 1);
  EXPECT_NE(other.err.find("already claimed by tester"), std::string::npos) << other.err;
  fs::remove_all(repo, ignored);
}

// --worktree: the task gets a git worktree of its own beside the repository, with the files
// .worktreeinclude names copied and the setup command run; the agent's changes land there only;
// the session is stored in the repository's common store and its task diff has the change.
TEST(TaskSession, WorktreeKeepsTheTasksChangesInItsOwnCheckout) {
  const std::string repo = make_repository();
  std::ofstream(repo + "/.env") << "API_URL=http://localhost\n";
  std::ofstream(repo + "/.worktreeinclude") << "# local files a checkout needs\n.env\n";
  const std::string task = add_task(repo, "Work apart", 1);
  ASSERT_FALSE(task.empty());
  auto r = run_piped({"sh", "-c",
                      sddsh_in(repo, "--no-tui --task " + task + " --worktree --worktree-setup 'touch setup-ran' -- " +
                                         "sh -c 'pwd; echo change > work.txt'")});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  const std::string worktree = repo + ".worktrees/" + task;
  EXPECT_NE(r.out.find(worktree), std::string::npos) << "the agent ran in the worktree:\n" << r.out;
  EXPECT_EQ(read_file(worktree + "/work.txt"), "change\n");
  EXPECT_FALSE(fs::exists(repo + "/work.txt")) << "the main checkout is untouched";
  EXPECT_EQ(read_file(worktree + "/.env"), "API_URL=http://localhost\n");
  EXPECT_TRUE(fs::exists(worktree + "/setup-ran"));
  auto branch = run_piped({"git", "-C", worktree, "rev-parse", "--abbrev-ref", "HEAD"});
  EXPECT_EQ(branch.out, "sddsh/" + task + "\n");

  // The session is in the repository's own store, and its task segment's diff has the change.
  const json session = run_json(repo, "show --json last");
  ASSERT_EQ(session["task_segments"].size(), 1u) << session.dump(2);
  const std::string bundle = repo + "/.git/sddsh/sessions/" + session["id"].get<std::string>();
  const std::string patch = read_file(bundle + "/" + session["task_segments"][0]["diff"].get<std::string>());
  EXPECT_NE(patch.find("+++ b/work.txt"), std::string::npos) << patch;
  EXPECT_EQ(patch.find(".env"), std::string::npos) << "the copied local file is not the agent's change:\n" << patch;

  // A second run on the task reuses its worktree; the setup command does not run again.
  fs::remove(worktree + "/setup-ran");
  auto again = run_piped({"sh", "-c",
                          sddsh_in(repo, "--no-tui --task " + task + " --worktree --worktree-setup 'touch setup-ran' -- true")});
  EXPECT_EQ(exit_code(again.status), 0) << again.err;
  EXPECT_FALSE(fs::exists(worktree + "/setup-ran"));
  EXPECT_EQ(read_file(worktree + "/work.txt"), "change\n");
  fs::remove_all(repo + ".worktrees", ignored);
  fs::remove_all(repo, ignored);
}

TEST(TaskSession, WorktreeNeedsATask) {
  const std::string repo = make_repository();
  auto r = run_piped({"sh", "-c", sddsh_in(repo, "--no-tui --worktree -- true")});
  EXPECT_EQ(exit_code(r.status), 2);
  EXPECT_NE(r.err.find("--worktree needs --task ID"), std::string::npos) << r.err;
  fs::remove_all(repo, ignored);
}
