#include "shell/event_loop.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace sddsh::shell {

EventLoop::Watch::Watch(Watch&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)), id_(other.id_) {}

EventLoop::Watch& EventLoop::Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    reset();
    loop_ = std::exchange(other.loop_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void EventLoop::Watch::set_events(short events) {
  if (loop_) loop_->set_watch_events(id_, events);
}

void EventLoop::Watch::reset() {
  if (loop_) std::exchange(loop_, nullptr)->remove_watch(id_);
}

EventLoop::Timer::Timer(Timer&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)), id_(other.id_) {}

EventLoop::Timer& EventLoop::Timer::operator=(Timer&& other) noexcept {
  if (this != &other) {
    reset();
    loop_ = std::exchange(other.loop_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

bool EventLoop::Timer::armed() const { return loop_ && loop_->timer_armed(id_); }

void EventLoop::Timer::reset() {
  if (loop_) std::exchange(loop_, nullptr)->remove_timer(id_);
}

EventLoop::Watch EventLoop::watch(int fd, short events, FdCallback callback) {
  const auto id = next_id_++;
  watches_.push_back({id, fd, events, std::move(callback)});
  return Watch(this, id);
}

EventLoop::Timer EventLoop::at(Clock::time_point when, TimerCallback callback) {
  const auto id = next_id_++;
  timers_.push_back({id, when, std::move(callback)});
  return Timer(this, id);
}

EventLoop::WatchEntry* EventLoop::find_watch(std::uint64_t id) {
  auto it = std::ranges::find(watches_, id, &WatchEntry::id);
  return it == watches_.end() ? nullptr : &*it;
}

void EventLoop::remove_watch(std::uint64_t id) { std::erase_if(watches_, [id](auto& w) { return w.id == id; }); }

void EventLoop::set_watch_events(std::uint64_t id, short events) {
  if (auto* w = find_watch(id)) w->events = events;
}

void EventLoop::remove_timer(std::uint64_t id) { std::erase_if(timers_, [id](auto& t) { return t.id == id; }); }

bool EventLoop::timer_armed(std::uint64_t id) const {
  return std::ranges::find(timers_, id, &TimerEntry::id) != timers_.end();
}

int EventLoop::poll_timeout_ms(Clock::time_point now) const {
  if (timers_.empty()) return -1;
  auto nearest = std::ranges::min(timers_, {}, &TimerEntry::when).when;
  if (nearest <= now) return 0;
  // Round up so that a timer never wakes us a millisecond early and spins.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(nearest - now).count();
  constexpr long long kDay = 24LL * 3600 * 1000;
  return static_cast<int>(std::min<long long>(ms, kDay));
}

void EventLoop::dispatch_timers() {
  const auto now = Clock::now();
  // Collect first: a callback may add or cancel timers.
  std::vector<std::uint64_t> due;
  for (const auto& t : timers_)
    if (t.when <= now) due.push_back(t.id);
  for (auto id : due) {
    auto it = std::ranges::find(timers_, id, &TimerEntry::id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    auto callback = std::move(it->callback);
    timers_.erase(it);
    callback();
  }
}

void EventLoop::dispatch_fds(const std::vector<pollfd>& fds,
                             const std::vector<std::uint64_t>& ids) {
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    auto* w = find_watch(ids[i]);  // may have been removed by an earlier callback
    if (!w || w->events == 0) continue;
    auto callback = w->callback;  // the callback may drop its own watch
    callback(fds[i].revents);
  }
}

bool EventLoop::run_once() {
  std::vector<pollfd> fds;
  std::vector<std::uint64_t> ids;
  for (const auto& w : watches_) {
    if (w.events == 0) continue;
    fds.push_back({w.fd, w.events, 0});
    ids.push_back(w.id);
  }
  const int timeout = poll_timeout_ms(Clock::now());
  if (fds.empty() && timeout < 0) return false;
  int n = ::poll(fds.data(), fds.size(), timeout);
  if (n < 0) {
    if (errno == EINTR) return true;
    throw std::system_error(errno, std::generic_category(), "poll");
  }
  dispatch_timers();
  if (n > 0) dispatch_fds(fds, ids);
  return true;
}

}  // namespace sddsh::shell
