#include "recorder/background.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

#include "shell/signal_free_thread.hpp"

namespace sddsh::recorder {

BackgroundQueue::BackgroundQueue() : wake_owner_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_owner_) throw std::runtime_error("eventfd failed");
  worker_ = shell::start_signal_free_thread([this] { work(); });
}

BackgroundQueue::~BackgroundQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_worker_.notify_one();
  worker_.join();
}

void BackgroundQueue::attach(shell::EventLoop& loop) {
  watch_ = loop.watch(wake_owner_.get(), POLLIN, [this](short) {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(wake_owner_.get(), &count, sizeof count);
    run_completions();
  });
}

void BackgroundQueue::detach() {
  watch_.reset();
}

void BackgroundQueue::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_worker_.notify_one();
}

void BackgroundQueue::drain() {
  {
    std::unique_lock lock(mutex_);
    job_done_.wait(lock, [this] { return jobs_.empty() && !busy_; });
  }
  run_completions();
}

bool BackgroundQueue::idle() const {
  std::lock_guard lock(mutex_);
  return jobs_.empty() && !busy_ && completions_.empty();
}

void BackgroundQueue::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_worker_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, nothing left
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    Completion completion = job();
    lock.lock();
    busy_ = false;
    if (completion) completions_.push_back(std::move(completion));
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_owner_.get(), &one, sizeof one);
    job_done_.notify_all();
  }
}

void BackgroundQueue::run_completions() {
  for (;;) {
    Completion next;
    {
      std::lock_guard lock(mutex_);
      if (completions_.empty()) return;
      next = std::move(completions_.front());
      completions_.pop_front();
    }
    next();
  }
}

}  // namespace sddsh::recorder
