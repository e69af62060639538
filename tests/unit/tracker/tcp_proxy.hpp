#pragma once
// A loopback TCP proxy for fault injection in the remote tracker tests: it forwards connections
// to a target port, counts the bytes clients send, and can cut every connection once a number
// of client bytes have gone through (a network that dies mid-upload).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sddsh::tracker::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Client → server bytes forwarded so far, over every connection.
  std::uint64_t client_bytes() const { return client_bytes_.load(); }
  // Cuts the connection that carries client byte number `total_client_bytes` (counted from the
  // start, as client_bytes()), once; later connections pass.
  void cut_at(std::uint64_t total_client_bytes);
  int cuts() const { return cuts_.load(); }

 private:
  void accept_loop();
  void pump(int client, int server);
  bool should_cut(std::uint64_t bytes);

  int listener_ = -1;
  int port_ = 0;
  int target_port_;
  int wake_[2] = {-1, -1};  // written on shutdown: wakes every poll()
  std::atomic<std::uint64_t> client_bytes_{0};
  std::atomic<std::uint64_t> cut_at_{0};  // 0: never
  std::atomic<int> cuts_{0};
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace sddsh::tracker::testing
