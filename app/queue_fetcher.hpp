#pragma once
// The ready queue of a remote tracker, read on a thread of its own: the TUI never waits on the
// network. It keeps the last good list when the tracker stops answering, and says since when.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "shell/result.hpp"
#include "tracker-client/model.hpp"

namespace sddsh::app {

class QueueFetcher {
 public:
  using Fetch = std::function<Result<std::vector<tracker::Task>>()>;

  struct Snapshot {
    std::optional<std::vector<tracker::Task>> tasks;  // the last good list, if any came
    std::int64_t fetched_unix_ms = 0;                 // when it came
    std::string error;                                // the last attempt's failure; empty: it worked
    std::uint64_t generation = 0;                     // grows with every answer, good or bad
    bool pending = false;                             // an answer is on its way (asked, or fetching)
  };

  // Fetches at once, then every `period` and whenever refresh_now() asks.
  QueueFetcher(Fetch fetch, std::chrono::milliseconds period);
  ~QueueFetcher();
  QueueFetcher(const QueueFetcher&) = delete;
  QueueFetcher& operator=(const QueueFetcher&) = delete;

  void refresh_now();
  Snapshot snapshot() const;

 private:
  void run();

  Fetch fetch_;
  std::chrono::milliseconds period_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Snapshot snapshot_;
  bool asked_ = false, stopping_ = false, fetching_ = false;
  std::thread thread_;  // last: it starts once everything above is ready
};

}  // namespace sddsh::app
