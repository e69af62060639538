#include "shell/pty_child.hpp"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace sddsh::shell {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (const auto& s : strings) result.push_back(const_cast<char*>(s.c_str()));
  result.push_back(nullptr);
  return result;
}

// Runs in the child between fork and exec: only async-signal-safe calls from here on.
[[noreturn]] void exec_in_child(char* const* argv, char* const* envp, const char* directory, int error_pipe) {
  // Dispositions and the mask are inherited; the agent must start with a clean slate.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  // Nothing of sddsh's leaks into the agent but the pipe that reports exec failure,
  // which closes on a successful exec.
  if (error_pipe > 3) close_range(3, static_cast<unsigned>(error_pipe) - 1, 0);
  close_range(static_cast<unsigned>(error_pipe) + 1, ~0U, 0);

  int err = 0;
  if (*directory != '\0' && chdir(directory) != 0) {
    err = errno;
    ssize_t ignored = write(error_pipe, &err, sizeof err);
    (void)ignored;
    _exit(126);
  }
  environ = const_cast<char**>(envp);
  execvp(argv[0], argv);
  err = errno;
  ssize_t ignored = write(error_pipe, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

}  // namespace

Result<PtyChild> PtyChild::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Failure{Error{EINVAL, "no command given"}};
  // Checked here for a clear message: a failed chdir in the child would read as "not found".
  if (!options.directory.empty() && ::access(options.directory.c_str(), X_OK) != 0)
    return system_failure("cannot enter " + options.directory);
  auto argv = c_strings(options.argv);
  auto envp = c_strings(options.environment);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return system_failure("pipe");
  UniqueFd error_read(pipe_fds[0]);
  UniqueFd error_write(pipe_fds[1]);

  // Signals stay blocked across fork so that no handler of ours runs in the child.
  sigset_t all, previous;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &previous);
  int master = -1;
  winsize size = options.size;
  termios modes = options.modes.value_or(termios{});
  pid_t pid = forkpty(&master, nullptr, options.modes ? &modes : nullptr, &size);
  if (pid == 0) exec_in_child(argv.data(), envp.data(), options.directory.c_str(), error_write.get());
  int fork_errno = errno;
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return system_failure("forkpty", fork_errno);

  UniqueFd master_fd(master);
  error_write.reset();
  int exec_errno = 0;
  ssize_t n;
  do n = ::read(error_read.get(), &exec_errno, sizeof exec_errno);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return system_failure(options.argv[0], exec_errno);
  }
  fcntl(master_fd.get(), F_SETFL, fcntl(master_fd.get(), F_GETFL) | O_NONBLOCK);
  return PtyChild(std::move(master_fd), pid);
}

PtyChild::PtyChild(PtyChild&& other) noexcept
    : master_(std::move(other.master_)),
      pid_(std::exchange(other.pid_, -1)),
      exited_(other.exited_),
      wait_status_(other.wait_status_) {}

PtyChild::~PtyChild() {
  if (pid_ <= 0 || exited_) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void PtyChild::resize(const winsize& size) const { ioctl(master_.get(), TIOCSWINSZ, &size); }

void PtyChild::mark_exited(int wait_status) {
  exited_ = true;
  wait_status_ = wait_status;
}

}  // namespace sddsh::shell
