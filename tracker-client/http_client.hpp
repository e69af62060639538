#pragma once
// The HTTP side of the remote tracker: one libcurl easy handle, reused for keep-alive, with TLS
// verification always on, timeouts, and retries (exponential backoff, full jitter) on network
// errors, 429 and 5xx. docs/tracker-client.md describes the behaviour.
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shell/result.hpp"
#include "tracker-client/remote_config.hpp"

namespace sddsh::tracker {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{200}, max_backoff{5000};  // exponential, with full jitter
  std::chrono::milliseconds connect_timeout{5000}, request_timeout{30000};
  std::chrono::milliseconds low_speed_window{
      30000};  // for big transfers: abort when stalled, not when slow
};

// The longest wait before attempt `attempt + 1` (attempt counts from 1): first_backoff doubled
// per attempt, capped at max_backoff. The actual wait is uniform in [0, this] (full jitter).
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt);

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
  // Context for json_reply's messages, filled by HttpClient (never the token).
  std::string project;  // the configured project
  std::string path;     // "/v1/projects/p/tasks/x" (no query)
  int attempts = 1;     // how many tries it took (retries of 429/5xx/network errors)
};

// Percent-encodes everything but RFC 3986's unreserved characters: a safe path segment or query
// value.
std::string url_escape(std::string_view text);

class HttpClient {  // one CURL* easy handle (RAII), reused: keep-alive
 public:
  explicit HttpClient(RemoteConfig config, RetryPolicy policy = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // path starts with "/v1/". Retries network errors, 429 (Retry-After honoured) and 5xx with
  // backoff; returns any other reply as is (the caller decides what a 404 means).
  Result<HttpResponse> request(std::string_view method, const std::string& path,
                               const std::string& json_body = {},
                               const std::vector<std::string>& headers = {});
  // PUT of bytes [offset, offset+length) of `file`, streamed from disk (no retry: the uploader
  // resumes).
  Result<HttpResponse> put_file_range(const std::string& path, const std::string& file,
                                      std::uint64_t offset, std::uint64_t length,
                                      const std::vector<std::string>& headers,
                                      const std::function<void(std::uint64_t sent)>& progress = {});
  // GET streamed into `dest_file` (written to a temporary file, renamed when whole). The bytes
  // must hash to the reply's X-Sddsh-Sha256 and, when given, to `expected_sha256`. Retried like
  // request(), each attempt from the start.
  Result<void> download(const std::string& path, const std::string& dest_file,
                        const std::string& expected_sha256 = {});

  const RemoteConfig& config() const;
  const RetryPolicy& policy() const;
  std::string project_path() const;  // "/v1/projects/<project>"

  // Waits the backoff before attempt `attempt + 1` (full jitter; at least `at_least`). Used by
  // the uploader, which retries whole chunks itself.
  void back_off(int attempt, std::chrono::milliseconds at_least = {});

  // Once `abort` is requested, every transfer of this client ends within about a second (curl
  // calls its progress function at least that often, also while a server says nothing) and
  // fails without a retry, and backoff waits end at once. Without it a hung server holds a
  // request for its whole timeout, times the attempts.
  void set_abort(std::stop_token abort);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A reply turned into JSON, or an Error whose message is one clear line and whose `code` is the
// HTTP status: 401 "tracker rejected the token (401): check SDDSH_TRACKER_TOKEN", 403 "… has no
// access to project P", 404 "… not found", 409 the server's message ("already claimed by bob"),
// 5xx/network "tracker unreachable: …". Never includes the token. Network failures keep code 0.
Result<nlohmann::json> json_reply(const Result<HttpResponse>& reply,
                                  std::initializer_list<long> ok = {200, 201});

}  // namespace sddsh::tracker
