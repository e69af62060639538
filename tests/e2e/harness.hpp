#pragma once
// Drives the real sddsh binary from tests: through pipes, in a PTY of the test's own, or in an
// isolated tmux server. Every wait has a deadline; nothing sleeps for a fixed time.
#include <sys/ioctl.h>
#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sddsh::e2e {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string sddsh_binary();
// The session store (SDDSH_STORE) of the sddsh runs this test program starts, unless a test
// sets another; the programs run in a scratch directory that is not a repository.
std::string scratch_store();
std::string source_dir();
// Path of an agent CLI installed by scripts/install-agents, or empty when it is not there.
std::string agent_binary(const std::string& name);

// Polls `condition` until it holds or the deadline passes.
bool wait_until(const std::function<bool()>& condition, Clock::duration timeout);

struct Finished {
  int status = -1;  // wait status
  std::string out;
  std::string err;
};
// Runs argv with stdin fed from `input` (then closed) and stdout/stderr captured.
// `out_file`, when given, receives stdout instead (for large outputs).
Finished run_piped(const std::vector<std::string>& argv, const std::string& input = "",
                   Clock::duration timeout = 60s, const std::string& out_file = "");
int exit_code(int status);

// A process on the slave side of a PTY that the test holds, like a user's terminal.
class PtyProcess {
 public:
  PtyProcess(const std::vector<std::string>& argv, winsize size,
             const std::vector<std::string>& extra_env = {});
  ~PtyProcess();
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  pid_t pid() const { return pid_; }
  void write(const std::string& bytes);
  void resize(winsize size);
  termios modes() const;
  // Reads until `text` has appeared in the output (all output so far is kept).
  bool wait_for_output(const std::string& text, Clock::duration timeout);
  const std::string& output() const { return output_; }
  // Wait status, or nothing if it is still running at the deadline.
  std::optional<int> wait_exit(Clock::duration timeout);

 private:
  void read_available(Clock::duration wait);
  int master_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string output_;
};

// A tmux server of the test's own (its own socket, no config), killed with the object.
class Tmux {
 public:
  Tmux();
  ~Tmux();
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;

  static bool available();
  void new_session(const std::string& name, const std::string& shell_command, int cols, int rows,
                   const std::vector<std::string>& env = {});
  void send_keys(const std::string& target, const std::vector<std::string>& keys);
  void send_literal(const std::string& target, const std::string& text);
  void resize_window(const std::string& target, int cols, int rows);
  std::string capture(const std::string& target);
  bool wait_for_screen(const std::string& target, const std::function<bool(const std::string&)>& ok,
                       Clock::duration timeout);
  std::string run(const std::vector<std::string>& args);

 private:
  std::string socket_;
  std::vector<pid_t> pane_pids_;  // waited for when the server is killed
};

std::string shell_quote(const std::string& s);
std::vector<std::string> split_lines(const std::string& text);
std::string trim_right(std::string s);
// The first `cols` display columns of a UTF-8 line (wide characters count two).
std::string cut_columns(const std::string& line, int cols);
// Processes whose command line contains `marker` (to find orphans).
std::vector<pid_t> processes_matching(const std::string& marker);

}  // namespace sddsh::e2e
