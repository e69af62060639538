#include "tracker-server/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "shell/unique_fd.hpp"
#include "tracker-client/timestamps.hpp"
#include "tracker-server/api.hpp"
#include "tracker-server/validate.hpp"

namespace sddsh::server {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Every path: the API routes by itself (validate.hpp, api.cpp). [\s\S] so that a decoded
// newline still reaches it and gets its 400.
constexpr const char* kAnyPath = R"([\s\S]*)";
// Carries what the access log needs from the handler to the post-routing hook; never sent.
constexpr const char* kLogContextHeader = "X-Sddsh-Internal-Log";
// A body left unread up to this size is read and dropped so the connection can go on.
constexpr std::uint64_t kDrainLimit = 64u << 10;
constexpr std::size_t kFileChunk = 256u << 10;
constexpr std::size_t kWorkerThreads = 64;  // each keep-alive connection holds one
constexpr time_t kKeepAliveSeconds = 5;
constexpr std::size_t kKeepAliveRequests = 10000;
constexpr time_t kReadTimeoutSeconds = 10;

Failure failure(std::string message) {
  return Failure{Error{0, std::move(message)}};
}

// cpp-httplib's server, with a way to close the listening socket whether or not its accept
// loop has started yet (its own stop() does nothing before that, and a stop would be lost).
template <typename Base>
class Listener : public Base {
 public:
  using Base::Base;
  void close_listening_socket() {
    const auto sock = this->svr_sock_.exchange(INVALID_SOCKET);
    if (sock == INVALID_SOCKET) return;
    ::shutdown(sock, SHUT_RDWR);  // wakes a thread blocked in accept()
    ::close(sock);
  }
};

// One JSON line per request, to a file, stderr, or nowhere.
class AccessLog {
 public:
  static Result<std::unique_ptr<AccessLog>> open(const std::string& where) {
    if (where == "-") return std::unique_ptr<AccessLog>();
    if (where.empty()) return std::make_unique<AccessLog>(shell::UniqueFd(::dup(STDERR_FILENO)));
    shell::UniqueFd fd(::open(where.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) return system_failure("opening the access log " + where);
    return std::make_unique<AccessLog>(std::move(fd));
  }
  explicit AccessLog(shell::UniqueFd fd) : fd_(std::move(fd)) {}

  void write(const json& entry) {
    const auto line = entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mutex_);
    // A lost log line must not fail the request it describes.
    [[maybe_unused]] const auto written = ::write(fd_.get(), line.data(), line.size());
  }

 private:
  std::mutex mutex_;
  shell::UniqueFd fd_;
};

// The test hooks' pending faults.
class Faults {
 public:
  void fail(int count, int status) {
    std::lock_guard lock(mutex_);
    fail_count_ = count;
    fail_status_ = status;
  }
  void delay(int count, std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_count_ = count;
    delay_ = delay;
  }
  void drop_upload_after(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    drop_after_ = bytes;
  }

  std::optional<int> take_failure() {
    std::lock_guard lock(mutex_);
    if (fail_count_ <= 0) return std::nullopt;
    --fail_count_;
    return fail_status_;
  }
  std::optional<std::chrono::milliseconds> take_delay() {
    std::lock_guard lock(mutex_);
    if (delay_count_ <= 0) return std::nullopt;
    --delay_count_;
    return delay_;
  }
  std::optional<std::uint64_t> take_upload_drop() {
    std::lock_guard lock(mutex_);
    return std::exchange(drop_after_, std::nullopt);
  }

 private:
  std::mutex mutex_;
  int fail_count_ = 0, fail_status_ = 500, delay_count_ = 0;
  std::chrono::milliseconds delay_{0};
  std::optional<std::uint64_t> drop_after_;
};

int port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  return -1;
}

// Calls `visit(fd, local, peer)` for each connected socket of the process. httplib never hands
// its connections' sockets out, so they are found among the process's descriptors.
template <typename Visit>
void for_each_connection(Visit visit) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_storage local{}, peer{};
    socklen_t local_length = sizeof local, peer_length = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0)
      continue;
    if (!visit(fd, port_of(local), port_of(peer))) return;
  }
}

