#include "shell/signal_fd.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace sddsh::shell {

SignalFd::SignalFd(std::initializer_list<int> signals) {
  sigemptyset(&set_);
  for (int s : signals) sigaddset(&set_, s);
  if (sigprocmask(SIG_BLOCK, &set_, &previous_mask_) != 0)
    throw std::system_error(errno, std::generic_category(), "sigprocmask");
  fd_.reset(signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "signalfd");
}

SignalFd::~SignalFd() { sigprocmask(SIG_SETMASK, &previous_mask_, nullptr); }

std::vector<int> SignalFd::take() {
  std::vector<int> arrived;
  signalfd_siginfo info[16];
  for (;;) {
    ssize_t n = ::read(fd_.get(), info, sizeof info);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof info[0]); ++i)
      arrived.push_back(static_cast<int>(info[i].ssi_signo));
  }
  return arrived;
}

}  // namespace sddsh::shell
