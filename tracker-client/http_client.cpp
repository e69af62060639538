#include "tracker-client/http_client.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <utility>

#include "sddsh_version.hpp"
#include "tracker-client/sha256.hpp"

namespace sddsh::tracker {

namespace {

using namespace std::chrono_literals;

// A reply held in memory larger than this is refused: the API never sends one (a page of 1000
// tasks is well under it), so it can only be a broken or hostile server.
constexpr std::size_t kMaxReplyBytes = 64U << 20;
// An error body that came with a download (kept for the message only).
constexpr std::size_t kMaxErrorBytes = 64U << 10;
// curl reads the file in blocks this large (its maximum is 2 MiB before 7.88, 10 MiB after).
constexpr long kUploadBufferBytes = 2L << 20;
// A Retry-After longer than this is cut: an interactive command should not hang for minutes.
constexpr auto kMaxRetryAfter = 60s;

// curl_global_init is not thread-safe and must run once before any handle exists.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyCleanup>;

// The owner of one curl_slist of request headers.
class HeaderList {
 public:
  void append(const std::string& header) {
    curl_slist* grown = curl_slist_append(list_.get(), header.c_str());
    if (grown == nullptr) throw std::bad_alloc();
    (void)list_.release();  // curl_slist_append returned the same head, now longer
    list_.reset(grown);
  }
  curl_slist* get() const { return list_.get(); }

 private:
  struct Free {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  std::unique_ptr<curl_slist, Free> list_;
};

// The owner of one file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes now, so that a close error (a full disk on NFS) is seen.
  bool close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

// What one transfer's callbacks share. The callbacks never throw: a failure is recorded here
// and the transfer aborted.
struct Transfer {
  HttpResponse response;
  std::function<bool(std::string_view)> body_sink;  // false: abort
  std::string failure;                              // why a callback aborted the transfer
  // The upload source: bytes [start, start + length) of fd.
  int source_fd = -1;
  std::uint64_t start = 0, length = 0, position = 0;
  const std::function<void(std::uint64_t)>* progress = nullptr;
  const std::stop_token* abort = nullptr;  // requested: the transfer ends
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  try {
    if (transfer->body_sink(std::string_view(data, size * count))) return size * count;
  } catch (const std::exception& error) {
    transfer->failure = std::string("reading the reply: ") + error.what();
  }
  return 0;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

void record_header(HttpResponse& response, std::string_view line) {
  if (line.starts_with("HTTP/")) {  // a new reply (after a 100 Continue): forget the last one's
    response.headers.clear();
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  response.headers[lowercase(trim(line.substr(0, colon)))] =
      std::string(trim(line.substr(colon + 1)));
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  try {
    record_header(transfer->response, std::string_view(data, size * count));
    return size * count;
  } catch (const std::exception& error) {
    transfer->failure = std::string("reading the reply's headers: ") + error.what();
    return 0;
  }
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const std::uint64_t left = transfer->length - transfer->position;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, size * count));
  if (want == 0) return 0;
  for (;;) {
    const auto got = ::pread(transfer->source_fd, buffer, want,
                             static_cast<off_t>(transfer->start + transfer->position));
    if (got > 0) {
      transfer->position += static_cast<std::uint64_t>(got);
      return static_cast<std::size_t>(got);
    }
    if (got < 0 && errno == EINTR) continue;
    transfer->failure = got == 0 ? std::string("the file shrank while it was being sent")
                                 : std::string("reading the file: ") + std::strerror(errno);
    return CURL_READFUNC_ABORT;
  }
}

// curl rewinds the upload when it re-sends it (a keep-alive connection the server had closed).
int on_seek(void* user, curl_off_t offset, int origin) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > transfer->length)
    return CURL_SEEKFUNC_CANTSEEK;
  transfer->position = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t uploaded) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->abort && transfer->abort->stop_requested()) {
    transfer->failure = "aborted";
    return 1;
  }
  try {
    if (transfer->progress && *transfer->progress)
      (*transfer->progress)(static_cast<std::uint64_t>(uploaded));
    return 0;
  } catch (const std::exception& error) {
    transfer->failure = std::string("progress report: ") + error.what();
    return 1;  // aborts the transfer
  }
}