// Test hook only: cuts the connection a request came on, found by its two ends.
void cut_connection(const httplib::Request& request) {
  for_each_connection([&](int fd, int local_port, int peer_port) {
    if (peer_port != request.remote_port) return true;
    if (request.local_port > 0 && local_port != request.local_port) return true;
    ::shutdown(fd, SHUT_RDWR);
    return false;
  });
}

// On stop: the connections idling between keep-alive requests see their end at once instead of
// holding the stop for the keep-alive timeout; a request in flight still writes its answer.
void end_reading_of_connections(int port) {
  for_each_connection([&](int fd, int local_port, int) {
    if (local_port == port) ::shutdown(fd, SHUT_RD);
    return true;
  });
}

bool is_file_put(const httplib::Request& request) {
  if (request.method != "PUT") return false;
  auto target = parse_target(request.target);
  return target && target->segments.size() == 7 && target->segments[5] == "files";
}

ApiRequest api_request(const httplib::Request& request) {
  ApiRequest out{
      .method = request.method, .target = request.target, .remote_address = request.remote_addr};
  for (const auto& [name, value] : request.headers) out.headers.emplace_back(name, value);
  return out;
}

ApiResponse fault_response(int status) {
  return error_response(status, "injected fault (test hook)");
}

std::string path_of(const httplib::Request& request) {
  auto path = request.target.substr(0, request.target.find('?'));
  return path.size() > 512 ? path.substr(0, 512) : path;
}

class HttpServer final : public Server {
 public:
  HttpServer(ServerOptions options, std::unique_ptr<Store> store, std::unique_ptr<AccessLog> log)
      : options_(std::move(options)),
        store_(std::move(store)),
        api_(*store_,
             {.max_json_body = options_.max_json_body, .max_file_size = options_.max_file_size}),
        log_(std::move(log)) {}

  ~HttpServer() override {
    stop();
    close_listener_();
  }

