#include "shell/agent_host.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "shell/process_tree.hpp"

namespace sddsh::shell {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kReadSize = std::size_t{64} * 1024;
// After the agent exits, what is still in the PTY is drained; a descendant that keeps the PTY
// open must not keep sddsh alive, so draining stops after this long without output.
constexpr auto kDrainIdle = 200ms;
// How long the agent's process tree has to end after SIGHUP/SIGTERM before SIGKILL.
constexpr auto kTerminationGrace = 1s;

}  // namespace

AgentHost::AgentHost(EventLoop& loop, PtyChild child, Callbacks callbacks)
    : loop_(loop),
      child_(std::move(child)),
      callbacks_(std::move(callbacks)),
      buffer_(new char[kReadSize]) {
  master_watch_ = loop_.watch(child_.master(), POLLIN, [this](short r) { on_master(r); });
}

void AgentHost::on_master(short revents) {
  if (revents & POLLOUT) flush_input();
  if (!(revents & (POLLIN | POLLHUP | POLLERR)) || output_paused_) return;
  ssize_t n = ::read(child_.master(), buffer_.get(), kReadSize);
  if (n > 0) {
    if (child_.exited()) arm_drain_timer();
    callbacks_.on_output(std::string_view(buffer_.get(), static_cast<std::size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    // EIO: every holder of the slave side is gone.
    master_closed_ = true;
    input_pending_.clear();
    master_watch_.reset();
    maybe_finish();
  }
  update_watch();
}

void AgentHost::write(std::string_view bytes) {
  if (master_closed_ || bytes.empty()) return;
  input_pending_.append(bytes);
  last_input_was_newline_ = bytes.back() == '\n';
  flush_input();
  update_watch();
}

void AgentHost::flush_input() {
  const bool was_backlogged = input_backlogged();
  while (!input_pending_.empty() && !master_closed_) {
    ssize_t n = ::write(child_.master(), input_pending_.data(), input_pending_.size());
    if (n <= 0) break;  // EAGAIN: the agent is not reading; wait for POLLOUT
    input_pending_.erase(0, static_cast<std::size_t>(n));
  }
  if (was_backlogged && !input_backlogged() && callbacks_.on_input_drained) callbacks_.on_input_drained();
}

void AgentHost::send_end_of_file() {
  termios modes{};
  if (master_closed_ || tcgetattr(child_.master(), &modes) != 0) return;
  const char eof = static_cast<char>(modes.c_cc[VEOF]);
  // In canonical mode the first EOF only completes an unfinished line.
  const bool unfinished_line = !last_input_was_newline_ && (modes.c_lflag & ICANON);
  write(std::string(unfinished_line ? 2 : 1, eof));
}

void AgentHost::pause_output(bool paused) {
  output_paused_ = paused;
  update_watch();
}

void AgentHost::update_watch() {
  if (master_closed_) return;
  short events = output_paused_ ? 0 : POLLIN;
  if (!input_pending_.empty()) events |= POLLOUT;
  master_watch_.set_events(events);
}

void AgentHost::signal_foreground(int sig) {
  pid_t foreground = tcgetpgrp(child_.master());
  if (foreground > 0) ::kill(-foreground, sig);
}

void AgentHost::reap() {
  for (const ExitedChild& child : reap_exited_children()) take_exit(child);
}

bool AgentHost::take_exit(const ExitedChild& child) {
  if (child.pid != child_.pid() || child_.exited()) return false;
  child_.mark_exited(child.status);
  arm_drain_timer();
  maybe_finish();
  return true;
}

std::vector<pid_t> AgentHost::tree() const {
  return scope_ == TreeScope::OwnSession ? agent_tree(child_.pid()) : descendants_of(getpid());
}

void AgentHost::arm_drain_timer() {
  drain_timer_ = loop_.after(kDrainIdle, [this] {
    drained_ = true;
    maybe_finish();
  });
}

void AgentHost::terminate(int sig) {
  if (terminated_by_ != 0) {
    kill_remaining_tree();  // asked twice: no more grace
    return;
  }
  terminated_by_ = sig;
  const auto processes = tree();
  ::kill(-child_.pid(), SIGHUP);
  signal_each(processes, SIGHUP);
  signal_each(processes, SIGTERM);
  signal_each(processes, SIGCONT);
  kill_timer_ = loop_.after(kTerminationGrace, [this] { kill_remaining_tree(); });
}

void AgentHost::kill_remaining_tree() {
  signal_each(tree(), SIGKILL);
  if (!child_.exited()) ::kill(child_.pid(), SIGKILL);
}

void AgentHost::maybe_finish() {
  if (finished_ || !child_.exited() || !(master_closed_ || drained_)) return;
  if (terminated_by_ != 0) {
    // Nothing the agent started outlives an sddsh that was told to end.
    kill_remaining_tree();
    // Only our own children can be waited for; the others' parents reap them.
    for (pid_t pid : tree()) {
      int status;
      waitpid(pid, &status, 0);
    }
  }
  finished_ = true;
  master_watch_.reset();
  drain_timer_.reset();
  kill_timer_.reset();
  callbacks_.on_finished();
}

int AgentHost::exit_code() const {
  if (terminated_by_ != 0) return 128 + terminated_by_;
  return exit_code_of(child_.wait_status());
}

}  // namespace sddsh::shell
