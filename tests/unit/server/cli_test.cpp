// The sddsh-tracker binary: token create prints only the token, token list never shows it,
// serve announces its address, answers, and stops cleanly on SIGTERM; bad arguments give one
// line and a non-zero exit.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server_test_support.hpp"

extern char** environ;

namespace sddsh::server {
namespace {

using testing::json;
using testing::TempDir;
using namespace std::chrono_literals;

// A run of the binary: its exit status, stdout and stderr.
struct Run {
  int status = -1;
  std::string out, err;
};

// Reads what `fd` gives until it closes or `deadline`; true when it closed.
bool drain(int fd, std::string& into, std::chrono::steady_clock::time_point deadline,
           const std::string& until = "") {
  char buffer[4096];
  while (until.empty() || into.find(until) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready{.fd = fd, .events = POLLIN};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
    const auto got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) return true;
    into.append(buffer, static_cast<std::size_t>(got));
  }
  return true;
}

// Starts the binary with stdout and stderr on pipes.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), SDDSH_TRACKER_BINARY);
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_.reset(out[0]);
    err_.reset(err[0]);
    if (spawned != 0) throw std::runtime_error("posix_spawn failed");
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  int out() const { return out_.get(); }
  int err() const { return err_.get(); }
  // Its exit status, waiting at most `limit`; -1 when it is still running then.
  int wait(std::chrono::milliseconds limit) {
    auto waited = std::async(std::launch::async, [pid = pid_] {
      int status = 0;
      ::waitpid(pid, &status, 0);
      return status;
    });
    if (waited.wait_for(limit) != std::future_status::ready) {
      ::kill(pid_, SIGKILL);
      waited.wait();
      pid_ = -1;
      return -1;
    }
    pid_ = -1;
    const int status = waited.get();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  shell::UniqueFd out_, err_;
};

Run run(std::vector<std::string> args) {
  Child child(std::move(args));
  Run result;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  drain(child.out(), result.out, deadline);
  drain(child.err(), result.err, deadline);
  result.status = child.wait(20s);
  return result;
}

TEST(CliTest, TokensAreMadeListedAndRevoked) {
  TempDir dir;
  auto made = run({"token", "create", "--data", dir.path(), "--project", "demo", "--role", "write",
                   "--label", "ci"});
  ASSERT_EQ(made.status, 0) << made.err;
  EXPECT_TRUE(std::regex_match(made.out, std::regex("sddsh_[0-9a-f]{64}\n"))) << made.out;
  const auto token = made.out.substr(0, made.out.size() - 1);
  auto listed = run({"token", "list", "--data", dir.path(), "--json"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  EXPECT_EQ(listed.out.find(token), std::string::npos);
  auto tokens = json::parse(listed.out);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0]["label"], "ci");
  EXPECT_EQ(tokens[0]["role"], "write");
  EXPECT_EQ(run({"token", "revoke", "--data", dir.path(), "--id", "1"}).status, 0);
  EXPECT_NE(run({"token", "revoke", "--data", dir.path(), "--id", "1"}).status, 0);
}

TEST(CliTest, BadArgumentsGiveOneLineAndFail) {
  TempDir dir;
  const std::vector<std::vector<std::string>> cases = {
      {"token", "create", "--data", dir.path(), "--project", "demo", "--role", "boss"},
      {"token", "create", "--data", dir.path(), "--project", "Not/A/Name", "--role", "read"},
      {"serve", "--data", dir.path(), "--listen", "nowhere"},
      {"project", "create", "--data", dir.path()},
      {"frobnicate"},
  };
  for (const auto& args : cases) {
    auto result = run(args);
    EXPECT_NE(result.status, 0) << args[0];
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_TRUE(result.err.starts_with("sddsh-tracker: ")) << result.err;
  }
  auto help = run({"serve", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--listen"), std::string::npos);
}

TEST(CliTest, ServeAnswersAndStopsOnSigterm) {
  TempDir dir;
  auto made = run({"token", "create", "--data", dir.path(), "--project", "demo", "--role", "read"});
  ASSERT_EQ(made.status, 0);
  const auto token = made.out.substr(0, made.out.size() - 1);
  Child server({"serve", "--data", dir.path(), "--listen", "127.0.0.1:0", "--access-log",
                dir.path() + "/access.log"});
  std::string announced;
  ASSERT_TRUE(drain(server.err(), announced, std::chrono::steady_clock::now() + 10s, "\n"));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      announced, match,
      std::regex("^sddsh-tracker: serving .* on http://127\\.0\\.0\\.1:([0-9]+)\n")))
      << announced;
  httplib::Client client("127.0.0.1", std::stoi(match[1]));
  auto reply = client.Get("/v1/projects/demo", testing::bearer(token));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  client.set_keep_alive(true);  // an idle connection must not hold the stop back
  ASSERT_TRUE(client.Get("/v1/health"));
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  EXPECT_EQ(server.wait(3s), 0);  // well inside the 5 s keep-alive timeout
  EXPECT_NE(testing::read_file(dir.path() + "/access.log").find("\"/v1/projects/demo\""),
            std::string::npos);
}

// A port someone already serves is refused, not shared: two servers on one port would each get
// some of the connections and answer from different data.
TEST(CliTest, ServeRefusesAPortInUse) {
  TempDir dir;
  Child first({"serve", "--data", dir.path(), "--listen", "127.0.0.1:0", "--access-log", "-"});
  std::string announced;
  ASSERT_TRUE(drain(first.err(), announced, std::chrono::steady_clock::now() + 10s, "\n"));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(announced, match, std::regex("http://127\\.0\\.0\\.1:([0-9]+)\n")))
      << announced;
  const auto second = run({"serve", "--data", dir.path() + "/other", "--listen",
                           "127.0.0.1:" + match[1].str(), "--access-log", "-"});
  EXPECT_NE(second.status, 0);
  EXPECT_NE(second.err.find("cannot listen on 127.0.0.1:" + match[1].str()), std::string::npos)
      << second.err;
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;
}

}  // namespace
}  // namespace sddsh::server