  Result<void> listen() {
    if (options_.cert_file.empty() != options_.key_file.empty())
      return failure("HTTPS needs both a certificate (--cert) and a key (--key)");
    if (!options_.cert_file.empty()) {
      auto https = std::make_unique<Listener<httplib::SSLServer>>(options_.cert_file.c_str(),
                                                                  options_.key_file.c_str());
      if (!https->is_valid())
        return failure("cannot load the certificate " + options_.cert_file + " and key " +
                       options_.key_file);
      close_listener_ = [raw = https.get()] { raw->close_listening_socket(); };
      http_ = std::move(https);
    } else {
      auto plain = std::make_unique<Listener<httplib::Server>>();
      close_listener_ = [raw = plain.get()] { raw->close_listening_socket(); };
      http_ = std::move(plain);
    }
    configure(*http_);
    port_ = options_.port == 0
                ? http_->bind_to_any_port(options_.host)
                : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
    if (port_ < 0)
      return failure("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                     ": " + std::strerror(errno));
    return {};
  }

  int port() const override { return port_; }
  Store& store() override { return *store_; }

  Result<void> run() override {
    {
      std::lock_guard lock(state_mutex_);
      if (stop_requested_) return {};
      running_ = true;
    }
    state_changed_.notify_all();
    const bool clean = http_->listen_after_bind();
    std::lock_guard lock(state_mutex_);
    running_ = false;
    if (!clean && !stop_requested_) return failure("the listening socket failed");
    return {};
  }

  void stop() override {
    {
      std::lock_guard lock(state_mutex_);
      stop_requested_ = true;
    }
    state_changed_.notify_all();
    if (close_listener_) close_listener_();
    if (port_ > 0) end_reading_of_connections(port_);
  }

  void wait_until_running() override {
    std::unique_lock lock(state_mutex_);
    state_changed_.wait(lock, [&] { return running_ || stop_requested_; });
  }

  void fail_next_requests(int count, int status) override { faults_.fail(count, status); }
  void drop_next_upload_after(std::uint64_t body_bytes) override {
    faults_.drop_upload_after(body_bytes);
  }
  void delay_next_requests(int count, std::chrono::milliseconds delay) override {
    faults_.delay(count, delay);
  }

 private:
  void configure(httplib::Server& http) {
    http.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
    http.set_keep_alive_timeout(kKeepAliveSeconds);
    http.set_keep_alive_max_count(kKeepAliveRequests);
    http.set_read_timeout(kReadTimeoutSeconds);
    // Headers and body go out in two writes: without this, Nagle holds the body back until the
    // client's delayed ACK (40 ms on every small reply).
    http.set_tcp_nodelay(true);
    // cpp-httplib's default sets SO_REUSEPORT, which lets a second server bind a port that one is
    // already serving and share its connections. SO_REUSEADDR alone still allows a restart while
    // the old connections sit in TIME_WAIT, and refuses a port someone listens on.
    http.set_socket_options([](socket_t socket) {
      const int yes = 1;
      setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // The API enforces its own limits as it reads (413 with a JSON error); this is a backstop.
    http.set_payload_max_length(
        static_cast<std::size_t>(options_.max_file_size + options_.max_json_body));
    auto plain = [this](const httplib::Request& request, httplib::Response& response) {
      serve(request, response, nullptr);
    };
    auto with_body = [this](const httplib::Request& request, httplib::Response& response,
                            const httplib::ContentReader& reader) {
      serve(request, response, &reader);
    };
    http.Get(kAnyPath, plain);
    http.Delete(kAnyPath, plain);
    http.Options(kAnyPath, plain);
    http.Post(kAnyPath, with_body);
    http.Put(kAnyPath, with_body);
    http.Patch(kAnyPath, with_body);
    http.set_expect_100_continue_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          return expect_continue(request, response);
        });
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request&, httplib::Response& response) {
          return fill_bare_error(response);
        }));
    http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
          answer(response, error_response(500, "internal error"), Clock::now());
        });
    http.set_post_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          log_request(request, response);
        });
  }

  // httplib's own refusals (a malformed request line, a body over the backstop) get our JSON.
  static httplib::Server::HandlerResponse fill_bare_error(httplib::Response& response) {
    if (!response.body.empty() || response.content_provider_)
      return httplib::Server::HandlerResponse::Unhandled;
    response.set_content(error_response(response.status, "the request could not be read").body,
                         "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }

  void serve(const httplib::Request& request, httplib::Response& response,
             const httplib::ContentReader* reader) {
    const auto started = Clock::now();
    if (auto status = faults_.take_failure()) {
      answer(response, fault_response(*status), started);
      if (reader) response.set_header("Connection", "close");
      return;
    }
    if (auto delay = faults_.take_delay()) wait_unless_stopped(*delay);
    auto api = api_request(request);
    bool reader_used = false;
    if (reader) {
      const auto drop_after = is_file_put(request) ? faults_.take_upload_drop() : std::nullopt;
      api.read_body = [&, drop_after](const BodySink& sink) {
        reader_used = true;
        return read_body(request, *reader, sink, drop_after);
      };
    }
    auto reply = api_.handle(api);
    if (reply.body_unread && reader) finish_unread_body(request, response, *reader, reader_used);
    answer(response, std::move(reply), started);
  }

  // Passes the body on, or (test hook) cuts the connection after `drop_after` bytes.
  static bool read_body(const httplib::Request& request, const httplib::ContentReader& reader,
                        const BodySink& sink, std::optional<std::uint64_t> drop_after) {
    std::uint64_t passed = 0;
    bool cut = false;
    const bool whole = reader([&](const char* data, std::size_t length) {
      std::string_view bytes(data, length);
      if (drop_after && bytes.size() > *drop_after - passed) {
        bytes = bytes.substr(0, static_cast<std::size_t>(*drop_after - passed));
        if (!bytes.empty()) sink(bytes);
        cut = true;
        cut_connection(request);
        return false;
      }
      passed += bytes.size();
      return sink(bytes);
    });
    if (whole && drop_after && passed == *drop_after) {
      cut = true;  // every byte arrived, and the connection still goes before any answer
      cut_connection(request);
    }
    return whole && !cut;
  }

  // A body the API did not read: a small one is read and dropped so the connection can carry
  // the next request; otherwise the connection closes after this answer.
  static void finish_unread_body(const httplib::Request& request, httplib::Response& response,
                                 const httplib::ContentReader& reader, bool reader_used) {
    auto length = parse_decimal(request.get_header_value("Content-Length"));
    if (!reader_used && length && *length <= kDrainLimit &&
        reader([](const char*, std::size_t) { return true; }))
      return;
    response.set_header("Connection", "close");
  }

  int expect_continue(const httplib::Request& request, httplib::Response& response) {
    const auto started = Clock::now();
    std::optional<ApiResponse> early;
    if (auto status = faults_.take_failure())
      early = fault_response(*status);
    else
      early = api_.preflight(api_request(request));
    if (!early) return 100;
    answer(response, std::move(*early), started);
    // Written without routing: httplib leaves the length to us here, and the body was never
    // sent, so this connection ends with the answer.
    response.set_header("Content-Length", std::to_string(response.body.size()));
    response.set_header("Connection", "close");
    return response.status;
  }

  static void answer(httplib::Response& response, ApiResponse reply, Clock::time_point started) {
    response.status = reply.status;
    for (const auto& [name, value] : reply.headers) response.set_header(name, value);
    json context = {{"start", started.time_since_epoch().count()},
                    {"project", reply.project},
                    {"token", reply.token_label}};
    response.set_header(kLogContextHeader,
                        context.dump(-1, ' ', true, json::error_handler_t::replace));
    if (reply.file_path.empty() || reply.file_size == 0) {
      response.set_content(reply.body, reply.content_type);
      return;
    }
    auto fd =
        std::make_shared<shell::UniqueFd>(::open(reply.file_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!*fd) {
      response.status = 500;
      response.set_content(error_response(500, "the stored file cannot be read").body,
                           "application/json");
      return;
    }
    response.set_content_provider(
        static_cast<std::size_t>(reply.file_size), reply.content_type,
        [fd](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          std::string buffer(std::min(length, kFileChunk), '\0');
          const auto got =
              ::pread(fd->get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
          if (got <= 0) return false;
          return sink.write(buffer.data(), static_cast<std::size_t>(got));
        });
  }

  void log_request(const httplib::Request& request, httplib::Response& response) {
    auto context = json::parse(response.get_header_value(kLogContextHeader), nullptr, false);
    response.headers.erase(kLogContextHeader);
    if (!log_) return;
    json entry = {{"time", tracker::iso_from_unix_ms(tracker::now_unix_ms())},
                  {"remote", request.remote_addr},
                  {"method", request.method},
                  {"path", path_of(request)},
                  {"status", response.status},
                  {"bytes", parse_decimal(response.get_header_value("Content-Length")).value_or(0)},
                  {"duration_ms", nullptr},
                  {"project", ""},
                  {"token", ""}};
    if (context.is_object()) {
      const Clock::time_point started(Clock::duration(context.value("start", Clock::rep{0})));
      entry["duration_ms"] =
          std::chrono::duration<double, std::milli>(Clock::now() - started).count();
      entry["project"] = context.value("project", "");
      entry["token"] = context.value("token", "");
    }
    log_->write(entry);
  }

  void wait_unless_stopped(std::chrono::milliseconds delay) {
    std::unique_lock lock(state_mutex_);
    state_changed_.wait_for(lock, delay, [&] { return stop_requested_; });
  }

  ServerOptions options_;
  std::unique_ptr<Store> store_;
  Api api_;
  std::unique_ptr<AccessLog> log_;
  Faults faults_;
  std::unique_ptr<httplib::Server> http_;
  std::function<void()> close_listener_ = [] {};
  int port_ = -1;
  std::mutex state_mutex_;
  std::condition_variable state_changed_;
  bool running_ = false, stop_requested_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::open(ServerOptions options) {
  auto store = open_sqlite_store(options.data_dir);
  if (!store) return Failure{store.error()};
  auto log = AccessLog::open(options.access_log);
  if (!log) return Failure{log.error()};
  auto server =
      std::make_unique<HttpServer>(std::move(options), std::move(*store), std::move(*log));
  if (auto listening = server->listen(); !listening) return Failure{listening.error()};
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace sddsh::server
