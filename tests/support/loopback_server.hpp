#pragma once
// The real sddsh-tracker server, in process, on a free loopback port: it serves on its own
// thread from construction until destruction. Its data lives in a temporary directory unless the
// options name one.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/support/temp_dir.hpp"
#include "tracker-server/server.hpp"

namespace sddsh::test_support {

class LoopbackServer {
 public:
  explicit LoopbackServer(server::ServerOptions options = {}) {
    if (options.data_dir.empty()) options.data_dir = data_.emplace("sddsh-server") / "data";
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.access_log.empty()) options.access_log = "-";  // quiet unless asked
    https_ = !options.cert_file.empty();
    auto opened = server::Server::open(std::move(options));
    if (!opened) throw std::runtime_error("server: " + opened.error().message);
    server_ = std::move(*opened);
    thread_ = std::thread([this] { (void)server_->run(); });
    server_->wait_until_running();
  }
  ~LoopbackServer() {
    server_->stop();
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  server::Server& operator*() { return *server_; }
  server::Server* operator->() { return server_.get(); }
  int port() const { return server_->port(); }
  std::string url() const {
    return std::string(https_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
  }
  // A new token for `project` (created on first use) with `role`.
  std::string token(const std::string& project, server::Role role,
                    const std::string& label = "test") {
    auto token = server_->store().create_token(project, role, label);
    if (!token) throw std::runtime_error("token: " + token.error().message);
    return *token;
  }

 private:
  std::optional<TempDir> data_;  // before server_: the server is gone before its data
  bool https_ = false;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

}  // namespace sddsh::test_support
