#pragma once
// Threads that never take a signal. sddsh reads its signals from a signalfd, which only works
// while every thread blocks them: a helper thread with SIGCHLD unblocked would swallow the
// agent's exit. A new thread inherits its creator's mask, so it is started with all blocked.
#include <signal.h>

#include <thread>
#include <utility>

namespace sddsh::shell {

template <typename F>
std::thread start_signal_free_thread(F&& body) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  std::thread thread(std::forward<F>(body));
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return thread;
}

}  // namespace sddsh::shell
