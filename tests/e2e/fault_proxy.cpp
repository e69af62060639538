#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace sddsh::e2e {

namespace {

constexpr std::string_view kCommitPrefix = "PUT /v1/projects/";

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Whether `request_line` ("PUT /v1/projects/p/sessions/uid HTTP/1.1") commits a session: a PUT
// on a session that is not one of its files.
bool is_commit(std::string_view request_line) {
  if (!request_line.starts_with(kCommitPrefix)) return false;
  const auto path_end = request_line.find(' ', kCommitPrefix.size());
  const std::string_view path = request_line.substr(0, path_end);
  return path.find("/sessions/") != std::string_view::npos && path.find("/files/") == std::string_view::npos;
}

}  // namespace

FaultProxy::FaultProxy(int target_port) : target_port_(target_port) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int yes = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error(std::string("proxy listen: ") + std::strerror(errno));
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  (void)!::write(wake_[1], "x", 1);
  acceptor_.join();
  {
    std::lock_guard lock(threads_mutex_);
    for (auto& thread : threads_) thread.join();
  }
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FaultProxy::cut_after_client_bytes(std::uint64_t bytes) { cut_at_ = client_bytes_ + bytes; }

bool FaultProxy::wait_readable(int fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0)
    if (errno != EINTR) return false;
  return !(fds[1].revents & POLLIN);
}

void FaultProxy::accept_loop() {
  while (wait_readable(listener_)) {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++connections_;
    const Mode mode = mode_;
    if (mode == Mode::Reset) {
      const linger abortive{1, 0};  // close with a RST, as a crashed server's kernel does
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
      ::close(client);
      continue;
    }
    std::lock_guard lock(threads_mutex_);
    threads_.emplace_back([this, client, mode] { serve(client, mode); });
  }
}

void FaultProxy::serve(int client, Mode mode) {
  if (mode == Mode::Refuse) {
    refuse(client);
  } else if (mode == Mode::Hang) {
    hang(client);
  } else if (const int server = connect_loopback(target_port_); server >= 0) {
    pump(client, server);
    ::close(server);
  }
  ::close(client);
}

// Reads the request's head, answers 503, closes: a server up but not serving.
void FaultProxy::refuse(int client) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < (1 << 20)) {
    if (!wait_readable(client)) return;
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  const std::string body = R"({"error":{"code":"unavailable","message":"down for maintenance"}})";
  send_all(client, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

// Takes every byte and answers nothing, until the client gives up (or the proxy goes).
void FaultProxy::hang(int client) {
  char buffer[65536];
  while (wait_readable(client))
    if (::recv(client, buffer, sizeof buffer, 0) <= 0) return;
}

void FaultProxy::pump(int client, int server) {
  std::string request_head;  // the client's bytes since its last line break, to spot request lines
  bool commit_pending = false;
  std::string reply;  // the server's answer to a commit whose reply may be lost
  char buffer[65536];
  for (;;) {
    pollfd fds[3] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents & POLLIN) return;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      const std::string_view bytes(buffer, static_cast<std::size_t>(n));
      const std::uint64_t total = client_bytes_ += bytes.size();
      if (const std::uint64_t cut = cut_at_; cut != 0 && total >= cut) {
        cut_at_ = 0;
        ++cuts_;
        return;  // the connection dies mid-request
      }
      // Request lines begin after a line break; bodies are scanned too, harmlessly.
      for (char c : bytes) {
        if (c == '\n') {
          if (is_commit(request_head)) {
            ++commits_seen_;
            commit_pending = commits_to_lose_ > 0;
          }
          request_head.clear();
        } else if (request_head.size() < 512) {
          request_head += c;
        }
      }
      if (!send_all(server, bytes)) return;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(server, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      if (!commit_pending) {
        if (!send_all(client, std::string_view(buffer, static_cast<std::size_t>(n)))) return;
        continue;
      }
      reply.append(buffer, static_cast<std::size_t>(n));
      while (commit_pending && reply.size() >= 12) {
        if (reply.starts_with("HTTP/1.1 100")) {  // "go on with the body": not the answer yet
          const auto end = reply.find("\r\n\r\n");
          if (end == std::string::npos) break;
          if (!send_all(client, std::string_view(reply).substr(0, end + 4))) return;
          reply.erase(0, end + 4);
          continue;
        }
        commit_pending = false;
        if (reply.starts_with("HTTP/1.1 2") && commits_to_lose_.fetch_sub(1) > 0) {
          ++commit_replies_lost_;
          return;  // applied by the server, never confirmed to the client
        }
        if (!send_all(client, reply)) return;
        reply.clear();
      }
    }
  }
}

}  // namespace sddsh::e2e
