#include "recorder/agent_probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "recorder/session_record.hpp"
#include "shell/environment.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxHelpText = std::size_t{1} << 20;

// Identifies one installed version: the real file behind the command, its size and time.
std::string version_key(const std::string& executable) {
  char real[PATH_MAX];
  if (::realpath(executable.c_str(), real) == nullptr) return "";
  struct stat st {};
  if (::stat(real, &st) != 0) return "";
  return std::string(real) + "|" + std::to_string(st.st_size) + "|" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

json read_cache(const std::string& file) {
  std::ifstream in(file);
  if (!in) return json::object();
  std::stringstream text;
  text << in.rdbuf();
  json cache = json::parse(text.str(), nullptr, false);
  return cache.is_object() ? cache : json::object();
}

// `executable --help`, stdout and stderr together; nothing when it fails or takes too long.
std::optional<std::string> help_text(const std::string& executable,
                                     const std::vector<std::string>& environment,
                                     std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  shell::UniqueFd read_end(fds[0]), write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group: a timeout ends all of it
  std::vector<char*> argv{const_cast<char*>(executable.c_str()), const_cast<char*>("--help"),
                          nullptr};
  std::vector<char*> envp;
  for (const auto& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, executable.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  write_end.reset();
  if (spawned != 0) return std::nullopt;

  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool complete = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{read_end.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[8192];
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n <= 0) {
      complete = n == 0;
      break;
    }
    if (text.size() < kMaxHelpText) text.append(buffer, static_cast<std::size_t>(n));
  }
  if (!complete) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!complete) return std::nullopt;
  return text;
}

}  // namespace

std::string resolve_command(const std::string& command, const std::string& path_variable) {
  if (command.find('/') != std::string::npos)
    return ::access(command.c_str(), X_OK) == 0 ? command : "";
  std::stringstream dirs(path_variable);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

std::optional<bool> help_mentions(const ProbeRequest& request, const std::string& flag) {
  const std::string executable =
      resolve_command(request.command, shell::environment_value(request.environment, "PATH"));
  if (executable.empty()) return std::nullopt;
  const std::string key = version_key(executable);
  json cache = request.cache_file.empty() ? json::object() : read_cache(request.cache_file);
  if (!key.empty())
    if (auto it = cache.find(key); it != cache.end() && it->is_object())
      if (auto answer = it->find(flag); answer != it->end() && answer->is_boolean())
        return answer->get<bool>();
  const auto help = help_text(executable, request.environment, request.timeout);
  if (!help) return std::nullopt;
  const bool mentioned = help->find(flag) != std::string::npos;
  if (!key.empty() && !request.cache_file.empty()) {
    cache[key][flag] = mentioned;
    (void)write_file_atomically(request.cache_file, cache.dump(1) + "\n");
  }
  return mentioned;
}

}  // namespace sddsh::recorder
