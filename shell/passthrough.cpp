#include "shell/passthrough.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "shell/event_loop.hpp"
#include "shell/mode_tracker.hpp"
#include "shell/outer_terminal.hpp"
#include "shell/process_tree.hpp"
#include "shell/signal_fd.hpp"

namespace sddsh::shell {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kReadSize = std::size_t{64} * 1024;
// After the agent exits, what is still in the PTY is drained; a descendant that keeps the PTY
// open must not keep sddsh alive, so draining stops after this long without output.
constexpr auto kDrainIdle = 200ms;
// How long the agent's process tree has to end after SIGHUP/SIGTERM before SIGKILL.
constexpr auto kTerminationGrace = 1s;

constexpr winsize kDefaultSize{24, 80, 0, 0};

class PassthroughSession {
 public:
  PassthroughSession(const PassthroughOptions& options, PtyChild child)
      : options_(options), child_(std::move(child)), buffer_(new char[kReadSize]) {}

  int run(OuterTerminal& terminal, SignalFd& signals);

 private:
  void on_master(short revents);
  void on_input(short revents);
  void on_output(short revents);
  void on_signals();
  void on_child_exit(int status);
  void on_input_end(bool terminal_gone);

  void write_output(const char* data, std::size_t length);
  void flush_output();
  void flush_input();
  void send_end_of_file();
  void update_watches();
  void begin_termination(int sig);
  void kill_remaining_tree();
  void maybe_finish();
  void arm_drain_timer();
  void resize_from_terminal();

  const PassthroughOptions& options_;
  PtyChild child_;
  std::unique_ptr<char[]> buffer_;
  EventLoop loop_;
  OuterTerminal* terminal_ = nullptr;
  SignalFd* signals_ = nullptr;
  ModeTracker modes_;

  EventLoop::Watch master_watch_;
  EventLoop::Watch input_watch_;
  EventLoop::Watch output_watch_;
  EventLoop::Watch signal_watch_;
  EventLoop::Timer drain_timer_;
  EventLoop::Timer kill_timer_;

  std::string output_pending_;  // read from the agent, not yet accepted by the output
  std::string input_pending_;   // read from the user, not yet accepted by the agent
  bool input_ended_ = false;
  bool eof_pending_ = false;
  bool last_input_was_newline_ = true;
  bool output_dead_ = false;
  bool master_closed_ = false;
  bool drained_ = false;
  int terminated_by_ = 0;
  bool done_ = false;
};

int PassthroughSession::run(OuterTerminal& terminal, SignalFd& signals) {
  terminal_ = &terminal;
  signals_ = &signals;
  master_watch_ = loop_.watch(child_.master(), POLLIN, [this](short r) { on_master(r); });
  input_watch_ = loop_.watch(terminal.input_fd(), POLLIN, [this](short r) { on_input(r); });
  output_watch_ = loop_.watch(terminal.output_fd(), 0, [this](short r) { on_output(r); });
  signal_watch_ = loop_.watch(signals.fd(), POLLIN, [this](short) { on_signals(); });
  // A SIGCHLD may already be pending from a child that exited at once: look now.
  on_signals();
  while (!done_) loop_.run_once();

  if (terminated_by_ != 0) return 128 + terminated_by_;
  return exit_code_of(child_.wait_status());
}

void PassthroughSession::on_master(short revents) {
  if (revents & POLLOUT) flush_input();
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = ::read(child_.master(), buffer_.get(), kReadSize);
  if (n > 0) {
    std::string_view chunk(buffer_.get(), static_cast<std::size_t>(n));
    if (terminal_->output_is_tty()) {
      modes_.observe(chunk);
      if (modes_.take_changed()) terminal_->set_reset_sequence(modes_.reset_sequence());
    }
    write_output(chunk.data(), chunk.size());
    if (child_.exited()) arm_drain_timer();
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    // EIO: every holder of the slave side is gone.
    master_closed_ = true;
    master_watch_.reset();
    maybe_finish();
  }
  update_watches();
}

void PassthroughSession::write_output(const char* data, std::size_t length) {
  if (output_dead_) return;
  if (output_pending_.empty()) {
    ssize_t n = ::write(terminal_->output_fd(), data, length);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      output_dead_ = true;
      begin_termination(SIGPIPE);  // the reader of our output is gone
      return;
    }
    if (n > 0) {
      data += n;
      length -= static_cast<std::size_t>(n);
    }
  }
  output_pending_.append(data, length);
}

void PassthroughSession::flush_output() {
  std::string pending = std::move(output_pending_);
  output_pending_.clear();
  write_output(pending.data(), pending.size());
}

void PassthroughSession::on_output(short) {
  flush_output();
  update_watches();
}

void PassthroughSession::on_input(short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = ::read(terminal_->input_fd(), buffer_.get(), kReadSize);
  if (n > 0) {
    input_pending_.append(buffer_.get(), static_cast<std::size_t>(n));
    last_input_was_newline_ = buffer_[static_cast<std::size_t>(n) - 1] == '\n';
    flush_input();
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    on_input_end(terminal_->input_is_tty());
  }
  update_watches();
}

void PassthroughSession::on_input_end(bool terminal_gone) {
  input_ended_ = true;
  input_watch_.reset();
  if (terminal_gone) {
    begin_termination(SIGHUP);  // the user's terminal hung up
    return;
  }
  // Piped input ended: tell the agent as a terminal would, once what was read has gone in.
  eof_pending_ = true;
  flush_input();
}

