#include "shell/passthrough.hpp"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "shell/agent_host.hpp"
#include "shell/event_loop.hpp"
#include "shell/mode_tracker.hpp"
#include "shell/outer_terminal.hpp"
#include "shell/process_tree.hpp"
#include "shell/signal_fd.hpp"

namespace sddsh::shell {

namespace {

constexpr std::size_t kReadSize = std::size_t{64} * 1024;
constexpr winsize kDefaultSize{24, 80, 0, 0};

// The pump between the user's terminal and the agent: bytes in both directions, unchanged.
class PassthroughSession {
 public:
  PassthroughSession(const PassthroughOptions& options, OuterTerminal& terminal, SignalFd& signals,
                     PtyChild child, winsize size);
  int run();

 private:
  void on_agent_output(std::string_view bytes);
  void on_input(short revents);
  void on_output_writable();
  void resume_input();
  void on_signals();
  void write_output(std::string_view bytes);
  void resize_agent(const winsize& size);
  void finish();

  const PassthroughOptions& options_;
  OuterTerminal& terminal_;
  SignalFd& signals_;
  EventLoop loop_;
  AgentHost agent_;
  ModeTracker modes_;
  std::unique_ptr<char[]> buffer_;
  EventLoop::Watch input_watch_;
  EventLoop::Watch output_watch_;
  EventLoop::Watch signal_watch_;
  std::string output_pending_;  // read from the agent, not yet accepted by the output
  bool output_dead_ = false;
  bool done_ = false;
};

PassthroughSession::PassthroughSession(const PassthroughOptions& options, OuterTerminal& terminal,
                                       SignalFd& signals, PtyChild child, winsize size)
    : options_(options),
      terminal_(terminal),
      signals_(signals),
      agent_(loop_, std::move(child),
             {.on_output = [this](std::string_view b) { on_agent_output(b); },
              .on_finished = [this] { finish(); },
              .on_input_drained = [this] { resume_input(); }}),
      buffer_(new char[kReadSize]) {
  input_watch_ = loop_.watch(terminal.input_fd(), POLLIN, [this](short r) { on_input(r); });
  output_watch_ = loop_.watch(terminal.output_fd(), 0, [this](short) { on_output_writable(); });
  signal_watch_ = loop_.watch(signals.fd(), POLLIN, [this](short) { on_signals(); });
  if (options_.tap) options_.tap->started(loop_, size, agent_.pid());
}

int PassthroughSession::run() {
  on_signals();  // a SIGCHLD may be pending already from an agent that exited at once
  while (!done_) loop_.run_once();
  return agent_.exit_code();
}

void PassthroughSession::on_agent_output(std::string_view bytes) {
  if (options_.tap) options_.tap->agent_output(bytes);
  if (terminal_.output_is_tty()) {
    modes_.observe(bytes);
    if (modes_.take_changed()) terminal_.set_reset_sequence(modes_.reset_sequence());
  }
  write_output(bytes);
}

void PassthroughSession::write_output(std::string_view bytes) {
  if (output_dead_) return;
  if (output_pending_.empty()) {
    ssize_t n = ::write(terminal_.output_fd(), bytes.data(), bytes.size());
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      output_dead_ = true;
      agent_.terminate(SIGPIPE);  // the reader of our output is gone
      return;
    }
    if (n > 0) bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  output_pending_.append(bytes);
  // Backpressure: read no more from the agent until the output took what it has.
  bool backlog = !output_pending_.empty();
  agent_.pause_output(backlog);
  output_watch_.set_events(backlog ? POLLOUT : 0);
}

void PassthroughSession::on_output_writable() {
  std::string pending = std::move(output_pending_);
  output_pending_.clear();
  write_output(pending);
}

void PassthroughSession::on_input(short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = ::read(terminal_.input_fd(), buffer_.get(), kReadSize);
  if (n > 0) {
    const std::string_view bytes(buffer_.get(), static_cast<std::size_t>(n));
    if (options_.tap) options_.tap->user_input(bytes);
    agent_.write(bytes);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    input_watch_.reset();
    // A terminal that ends has hung up; piped input that ends is an end-of-file for the agent.
    if (terminal_.input_is_tty()) agent_.terminate(SIGHUP);
    else agent_.send_end_of_file();
  }
  // The agent not taking input stops us reading more of it, until it drained (resume_input).
  if (input_watch_.armed() && agent_.input_backlogged()) input_watch_.set_events(0);
}

void PassthroughSession::resume_input() {
  if (input_watch_.armed()) input_watch_.set_events(POLLIN);
}

void PassthroughSession::on_signals() {
  for (int sig : signals_.take()) {
    switch (sig) {
      case SIGCHLD: agent_.reap(); break;
      case SIGWINCH:
        if (auto size = terminal_.size(); size && !options_.fixed_size) resize_agent(*size);
        break;
      case SIGTERM:
      case SIGHUP: agent_.terminate(sig); break;
      // Only reach sddsh when its input is not a raw terminal: pass them on, as a terminal would.
      case SIGINT:
      case SIGQUIT: agent_.signal_foreground(sig); break;
      default: break;  // SIGPIPE: the failed write says it already
    }
  }
}

void PassthroughSession::resize_agent(const winsize& size) {
  agent_.resize(size);
  if (options_.tap) options_.tap->resized(size);
}

void PassthroughSession::finish() {
  if (options_.tap) options_.tap->ended();
  if (!output_dead_ && !output_pending_.empty()) {
    // The last bytes go out even to a slow reader: output is blocking again after restore().
    terminal_.restore();
    std::string_view rest = output_pending_;
    while (!rest.empty()) {
      ssize_t n = ::write(terminal_.output_fd(), rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  done_ = true;
}

}  // namespace

Result<int> run_passthrough(const PassthroughOptions& options) {
  OuterTerminal terminal(options.input_fd, options.output_fd);
  // Blocked before the agent exists, so that not even its first SIGCHLD is missed.
  SignalFd signals{SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};
  become_subreaper();

  SpawnOptions spawn = options.spawn;
  spawn.size = options.fixed_size.value_or(terminal.size().value_or(kDefaultSize));
  spawn.modes = terminal.original_modes();
  auto child = PtyChild::spawn(spawn);
  if (!child) return Failure{child.error()};

  terminal.enter_raw();
  PassthroughSession session(options, terminal, signals, std::move(*child), spawn.size);
  return session.run();
}

}  // namespace sddsh::shell
