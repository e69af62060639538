#include "tests/unit/tracker/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <system_error>

namespace sddsh::tracker::testing {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

[[noreturn]] void fail(const char* doing) {
  throw std::system_error(errno, std::generic_category(), doing);
}

// The owner of one socket.
struct Socket {
  int fd;
  explicit Socket(int fd_in) : fd(fd_in) {}
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
};

// Writes all of `bytes`; false when the peer is gone.
bool send_all(int fd, const char* bytes, std::size_t size) {
  while (size > 0) {
    const auto sent = ::send(fd, bytes, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

// A hard close: RST instead of FIN, as a dead network looks to the client.
void reset(int fd) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  if (::pipe(wake_) != 0) fail("pipe");
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) fail("socket");
  auto address = loopback(0);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind");
  if (::listen(listener_, 16) != 0) fail("listen");
  socklen_t length = sizeof address;
  if (::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    fail("getsockname");
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  const char byte = 'x';
  (void)!::write(wake_[1], &byte, 1);  // never read: every poll() sees it from now on
  acceptor_.join();
  {
    std::lock_guard lock(threads_mutex_);
    for (auto& thread : threads_) thread.join();
  }
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpProxy::cut_at(std::uint64_t total_client_bytes) {
  cut_at_.store(total_client_bytes);
}

bool TcpProxy::should_cut(std::uint64_t bytes) {
  const std::uint64_t limit = cut_at_.load();
  if (limit == 0 || bytes < limit) return false;
  std::uint64_t expected = limit;
  if (!cut_at_.compare_exchange_strong(expected, 0)) return false;
  ++cuts_;
  return true;
}

void TcpProxy::accept_loop() {
  for (;;) {
    std::array<pollfd, 2> fds{{{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto target = loopback(target_port_);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      continue;
    }
    std::lock_guard lock(threads_mutex_);
    threads_.emplace_back([this, client, server] { pump(client, server); });
  }
}

// Forwards both ways until either side closes, the cut point passes, or the proxy shuts down.
void TcpProxy::pump(int client_fd, int server_fd) {
  const Socket client(client_fd), server(server_fd);
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    std::array<pollfd, 3> fds{
        {{client.fd, POLLIN, 0}, {server.fd, POLLIN, 0}, {wake_[0], POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents != 0) return;
    for (int side = 0; side < 2; ++side) {
      if (fds[side].revents == 0) continue;
      const int from = side == 0 ? client.fd : server.fd;
      const int to = side == 0 ? server.fd : client.fd;
      const auto got = ::recv(from, buffer.data(), buffer.size(), 0);
      if (got <= 0) return;
      auto size = static_cast<std::size_t>(got);
      if (side == 0) {
        const std::uint64_t before = client_bytes_.fetch_add(size);
        const std::uint64_t limit = cut_at_.load();
        if (limit != 0 && before + size >= limit && should_cut(before + size)) {
          const std::size_t keep = static_cast<std::size_t>(limit - std::min(limit, before));
          (void)send_all(to, buffer.data(), std::min(keep, size));
          reset(client.fd);
          reset(server.fd);
          return;
        }
      }
      if (!send_all(to, buffer.data(), size)) return;
    }
  }
}

}  // namespace sddsh::tracker::testing
