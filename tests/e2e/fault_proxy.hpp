#pragma once
// A loopback TCP proxy in front of sddsh-tracker that misbehaves on demand, for the fault tests:
// it forwards (Pass), answers every request with 503 (Refuse), accepts and never answers (Hang),
// resets every connection at once (Reset), loses the server's reply to a session commit after
// the server applied it, or cuts the connection in the middle of an upload. The mode is taken
// per connection, when it is accepted.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sddsh::e2e {

class FaultProxy {
 public:
  enum class Mode : unsigned char { Pass, Refuse, Hang, Reset };

  explicit FaultProxy(int target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_mode(Mode mode) { mode_ = mode; }
  // The next `count` successful replies to `PUT …/sessions/{uid}` (the commit) never reach the
  // client: the connection closes once the server has answered.
  void lose_commit_replies(int count) { commits_to_lose_ = count; }
  // Cuts the connection that carries client byte number `bytes` (counted over every
  // connection from now on), once.
  void cut_after_client_bytes(std::uint64_t bytes);

  int connections() const { return connections_; }
  int commits_seen() const { return commits_seen_; }
  int commit_replies_lost() const { return commit_replies_lost_; }
  int cuts() const { return cuts_; }
  std::uint64_t client_bytes() const { return client_bytes_; }

 private:
  void accept_loop();
  void serve(int client, Mode mode);
  void pump(int client, int server);
  void refuse(int client);
  void hang(int client);
  bool wait_readable(int fd);  // false once the proxy shuts down

  int listener_ = -1;
  int port_ = 0;
  int target_port_;
  int wake_[2] = {-1, -1};  // readable once the proxy shuts down
  std::atomic<Mode> mode_{Mode::Pass};
  std::atomic<int> commits_to_lose_{0};
  std::atomic<std::uint64_t> cut_at_{0};  // 0: never
  std::atomic<std::uint64_t> client_bytes_{0};
  std::atomic<int> connections_{0}, commits_seen_{0}, commit_replies_lost_{0}, cuts_{0};
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace sddsh::e2e
