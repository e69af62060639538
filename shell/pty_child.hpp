#pragma once
// The agent: a child process on the slave side of a new pseudo-terminal, in its own session.
#include <sys/ioctl.h>
#include <sys/types.h>
#include <termios.h>

#include <optional>
#include <string>
#include <vector>

#include "shell/result.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::shell {

struct SpawnOptions {
  std::vector<std::string> argv;          // argv[0] is looked up in PATH like execvp does
  std::vector<std::string> environment;   // the child's whole environment, "NAME=value"
  winsize size{24, 80, 0, 0};
  std::optional<termios> modes;           // initial line discipline; kernel defaults if empty
  std::string directory;                  // where the child starts; empty: sddsh's own
};

class PtyChild {
 public:
  // Errors carry errno: ENOENT when the command is not found, EACCES when not executable.
  static Result<PtyChild> spawn(const SpawnOptions& options);

  PtyChild(PtyChild&&) noexcept;
  PtyChild& operator=(PtyChild&&) = delete;
  PtyChild(const PtyChild&) = delete;
  PtyChild& operator=(const PtyChild&) = delete;
  // A child that is still running when its owner goes away is killed and reaped.
  ~PtyChild();

  int master() const { return master_.get(); }
  pid_t pid() const { return pid_; }
  void resize(const winsize& size) const;

  bool exited() const { return exited_; }
  int wait_status() const { return wait_status_; }
  void mark_exited(int wait_status);

 private:
  PtyChild(UniqueFd master, pid_t pid) : master_(std::move(master)), pid_(pid) {}

  UniqueFd master_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace sddsh::shell
