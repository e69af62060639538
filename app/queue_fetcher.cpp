#include "app/queue_fetcher.hpp"

#include "recorder/session_record.hpp"
#include "shell/signal_free_thread.hpp"

namespace sddsh::app {

QueueFetcher::QueueFetcher(Fetch fetch, std::chrono::milliseconds period)
    : fetch_(std::move(fetch)),
      period_(period),
      asked_(true),
      // Created before the session blocks its signals (--task): it must not take SIGCHLD.
      thread_(shell::start_signal_free_thread([this] { run(); })) {}

QueueFetcher::~QueueFetcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void QueueFetcher::refresh_now() {
  {
    std::lock_guard lock(mutex_);
    asked_ = true;
  }
  wake_.notify_one();
}

QueueFetcher::Snapshot QueueFetcher::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot snapshot = snapshot_;
  snapshot.pending = asked_ || fetching_;
  return snapshot;
}

void QueueFetcher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, period_, [this] { return asked_ || stopping_; });
    if (stopping_) return;
    asked_ = false;
    fetching_ = true;
    lock.unlock();
    auto tasks = fetch_();  // the network, outside the lock
    lock.lock();
    fetching_ = false;
    if (tasks) {
      snapshot_.tasks = std::move(*tasks);
      snapshot_.fetched_unix_ms = recorder::unix_now_ms();
      snapshot_.error.clear();
    } else {
      snapshot_.error = tasks.error().message;
    }
    ++snapshot_.generation;
  }
}

}  // namespace sddsh::app
