#pragma once
// sddsh-tracker: the tracker's HTTP API (docs/tracker-api.md) served by cpp-httplib, over a Store.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "shell/result.hpp"
#include "tracker-server/store.hpp"

namespace sddsh::server {

struct ServerOptions {
  std::string data_dir;
  std::string host = "127.0.0.1";
  int port = 8470;                  // 0: any free port (tests)
  std::string cert_file, key_file;  // both set: HTTPS
  std::uint64_t max_json_body = 8u << 20;
  std::uint64_t max_file_size = 4ull << 30;
  std::string access_log;  // a file to append to; empty: stderr; "-": off
};

class Server {
 public:
  // Opens the store and binds the port (nothing is served until run()).
  static Result<std::unique_ptr<Server>> open(ServerOptions options);
  virtual ~Server() = default;

  virtual int port() const = 0;
  virtual Store& store() = 0;
  // Serves until stop().
  virtual Result<void> run() = 0;
  // From any thread; run() returns soon after.
  virtual void stop() = 0;
  // Blocks until run() is accepting connections (tests start run() on a thread first).
  virtual void wait_until_running() = 0;

  // Test hooks for fault injection (never reachable from the network or the CLI):
  // the next `count` requests answer `status` (500, 429, 503…) before doing anything;
  virtual void fail_next_requests(int count, int status) = 0;
  // the next file PUT: close the connection after this many body bytes, keeping what arrived;
  virtual void drop_next_upload_after(std::uint64_t body_bytes) = 0;
  // the next `count` requests wait `delay` first (to provoke client timeouts).
  virtual void delay_next_requests(int count, std::chrono::milliseconds delay) = 0;
};

}  // namespace sddsh::server
