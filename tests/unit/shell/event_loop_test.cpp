#include "shell/event_loop.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "shell/unique_fd.hpp"

using namespace std::chrono_literals;
using sddsh::shell::EventLoop;
using sddsh::shell::UniqueFd;

namespace {

struct Pipe {
  UniqueFd read_end, write_end;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

}  // namespace

TEST(EventLoop, TimersFireInDeadlineOrder) {
  EventLoop loop;
  std::vector<int> fired;
  auto late = loop.after(20ms, [&] { fired.push_back(2); });
  auto early = loop.after(5ms, [&] { fired.push_back(1); });
  while (fired.size() < 2) ASSERT_TRUE(loop.run_once());
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_FALSE(early.armed());
}

TEST(EventLoop, DestroyedTimerNeverFires) {
  EventLoop loop;
  bool fired = false;
  { auto timer = loop.after(1ms, [&] { fired = true; }); }
  EXPECT_FALSE(loop.run_once()) << "nothing left to wait for";
  EXPECT_FALSE(fired);
}

TEST(EventLoop, WatchSeesReadableDescriptor) {
  EventLoop loop;
  Pipe p;
  std::string got;
  auto watch = loop.watch(p.read_end.get(), POLLIN, [&](short) {
    char buf[16];
    auto n = ::read(p.read_end.get(), buf, sizeof buf);
    got.append(buf, static_cast<std::size_t>(n));
  });
  ASSERT_EQ(::write(p.write_end.get(), "abc", 3), 3);
  loop.run_once();
  EXPECT_EQ(got, "abc");
}

TEST(EventLoop, PausedWatchIsNotPolled) {
  EventLoop loop;
  Pipe p;
  int calls = 0;
  auto watch = loop.watch(p.read_end.get(), POLLIN, [&](short) { ++calls; });
  watch.set_events(0);
  ASSERT_EQ(::write(p.write_end.get(), "x", 1), 1);
  auto timer = loop.after(10ms, [] {});
  loop.run_once();
  EXPECT_EQ(calls, 0);
  watch.set_events(POLLIN);
  loop.run_once();
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, CallbackMayDropItsOwnWatch) {
  EventLoop loop;
  Pipe p;
  EventLoop::Watch watch;
  int calls = 0;
  watch = loop.watch(p.read_end.get(), POLLIN, [&](short) {
    ++calls;
    watch.reset();
  });
  ASSERT_EQ(::write(p.write_end.get(), "x", 1), 1);
  loop.run_once();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(loop.run_once()) << "the watch is gone";
}