// Errors where trying again can help: the server is down, slow or dropped the connection.
bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool is_tls_trust_failure(CURLcode code) {
  return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
         code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_ISSUER_ERROR;
}

bool is_retried_status(long status) {
  return status == 429 || (status >= 500 && status <= 599);
}

// Retry-After in seconds (the HTTP-date form is not used by our server; it falls back to backoff).
std::chrono::milliseconds retry_after(const HttpResponse& response) {
  auto it = response.headers.find("retry-after");
  if (it == response.headers.end() || it->second.empty() || it->second.size() > 6 ||
      !std::all_of(it->second.begin(), it->second.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return 0ms;
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(std::stol(it->second)),
                                             kMaxRetryAfter);
}

// One attempt: the reply, or how the transfer failed.
struct Attempt {
  CURLcode code = CURLE_OK;
  std::string detail;  // curl's error buffer, or a callback's reason
  HttpResponse response;
};

std::string attempts_text(int attempts) {
  return attempts == 1 ? std::string() : " (after " + std::to_string(attempts) + " attempts)";
}

Failure transfer_failure(const Attempt& attempt, const RemoteConfig& config, int attempts) {
  if (is_tls_trust_failure(attempt.code))
    return Failure{Error{0, "TLS verification of " + config.url + " failed: " + attempt.detail +
                                " (a private CA: set tracker.ca_file, SDDSH_TRACKER_CA_FILE or "
                                "--ca-file)"}};
  if (is_transient(attempt.code))
    return Failure{Error{
        0, "tracker unreachable: " + config.url + ": " + attempt.detail + attempts_text(attempts)}};
  return Failure{Error{0, "request to the tracker failed: " + attempt.detail}};
}

// The server's {"error":{"code","message"}}, when the body holds it.
struct ServerError {
  std::string code, message;
};

// One printable line, not too long: a hostile server cannot paint the terminal.
std::string one_line(std::string_view text) {
  constexpr std::size_t kMax = 300;
  const std::string_view kept = text.substr(0, kMax);
  std::string out;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const auto c = static_cast<unsigned char>(kept[i]);
    const bool c1 = c == 0xc2 && i + 1 < kept.size() &&
                    static_cast<unsigned char>(kept[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(kept[i + 1]) <= 0x9f;  // U+0080..U+009F
    if (c1) ++i;
    out += (c < 0x20 || c == 0x7f || c1) ? ' ' : static_cast<char>(c);
  }
  if (text.size() > kMax) out += "...";
  return out;
}

ServerError server_error(const std::string& body) {
  auto value = nlohmann::json::parse(body, nullptr, false);
  if (!value.is_object()) return {};
  auto error = value.find("error");
  if (error == value.end() || !error->is_object()) return {};
  ServerError out;
  if (auto code = error->find("code"); code != error->end() && code->is_string())
    out.code = one_line(code->get<std::string>());
  if (auto message = error->find("message"); message != error->end() && message->is_string())
    out.message = one_line(message->get<std::string>());
  return out;
}

std::string with_server_message(std::string text, const ServerError& error) {
  return error.message.empty() ? text : text + ": " + error.message;
}

std::string status_message(const HttpResponse& response) {
  const ServerError error = server_error(response.body);
  const std::string status = std::to_string(response.status);
  switch (response.status) {
    case 401:
      return "tracker rejected the token (401): check SDDSH_TRACKER_TOKEN";
    case 403:
      return with_server_message(
          "the tracker token has no access to project " + response.project + " (403)", error);
    case 404:
      if (error.message.find("not found") != std::string::npos) return error.message + " (404)";
      return with_server_message(one_line(response.path) + " not found on the tracker (404)",
                                 error);
    case 409:
      return error.message.empty() ? "conflict (409)" : error.message;
    default:
      break;
  }
  if (is_retried_status(response.status))
    return with_server_message(
        "tracker unreachable: HTTP " + status + attempts_text(response.attempts), error);
  return with_server_message(
      "tracker refused the request (" + status + (error.code.empty() ? "" : " " + error.code) + ")",
      error);
}

}  // namespace

std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt) {
  auto ceiling = policy.first_backoff;
  for (int i = 1; i < attempt && ceiling < policy.max_backoff; ++i) ceiling *= 2;
  return std::min(ceiling, policy.max_backoff);
}

