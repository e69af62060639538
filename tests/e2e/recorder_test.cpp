// The recorder through the real binary: bundles, snapshots that leave git alone, diffs, turns,
// recover after kill -9, a full store, and the casts that asciinema plays.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Removed when the test's process ends (each test is a process of its own).
std::string make_temp_dir(const std::string& tag) {
  static std::deque<sddsh::test_support::TempDir> dirs;
  return dirs.emplace_back("sddsh-rec-" + tag).path();
}

// Runs a shell command line in `dir`; the output, or a failed expectation.
std::string sh(const std::string& dir, const std::string& command) {
  auto r = run_piped({"sh", "-c", "cd " + shell_quote(dir) + " && " + command}, "", 60s);
  EXPECT_EQ(exit_code(r.status), 0) << command << "\n" << r.out << r.err;
  return r.out;
}

constexpr const char* kGit = "git -c user.name=t -c user.email=t@example.com ";

// A repository with one commit (tracked.txt), an ignore rule and an ignored file.
std::string make_repository() {
  std::string dir = make_temp_dir("repo");
  sh(dir, std::string("git init -q -b main . && printf 'one\\n' > tracked.txt && printf 'ignored.log\\n' > .gitignore"
                      " && ") + kGit + "add -A && " + kGit + "commit -qm init && printf 'x' > ignored.log");
  return dir;
}

// sddsh with the store inside the repository (the harness's SDDSH_STORE removed).
std::string sddsh_in(const std::string& dir, const std::string& args) {
  return "cd " + shell_quote(dir) + " && exec env -u SDDSH_STORE " + shell_quote(sddsh_binary()) + " " + args;
}

