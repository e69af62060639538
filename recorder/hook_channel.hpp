#pragma once
// Claude Code's hooks report to the sddsh that runs it. sddsh injects, for its session only,
// hooks that run `sddsh hook`; that small command reads the hook's JSON from stdin and passes
// the part sddsh uses over a unix socket whose path the agent's environment carries. The
// listening end lives in the recorder's event loop: a prompt's exact text starts a turn, Stop
// ends it.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shell/event_loop.hpp"
#include "shell/result.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

// The environment variable that tells `sddsh hook` where to report.
inline constexpr const char* kHookSocketVariable = "SDDSH_HOOK_SOCKET";

struct HookEvent {
  std::string name;    // the agent's event name: "UserPromptSubmit", "Stop", "PostToolUse", ...
  std::string prompt;  // UserPromptSubmit
  std::string agent_session_id;    // the agent's own session id
  std::string transcript_path;     // where the agent writes its transcript now
  std::string tool_name;           // PostToolUse
  std::vector<std::string> files;  // PostToolUse: the paths the tool's input names
};

// The message `sddsh hook` sends for the agent's hook input: the event reduced to what sddsh
// uses. Tool output stays behind (it can be large and hold secrets). Empty when the input is
// not a hook event.
std::string hook_message_from_agent_input(std::string_view hook_input);
std::optional<HookEvent> parse_hook_message(std::string_view message);

// The sending end: connects, writes, closes; gives up after `timeout` so an agent never waits
// long on a recorder that is gone.
Result<void> send_hook_message(const std::string& socket_path, std::string_view message,
                               std::chrono::milliseconds timeout);

// The listening end: a socket in a private (0700) directory, removed with the listener.
class HookListener {
 public:
  using Handler = std::function<void(HookEvent)>;
  static Result<std::unique_ptr<HookListener>> open();
  HookListener(const HookListener&) = delete;
  HookListener& operator=(const HookListener&) = delete;
  ~HookListener();

  const std::string& path() const { return path_; }
  void attach(shell::EventLoop& loop, Handler handler);
  void detach();

 private:
  struct Connection;
  HookListener(std::string directory, std::string path, shell::UniqueFd fd);
  void accept_connections();
  void read_connection(Connection& connection);
  void close_connection(const Connection& connection);

  std::string directory_, path_;
  shell::UniqueFd listen_fd_;
  shell::EventLoop* loop_ = nullptr;
  Handler handler_;
  shell::EventLoop::Watch accept_watch_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace sddsh::recorder
