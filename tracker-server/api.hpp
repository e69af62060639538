#pragma once
// The tracker's HTTP API (docs/tracker-api.md) as a pure dispatch over small request and
// response structs: routing, auth, validation and every endpoint, with no sockets. server.cpp
// adapts cpp-httplib to it; the tests and the fuzz target call it directly.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracker-server/store.hpp"

namespace sddsh::server {

inline constexpr const char* kServerVersion = "0.1.0";

// Feeds the body to `sink` piece by piece; false when the body could not be read whole (the
// client went away, or `sink` said stop by returning false).
using BodySink = std::function<bool(std::string_view bytes)>;
using BodyReader = std::function<bool(const BodySink& sink)>;

struct ApiRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // as sent: the percent-encoded path and the query
  std::vector<std::pair<std::string, std::string>> headers;
  BodyReader read_body;  // unset: no body
  std::string remote_address;

  // The first header of this name (any case); empty when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// A request whose whole body is `body` (tests, the fuzz target).
ApiRequest make_request(std::string method, std::string target, std::string body = {},
                        std::vector<std::pair<std::string, std::string>> headers = {});

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string file_path;  // set: the body is this file's `file_size` bytes
  std::uint64_t file_size = 0;
  // For the access log: who asked (never the token itself).
  std::string project, token_label;
  // The request body was left (partly) unread: the connection cannot carry another request.
  bool body_unread = false;
};

struct ApiLimits {
  std::uint64_t max_json_body = 8u << 20;
  std::uint64_t max_file_size = 4ull << 30;
};

class Api {
 public:
  Api(Store& store, ApiLimits limits);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Answers one request. Never throws: a failure of the server itself is a 500 `internal`.
  ApiResponse handle(const ApiRequest& request);
  // Answers a request before its body is sent (Expect: 100-continue), when the answer does not
  // need the body: a bad route, auth, a too large body, a file the server already holds...
  // Nothing: send the body.
  std::optional<ApiResponse> preflight(const ApiRequest& request);

 private:
  struct Call;
  class ReadyCache;

  std::optional<ApiResponse> prepare(const ApiRequest& request, Call& call);
  std::optional<ApiResponse> authorize(const ApiRequest& request, Role needed, Call& call);
  ApiResponse dispatch(const Call& call);
  std::optional<ApiResponse> check_body_headers(const Call& call) const;

  ApiResponse project(const Call& call);
  ApiResponse ready(const Call& call);
  ApiResponse list_tasks(const Call& call);
  ApiResponse create_task(const Call& call);
  ApiResponse get_task(const Call& call);
  ApiResponse spec_task(const Call& call);
  ApiResponse patch_task(const Call& call);
  ApiResponse claim(const Call& call);
  ApiResponse close(const Call& call);
  ApiResponse reopen(const Call& call);
  ApiResponse add_note(const Call& call);
  ApiResponse task_dependencies(const Call& call);
  ApiResponse add_dependency(const Call& call);
  ApiResponse import(const Call& call);
  ApiResponse task_sessions(const Call& call);
  ApiResponse put_file(const Call& call);
  std::optional<ApiResponse> put_file_preflight(const Call& call);
  ApiResponse file_status(const Call& call);
  ApiResponse get_file(const Call& call);
  ApiResponse put_session(const Call& call);
  ApiResponse get_session(const Call& call);

  Store& store_;
  ApiLimits limits_;
  std::unique_ptr<ReadyCache> ready_cache_;
};

// {"error":{"code","message"}} with the status's code name.
ApiResponse error_response(int status, std::string message);

}  // namespace sddsh::server
