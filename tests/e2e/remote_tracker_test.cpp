// The remote tracker end to end, with the real binaries only: `sddsh-tracker serve` on a loopback
// port, and `sddsh` in two checkouts with two users' tokens. Import, racing claims, a session on
// a task uploaded and attached to it, fetched by the other checkout; the server killed before and
// during an upload, then `sddsh sync` sending exactly one copy; planted secrets that never reach
// the server's disk.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kProject = "demo";
constexpr const char* kGit = "git -c user.name=t -c user.email=t@example.com ";

// Made-up secrets of the kinds sddsh redacts; none may appear on the server.
const std::string kAnthropicKey = "sk-ant-api03-" + std::string(40, 'Q') + "xYz123";
const std::string kGithubToken = "ghp_" + std::string(30, 'R') + "abc123";
const std::string kAwsKey = "AKIAIOSFODNN7EXAMPLQ";
const std::string kEnvSecret = "envsecret-value-9f8e7d6c5b4a";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

// Every file under `dir` whose bytes contain `needle`.
std::vector<std::string> files_containing(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(dir, error))
    if (entry.is_regular_file(error) && read_file(entry.path()).find(needle) != std::string::npos)
      found.push_back(entry.path());
  return found;
}

class RemoteTrackerE2e : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/sddsh-remote-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    data_ = dir_ + "/server";
    port_ = free_loopback_port();
    alice_ = token("write", "alice");
    bob_ = token("write", "bob");
    start_server();
  }
  void TearDown() override {
    kill_server();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::string token(const std::string& role, const std::string& label) {
    auto made = run_piped({SDDSH_TRACKER_BINARY, "token", "create", "--data", data_, "--project",
                           kProject, "--role", role, "--label", label});
    EXPECT_EQ(exit_code(made.status), 0) << made.err;
    return trimmed(made.out);
  }

  void start_server() {
    server_ = ::fork();
    if (server_ == 0) {
      const std::string listen = "127.0.0.1:" + std::to_string(port_);
      const std::string log = dir_ + "/access.log";
      ::execl(SDDSH_TRACKER_BINARY, SDDSH_TRACKER_BINARY, "serve", "--data", data_.c_str(), "--listen",
              listen.c_str(), "--access-log", log.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_TRUE(wait_until([&] { return exit_code(run_piped({"curl", "-sf", url() + "/v1/health"}).status) == 0; },
                           20s))
        << "sddsh-tracker did not answer on " << url();
  }

  void kill_server() {
    if (server_ <= 0) return;
    ::kill(server_, SIGKILL);
    ::waitpid(server_, nullptr, 0);
    server_ = -1;
  }

  // A git repository: one checkout of the team's project.
  std::string checkout(const std::string& name) {
    const std::string repo = dir_ + "/" + name;
    fs::create_directories(repo);
    auto r = run_piped({"sh", "-c", "cd " + shell_quote(repo) + " && git init -q -b main . && echo base > README && " +
                                        kGit + "add -A && " + kGit + "commit -qm init"});
    EXPECT_EQ(exit_code(r.status), 0) << r.err;
    return repo;
  }

  // sddsh in `repo` as `actor`, against the server; the store is the repository's own.
  std::string sddsh_command(const std::string& repo, const std::string& actor, const std::string& token,
                            const std::string& args) const {
    return "cd " + shell_quote(repo) + " && exec env -u SDDSH_STORE SDDSH_ACTOR=" + actor +
           " XDG_CONFIG_HOME=" + shell_quote(dir_ + "/config") + " SDDSH_TRACKER_URL=" + url() +
           " SDDSH_TRACKER_PROJECT=" + kProject + " SDDSH_TRACKER_TOKEN=" + token +
           " MY_SERVICE_TOKEN=" + kEnvSecret + " " + shell_quote(sddsh_binary()) + " " + args;
  }
  Finished sddsh(const std::string& repo, const std::string& actor, const std::string& token,
                 const std::string& args) {
    return run_piped({"sh", "-c", sddsh_command(repo, actor, token, args)}, "", 120s);
  }

  json sddsh_json(const std::string& repo, const std::string& actor, const std::string& token,
                  const std::string& args) {
    auto run = sddsh(repo, actor, token, args);
    EXPECT_EQ(exit_code(run.status), 0) << args << "\n" << run.err;
    json value = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(value.is_discarded()) << args << "\n" << run.out;
    return value;
  }

  std::string add_task(const std::string& repo, const std::string& title) {
    return sddsh_json(repo, "alice", alice_, "task add " + shell_quote(title) + " --json")["id"];
  }

  // The uploads the server lists for a task, read with curl (not with our client).
  json server_sessions(const std::string& task) {
    auto r = run_piped({"curl", "-sf", "-H", "Authorization: Bearer " + bob_,
                        url() + "/v1/projects/" + kProject + "/tasks/" + task + "/sessions"});
    EXPECT_EQ(exit_code(r.status), 0) << r.err;
    return json::parse(r.out, nullptr, false).value("sessions", json::array());
  }

  // An agent run on `task` that prints planted secrets (one split across two writes), commits
  // nothing, and leaves a file with a token in the working tree (so in the task's diff).
  std::string planted_agent() const {
    const std::string half = kAnthropicKey.substr(0, 20);
    const std::string rest = kAnthropicKey.substr(20);
    return "sh -c " + shell_quote("printf 'key: " + half + "'; sleep 0.3; printf '" + rest +
                                  "\\n'; echo aws " + kAwsKey + "; echo env $MY_SERVICE_TOKEN; echo 'token=" +
                                  kGithubToken + "' > config.txt; echo greeting > hello.txt; echo done");
  }

  void expect_no_secret_on_server() {
    for (const std::string& secret : {kAnthropicKey, kGithubToken, kAwsKey, kEnvSecret})
      EXPECT_EQ(files_containing(data_, secret), std::vector<std::string>{}) << "secret reached the server";
  }

  std::string dir_, data_, alice_, bob_;
  int port_ = 0;
  pid_t server_ = -1;
};

TEST_F(RemoteTrackerE2e, ImportRacingClaimsUploadAndFetchFromAnotherCheckout) {
  const std::string mine = checkout("alice-checkout");
  const std::string theirs = checkout("bob-checkout");
  fs::create_directories(mine + "/specs/001-todo");
  // The real file of a finished project, every box unticked: the work still to do.
  std::string tasks_md = read_file(source_dir() + "/../shared/testdata/spec-kit/todo-console-app.tasks.md");
  for (std::size_t at; (at = tasks_md.find("- [x]")) != std::string::npos;) tasks_md.replace(at, 5, "- [ ]");
  std::ofstream(mine + "/specs/001-todo/tasks.md") << tasks_md;

  // Import through the server; again: nothing new.
  json first = sddsh_json(mine, "alice", alice_, "import specs/001-todo/tasks.md --json");
  EXPECT_GT(first["tasks"]["created"].get<int>(), 10) << first.dump(2);
  json again = sddsh_json(mine, "alice", alice_, "import specs/001-todo/tasks.md --json");
  EXPECT_EQ(again["tasks"]["created"], 0) << again.dump(2);
  EXPECT_EQ(again["epic"]["id"], first["epic"]["id"]);

  // Two users race for each of the first ready tasks: exactly one wins each.
  json ready = sddsh_json(theirs, "bob", bob_, "tasks --ready --json");
  ASSERT_GE(ready.size(), 1u);
  const std::string contested = ready[0]["id"];
  Finished by_alice, by_bob;
  std::thread a([&] { by_alice = sddsh(mine, "alice", alice_, "task claim " + contested + " --json"); });
  std::thread b([&] { by_bob = sddsh(theirs, "bob", bob_, "task claim " + contested + " --json"); });
  a.join();
  b.join();
  const bool alice_won = exit_code(by_alice.status) == 0;
  EXPECT_NE(alice_won, exit_code(by_bob.status) == 0) << by_alice.err << by_bob.err;
  EXPECT_NE((alice_won ? by_bob : by_alice).err.find("already claimed by"), std::string::npos);
  json held = sddsh_json(theirs, "bob", bob_, "task show " + contested + " --json");
  EXPECT_EQ(held["assignee"], alice_won ? "alice" : "bob");

  // A session on a task of its own, uploaded when it ends.
  const std::string task = add_task(mine, "Greet the user");
  auto session = sddsh(mine, "alice", alice_, "--no-tui --task " + task + " -- " + planted_agent());
  ASSERT_EQ(exit_code(session.status), 0) << session.err;
  json uploads = server_sessions(task);
  ASSERT_EQ(uploads.size(), 1u) << uploads.dump(2) << "\n" << session.err;

  // The other checkout lists and fetches it.
  json listed = sddsh_json(theirs, "bob", bob_, "sessions --task " + task + " --fetch --json");
  ASSERT_EQ(listed["remote"].size(), 1u) << listed.dump(2);
  EXPECT_EQ(listed["local"].size(), 0u);
  ASSERT_EQ(listed["fetched"].size(), 1u);
  const std::string fetched = listed["fetched"][0];
  const std::string cast = read_file(fetched + "/terminal.cast");
  EXPECT_NE(cast.find("done"), std::string::npos) << cast;
  EXPECT_NE(cast.find("[REDACTED:"), std::string::npos) << cast;
  const std::string patch = read_file(fetched + "/task.patch");
  EXPECT_NE(patch.find("+++ b/hello.txt"), std::string::npos) << patch;
  EXPECT_NE(patch.find("[REDACTED:github_token]"), std::string::npos) << patch;
  for (const std::string& secret : {kAnthropicKey, kGithubToken, kAwsKey, kEnvSecret}) {
    EXPECT_EQ(cast.find(secret), std::string::npos) << secret;
    EXPECT_EQ(patch.find(secret), std::string::npos) << secret;
  }
  expect_no_secret_on_server();
  // The local bundle keeps the raw output (it never leaves the machine).
  json local = sddsh_json(mine, "alice", alice_, "sessions --task " + task + " --json");
  ASSERT_EQ(local["local"].size(), 1u);
  EXPECT_NE(read_file(local["local"][0]["bundle"].get<std::string>() + "/terminal.cast").find(kAwsKey),
            std::string::npos);
}

TEST_F(RemoteTrackerE2e, ServerDownDuringASessionThenSyncUploadsExactlyOnce) {
  const std::string repo = checkout("checkout");
  const std::string task = add_task(repo, "Work while the tracker is down");
  kill_server();

  auto session = sddsh(repo, "alice", alice_, "--no-tui --task " + task + " -- " + planted_agent());
  ASSERT_EQ(exit_code(session.status), 0) << "the agent's run is not the tracker's business\n" << session.err;
  auto offline = sddsh(repo, "alice", alice_, "sync --json");
  EXPECT_NE(exit_code(offline.status), 0) << "nothing can be sent while the server is down";

  start_server();
  auto synced = sddsh(repo, "alice", alice_, "sync --json");
  EXPECT_EQ(exit_code(synced.status), 0) << synced.out << synced.err;
  auto second = sddsh(repo, "alice", alice_, "sync --json");
  EXPECT_EQ(exit_code(second.status), 0) << second.err;
  EXPECT_EQ(server_sessions(task).size(), 1u);
  expect_no_secret_on_server();
}

TEST_F(RemoteTrackerE2e, ServerKilledMidUploadLosesNothingAndDuplicatesNothing) {
  const std::string repo = checkout("checkout");
  const std::string task = add_task(repo, "Print a lot");
  kill_server();
  // 48 MiB of output: its upload takes long enough to be cut.
  auto session = sddsh(repo, "alice", alice_,
                       "--no-tui --task " + task + " -- sh -c 'head -c 36000000 /dev/urandom | base64 -w 1000'");
  ASSERT_EQ(exit_code(session.status), 0) << session.err;

  start_server();
  const std::string partial = data_ + "/partial";
  Finished cut;
  std::thread sync([&] { cut = sddsh(repo, "alice", alice_, "sync --json"); });
  // The server dies as soon as the first chunk of the cast has landed.
  const bool caught = wait_until(
      [&] {
        std::error_code error;
        for (const auto& entry : fs::recursive_directory_iterator(partial, error))
          if (entry.is_regular_file(error) && entry.file_size(error) > 0) return true;
        return false;
      },
      30s);
  kill_server();
  sync.join();
  ASSERT_TRUE(caught) << "no partial upload seen";
  EXPECT_NE(exit_code(cut.status), 0) << "the upload was cut: it cannot have finished\n" << cut.out;

  start_server();
  auto resumed = sddsh(repo, "alice", alice_, "sync --json");
  EXPECT_EQ(exit_code(resumed.status), 0) << resumed.out << resumed.err;
  json uploads = server_sessions(task);
  ASSERT_EQ(uploads.size(), 1u);
  // The stored cast is whole: the fetched copy has the recorded number of output bytes or more
  // (redaction adds none here; base64 never looks like a token of ours).
  json listed = sddsh_json(repo, "alice", alice_, "sessions --task " + task + " --json");
  ASSERT_EQ(listed["local"].size(), 1u);
  const std::string bundle = listed["local"][0]["bundle"];
  auto fetched = sddsh(repo, "alice", alice_, "sessions --task " + task + " --fetch --json");
  ASSERT_EQ(exit_code(fetched.status), 0) << fetched.err;
  const std::string copy = json::parse(fetched.out)["fetched"][0];
  const std::string cast = read_file(copy + "/terminal.cast");
  EXPECT_GT(cast.size(), 48'000'000u);
  EXPECT_EQ(cast.find("[REDACTED"), std::string::npos) << "random base64 is not a secret";
}


// The TUI on a remote tracker, as a user sees it: the panel's queue comes from the server; a task
// marked done uploads its part of the session and the panel says so; with the server gone the
// last good queue stays, marked stale, until the server answers again.
TEST_F(RemoteTrackerE2e, PanelShowsTheRemoteQueueUploadsAndAStaleQueueWhenTheServerIsGone) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  const std::string repo = checkout("checkout");
  const std::string current = add_task(repo, "Draw the panel");
  add_task(repo, "Wait in the queue");
  Tmux tmux;
  tmux.new_session("s",
                   sddsh_command(repo, "alice", alice_,
                                 "--task " + current + " -- sh -c 'echo hello > greet.txt; echo agent-ready; exec sleep 600'"),
                   150, 30);
  auto shows = [&](const std::string& text) {
    return tmux.wait_for_screen("s", [&](const std::string& screen) { return screen.find(text) != std::string::npos; },
                                20s);
  };
  ASSERT_TRUE(shows("Wait in the queue")) << "the remote queue is in the panel:\n" << tmux.capture("s");
  ASSERT_TRUE(shows("agent-ready")) << tmux.capture("s");

  // Done with the current task: its segment is uploaded, and the panel says so.
  tmux.send_keys("s", {"C-]", "t"});
  ASSERT_TRUE(shows("r refresh")) << tmux.capture("s");
  tmux.send_keys("s", {"d"});
  ASSERT_TRUE(shows("uploads: 1 sent")) << tmux.capture("s");
  EXPECT_EQ(server_sessions(current).size(), 1u);

  // The server goes away: asked again, the queue stays and says it is stale.
  kill_server();
  tmux.send_keys("s", {"r"});
  ASSERT_TRUE(shows("stale, from")) << tmux.capture("s");
  EXPECT_NE(tmux.capture("s").find("Wait in the queue"), std::string::npos) << tmux.capture("s");

  // Back: the mark goes.
  start_server();
  tmux.send_keys("s", {"r"});
  EXPECT_TRUE(tmux.wait_for_screen("s", [](const std::string& screen) { return screen.find("stale") == std::string::npos; },
                                   20s))
      << tmux.capture("s");
  tmux.send_keys("s", {"q"});
  tmux.send_keys("s", {"C-]", "q"});
  tmux.send_keys("s", {"y"});
}


// A session uploaded from one checkout replays in another, from the tracker: `sddsh replay
// --task ID` fetches it and draws it; G shows its last screen.
TEST_F(RemoteTrackerE2e, ASessionUploadedByOneCheckoutReplaysInAnother) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  const std::string mine = checkout("alice-checkout");
  const std::string theirs = checkout("bob-checkout");
  const std::string task = add_task(mine, "Replay me elsewhere");
  auto session = sddsh(mine, "alice", alice_,
                       "--no-tui --task " + task + " -- sh -c " +
                           shell_quote("printf '\\033[1;32mgreen light\\033[0m\\n'; echo aws " + kAwsKey +
                                       "; echo the last line"));
  ASSERT_EQ(exit_code(session.status), 0) << session.err;
  ASSERT_EQ(server_sessions(task).size(), 1u);

  Tmux tmux;
  tmux.new_session("r", sddsh_command(theirs, "bob", bob_, "replay --task " + task), 140, 30);
  auto shows = [&](const std::string& text) {
    return tmux.wait_for_screen("r", [&](const std::string& screen) { return screen.find(text) != std::string::npos; },
                                20s);
  };
  tmux.send_keys("r", {"G"});
  ASSERT_TRUE(shows("the last line")) << tmux.capture("r");
  const std::string screen = tmux.capture("r");
  EXPECT_NE(screen.find("green light"), std::string::npos) << screen;
  EXPECT_NE(screen.find("[REDACTED:aws_access_key]"), std::string::npos) << screen;
  EXPECT_EQ(screen.find(kAwsKey), std::string::npos) << "the server never had it";
  tmux.send_keys("r", {"q"});
  EXPECT_TRUE(tmux.wait_for_screen("r", [](const std::string& s) { return s.find("the last line") == std::string::npos; },
                                   10s))
      << "q leaves the replay:\n" << tmux.capture("r");
}

}  // namespace
