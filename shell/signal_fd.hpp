#pragma once
// Asynchronous signals as readable bytes: the signals are blocked and read from a signalfd
// in the event loop, so no handler ever runs code of ours for them.
#include <signal.h>

#include <initializer_list>
#include <vector>

#include "shell/unique_fd.hpp"

namespace sddsh::shell {

class SignalFd {
 public:
  explicit SignalFd(std::initializer_list<int> signals);
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;
  ~SignalFd();  // unblocks what it blocked

  int fd() const { return fd_.get(); }
  // The signals that arrived since the last call (each at most once per read batch).
  std::vector<int> take();

 private:
  sigset_t set_{};
  sigset_t previous_mask_{};
  UniqueFd fd_;
};

}  // namespace sddsh::shell