json show_json(const std::string& dir, const std::string& session = "last") {
  auto r = run_piped({"sh", "-c", sddsh_in(dir, "show --json " + session)});
  EXPECT_EQ(exit_code(r.status), 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

// The bundle of the one session recording in `sessions_dir`, once its terminal is raw (the
// cast exists from then on): keys typed before that would be cooked by the line discipline.
std::string wait_for_recording(const std::string& sessions_dir) {
  std::string bundle;
  EXPECT_TRUE(wait_until([&] {
    if (!fs::exists(sessions_dir)) return false;
    for (const auto& entry : fs::directory_iterator(sessions_dir)) bundle = entry.path();
    return !bundle.empty() && fs::exists(bundle + "/terminal.cast");
  }, 10s)) << "no recording started in " << sessions_dir;
  return bundle;
}

// Waits until turn `index` of the bundle's session has settled: its snapshot is taken once the
// agent has printed nothing for a moment.
bool wait_for_settled_turn(const std::string& bundle, std::size_t index) {
  return wait_until([&] {
    json j = json::parse(read_file(bundle + "/session.json"), nullptr, false);
    return j.is_object() && j["turns"].size() >= index && j["turns"][index - 1]["snapshot"].is_string() &&
           !j["turns"][index - 1]["snapshot"].get<std::string>().empty();
  }, 10s);
}

// Waits until `text` is in the bundle's cast (the writer flushes within a second).
bool wait_for_cast(const std::string& bundle, const std::string& text) {
  return wait_until([&] { return read_file(bundle + "/terminal.cast").find(text) != std::string::npos; }, 10s);
}

}  // namespace

TEST(Recorder, SessionInARepositoryLeavesGitAloneAndShowsItsChanges) {
  const std::string repo = make_repository();
  // git's own commands may refresh the index; settle it before taking its fingerprint.
  sh(repo, "git status --porcelain >/dev/null");
  const std::string fingerprint = "sha256sum .git/index && stat -c %y .git/index && git rev-parse HEAD && "
                                  "git branch -a && git stash list && git for-each-ref refs/heads refs/remotes refs/stash";
  const std::string before = sh(repo, fingerprint);
  auto r = run_piped({"sh", "-c", sddsh_in(repo, "--no-tui -- sh -c 'echo hi > a.txt; printf x >> tracked.txt'")});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(r.err, "") << "a clean session prints no warnings";
  // The index (bytes and time), HEAD, branches and stash are as they were; status shows only
  // the session's own work.
  EXPECT_EQ(sh(repo, fingerprint), before);
  EXPECT_EQ(sh(repo, "git status --porcelain=v1 --untracked-files=all"), " M tracked.txt\n?? a.txt\n");

  json session = show_json(repo);
  EXPECT_EQ(session["status"], "finished");
  EXPECT_EQ(session["exit_code"], 0);
  EXPECT_EQ(session["git"]["branch"], "main");
  EXPECT_EQ(session["diff"]["files"], 2);
  const std::string id = session["id"];
  EXPECT_TRUE(fs::exists(repo + "/.git/sddsh/sessions/" + id + "/terminal.cast"));

  const std::string shown = sh(repo, sddsh_in(repo, "show last"));
  EXPECT_NE(shown.find("2 files +2 -0"), std::string::npos) << shown;
  const std::string diff = sh(repo, sddsh_in(repo, "diff last"));
  EXPECT_NE(diff.find("diff --git a/a.txt b/a.txt\nnew file mode 100644"), std::string::npos) << diff;
  EXPECT_NE(diff.find("+hi"), std::string::npos) << diff;
  EXPECT_NE(diff.find("diff --git a/tracked.txt b/tracked.txt"), std::string::npos) << diff;
  EXPECT_EQ(diff.find("ignored.log"), std::string::npos) << "ignored files stay out";
  EXPECT_EQ(diff.find("\x1b["), std::string::npos) << "no colour when the output is not a terminal";

  // The private ref holds the chain: start, then end.
  EXPECT_EQ(sh(repo, "git log --format=%s refs/sddsh/sessions/" + id), "end\nstart\n");
  EXPECT_EQ(sh(repo, "git for-each-ref --format='%(refname)' refs/heads"), "refs/heads/main\n");

  // An abbreviated id names the same session; a wrong one is a clear error.
  EXPECT_EQ(show_json(repo, id.substr(0, 6))["id"], id);
  auto missing = run_piped({"sh", "-c", sddsh_in(repo, "show ffffffff")});
  EXPECT_EQ(exit_code(missing.status), 1);
  EXPECT_NE(missing.err.find("no session matches 'ffffffff'"), std::string::npos) << missing.err;
}

TEST(Recorder, SessionsListsNewestFirstAsTableAndJson) {
  const std::string repo = make_repository();
  for (const char* word : {"first", "second"})
    ASSERT_EQ(exit_code(run_piped({"sh", "-c", sddsh_in(repo, std::string("--no-tui --task T-7 -- echo ") + word)}).status), 0);
  json list = json::parse(sh(repo, sddsh_in(repo, "sessions --json")));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_GE(list[0]["started_at"].get<std::string>(), list[1]["started_at"].get<std::string>());
  EXPECT_EQ(list[0]["task"], "T-7");
  EXPECT_EQ(list[0]["agent"], "echo");
  const std::string table = sh(repo, sddsh_in(repo, "sessions"));
  EXPECT_NE(table.find("SESSION"), std::string::npos) << table;
  EXPECT_NE(table.find(list[0]["id"].get<std::string>().substr(0, 8)), std::string::npos) << table;
  EXPECT_NE(table.find("T-7"), std::string::npos) << table;
}

TEST(Recorder, TurnsFollowTypedPromptsAndEachHasItsDiff) {
  const std::string repo = make_repository();
  const std::string script =
      "read a; echo \"$a\" > one.txt; echo done-one; read b; echo \"$b\" > two.txt; echo done-two; read c";
  PtyProcess p({"sh", "-c", sddsh_in(repo, "--no-tui -- sh -c " + shell_quote(script))}, {24, 80, 0, 0});
  const std::string bundle = wait_for_recording(repo + "/.git/sddsh/sessions");
  // A typo corrected with backspace: the turn keeps the prompt as it was submitted.
  p.write("fix the bugg\x7f\r");
  ASSERT_TRUE(p.wait_for_output("done-one", 10s)) << p.output();
  // The turn settles (the agent went quiet) and is snapshotted before the next prompt; that is
  // also longer than the debounce that makes two quick Enters one turn.
  ASSERT_TRUE(wait_for_settled_turn(bundle, 1)) << read_file(bundle + "/session.json");
  p.write("second prompt\r");
  ASSERT_TRUE(p.wait_for_output("done-two", 10s)) << p.output();
  ASSERT_TRUE(wait_for_settled_turn(bundle, 2)) << read_file(bundle + "/session.json");
  p.write("\x04");  // end of input: the last read ends and so does the agent
  ASSERT_TRUE(p.wait_exit(20s).has_value());

  json session = show_json(repo);
  ASSERT_EQ(session["turns"].size(), 2u) << session.dump(2);
  EXPECT_EQ(session["turns"][0]["prompt"], "fix the bug");
  EXPECT_EQ(session["turns"][1]["prompt"], "second prompt");
  EXPECT_EQ(session["turns"][0]["stat"]["files"], 1);
  const std::string turn1 = sh(repo, sddsh_in(repo, "diff --turn 1 last"));
  EXPECT_NE(turn1.find("+++ b/one.txt"), std::string::npos) << turn1;
  EXPECT_EQ(turn1.find("two.txt"), std::string::npos) << turn1;
  const std::string turn2 = sh(repo, sddsh_in(repo, "diff --turn 2 last"));
  EXPECT_NE(turn2.find("+++ b/two.txt"), std::string::npos) << turn2;
  EXPECT_EQ(sh(repo, "git log --format=%s refs/sddsh/sessions/" + session["id"].get<std::string>()),
            "end\nturn 2\nturn 1\nstart\n");

  // The cast has input events and a marker per turn.
  const std::string cast = read_file(repo + "/.git/sddsh/sessions/" + session["id"].get<std::string>() + "/terminal.cast");
  EXPECT_NE(cast.find("\"m\", \"turn 1: fix the bug\""), std::string::npos) << cast;
  EXPECT_NE(cast.find("\"i\""), std::string::npos);

  // `sh` keeps no transcript: the conversation is the prompts and what the screen showed.
  EXPECT_EQ(session["conversation"]["source"], "terminal") << session.dump(2);
  const std::string bundle_dir = repo + "/.git/sddsh/sessions/" + session["id"].get<std::string>();
  std::vector<json> messages;
  for (const auto& line : split_lines(read_file(bundle_dir + "/conversation.jsonl")))
    if (!line.empty()) messages.push_back(json::parse(line));
  ASSERT_EQ(messages.size(), 4u) << read_file(bundle_dir + "/conversation.jsonl");
  EXPECT_EQ(messages[0]["role"], "user");
  EXPECT_EQ(messages[0]["text"], "fix the bug");
  EXPECT_EQ(messages[0]["turn"], 1);
  EXPECT_EQ(messages[1]["role"], "assistant");
  EXPECT_NE(messages[1]["text"].get<std::string>().find("done-one"), std::string::npos) << messages[1];
  EXPECT_EQ(messages[1]["text"].get<std::string>().find("done-two"), std::string::npos) << "not the next turn's";
  EXPECT_EQ(messages[3]["turn"], 2);
  const std::string shown = sh(repo, sddsh_in(repo, "show --conversation last"));
  EXPECT_NE(shown.find("── Turn 1"), std::string::npos) << shown;
  EXPECT_NE(shown.find("> fix the bug"), std::string::npos) << shown;
  EXPECT_NE(shown.find("done-two"), std::string::npos) << shown;
  const std::string md = sh(repo, sddsh_in(repo, "export last"));
  EXPECT_NE(md.find("## Turn 1\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| `one.txt` | 1 | 0 |"), std::string::npos) << "per-turn diffstat:\n" << md;
  EXPECT_NE(md.find("> second prompt"), std::string::npos) << md;
  EXPECT_EQ(sh(repo, sddsh_in(repo, "export --format cast last")), cast);
  json exported = json::parse(sh(repo, sddsh_in(repo, "export -f json last")));
  EXPECT_EQ(exported["conversation"].size(), 4u);
  EXPECT_EQ(exported["session"]["id"], session["id"]);
}

TEST(Recorder, NoRecordInputKeepsKeysOutOfTheCast) {
  const std::string dir = make_temp_dir("noinput");
  PtyProcess p({"sh", "-c", "cd " + dir + " && exec " + shell_quote(sddsh_binary()) +
                                " --no-tui --no-record-input -- sh -c 'read a; echo got-it'"},
               {24, 80, 0, 0});
  wait_for_recording(scratch_store() + "/sessions");
  p.write("secret words\r");
  ASSERT_TRUE(p.wait_for_output("got-it", 10s)) << p.output();
  ASSERT_TRUE(p.wait_exit(20s).has_value());
  auto shown = run_piped({"sh", "-c", "cd " + dir + " && " + shell_quote(sddsh_binary()) + " show --json last"});
  json session = json::parse(shown.out);
  EXPECT_FALSE(session["input_recorded"].get<bool>());
  const std::string id = session["id"];
  const std::string cast = read_file(scratch_store() + "/sessions/" + id + "/terminal.cast");
  EXPECT_EQ(cast.find("\"i\""), std::string::npos) << cast;
  EXPECT_EQ(session["git"], nullptr);
}

TEST(Recorder, OutsideARepositoryEverythingButDiffsWorks) {
  const std::string dir = make_temp_dir("nogit");
  auto r = run_piped({"sh", "-c", "cd " + dir + " && exec " + shell_quote(sddsh_binary()) + " --no-tui -- echo plain"});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(r.out, "plain\r\n");
  auto shown = run_piped({"sh", "-c", "cd " + dir + " && " + shell_quote(sddsh_binary()) + " show last"});
  EXPECT_EQ(exit_code(shown.status), 0) << shown.err;
  EXPECT_NE(shown.out.find("not a repository"), std::string::npos) << shown.out;
  auto diff = run_piped({"sh", "-c", "cd " + dir + " && " + shell_quote(sddsh_binary()) + " diff last"});
  EXPECT_EQ(exit_code(diff.status), 1);
  EXPECT_NE(diff.err.find("was not in a git repository"), std::string::npos) << diff.err;
}

TEST(Recorder, CommandNotFoundLeavesNoBundle) {
  const std::string repo = make_repository();
  auto r = run_piped({"sh", "-c", sddsh_in(repo, "--no-tui -- no-such-agent-xyz")});
  EXPECT_EQ(exit_code(r.status), 127);
  EXPECT_EQ(sh(repo, "git for-each-ref refs/sddsh | wc -l"), "0\n");
  EXPECT_NE(sh(repo, sddsh_in(repo, "sessions")).find("No sessions"), std::string::npos);
}

TEST(Recorder, RecoverFinishesASessionWhoseSddshWasKilled) {
  const std::string repo = make_repository();
  PtyProcess p({"sh", "-c", sddsh_in(repo, "--no-tui -- sh -c 'read a; echo \"$a\" > made.txt; echo made; sleep 600'")},
               {24, 80, 0, 0});
  const std::string bundle = wait_for_recording(repo + "/.git/sddsh/sessions");
  p.write("make a file\r");
  ASSERT_TRUE(p.wait_for_output("made", 10s)) << p.output();
  // The marker of the turn reaches the cast on disk, then sddsh dies.
  ASSERT_TRUE(wait_for_cast(bundle, "turn 1")) << read_file(bundle + "/terminal.cast");
  // The PTY's process is sddsh itself once sh and env have exec'd.
  ASSERT_TRUE(wait_until([&] { return read_file("/proc/" + std::to_string(p.pid()) + "/comm") == "sddsh\n"; }, 5s));
  ::kill(p.pid(), SIGKILL);
  ASSERT_TRUE(p.wait_exit(20s).has_value());

  json before = show_json(repo);
  EXPECT_EQ(before["status"], "running");
  const std::string recovered = sh(repo, sddsh_in(repo, "recover"));
  EXPECT_NE(recovered.find("recovered"), std::string::npos) << recovered;
  json after = show_json(repo);
  EXPECT_EQ(after["status"], "recovered");
  ASSERT_GE(after["turns"].size(), 1u) << after.dump(2);
  EXPECT_EQ(after["turns"][0]["prompt"], "make a file");
  EXPECT_EQ(after["conversation"]["source"], "terminal");
  EXPECT_NE(sh(repo, sddsh_in(repo, "show --conversation last")).find("> make a file"), std::string::npos);
  EXPECT_NE(sh(repo, sddsh_in(repo, "diff last")).find("+++ b/made.txt"), std::string::npos);
  EXPECT_NE(sh(repo, "git log --format=%s refs/sddsh/sessions/" + after["id"].get<std::string>()).find("end"),
            std::string::npos);
  // A second recover has nothing to do.
  EXPECT_NE(sh(repo, sddsh_in(repo, "recover")).find("Nothing to recover"), std::string::npos);
}

TEST(Recorder, AFullStoreWarnsButTheAgentRunsOn) {
  const std::string store = make_temp_dir("full");
  if (::mount("tmpfs", store.c_str(), "tmpfs", 0, "size=48k") != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
  const std::string dir = make_temp_dir("fullwork");
  // 4 MB of output into a 48 KB store: the cast fills it early.
  auto r = run_piped({"sh", "-c", "cd " + dir + " && SDDSH_STORE=" + store + " exec " + shell_quote(sddsh_binary()) +
                                      " --no-tui -- sh -c 'head -c 3000000 /dev/zero | tr \"\\\\0\" x; echo; exit 3'"},
                     "", 60s);
  ::umount2(store.c_str(), MNT_DETACH);
  EXPECT_EQ(exit_code(r.status), 3) << "the agent's exit status comes through";
  EXPECT_EQ(r.out.size(), 3000000u + 2) << "every byte of output reached the terminal";
  EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

TEST(Recorder, TuiSessionsAreRecordedLikePassThroughOnes) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  const std::string repo = make_repository();
  Tmux tmux;
  tmux.new_session("s", sddsh_in(repo, "-- env 'PS1=ready> ' sh"), 100, 30);
  const std::string bundle = wait_for_recording(repo + "/.git/sddsh/sessions");
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("ready> ") != std::string::npos; }, 10s))
      << tmux.capture("s");
  tmux.send_literal("s", "echo from-tui > tui.txt");
  tmux.send_keys("s", {"Enter"});
  ASSERT_TRUE(wait_until([&] { return fs::exists(repo + "/tui.txt"); }, 10s));
  // The panel counts the turn.
  ASSERT_TRUE(tmux.wait_for_screen("s", [](auto& s) { return s.find("1 turn") != std::string::npos; }, 10s))
      << tmux.capture("s");
  ASSERT_TRUE(wait_for_settled_turn(bundle, 1)) << read_file(bundle + "/session.json");
  tmux.send_literal("s", "exit");
  tmux.send_keys("s", {"Enter"});
  json session;
  ASSERT_TRUE(wait_until([&] {
    session = show_json(repo);
    return session["status"] == "finished";
  }, 20s)) << session.dump(2);
  ASSERT_EQ(session["turns"].size(), 2u) << session.dump(2);
  EXPECT_EQ(session["turns"][0]["prompt"], "echo from-tui > tui.txt");
  EXPECT_EQ(session["turns"][0]["stat"]["files"], 1);
  EXPECT_EQ(session["terminal"]["cols"], 100 - 31) << "the agent's pane, not the window";
  EXPECT_NE(read_file(bundle + "/terminal.cast").find("from-tui"), std::string::npos);
}