struct HttpClient::State {
  RemoteConfig config;
  RetryPolicy policy;
  EasyHandle handle;
  std::stop_token abort;
  std::mt19937_64 random{std::random_device{}()};
  char error_buffer[CURL_ERROR_SIZE] = {};

  State(RemoteConfig config_in, RetryPolicy policy_in)
      : config(std::move(config_in)), policy(policy_in), handle(curl_easy_init()) {
    if (!handle) throw std::runtime_error("curl_easy_init failed");
  }

  // Options every transfer has; curl_easy_reset keeps the open connection (keep-alive).
  void prepare(Transfer& transfer, const std::string& path, const HeaderList& headers) {
    CURL* h = handle.get();
    curl_easy_reset(h);
    error_buffer[0] = '\0';
    transfer.response.project = config.project;
    transfer.response.path = path.substr(0, path.find('?'));
    const std::string url = config.url + path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!config.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(policy.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_USERAGENT, (std::string("sddsh/") + sddsh::version).c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    if (abort.stop_possible()) {
      transfer.abort = &abort;
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
  }

  // Big transfers have no total timeout: they fail when stalled for the low-speed window.
  void stall_timeout_only() {
    const auto window = std::chrono::duration_cast<std::chrono::seconds>(policy.low_speed_window);
    curl_easy_setopt(handle.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle.get(), CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(window.count())));
  }

  Attempt perform(Transfer& transfer) {
    Attempt attempt;
    attempt.code = curl_easy_perform(handle.get());
    if (attempt.code != CURLE_OK) {
      attempt.detail = !transfer.failure.empty() ? transfer.failure
                       : error_buffer[0] != '\0' ? std::string(error_buffer)
                                                 : std::string(curl_easy_strerror(attempt.code));
      return attempt;
    }
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &transfer.response.status);
    attempt.response = std::move(transfer.response);
    return attempt;
  }

  HeaderList base_headers(const char* content_type, const std::vector<std::string>& extra) const {
    HeaderList headers;
    headers.append("Authorization: Bearer " + config.token);
    headers.append("Accept: application/json");
    if (content_type) headers.append(std::string("Content-Type: ") + content_type);
    // No 100-continue round trip before each body, unless the caller asks for one (an upload
    // that the server may settle before any byte is sent).
    const bool expect_given = std::any_of(
        extra.begin(), extra.end(),
        [](const std::string& header) { return lowercase(header.substr(0, 7)) == "expect:"; });
    if (!expect_given) headers.append("Expect:");
    for (const auto& header : extra) headers.append(header);
    return headers;
  }

  // Runs `attempt_once` until it gives a reply that is not worth retrying or the policy's
  // attempts are spent.
  template <typename AttemptOnce>
  Result<HttpResponse> with_retries(AttemptOnce attempt_once, HttpClient& client) {
    for (int attempt = 1;; ++attempt) {
      Attempt outcome = attempt_once();
      const bool failed = outcome.code != CURLE_OK;
      const bool retry = !abort.stop_requested() &&
                         (failed ? is_transient(outcome.code) : is_retried_status(outcome.response.status));
      if (!retry || attempt >= policy.max_attempts) {
        if (failed) return transfer_failure(outcome, config, attempt);
        outcome.response.attempts = attempt;
        return std::move(outcome.response);
      }
      client.back_off(attempt, failed ? 0ms : retry_after(outcome.response));
    }
  }
};

