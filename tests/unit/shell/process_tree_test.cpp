#include "shell/process_tree.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace sddsh::shell;

TEST(ProcessTree, ExitCodeOfStatus) {
  EXPECT_EQ(exit_code_of(7 << 8), 7);   // exited with 7
  EXPECT_EQ(exit_code_of(SIGKILL), 137);  // killed by signal 9
}

TEST(ProcessTree, FindsGrandchildrenAndEndsThem) {
  pid_t child = fork();
  if (child == 0) {
    // A child that starts a grandchild and waits for it.
    execl("/bin/sh", "sh", "-c", "sleep 1000 & wait", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  std::vector<pid_t> tree;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (tree.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    tree = descendants_of(getpid());
    std::this_thread::yield();
  }
  ASSERT_GE(tree.size(), 2U) << "child and grandchild";
  EXPECT_NE(std::ranges::find(tree, child), tree.end());
  signal_each(tree, SIGKILL);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
}
