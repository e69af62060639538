#include "shell/pty_child.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>

#include <chrono>
#include <string>

#include "shell/process_tree.hpp"

using sddsh::shell::PtyChild;
using sddsh::shell::SpawnOptions;

namespace {

SpawnOptions command(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.environment = {"PATH=/usr/bin:/bin", "TERM=xterm-256color"};
  options.size = {30, 100, 0, 0};
  return options;
}

// Everything the child prints until the PTY closes (deadline 10 s), then its wait status.
std::pair<std::string, int> finish(PtyChild& child) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{child.master(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    char buf[4096];
    auto n = ::read(child.master(), buf, sizeof buf);
    if (n <= 0 && errno == EAGAIN) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  EXPECT_EQ(::waitpid(child.pid(), &status, 0), child.pid());
  child.mark_exited(status);
  return {out, status};
}

}  // namespace

TEST(PtyChild, ExitCodePassesThrough) {
  auto child = PtyChild::spawn(command({"sh", "-c", "exit 7"}));
  ASSERT_TRUE(child) << child.error().message;
  auto [out, status] = finish(*child);
  EXPECT_EQ(sddsh::shell::exit_code_of(status), 7);
}

TEST(PtyChild, DeathBySignalIs128PlusN) {
  auto child = PtyChild::spawn(command({"sh", "-c", "kill -TERM $$"}));
  ASSERT_TRUE(child);
  auto [out, status] = finish(*child);
  EXPECT_EQ(sddsh::shell::exit_code_of(status), 143);
}

TEST(PtyChild, MissingCommandIsENOENT) {
  auto child = PtyChild::spawn(command({"sddsh-no-such-command-xyz"}));
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().code, ENOENT);
}

TEST(PtyChild, NonExecutableIsEACCES) {
  char path[] = "/tmp/sddsh-noexec-XXXXXX";
  int fd = mkstemp(path);  // created 0600: not executable, even for root
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto child = PtyChild::spawn(command({path}));
  ::unlink(path);
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().code, EACCES);
}

TEST(PtyChild, ChildSeesTerminalSizeAndEnvironment) {
  auto child = PtyChild::spawn(command({"sh", "-c", "stty size; echo $TERM; test -t 0 && echo tty"}));
  ASSERT_TRUE(child);
  auto [out, status] = finish(*child);
  EXPECT_NE(out.find("30 100"), std::string::npos) << out;
  EXPECT_NE(out.find("xterm-256color"), std::string::npos) << out;
  EXPECT_NE(out.find("tty"), std::string::npos) << out;
}

TEST(PtyChild, ChildStartsWithDefaultSignalsAndNoInheritedDescriptors) {
  // An ignored SIGINT and an open descriptor in the parent must not reach the agent.
  signal(SIGINT, SIG_IGN);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto child = PtyChild::spawn(command(
      {"sh", "-c", "grep SigIgn /proc/self/status; ls /proc/self/fd | wc -l"}));
  signal(SIGINT, SIG_DFL);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(child);
  auto [out, status] = finish(*child);
  // sh itself ignores nothing here; ls sees 0,1,2 and its own directory descriptor.
  EXPECT_NE(out.find("SigIgn:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("4"), std::string::npos) << out;
}

TEST(PtyChild, ResizeReachesTheChild) {
  auto child = PtyChild::spawn(command({"sh", "-c", "read x; stty size"}));
  ASSERT_TRUE(child);
  child->resize({40, 120, 0, 0});
  ASSERT_EQ(::write(child->master(), "\n", 1), 1);
  auto [out, status] = finish(*child);
  EXPECT_NE(out.find("40 120"), std::string::npos) << out;
}

TEST(PtyChild, DestructorKillsAndReapsARunningChild) {
  pid_t pid;
  {
    auto child = PtyChild::spawn(command({"sleep", "1000"}));
    ASSERT_TRUE(child);
    pid = child->pid();
  }
  EXPECT_EQ(::kill(pid, 0), -1) << "the child is gone, zombie included";
}