HttpClient::HttpClient(RemoteConfig config, RetryPolicy policy) {
  init_curl_once();
  state_ = std::make_unique<State>(std::move(config), policy);
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

const RemoteConfig& HttpClient::config() const {
  return state_->config;
}
const RetryPolicy& HttpClient::policy() const {
  return state_->policy;
}
std::string HttpClient::project_path() const {
  return "/v1/projects/" + url_escape(state_->config.project);
}

void HttpClient::back_off(int attempt, std::chrono::milliseconds at_least) {
  const auto ceiling = backoff_ceiling(state_->policy, attempt);
  std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(0, ceiling.count());
  const auto wait = std::max(std::chrono::milliseconds(jitter(state_->random)), at_least);
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait_for(lock, state_->abort, wait, [] { return false; });  // ends early on abort
}

void HttpClient::set_abort(std::stop_token abort) {
  state_->abort = std::move(abort);
}

Result<HttpResponse> HttpClient::request(std::string_view method, const std::string& path,
                                         const std::string& json_body,
                                         const std::vector<std::string>& headers) {
  if (!path.starts_with("/v1/")) return Failure{Error{0, "bad API path: " + path}};
  const bool has_body = method != "GET" && method != "HEAD" && method != "DELETE";
  const HeaderList header_list =
      state_->base_headers(has_body ? "application/json" : nullptr, headers);
  const std::string verb(method);
  return state_->with_retries(
      [&] {
        Transfer transfer;
        transfer.body_sink = [&transfer](std::string_view bytes) {
          if (transfer.response.body.size() + bytes.size() > kMaxReplyBytes) {
            transfer.failure = "the tracker's reply is larger than 64 MiB";
            return false;
          }
          transfer.response.body.append(bytes);
          return true;
        };
        state_->prepare(transfer, path, header_list);
        CURL* h = state_->handle.get();
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(state_->policy.request_timeout.count()));
        if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        if (has_body) {
          curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body.data());
          curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(json_body.size()));
        }
        if (method != "GET" && method != "HEAD" && method != "POST")
          curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, verb.c_str());
        return state_->perform(transfer);
      },
      *this);
}

Result<HttpResponse> HttpClient::put_file_range(
    const std::string& path, const std::string& file, std::uint64_t offset, std::uint64_t length,
    const std::vector<std::string>& headers,
    const std::function<void(std::uint64_t sent)>& progress) {
  if (!path.starts_with("/v1/")) return Failure{Error{0, "bad API path: " + path}};
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return system_failure("open " + file);
  const HeaderList header_list = state_->base_headers("application/octet-stream", headers);
  Transfer transfer;
  transfer.body_sink = [&transfer](std::string_view bytes) {
    if (transfer.response.body.size() + bytes.size() > kMaxErrorBytes) return false;
    transfer.response.body.append(bytes);
    return true;
  };
  transfer.source_fd = fd.get();
  transfer.start = offset;
  transfer.length = length;
  transfer.progress = &progress;
  state_->prepare(transfer, path, header_list);
  state_->stall_timeout_only();
  CURL* h = state_->handle.get();
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
  curl_easy_setopt(h, CURLOPT_SEEKDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, progress || state_->abort.stop_possible() ? 0L : 1L);
  Attempt attempt = state_->perform(transfer);
  if (attempt.code != CURLE_OK) return transfer_failure(attempt, state_->config, 1);
  return std::move(attempt.response);
}

namespace {

// One download attempt's sink: the bytes go to the temporary file and the hasher while the reply
// is a 200; any other reply's body is kept (small) for the error message.
struct DownloadSink {
  int fd;
  Transfer& transfer;
  Sha256 hasher;
  std::string error_body;

