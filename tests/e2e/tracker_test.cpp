// The tracker through the real binary: adding tasks and dependencies, the ready list as JSON,
// claims from two actors, closing, the table on a terminal, the brief of an imported task, and
// 20 `sddsh task claim` processes racing for one task.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Each test gets a store of its own, so the tests do not see each other's tasks.
class TrackerE2e : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/sddsh-tracker-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    store_ = dir_ + "/store";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // sddsh ARGS as `actor`, in the test's directory; extra "NAME=value" settings first.
  Finished sddsh(const std::vector<std::string>& args, const std::string& actor = "alice",
                 const std::vector<std::string>& settings = {}) {
    std::vector<std::string> argv{"env", "-C", dir_, "SDDSH_STORE=" + store_,
                                  "SDDSH_ACTOR=" + actor};
    argv.insert(argv.end(), settings.begin(), settings.end());
    argv.push_back(sddsh_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_piped(argv);
  }

  // The JSON that a successful command printed.
  json sddsh_json(const std::vector<std::string>& args, const std::string& actor = "alice",
                  const std::vector<std::string>& settings = {}) {
    auto run = sddsh(args, actor, settings);
    EXPECT_EQ(exit_code(run.status), 0) << run.err;
    json value = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(value.is_discarded()) << run.out;
    return value;
  }

  std::string add(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"task", "add"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    return sddsh_json(argv)["id"].get<std::string>();
  }

  std::vector<std::string> ready_ids() {
    std::vector<std::string> ids;
    for (const auto& task : sddsh_json({"tasks", "--ready", "--json"})) ids.push_back(task["id"]);
    return ids;
  }

  std::string dir_, store_;
};

using Strings = std::vector<std::string>;

}  // namespace

