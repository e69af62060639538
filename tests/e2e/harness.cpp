#include "harness.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <clocale>
#include <cwchar>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sddsh::e2e {

namespace {

// Every sddsh a test starts records a session. So that no test writes into the store or the
// snapshot refs of the repository the tests are built in, each test program runs in a scratch
// directory of its own (not a repository) with a store of its own.
struct ScratchPlace {
  std::string root;
  ScratchPlace() {
    char tmpl[] = "/tmp/sddsh-e2e-place-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    root = tmpl;
    const std::string work = root + "/work";
    ::mkdir(work.c_str(), 0700);
    ::setenv("SDDSH_STORE", (root + "/store").c_str(), 1);
    if (::chdir(work.c_str()) != 0) throw std::runtime_error("chdir " + work + " failed");
  }
  // Each test is a process of its own (and listing the tests is one too): leave no trace.
  ~ScratchPlace() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
};

const ScratchPlace& scratch_place() {
  static const ScratchPlace place;
  return place;
}

// Before main(): the tests' own paths are absolute, so changing directory up front is safe.
[[maybe_unused]] const ScratchPlace& kPlace = scratch_place();

}  // namespace

std::string scratch_store() { return scratch_place().root + "/store"; }

std::string sddsh_binary() { return SDDSH_BINARY; }
std::string source_dir() { return SDDSH_SOURCE_DIR; }

std::string agent_binary(const std::string& name) {
  std::string path = source_dir() + "/.agents/node_modules/.bin/" + name;
  return ::access(path.c_str(), X_OK) == 0 ? path : "";
}

bool wait_until(const std::function<bool()>& condition, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);  // polling interval of a deadline wait, not a delay
  }
  return true;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Finished run_piped(const std::vector<std::string>& argv, const std::string& input,
                   Clock::duration timeout, const std::string& out_file) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  if (out_file.empty()) posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  else posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  // A new session: no controlling terminal, as in CI.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  auto args = c_strings(argv);
  pid_t pid;
  if (posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ) != 0)
    throw std::runtime_error("spawn " + argv[0]);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);

  Finished result;
  std::size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  auto deadline = Clock::now() + timeout;
  int open_outputs = 2;
  while (open_outputs > 0 && Clock::now() < deadline) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    ::poll(fds, in_fd >= 0 ? 3 : 2, 100);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[65536];
      auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        (i == 0 ? out[0] : err[0]) = -1;
        --open_outputs;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      }
    }
    if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR))) {
      auto n = ::write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 || written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  for (int fd : {out[0], err[0]})
    if (fd >= 0) ::close(fd);
  if (!wait_until([&] { return ::waitpid(pid, &result.status, WNOHANG) == pid; },
                  deadline > Clock::now() ? deadline - Clock::now() : 1ms)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &result.status, 0);
    result.status = -1;
  }
  return result;
}

PtyProcess::PtyProcess(const std::vector<std::string>& argv, winsize size,
                       const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& e : extra_env) env.push_back(e);
  auto args = c_strings(argv);
  auto envp = c_strings(env);
  pid_ = forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ == 0) {
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("forkpty");
  fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
}

PtyProcess::~PtyProcess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  ::close(master_);
}

void PtyProcess::write(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(master_, bytes.data() + done, bytes.size() - done);
    if (n > 0) done += static_cast<std::size_t>(n);
    else read_available(10ms);  // let the other side drain
  }
}

void PtyProcess::resize(winsize size) { ioctl(master_, TIOCSWINSZ, &size); }

termios PtyProcess::modes() const {
  termios t{};
  tcgetattr(master_, &t);
  return t;
}

void PtyProcess::read_available(Clock::duration wait) {
  pollfd pfd{master_, POLLIN, 0};
  int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
  if (::poll(&pfd, 1, ms) <= 0) return;
  char buf[65536];
  for (;;) {
    auto n = ::read(master_, buf, sizeof buf);
    if (n <= 0) return;
    output_.append(buf, static_cast<std::size_t>(n));
  }
}

bool PtyProcess::wait_for_output(const std::string& text, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (output_.find(text) == std::string::npos) {
    if (Clock::now() >= deadline) return false;
    read_available(50ms);
  }
  return true;
}

