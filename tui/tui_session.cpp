#include "tui/tui_session.hpp"

#include <signal.h>

#include "shell/outer_terminal.hpp"
#include "shell/process_tree.hpp"
#include "shell/signal_fd.hpp"
#include "tui/curses_painter.hpp"
#include "tui/layout.hpp"
#include "tui/multiplexer.hpp"

namespace sddsh::tui {

Result<int> run_tui(const TuiOptions& options) {
  shell::OuterTerminal terminal(options.input_fd, options.output_fd);
  shell::SignalFd signals{SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};
  shell::become_subreaper();

  const winsize outer = terminal.size().value_or(winsize{24, 80, 0, 0});
  const Layout layout = Multiplexer::layout_for(outer, options.panel);
  shell::SpawnOptions spawn = options.first->spawn();
  spawn.size = {static_cast<unsigned short>(layout.pane.rows), static_cast<unsigned short>(layout.pane.cols), 0, 0};
  auto child = shell::PtyChild::spawn(spawn);
  if (!child) return Failure{child.error()};

  // Curses writes blocking: a frame is never half-written.
  terminal.enter_raw(/*nonblocking_output=*/false);
  CursesPainter painter(options.output_fd, options.term, options.truecolor);
  TerminalHooks hooks{
      .size = [&terminal] { return terminal.size(); },
      .set_reset_sequence = [&terminal](std::string sequence) { terminal.set_reset_sequence(sequence); },
      .leave =
          [&terminal, &painter] {
            painter.end();
            terminal.restore();
          },
  };
  Multiplexer multiplexer(options, painter, std::move(hooks), signals, std::move(*child));
  return multiplexer.run();
}

}  // namespace sddsh::tui
