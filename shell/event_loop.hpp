#pragma once
// The one poll() loop of a sddsh process: file descriptors and timers, nothing else.
// Watches and timers unregister themselves when their handle is destroyed.
#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace sddsh::shell {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using FdCallback = std::function<void(short revents)>;
  using TimerCallback = std::function<void()>;

  // Handle of a watched descriptor; the watch ends when the handle dies.
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { reset(); }
    // Changes the poll events (0 pauses the watch: that is how backpressure stops a reader).
    void set_events(short events);
    bool armed() const { return loop_ != nullptr; }
    void reset();

   private:
    friend class EventLoop;
    Watch(EventLoop* loop, std::uint64_t id) : loop_(loop), id_(id) {}
    EventLoop* loop_ = nullptr;
    std::uint64_t id_ = 0;
  };

  // Handle of a one-shot timer; cancelled when the handle dies.
  class Timer {
   public:
    Timer() = default;
    Timer(Timer&& other) noexcept;
    Timer& operator=(Timer&& other) noexcept;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { reset(); }
    bool armed() const;
    void reset();

   private:
    friend class EventLoop;
    Timer(EventLoop* loop, std::uint64_t id) : loop_(loop), id_(id) {}
    EventLoop* loop_ = nullptr;
    std::uint64_t id_ = 0;
  };

  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  [[nodiscard]] Watch watch(int fd, short events, FdCallback callback);
  [[nodiscard]] Timer at(Clock::time_point when, TimerCallback callback);
  [[nodiscard]] Timer after(Clock::duration delay, TimerCallback callback) {
    return at(Clock::now() + delay, std::move(callback));
  }

  // One round: wait for the nearest deadline or a ready descriptor, then dispatch.
  // Returns false when there was nothing at all to wait for.
  bool run_once();

 private:
  struct WatchEntry {
    std::uint64_t id;
    int fd;
    short events;
    FdCallback callback;
  };
  struct TimerEntry {
    std::uint64_t id;
    Clock::time_point when;
    TimerCallback callback;
  };

  int poll_timeout_ms(Clock::time_point now) const;
  void dispatch_timers();
  void dispatch_fds(const std::vector<pollfd>& fds, const std::vector<std::uint64_t>& ids);
  void remove_watch(std::uint64_t id);
  void set_watch_events(std::uint64_t id, short events);
  void remove_timer(std::uint64_t id);
  bool timer_armed(std::uint64_t id) const;
  WatchEntry* find_watch(std::uint64_t id);

  std::uint64_t next_id_ = 1;
  std::vector<WatchEntry> watches_;
  std::vector<TimerEntry> timers_;
};

}  // namespace sddsh::shell