std::optional<int> PtyProcess::wait_exit(Clock::duration timeout) {
  int status = 0;
  bool done = wait_until(
      [&] {
        read_available(0ms);
        return ::waitpid(pid_, &status, WNOHANG) == pid_;
      },
      timeout);
  if (!done) return std::nullopt;
  reaped_ = true;
  read_available(0ms);
  return status;
}

namespace {
// wcwidth needs a UTF-8 locale; gtest_main sets none.
const bool g_locale_set = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;
}  // namespace

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string trim_right(std::string s) {
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

std::string cut_columns(const std::string& line, int cols) {
  (void)g_locale_set;
  std::mbstate_t state{};
  std::size_t i = 0;
  int used = 0;
  while (i < line.size()) {
    wchar_t wc;
    std::size_t n = std::mbrtowc(&wc, line.data() + i, line.size() - i, &state);
    if (n == 0 || n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) n = 1, wc = L'?';
    int w = std::max(0, ::wcwidth(wc));
    if (used + w > cols) break;
    used += w;
    i += n;
  }
  return line.substr(0, i);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

std::string run_command(const std::vector<std::string>& argv) {
  auto r = run_piped(argv, "", 20s);
  if (r.status != 0) throw std::runtime_error("command failed: " + argv[0] + " " + argv[1] + ": " + r.err);
  return r.out;
}

std::atomic<int> g_tmux_count{0};

// Running, not a zombie: an orphan's zombie waits for whoever PID 1 is, which may never reap.
bool still_running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const std::size_t name_end = text.rfind(')');
  return name_end != std::string::npos && name_end + 2 < text.size() && text[name_end + 2] != 'Z';
}

}  // namespace

bool Tmux::available() { return ::access("/usr/bin/tmux", X_OK) == 0; }

Tmux::Tmux() : socket_("sddsh-test-" + std::to_string(getpid()) + "-" + std::to_string(g_tmux_count++)) {}

// The panes' processes (sddsh, mostly) finish their sessions after the hang-up: wait for them,
// so that none writes into the test's scratch place after the test removed it.
Tmux::~Tmux() {
  run_piped({"tmux", "-L", socket_, "kill-server"}, "", 10s);
  const auto deadline = Clock::now() + 15s;
  for (pid_t pid : pane_pids_) {
    while (still_running(pid) && Clock::now() < deadline) ::usleep(10'000);
  }
}

std::string Tmux::run(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"tmux", "-L", socket_, "-f", "/dev/null"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

void Tmux::new_session(const std::string& name, const std::string& shell_command, int cols,
                       int rows, const std::vector<std::string>& env) {
  std::vector<std::string> args{"new-session", "-d", "-s", name, "-x", std::to_string(cols),
                                "-y", std::to_string(rows)};
  for (const auto& e : env) {
    args.push_back("-e");
    args.push_back(e);
  }
  args.insert(args.end(), {"-P", "-F", "#{pane_pid}", shell_command});
  const std::string pid = run(args);
  pane_pids_.push_back(static_cast<pid_t>(std::atol(pid.c_str())));
  // Keep the pane after its command exits, so that its last screen can still be read.
  run({"set-option", "-t", name, "remain-on-exit", "on"});
}

void Tmux::send_keys(const std::string& target, const std::vector<std::string>& keys) {
  std::vector<std::string> args{"send-keys", "-t", target};
  args.insert(args.end(), keys.begin(), keys.end());
  run(args);
}

void Tmux::send_literal(const std::string& target, const std::string& text) {
  run({"send-keys", "-t", target, "-l", text});
}

void Tmux::resize_window(const std::string& target, int cols, int rows) {
  run({"resize-window", "-t", target, "-x", std::to_string(cols), "-y", std::to_string(rows)});
}

std::string Tmux::capture(const std::string& target) { return run({"capture-pane", "-p", "-t", target}); }

bool Tmux::wait_for_screen(const std::string& target,
                           const std::function<bool(const std::string&)>& ok,
                           Clock::duration timeout) {
  return wait_until([&] { return ok(capture(target)); }, timeout);
}

std::vector<pid_t> processes_matching(const std::string& marker) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  while (auto* e = readdir(proc)) {
    char* end;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    for (auto& c : cmdline) c = c ? c : ' ';
    if (cmdline.find(marker) != std::string::npos) found.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return found;
}

}  // namespace sddsh::e2e