  bool operator()(std::string_view bytes) {
    if (transfer.response.status != 200) {
      if (error_body.size() + bytes.size() > kMaxErrorBytes) return false;
      error_body.append(bytes);
      return true;
    }
    hasher.update(bytes);
    while (!bytes.empty()) {
      const auto written = ::write(fd, bytes.data(), bytes.size());
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        transfer.failure = std::string("writing the download: ") + std::strerror(errno);
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
  }
};

// The status of the reply whose headers are arriving: the header callback sees its status line.
std::size_t on_download_header(char* data, std::size_t size, std::size_t count,
                               void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    const auto space = line.find(' ');
    if (space != std::string_view::npos && line.size() >= space + 4) {
      const auto code = line.substr(space + 1, 3);
      if (std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
        transfer->response.status = std::stol(std::string(code));
    }
  }
  return on_header(data, size, count, user);
}

Result<void> check_download_hash(const HttpResponse& response, const std::string& actual,
                                 const std::string& expected, const std::string& path) {
  auto header = response.headers.find("x-sddsh-sha256");
  if (header != response.headers.end() && lowercase(header->second) != actual)
    return Failure{
        Error{0, "download of " + path + " is corrupt: its SHA-256 differs from the tracker's"}};
  if (!expected.empty() && lowercase(expected) != actual)
    return Failure{
        Error{0, "download of " + path + " does not match the session's file list (SHA-256)"}};
  return {};
}

}  // namespace

Result<void> HttpClient::download(const std::string& path, const std::string& dest_file,
                                  const std::string& expected_sha256) {
  if (!path.starts_with("/v1/")) return Failure{Error{0, "bad API path: " + path}};
  const std::string temporary = dest_file + ".part";
  const HeaderList header_list = state_->base_headers(nullptr, {"Accept: */*"});
  std::string actual_sha256;
  auto reply = state_->with_retries(
      [&] {
        Transfer transfer;
        UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (fd.get() < 0) {
          Attempt failed;
          failed.code = CURLE_WRITE_ERROR;
          failed.detail = "open " + temporary + ": " + std::strerror(errno);
          return failed;
        }
        DownloadSink sink{fd.get(), transfer, {}, {}};
        transfer.body_sink = std::ref(sink);
        state_->prepare(transfer, path, header_list);
        state_->stall_timeout_only();
        curl_easy_setopt(state_->handle.get(), CURLOPT_HEADERFUNCTION, on_download_header);
        Attempt attempt = state_->perform(transfer);
        if (attempt.code == CURLE_OK && !fd.close()) {
          attempt.code = CURLE_WRITE_ERROR;
          attempt.detail = "close " + temporary + ": " + std::strerror(errno);
        }
        if (attempt.code == CURLE_OK && attempt.response.status != 200)
          attempt.response.body = std::move(sink.error_body);
        if (attempt.code == CURLE_OK && attempt.response.status == 200)
          actual_sha256 = sink.hasher.hex();
        return attempt;
      },
      *this);
  auto discard = [&] {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
  };
  if (!reply) {
    discard();
    return Failure{reply.error()};
  }
  if (reply->status != 200) {
    discard();
    return Failure{json_reply(reply, {200}).error()};
  }
  if (auto hash = check_download_hash(*reply, actual_sha256, expected_sha256, path); !hash) {
    discard();
    return hash;
  }
  std::error_code error;
  std::filesystem::rename(temporary, dest_file, error);
  if (error) {
    discard();
    return Failure{Error{error.value(), "rename " + temporary + ": " + error.message()}};
  }
  return {};
}

Result<nlohmann::json> json_reply(const Result<HttpResponse>& reply,
                                  std::initializer_list<long> ok) {
  if (!reply) return Failure{reply.error()};
  const HttpResponse& response = *reply;
  if (std::find(ok.begin(), ok.end(), response.status) == ok.end())
    return Failure{Error{static_cast<int>(response.status), status_message(response)}};
  auto value = nlohmann::json::parse(response.body, nullptr, false);
  if (value.is_discarded())
    return Failure{
        Error{static_cast<int>(response.status),
              "the tracker's reply is not JSON (HTTP " + std::to_string(response.status) + ")"}};
  return value;
}

}  // namespace sddsh::tracker