TEST_F(TrackerE2e, EmptyTrackerSaysHowToStart) {
  auto run = sddsh({"tasks"});
  EXPECT_EQ(exit_code(run.status), 0) << run.err;
  EXPECT_NE(run.out.find("sddsh import"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("sddsh task add"), std::string::npos) << run.out;
  EXPECT_EQ(sddsh_json({"tasks", "--json"}), json::array());
  EXPECT_TRUE(fs::exists(store_ + "/tracker.db"));
}

TEST_F(TrackerE2e, TasksAndDependenciesMakeTheReadyList) {
  const std::string setup = add({"Set up the project", "--priority", "1"});
  const std::string feature = add({"Add a task", "--type", "feature"});
  const std::string model = add({"Write the model", "--parent", feature, "-d", "The Task class"});
  const std::string polish = add({"Polish", "--type", "chore", "--priority", "3"});
  const std::string docs = add({"Write the docs", "--blocks", polish});
  auto dep = sddsh({"dep", "add", feature, setup});
  ASSERT_EQ(exit_code(dep.status), 0) << dep.err;
  EXPECT_EQ(dep.out, feature + " now waits for " + setup + "\n");

  // The feature waits for setup, and so does its child; polish waits for the docs.
  EXPECT_EQ(ready_ids(), (Strings{setup, docs}));
  json ready = sddsh_json({"tasks", "--ready", "--json"});
  EXPECT_EQ(ready[0]["title"], "Set up the project");
  EXPECT_EQ(ready[0]["priority"], 1);
  EXPECT_EQ(ready[0]["issue_type"], "task");
  EXPECT_EQ(ready[0]["status"], "open");
  EXPECT_FALSE(ready[0].contains("assignee")) << "empty fields are left out";
  EXPECT_EQ(sddsh_json({"tasks", "--json"}).size(), 5u);
  EXPECT_EQ(sddsh_json({"tasks", "--type", "chore", "--json"}).size(), 1u);

  json shown = sddsh_json({"task", "show", model, "--json"});
  EXPECT_EQ(shown["description"], "The Task class");
  ASSERT_EQ(shown["dependencies"].size(), 1u);
  EXPECT_EQ(shown["dependencies"][0]["type"], "parent-child");
  EXPECT_EQ(shown["dependencies"][0]["depends_on_id"], feature);

  // A cycle and a self-edge are refused with one line on stderr.
  auto cycle = sddsh({"dep", "add", setup, feature});
  EXPECT_EQ(exit_code(cycle.status), 1);
  EXPECT_TRUE(std::regex_match(cycle.err, std::regex("sddsh: refused: .*cycle\n"))) << cycle.err;
  auto unknown = sddsh({"dep", "add", setup, "sd-none"});
  EXPECT_EQ(exit_code(unknown.status), 1);
  EXPECT_EQ(unknown.err, "sddsh: no task sd-none\n");

  // Closing setup lets the feature and its child go.
  auto done = sddsh({"task", "done", setup, "--reason", "scaffolded"});
  ASSERT_EQ(exit_code(done.status), 0) << done.err;
  EXPECT_NE(done.out.find("Ready now: " + model), std::string::npos) << done.out;
  EXPECT_EQ(ready_ids(), (Strings{feature, model, docs}));
}

TEST_F(TrackerE2e, ClaimsFromTwoActorsAndDone) {
  const std::string id = add({"Contested"});
  auto alice = sddsh({"task", "claim", id});
  EXPECT_EQ(exit_code(alice.status), 0) << alice.err;
  auto bob = sddsh({"task", "claim", id}, "bob");
  EXPECT_EQ(exit_code(bob.status), 1);
  EXPECT_EQ(bob.err, "sddsh: " + id + " is already claimed by alice\n");
  EXPECT_EQ(exit_code(sddsh({"task", "claim", id}).status), 0)
      << "claiming one's own again is fine";
  // The prefix may be left out.
  EXPECT_EQ(exit_code(sddsh({"task", "claim", id.substr(3)}).status), 0);

  json noted = sddsh_json({"task", "note", id, "halfway", "--json"}, "bob");
  EXPECT_NE(noted["description"].get<std::string>().find(" bob] halfway"), std::string::npos)
      << noted;

  json closed = sddsh_json({"task", "done", id, "--reason", "shipped", "--json"}, "alice",
                           {"SDDSH_SESSION_ID=20250304-abc"});
  EXPECT_EQ(closed["status"], "closed");
  EXPECT_EQ(closed["close_reason"], "shipped");
  EXPECT_EQ(closed["closed_by_session"], "20250304-abc");
  EXPECT_EQ(closed["assignee"], "alice");
  auto late = sddsh({"task", "claim", id}, "bob");
  EXPECT_EQ(late.err, "sddsh: " + id + " is closed\n");
  EXPECT_EQ(sddsh_json({"tasks", "--json"}), json::array())
      << "closed tasks are not listed by default";
  EXPECT_EQ(sddsh_json({"tasks", "--all", "--json"}).size(), 1u);

  json reopened = sddsh_json({"task", "reopen", id, "--json"});
  EXPECT_EQ(reopened["status"], "open");
  EXPECT_EQ(exit_code(sddsh({"task", "claim", id}, "bob").status), 0);
  auto missing = sddsh({"task", "claim", "sd-zzzz"});
  EXPECT_EQ(exit_code(missing.status), 1);
  EXPECT_EQ(missing.err, "sddsh: no task sd-zzzz\n");
}

TEST_F(TrackerE2e, TableFitsTheTerminalAndColoursOnlyThere) {
  add({"A title long enough that a narrow terminal must cut it somewhere in the middle of it", "-p",
       "0"});
  add({"Short one"});
  auto piped = sddsh({"tasks"});
  EXPECT_EQ(piped.out.find("\x1b["), std::string::npos) << "no colour into a pipe";
  EXPECT_NE(piped.out.find("in the middle of it"), std::string::npos) << "nor any cut";

  for (bool no_colour : {false, true}) {
    std::vector<std::string> argv{"env", "-C", dir_, "SDDSH_STORE=" + store_};
    if (no_colour) argv.push_back("NO_COLOR=1");
    argv.insert(argv.end(), {sddsh_binary(), "tasks"});
    PtyProcess tasks(argv, winsize{24, 60, 0, 0});
    ASSERT_TRUE(tasks.wait_for_output("Short one", 30s)) << tasks.output();
    ASSERT_TRUE(tasks.wait_exit(30s));
    const std::string out = std::regex_replace(tasks.output(), std::regex("\r"), "");
    EXPECT_EQ(out.find("\x1b[") != std::string::npos, !no_colour) << out;
    const std::string plain = std::regex_replace(out, std::regex("\x1b\\[[0-9;]*m"), "");
    for (const auto& line : split_lines(plain))
      EXPECT_EQ(cut_columns(line, 60), line) << "wider than 60";
    EXPECT_NE(plain.find("…"), std::string::npos) << plain;
    EXPECT_NE(plain.find("P0"), std::string::npos);
  }
}

TEST_F(TrackerE2e, StartPrintsABriefWithTheSpecFiles) {
  const std::string spec = dir_ + "/specs/001-demo";
  fs::create_directories(spec);
  for (const char* file : {"spec.md", "plan.md", "data-model.md"})
    std::ofstream(spec + "/" + file) << "# x\n";
  std::ofstream(spec + "/tasks.md") << "# Tasks: Demo\n\n## Phase 1: Setup\n\n"
                                       "- [ ] T001 Create the project structure\n";
  auto imported = sddsh({"import", "specs/001-demo"});
  ASSERT_EQ(exit_code(imported.status), 0) << imported.out << imported.err;
  std::string id;
  for (const auto& task : sddsh_json({"tasks", "--ready", "--type", "task", "--json"}))
    if (task.contains("spec_ref") && task["spec_ref"]["task_id"] == "T001") id = task["id"];
  ASSERT_FALSE(id.empty());

  auto start = sddsh({"task", "start", id});
  ASSERT_EQ(exit_code(start.status), 0) << start.err;
  for (const char* expected :
       {"Create the project structure", "specs/001-demo/spec.md", "specs/001-demo/plan.md",
        "specs/001-demo/tasks.md", "specs/001-demo/data-model.md", "T001", "Phase 1: Setup",
        "sddsh task done"})
    EXPECT_NE(start.out.find(expected), std::string::npos) << expected << " not in\n" << start.out;
  EXPECT_EQ(start.out.find("research.md"), std::string::npos) << "only files that exist";
  EXPECT_EQ(sddsh_json({"task", "show", id, "--json"})["assignee"], "alice");
}

// 20 processes started together (each waits on a pipe the test closes) claim one task: one
// exits 0, the others exit 1 saying who has it.
TEST_F(TrackerE2e, TwentyConcurrentClaimsHaveOneWinner) {
  constexpr int kClaimers = 20;
  const std::string id = add({"Contested"});
  int barrier[2];
  ASSERT_EQ(pipe(barrier), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kClaimers; ++i) {
    const std::string err = dir_ + "/err" + std::to_string(i);
    const std::string actor = "SDDSH_ACTOR=agent-" + std::to_string(i);
    const std::string store = "SDDSH_STORE=" + store_;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(barrier[1]);
      int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      char go;
      while (read(barrier[0], &go, 1) < 0 && errno == EINTR) {
      }
      execlp("env", "env", store.c_str(), actor.c_str(), sddsh_binary().c_str(), "task", "claim",
             id.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    children.push_back(pid);
  }
  close(barrier[0]);
  close(barrier[1]);  // go

  int winners = 0;
  std::vector<int> codes;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_TRUE(wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 60s));
    codes.push_back(exit_code(status));
    winners += exit_code(status) == 0;
  }
  EXPECT_EQ(winners, 1);
  const std::string winner = sddsh_json({"task", "show", id, "--json"})["assignee"];
  for (int i = 0; i < kClaimers; ++i) {
    std::ifstream in(dir_ + "/err" + std::to_string(i));
    std::string err{std::istreambuf_iterator<char>(in), {}};
    if (codes[i] == 0) {
      EXPECT_EQ(winner, "agent-" + std::to_string(i));
      EXPECT_EQ(err, "");
    } else {
      EXPECT_EQ(codes[i], 1);
      EXPECT_EQ(err, "sddsh: " + id + " is already claimed by " + winner + "\n");
    }
  }
}
