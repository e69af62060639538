#pragma once
// Work that must not stall the event loop (git snapshots, diffs, rewriting session.json) runs on
// one worker thread, in the order it was posted. Each job returns a completion that runs back on
// the owner's thread: from the event loop while one is attached, else in drain().
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "shell/event_loop.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

class BackgroundQueue {
 public:
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;

  BackgroundQueue();
  BackgroundQueue(const BackgroundQueue&) = delete;
  BackgroundQueue& operator=(const BackgroundQueue&) = delete;
  ~BackgroundQueue();  // finishes the posted jobs, drops their completions

  void attach(shell::EventLoop& loop);
  void detach();
  void post(Job job);
  // Waits until every posted job ran, then runs the pending completions on this thread.
  void drain();
  bool idle() const;

 private:
  void work();
  void run_completions();

  mutable std::mutex mutex_;
  std::condition_variable wake_worker_;
  std::condition_variable job_done_;
  std::deque<Job> jobs_;
  std::deque<Completion> completions_;
  bool busy_ = false;
  bool stopping_ = false;
  shell::UniqueFd wake_owner_;  // eventfd: completions are waiting
  shell::EventLoop::Watch watch_;
  std::thread worker_;
};

}  // namespace sddsh::recorder
