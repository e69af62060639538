#include "recorder/hook_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "recorder/transcript_json.hpp"

namespace sddsh::recorder {

namespace {

using nlohmann::json;

// A prompt can be a long paste; anything beyond this is not a hook message of ours.
constexpr std::size_t kMaxMessage = std::size_t{8} << 20;

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<sockaddr_un> socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return Failure{Error{ENAMETOOLONG, "socket path too long: " + path}};
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// A short private directory for the socket: unix socket paths are limited to 107 bytes, so
// not inside the bundle.
Result<std::string> make_private_directory() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string base = runtime && *runtime ? runtime : "/tmp";
  std::string pattern = base + "/sddsh-hook-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    pattern = "/tmp/sddsh-hook-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return system_failure("mkdtemp " + pattern);
  }
  return pattern;
}

bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::string hook_message_from_agent_input(std::string_view hook_input) {
  const json input = json::parse(hook_input, nullptr, false);
  if (!input.is_object()) return "";
  json message = json::object();
  message["event"] = string_field(input, "hook_event_name");
  if (message["event"].get<std::string>().empty()) return "";
  message["session_id"] = string_field(input, "session_id");
  message["transcript_path"] = string_field(input, "transcript_path");
  if (input.contains("prompt")) message["prompt"] = string_field(input, "prompt");
  if (input.contains("tool_name")) {
    message["tool_name"] = string_field(input, "tool_name");
    if (auto it = input.find("tool_input"); it != input.end()) message["files"] = transcript::paths_in_tool_input(*it);
  }
  return dump(message);
}

std::optional<HookEvent> parse_hook_message(std::string_view message) {
  const json value = json::parse(message, nullptr, false);
  if (!value.is_object()) return std::nullopt;
  HookEvent event;
  event.name = string_field(value, "event");
  if (event.name.empty()) return std::nullopt;
  event.prompt = string_field(value, "prompt");
  event.agent_session_id = string_field(value, "session_id");
  event.transcript_path = string_field(value, "transcript_path");
  event.tool_name = string_field(value, "tool_name");
  if (auto it = value.find("files"); it != value.end() && it->is_array())
    for (const auto& file : *it)
      if (file.is_string()) event.files.push_back(file.get<std::string>());
  return event;
}

Result<void> send_hook_message(const std::string& socket_path, std::string_view message,
                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto address = socket_address(socket_path);
  if (!address) return Failure{address.error()};
  shell::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return system_failure("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0 &&
      errno != EINPROGRESS && errno != EAGAIN)
    return system_failure("connect " + socket_path);
  std::size_t sent = 0;
  while (sent < message.size()) {
    const ssize_t n = ::send(fd.get(), message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd.get(), POLLOUT, deadline))
        return Failure{Error{ETIMEDOUT, "sddsh did not take the hook message in time"}};
    } else {
      return system_failure("send to " + socket_path);
    }
  }
  return {};
}

struct HookListener::Connection {
  shell::UniqueFd fd;
  shell::EventLoop::Watch watch;
  std::string buffer;
};

Result<std::unique_ptr<HookListener>> HookListener::open() {
  auto directory = make_private_directory();
  if (!directory) return Failure{directory.error()};
  const std::string path = *directory + "/hook.sock";
  auto address = socket_address(path);
  if (!address) {
    ::rmdir(directory->c_str());
    return Failure{address.error()};
  }
  shell::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    auto failure = system_failure("hook socket " + path);
    ::unlink(path.c_str());
    ::rmdir(directory->c_str());
    return failure;
  }
  return std::unique_ptr<HookListener>(new HookListener(*directory, path, std::move(fd)));
}

HookListener::HookListener(std::string directory, std::string path, shell::UniqueFd fd)
    : directory_(std::move(directory)), path_(std::move(path)), listen_fd_(std::move(fd)) {}

HookListener::~HookListener() {
  detach();
  listen_fd_.reset();
  ::unlink(path_.c_str());
  ::rmdir(directory_.c_str());
}

void HookListener::attach(shell::EventLoop& loop, Handler handler) {
  loop_ = &loop;
  handler_ = std::move(handler);
  accept_watch_ = loop.watch(listen_fd_.get(), POLLIN, [this](short) { accept_connections(); });
}

void HookListener::detach() {
  accept_watch_.reset();
  connections_.clear();
  loop_ = nullptr;
}

void HookListener::accept_connections() {
  for (;;) {
    shell::UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) return;  // EAGAIN: all taken; anything else: the next round retries
    auto connection = std::make_unique<Connection>();
    connection->fd = std::move(fd);
    Connection* raw = connection.get();
    connection->watch =
        loop_->watch(raw->fd.get(), POLLIN, [this, raw](short) { read_connection(*raw); });
    connections_.push_back(std::move(connection));
  }
}

// A message is everything a connection sends before it closes.
void HookListener::read_connection(Connection& connection) {
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(connection.fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      if (connection.buffer.size() + static_cast<std::size_t>(n) > kMaxMessage) break;
      connection.buffer.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n == 0)
      if (auto event = parse_hook_message(connection.buffer); event && handler_)
        handler_(std::move(*event));
    break;
  }
  close_connection(connection);
}

void HookListener::close_connection(const Connection& connection) {
  for (auto it = connections_.begin(); it != connections_.end(); ++it)
    if (it->get() == &connection) {
      connections_.erase(it);
      return;
    }
}

}  // namespace sddsh::recorder