void PassthroughSession::flush_input() {
  if (master_closed_) {
    input_pending_.clear();
    return;
  }
  while (!input_pending_.empty()) {
    ssize_t n = ::write(child_.master(), input_pending_.data(), input_pending_.size());
    if (n <= 0) return;  // EAGAIN: the agent is not reading; wait for POLLOUT
    input_pending_.erase(0, static_cast<std::size_t>(n));
  }
  if (eof_pending_) send_end_of_file();
}

void PassthroughSession::send_end_of_file() {
  eof_pending_ = false;
  termios modes{};
  if (tcgetattr(child_.master(), &modes) != 0) return;
  char eof = static_cast<char>(modes.c_cc[VEOF]);
  // In canonical mode the first EOF only completes an unfinished line.
  std::string bytes(!last_input_was_newline_ && (modes.c_lflag & ICANON) ? 2 : 1, eof);
  input_pending_ = bytes;
  eof_pending_ = false;
  flush_input();
}

void PassthroughSession::update_watches() {
  if (done_) return;
  short master_events = 0;
  if (!master_closed_ && output_pending_.empty()) master_events |= POLLIN;
  if (!master_closed_ && !input_pending_.empty()) master_events |= POLLOUT;
  master_watch_.set_events(master_events);
  input_watch_.set_events(input_pending_.empty() ? POLLIN : 0);
  output_watch_.set_events(output_pending_.empty() || output_dead_ ? 0 : POLLOUT);
}

void PassthroughSession::on_signals() {
  for (int sig : signals_->take()) {
    switch (sig) {
      case SIGCHLD: {
        auto reaped = reap_children(child_.pid());
        if (reaped.watched_exited) on_child_exit(reaped.watched_status);
        break;
      }
      case SIGWINCH: resize_from_terminal(); break;
      case SIGTERM:
      case SIGHUP: begin_termination(sig); break;
      case SIGINT:
      case SIGQUIT: {
        // Only reaches sddsh when its input is not a raw terminal: pass it on, as a
        // terminal would, to the agent's foreground job.
        pid_t foreground = tcgetpgrp(child_.master());
        if (foreground > 0) ::kill(-foreground, sig);
        break;
      }
      default: break;  // SIGPIPE: the failed write says it already
    }
  }
  update_watches();
}

void PassthroughSession::on_child_exit(int status) {
  child_.mark_exited(status);
  arm_drain_timer();
  maybe_finish();
}

void PassthroughSession::arm_drain_timer() {
  drain_timer_ = loop_.after(kDrainIdle, [this] {
    drained_ = true;
    maybe_finish();
  });
}

void PassthroughSession::resize_from_terminal() {
  if (options_.fixed_size) return;
  if (auto size = terminal_->size()) child_.resize(*size);
}

void PassthroughSession::begin_termination(int sig) {
  if (terminated_by_ != 0) {
    kill_remaining_tree();  // asked twice: no more grace
    return;
  }
  terminated_by_ = sig;
  auto tree = descendants_of(getpid());
  ::kill(-child_.pid(), SIGHUP);
  signal_each(tree, SIGHUP);
  signal_each(tree, SIGTERM);
  signal_each(tree, SIGCONT);
  kill_timer_ = loop_.after(kTerminationGrace, [this] { kill_remaining_tree(); });
}

void PassthroughSession::kill_remaining_tree() {
  signal_each(descendants_of(getpid()), SIGKILL);
  if (!child_.exited()) ::kill(child_.pid(), SIGKILL);
}

void PassthroughSession::maybe_finish() {
  if (!child_.exited() || !(master_closed_ || drained_)) return;
  if (terminated_by_ != 0) {
    // Nothing the agent started outlives an sddsh that was told to end.
    kill_remaining_tree();
    for (pid_t pid : descendants_of(getpid())) {
      int status;
      waitpid(pid, &status, 0);
    }
  }
  if (!output_dead_ && !output_pending_.empty()) {
    // The last bytes go out even if the output is slow; it is blocking again now.
    terminal_->restore();
    std::string_view rest = output_pending_;
    while (!rest.empty()) {
      ssize_t n = ::write(terminal_->output_fd(), rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    output_pending_.clear();
  }
  done_ = true;
  master_watch_.reset();
  input_watch_.reset();
  output_watch_.reset();
  signal_watch_.reset();
  drain_timer_.reset();
  kill_timer_.reset();
}

winsize initial_size(const PassthroughOptions& options, const OuterTerminal& terminal) {
  if (options.fixed_size) return *options.fixed_size;
  return terminal.size().value_or(kDefaultSize);
}

}  // namespace

Result<int> run_passthrough(const PassthroughOptions& options) {
  OuterTerminal terminal(options.input_fd, options.output_fd);
  // Blocked before the agent exists, so that not even its first SIGCHLD is missed.
  SignalFd signals{SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};
  become_subreaper();

  SpawnOptions spawn = options.spawn;
  spawn.size = initial_size(options, terminal);
  spawn.modes = terminal.original_modes();
  auto child = PtyChild::spawn(spawn);
  if (!child) return Failure{child.error()};

  terminal.enter_raw();
  PassthroughSession session(options, std::move(*child));
  return session.run(terminal, signals);
}

}  // namespace sddsh::shell
