#include "tracker-server/api.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "tracker-client/import_report.hpp"
#include "tracker-client/sha256.hpp"
#include "tracker-client/speckit_import.hpp"
#include "tracker-client/timestamps.hpp"
#include "tracker-server/request_bodies.hpp"
#include "tracker-server/validate.hpp"

namespace sddsh::server {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kMaxJsonDepth = 64;
constexpr std::size_t kDefaultLimit = 100, kMaxLimit = 1000;
// A deferred task turns ready with time alone, without a write: a cached ready reply lives
// this long at most.
constexpr std::chrono::milliseconds kReadyCacheLifetime{1000};
constexpr std::size_t kReadyCacheEntries = 1024;

enum class Endpoint : unsigned char {
  Health,
  Project,
  Ready,
  ListTasks,
  CreateTask,
  GetTask,
  SpecTask,
  PatchTask,
  Claim,
  Close,
  Reopen,
  Note,
  TaskDependencies,
  AddDependency,
  Import,
  TaskSessions,
  PutFile,
  FileStatus,
  GetFile,
  PutSession,
  GetSession,
};

struct Route {
  std::string_view method;
  // Literal segments, and "{p}" project, "{id}" task, "{uid}" upload, "{name}" file.
  std::vector<std::string_view> pattern;
  Endpoint endpoint;
  Role role;
  std::vector<std::string_view> query;  // the query parameters it takes
};

const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
      {"GET", {"v1", "health"}, Endpoint::Health, Role::Read, {}},
      {"GET", {"v1", "projects", "{p}"}, Endpoint::Project, Role::Read, {}},
      {"GET", {"v1", "projects", "{p}", "ready"}, Endpoint::Ready, Role::Read, {"type", "limit"}},
      {"GET",
       {"v1", "projects", "{p}", "tasks"},
       Endpoint::ListTasks,
       Role::Read,
       {"status", "type", "all", "limit", "cursor"}},
      {"POST", {"v1", "projects", "{p}", "tasks"}, Endpoint::CreateTask, Role::Write, {}},
      {"GET", {"v1", "projects", "{p}", "tasks", "{id}"}, Endpoint::GetTask, Role::Read, {}},
      {"PATCH", {"v1", "projects", "{p}", "tasks", "{id}"}, Endpoint::PatchTask, Role::Write, {}},
      {"GET",
       {"v1", "projects", "{p}", "spec-tasks"},
       Endpoint::SpecTask,
       Role::Read,
       {"dir", "task_id"}},
      {"POST",
       {"v1", "projects", "{p}", "tasks", "{id}", "claim"},
       Endpoint::Claim,
       Role::Write,
       {}},
      {"POST",
       {"v1", "projects", "{p}", "tasks", "{id}", "close"},
       Endpoint::Close,
       Role::Write,
       {}},
      {"POST",
       {"v1", "projects", "{p}", "tasks", "{id}", "reopen"},
       Endpoint::Reopen,
       Role::Write,
       {}},
      {"POST",
       {"v1", "projects", "{p}", "tasks", "{id}", "notes"},
       Endpoint::Note,
       Role::Write,
       {}},
      {"GET",
       {"v1", "projects", "{p}", "tasks", "{id}", "dependencies"},
       Endpoint::TaskDependencies,
       Role::Read,
       {}},
      {"POST", {"v1", "projects", "{p}", "dependencies"}, Endpoint::AddDependency, Role::Write, {}},
      {"POST", {"v1", "projects", "{p}", "import"}, Endpoint::Import, Role::Write, {}},
      {"GET",
       {"v1", "projects", "{p}", "tasks", "{id}", "sessions"},
       Endpoint::TaskSessions,
       Role::Read,
       {}},
      {"PUT",
       {"v1", "projects", "{p}", "sessions", "{uid}", "files", "{name}"},
       Endpoint::PutFile,
       Role::Write,
       {}},
      {"GET",
       {"v1", "projects", "{p}", "sessions", "{uid}", "files", "{name}", "status"},
       Endpoint::FileStatus,
       Role::Read,
       {}},
      {"GET",
       {"v1", "projects", "{p}", "sessions", "{uid}", "files", "{name}"},
       Endpoint::GetFile,
       Role::Read,
       {}},
      {"PUT",
       {"v1", "projects", "{p}", "sessions", "{uid}"},
       Endpoint::PutSession,
       Role::Write,
       {}},
      {"GET", {"v1", "projects", "{p}", "sessions", "{uid}"}, Endpoint::GetSession, Role::Read, {}},
  };
  return table;
}

bool takes_json_body(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::CreateTask:
    case Endpoint::PatchTask:
    case Endpoint::Claim:
    case Endpoint::Close:
    case Endpoint::Reopen:
    case Endpoint::Note:
    case Endpoint::AddDependency:
    case Endpoint::Import:
    case Endpoint::PutSession:
      return true;
    default:
      return false;
  }
}

bool shape_matches(const Route& route, const std::vector<std::string>& segments) {
  if (route.pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i)
    if (route.pattern[i].front() != '{' && route.pattern[i] != segments[i]) return false;
  return true;
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* code_name(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    default:
      return "internal";
  }
}

ApiResponse json_response(int status, const json& body) {
  return ApiResponse{.status = status, .body = dump(body)};
}

ApiResponse error_with(int status, const char* code, const std::string& message,
                       json extra = json::object()) {
  extra["error"] = {{"code", code}, {"message", message}};
  return json_response(status, extra);
}

ApiResponse refusal(const Error& error) {
  const int status = error.code >= 400 && error.code < 600 ? error.code : 500;
  return error_response(status, error.message);
}

// A store failure: a missing project is a 404, anything else the server's own fault.
ApiResponse store_failure(const Error& error) {
  return error_response(error.code == ENOENT ? 404 : 500, error.message);
}

// A tracker failure: "no task X" is a 404, a database failure a 500, anything else the
// operation refusing (`status`: 400 for bad values, 409 for a state that does not allow it).
ApiResponse tracker_failure(const Error& error, int status) {
  if (error.message.starts_with("no task ")) return error_response(404, error.message);
  if (error.message.starts_with("tracker database")) return error_response(500, error.message);
  return error_response(status, error.message);
}

json session_json(const SessionUpload& upload) {
  json out = upload.metadata;
  out["upload_id"] = upload.uid;
  out["uploaded_at"] = upload.uploaded_at;
  out["uploaded_by"] = upload.uploaded_by;
  return out;
}

json tasks_json(const std::vector<tracker::Task>& tasks) {
  json list = json::array();
  for (const auto& task : tasks) list.push_back(tracker::to_json(task));
  return list;
}

// The keyset of the list order (priority, created_at, id): an opaque cursor resumes after it,
// whatever was created or changed meanwhile.
struct ListKey {
  std::int64_t priority = 0;
  std::string created_at, id;
  auto tie() const { return std::tie(priority, created_at, id); }
};

std::string encode_cursor(const tracker::Task& task) {
  return std::to_string(task.priority) + "~" + task.created_at + "~" + task.id;
}

std::optional<ListKey> decode_cursor(std::string_view cursor) {
  const auto first = cursor.find('~'), second = cursor.rfind('~');
  if (first == std::string_view::npos || first == second) return std::nullopt;
  auto priority = parse_decimal(cursor.substr(0, first));
  ListKey key{.created_at = std::string(cursor.substr(first + 1, second - first - 1)),
              .id = std::string(cursor.substr(second + 1))};
  if (!priority || *priority > 4 || !is_task_id(key.id) || !is_single_line(key.created_at, 64))
    return std::nullopt;
  key.priority = static_cast<std::int64_t>(*priority);
  return key;
}

std::string lowercase(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

// What prepare() learned about a request: its route, its names, who asks.
struct Api::Call {
  const ApiRequest* request = nullptr;
  Endpoint endpoint = Endpoint::Health;
  std::string project, task, uid, file;
  std::map<std::string, std::string> query;
  std::optional<TokenIdentity> identity;
  mutable bool body_consumed = false;

  std::optional<std::string> param(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
};

// Ready replies by project and query, valid while the project sees no write. A deferred task
// turns ready with time alone, so a reply is also redone once it is a second old; while one
// request redoes it, the others keep getting the old one (no pile-up behind the project lock).
class Api::ReadyCache {
 public:
  enum class Outcome : unsigned char { Hit, Refresh, Miss };
  struct Lookup {
    Outcome outcome = Outcome::Miss;
    std::string body;  // for a hit
  };

  Lookup find(const std::string& key, std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generation != generation) return {};
    auto& entry = it->second;
    const auto now = Clock::now();
    if (now - entry.made <= kReadyCacheLifetime) return {Outcome::Hit, entry.body};
    // Stale by age only: one request redoes it (a claim that lapses, should that one fail).
    if (entry.refresh_claimed && now - *entry.refresh_claimed < kRefreshClaimLifetime)
      return {Outcome::Hit, entry.body};
    entry.refresh_claimed = now;
    return {Outcome::Refresh, {}};
  }

  void keep(const std::string& key, std::uint64_t generation, std::string body) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kReadyCacheEntries) entries_.clear();
    entries_[key] = {generation, Clock::now(), std::nullopt, std::move(body)};
  }

 private:
  static constexpr std::chrono::seconds kRefreshClaimLifetime{5};
  struct Entry {
    std::uint64_t generation = 0;
    Clock::time_point made;
    std::optional<Clock::time_point> refresh_claimed;
    std::string body;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

std::string ApiRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key.size() == name.size() && lowercase(key) == lowercase(std::string(name))) return value;
  return {};
}

bool ApiRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& header) {
    return lowercase(header.first) == lowercase(std::string(name));
  });
}

ApiRequest make_request(std::string method, std::string target, std::string body,
                        std::vector<std::pair<std::string, std::string>> headers) {
  ApiRequest request{
      .method = std::move(method), .target = std::move(target), .headers = std::move(headers)};
  if (request.method != "GET") {
    if (!request.has_header("Content-Length") && !request.has_header("Transfer-Encoding"))
      request.headers.emplace_back("Content-Length", std::to_string(body.size()));
    request.read_body = [body = std::move(body)](const BodySink& sink) {
      // In pieces, as a socket delivers them.
      constexpr std::size_t kPiece = 4096;
      for (std::size_t at = 0; at < body.size(); at += kPiece)
        if (!sink(std::string_view(body).substr(at, kPiece))) return false;
      return true;
    };
  }
  return request;
}

ApiResponse error_response(int status, std::string message) {
  return error_with(status, code_name(status), message);
}

Api::Api(Store& store, ApiLimits limits)
    : store_(store), limits_(limits), ready_cache_(std::make_unique<ReadyCache>()) {}

Api::~Api() = default;

ApiResponse Api::handle(const ApiRequest& request) {
  Call call;
  ApiResponse response;
  try {
    if (auto refused = prepare(request, call))
      response = std::move(*refused);
    else
      response = dispatch(call);
  } catch (const std::exception& error) {
    response = error_response(500, std::string("internal error: ") + error.what());
  }
  response.project = call.project;
  if (call.identity) response.token_label = call.identity->label;
  response.body_unread = request.read_body && !call.body_consumed;
  return response;
}

std::optional<ApiResponse> Api::preflight(const ApiRequest& request) {
  Call call;
  std::optional<ApiResponse> response;
  try {
    response = prepare(request, call);
    if (!response && call.endpoint == Endpoint::PutFile) response = put_file_preflight(call);
    if (!response && takes_json_body(call.endpoint)) response = check_body_headers(call);
  } catch (const std::exception& error) {
    response = error_response(500, std::string("internal error: ") + error.what());
  }
  if (response) {
    response->project = call.project;
    if (call.identity) response->token_label = call.identity->label;
    response->body_unread = true;
  }
  return response;
}

namespace {

// "." and ".." segments and slashes decoded from %2F are refused before routing, so that a
// trick never ends in a 404 (or anything else) instead.
std::optional<ApiResponse> refuse_path_tricks(const Target& target) {
  for (const auto& segment : target.segments)
    if (segment == "." || segment == ".." || segment.find_first_of("/\\") != std::string::npos)
      return error_response(400, "no '.', '..' or slashes inside path segments: " + shown(segment));
  return std::nullopt;
}

const Route* find_route(const std::string& method, const std::vector<std::string>& segments) {
  for (const auto& route : routes())
    if (route.method == method && shape_matches(route, segments)) return &route;
  return nullptr;
}

// The names a route's path holds, each checked.
struct PathNames {
  std::string project, task, uid, file;
};

Result<PathNames> path_names(const Route& route, const std::vector<std::string>& segments) {
  PathNames names;
  for (std::size_t i = 0; i < route.pattern.size(); ++i) {
    const auto& segment = segments[i];
    const auto& part = route.pattern[i];
    if (part == "{p}" && !is_project_name(segment))
      return refuse(400, "not a project name: " + shown(segment));
    if (part == "{id}" && !is_task_id(segment))
      return refuse(400, "not a task id: " + shown(segment));
    if (part == "{uid}" && !is_upload_id(segment))
      return refuse(400, "not an upload id: " + shown(segment));
    if (part == "{name}" && !is_file_name(segment))
      return refuse(400, "not a file name: " + shown(segment));
    if (part == "{p}") names.project = segment;
    if (part == "{id}") names.task = segment;
    if (part == "{uid}") names.uid = segment;
    if (part == "{name}") names.file = segment;
  }
  return names;
}

// The query's parameters: only those the route takes, each once.
Result<std::map<std::string, std::string>> query_params(const Route& route, const Target& target) {
  std::map<std::string, std::string> params;
  for (const auto& [key, value] : target.query) {
    if (std::find(route.query.begin(), route.query.end(), key) == route.query.end())
      return refuse(400, "unknown query parameter " + shown(key));
    if (!params.emplace(key, value).second)
      return refuse(400, "query parameter " + shown(key) + " given twice");
  }
  return params;
}

}  // namespace

std::optional<ApiResponse> Api::prepare(const ApiRequest& request, Call& call) {
  call.request = &request;
  auto target = parse_target(request.target);
  if (!target) return error_response(400, "malformed request target");
  if (auto refused = refuse_path_tricks(*target)) return refused;
  const Route* route = find_route(request.method, target->segments);
  if (!route) return error_response(404, "no route " + request.method + " " + shown(target->path));
  call.endpoint = route->endpoint;
  auto names = path_names(*route, target->segments);
  if (!names) return refusal(names.error());
  call.project = names->project;
  call.task = names->task;
  call.uid = names->uid;
  call.file = names->file;
  if (route->endpoint == Endpoint::Health) return std::nullopt;
  if (auto refused = authorize(request, route->role, call)) return refused;
  auto params = query_params(*route, *target);
  if (!params) return refusal(params.error());
  call.query = std::move(*params);
  return std::nullopt;
}

// 401 without a known token; 403 for another project's token or too small a role.
std::optional<ApiResponse> Api::authorize(const ApiRequest& request, Role needed, Call& call) {
  const auto authorization = request.header("Authorization");
  auto token = bearer_token(authorization);
  if (!token || !is_plausible_token(*token))
    return error_response(401, "send a token: Authorization: Bearer <token>");
  auto identity = store_.find_token(*token);
  if (!identity) return error_response(500, identity.error().message);
  if (!*identity) return error_response(401, "unknown token");
  call.identity = **identity;
  if (call.identity->project != call.project)
    return error_response(403, "this token is for another project");
  if (!role_allows(call.identity->role, needed))
    return error_response(403,
                          std::string("a ") + name(call.identity->role) + " token cannot do this");
  return std::nullopt;
}

ApiResponse Api::dispatch(const Call& call) {
  if (takes_json_body(call.endpoint))
    if (auto refused = check_body_headers(call)) return *refused;
  switch (call.endpoint) {
    case Endpoint::Health:
      return json_response(200, {{"status", "ok"}, {"version", kServerVersion}});
    case Endpoint::Project:
      return project(call);
    case Endpoint::Ready:
      return ready(call);
    case Endpoint::ListTasks:
      return list_tasks(call);
    case Endpoint::CreateTask:
      return create_task(call);
    case Endpoint::GetTask:
      return get_task(call);
    case Endpoint::SpecTask:
      return spec_task(call);
    case Endpoint::PatchTask:
      return patch_task(call);
    case Endpoint::Claim:
      return claim(call);
    case Endpoint::Close:
      return close(call);
    case Endpoint::Reopen:
      return reopen(call);
    case Endpoint::Note:
      return add_note(call);
    case Endpoint::TaskDependencies:
      return task_dependencies(call);
    case Endpoint::AddDependency:
      return add_dependency(call);
    case Endpoint::Import:
      return import(call);
    case Endpoint::TaskSessions:
      return task_sessions(call);
    case Endpoint::PutFile:
      return put_file(call);
    case Endpoint::FileStatus:
      return file_status(call);
    case Endpoint::GetFile:
      return get_file(call);
    case Endpoint::PutSession:
      return put_session(call);
    case Endpoint::GetSession:
      return get_session(call);
  }
  return error_response(404, "no such endpoint");
}

// ---- bodies ----

std::optional<ApiResponse> Api::check_body_headers(const Call& call) const {
  const auto& request = *call.request;
  const auto type = request.header("Content-Type");
  if (!type.empty() && !is_json_media_type(type))
    return error_response(415, "send JSON with Content-Type: application/json");
  if (request.has_header("Content-Length")) {
    auto length = parse_decimal(request.header("Content-Length"));
    if (!length) return error_response(400, "malformed Content-Length");
    if (*length > limits_.max_json_body)
      return error_response(
          413, "a JSON body is at most " + std::to_string(limits_.max_json_body) + " bytes");
  }
  return std::nullopt;
}

namespace {

// The whole body, refused beyond `max` bytes. Error::code is the HTTP status.
Result<std::string> read_text(const ApiRequest& request, std::uint64_t max, bool& consumed) {
  std::string text;
  if (!request.read_body) {
    consumed = true;
    return text;
  }
  bool too_large = false;
  const bool whole = request.read_body([&](std::string_view bytes) {
    if (bytes.size() > max - text.size()) {
      too_large = true;
      return false;
    }
    text.append(bytes);
    return true;
  });
  if (too_large) return refuse(413, "a JSON body is at most " + std::to_string(max) + " bytes");
  if (!whole) return refuse(400, "the request body could not be read");
  consumed = true;
  return text;
}

// The body as a JSON object; an empty body reads as {}.
Result<json> read_object(const ApiRequest& request, std::uint64_t max, bool& consumed) {
  auto text = read_text(request, max, consumed);
  if (!text) return Failure{text.error()};
  if (text->empty()) return json::object();
  if (request.header("Content-Type").empty())
    return refuse(415, "send JSON with Content-Type: application/json");
  if (!json_depth_within(*text, kMaxJsonDepth))
    return refuse(400, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  auto value = json::parse(*text, nullptr, false);
  if (value.is_discarded()) return refuse(400, "malformed JSON");
  if (!value.is_object()) return refuse(400, "the body must be a JSON object");
  return value;
}

}  // namespace

// ---- projects and tasks ----

ApiResponse Api::project(const Call& call) {
  auto exists = store_.has_project(call.project);
  if (!exists) return store_failure(exists.error());
  if (!*exists) return error_response(404, "no project " + call.project);
  return json_response(200, {{"name", call.project}});
}

namespace {

Result<std::size_t> limit_param(const std::optional<std::string>& text) {
  if (!text) return kDefaultLimit;
  auto limit = parse_decimal(*text);
  if (!limit || *limit < 1 || *limit > kMaxLimit)
    return refuse(400, "limit must be a number from 1 to " + std::to_string(kMaxLimit));
  return static_cast<std::size_t>(*limit);
}

Result<std::optional<tracker::IssueType>> type_param(const std::optional<std::string>& text) {
  if (!text) return std::optional<tracker::IssueType>{};
  auto type = tracker::parse_issue_type(*text);
  if (!type) return refuse(400, "type must be epic, feature, task, bug or chore");
  return std::optional<tracker::IssueType>{type};
}

}  // namespace

ApiResponse Api::ready(const Call& call) {
  auto type = type_param(call.param("type"));
  if (!type) return refusal(type.error());
  auto limit = limit_param(call.param("limit"));
  if (!limit) return refusal(limit.error());
  const auto key =
      call.project + "\n" + (*type ? tracker::name(**type) : "") + "\n" + std::to_string(*limit);
  auto lookup = ready_cache_->find(key, store_.tracker_generation(call.project));
  if (lookup.outcome == ReadyCache::Outcome::Hit)
    return ApiResponse{.body = std::move(lookup.body)};
  auto locked = store_.tracker(call.project, Access::Read);
  if (!locked) return store_failure(locked.error());
  if (lookup.outcome == ReadyCache::Outcome::Miss) {
    // Again under the lock: a request queued behind the one that just filled it uses its reply.
    lookup = ready_cache_->find(key, locked->generation());
    if (lookup.outcome == ReadyCache::Outcome::Hit)
      return ApiResponse{.body = std::move(lookup.body)};
  }
  auto tasks = (*locked)->ready({.type = *type, .limit = *limit});
  if (!tasks) return tracker_failure(tasks.error(), 500);
  auto body = dump({{"tasks", tasks_json(*tasks)}});
  ready_cache_->keep(key, locked->generation(), body);
  return ApiResponse{.body = std::move(body)};
}

ApiResponse Api::list_tasks(const Call& call) {
  tracker::ListQuery query;
  if (auto status = call.param("status")) {
    query.status = tracker::parse_status(*status);
    if (!query.status) return error_response(400, "status must be a status name");
  }
  auto type = type_param(call.param("type"));
  if (!type) return refusal(type.error());
  query.type = *type;
  if (auto all = call.param("all")) {
    if (*all != "1" && *all != "0" && *all != "true" && *all != "false")
      return error_response(400, "all must be 1 or 0");
    query.include_closed = *all == "1" || *all == "true";
  }
  auto limit = limit_param(call.param("limit"));
  if (!limit) return refusal(limit.error());
  std::optional<ListKey> after;
  if (auto cursor = call.param("cursor")) {
    after = decode_cursor(*cursor);
    if (!after) return error_response(400, "bad cursor");
  }
  auto locked = store_.tracker(call.project, Access::Read);
  if (!locked) return store_failure(locked.error());
  auto tasks = (*locked)->list(query);
  if (!tasks) return tracker_failure(tasks.error(), 500);
  auto begin = tasks->begin();
  if (after) {
    begin = std::find_if(tasks->begin(), tasks->end(), [&](const tracker::Task& task) {
      ListKey key{.priority = task.priority, .created_at = task.created_at, .id = task.id};
      return key.tie() > after->tie();
    });
  }
  const auto count = std::min<std::size_t>(*limit, static_cast<std::size_t>(tasks->end() - begin));
  std::vector<tracker::Task> page(begin, begin + static_cast<std::ptrdiff_t>(count));
  json next = nullptr;
  if (begin + static_cast<std::ptrdiff_t>(count) != tasks->end()) next = encode_cursor(page.back());
  return json_response(200, {{"tasks", tasks_json(page)}, {"next_cursor", next}});
}

ApiResponse Api::create_task(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  auto task = new_task_from(*body);
  if (!task) return refusal(task.error());
  auto locked = store_.tracker(call.project, Access::Write);
  if (!locked) return store_failure(locked.error());
  auto created = (*locked)->create(*task);
  if (!created) return tracker_failure(created.error(), 400);
  return json_response(201, tracker::to_json(*created));
}

ApiResponse Api::get_task(const Call& call) {
  auto locked = store_.tracker(call.project, Access::Read);
  if (!locked) return store_failure(locked.error());
  auto task = (*locked)->get(call.task);
  if (!task) return tracker_failure(task.error(), 500);
  return json_response(200, tracker::to_json(*task));
}

ApiResponse Api::spec_task(const Call& call) {
  auto dir = call.param("dir");
  if (!dir || !is_single_line(*dir, kMaxTitle))
    return error_response(400, "dir: the spec's directory is required");
  const auto task_id = call.param("task_id").value_or("");
  if (!is_single_line(task_id, 64)) return error_response(400, "task_id: at most 64 characters");
  auto locked = store_.tracker(call.project, Access::Read);
  if (!locked) return store_failure(locked.error());
  auto task = (*locked)->find_by_spec(*dir, task_id);
  if (!task) return tracker_failure(task.error(), 500);
  if (!*task) return error_response(404, "no task for " + shown(*dir) + " " + shown(task_id));
  return json_response(200, tracker::to_json(**task));
}

namespace {

// Runs `change` on an existing task of the project (404 when there is none), answering with the
// task it returns; its failures answer `status`.
template <typename Change>
ApiResponse change_task(Store& store, const std::string& project, const std::string& id, int status,
                        Change change) {
  auto locked = store.tracker(project, Access::Write);
  if (!locked) return store_failure(locked.error());
  if (auto task = (*locked)->get(id); !task) return tracker_failure(task.error(), 500);
  auto changed = change(**locked);
  if (!changed) return tracker_failure(changed.error(), status);
  return json_response(200, tracker::to_json(*changed));
}

}  // namespace

ApiResponse Api::patch_task(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  auto change = task_change_from(*body);
  if (!change) return refusal(change.error());
  return change_task(store_, call.project, call.task, 400,
                     [&](tracker::Tracker& tracker) { return tracker.change(call.task, *change); });
}

ApiResponse Api::claim(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  Fields fields(*body);
  auto assignee = fields.text("assignee", kMaxName, true);
  if (fields.problem()) return error_response(400, *fields.problem());
  if (!assignee || assignee->empty()) return error_response(400, "field 'assignee': who claims it");
  return change_task(store_, call.project, call.task, 409, [&](tracker::Tracker& tracker) {
    return tracker.claim(call.task, *assignee);
  });
}

ApiResponse Api::close(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  Fields fields(*body);
  auto reason = fields.text("reason", kMaxText).value_or("");
  auto session = fields.text("session_id", 128, true).value_or("");
  if (fields.problem()) return error_response(400, *fields.problem());
  return change_task(store_, call.project, call.task, 409, [&](tracker::Tracker& tracker) {
    return tracker.close(call.task, reason, session);
  });
}

ApiResponse Api::reopen(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  return change_task(store_, call.project, call.task, 409,
                     [&](tracker::Tracker& tracker) { return tracker.reopen(call.task); });
}

ApiResponse Api::add_note(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  Fields fields(*body);
  auto note = fields.text("note", kMaxText);
  auto actor = fields.text("actor", kMaxName, true).value_or("");
  if (fields.problem()) return error_response(400, *fields.problem());
  if (!note || note->empty()) return error_response(400, "field 'note': the note is empty");
  return change_task(store_, call.project, call.task, 400, [&](tracker::Tracker& tracker) {
    return tracker.add_note(call.task, *note, actor);
  });
}

ApiResponse Api::task_dependencies(const Call& call) {
  auto locked = store_.tracker(call.project, Access::Read);
  if (!locked) return store_failure(locked.error());
  if (auto task = (*locked)->get(call.task); !task) return tracker_failure(task.error(), 500);
  auto edges = (*locked)->dependencies(call.task);
  if (!edges) return tracker_failure(edges.error(), 500);
  json list = json::array();
  for (const auto& edge : *edges) list.push_back(tracker::to_json(edge));
  return json_response(200, {{"dependencies", list}});
}

ApiResponse Api::add_dependency(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  auto edge = tracker::dependency_from_json(*body);
  if (!edge) return error_response(400, edge.error().message);
  for (const auto* id : {&edge->issue_id, &edge->depends_on_id})
    if (!is_task_id(*id)) return error_response(400, "not a task id: " + shown(*id));
  auto locked = store_.tracker(call.project, Access::Write);
  if (!locked) return store_failure(locked.error());
  for (const auto* id : {&edge->issue_id, &edge->depends_on_id})
    if (auto task = (*locked)->get(*id); !task) return tracker_failure(task.error(), 500);
  auto find_edge = [&]() -> Result<std::optional<tracker::Dependency>> {
    auto edges = (*locked)->dependencies(edge->issue_id);
    if (!edges) return Failure{edges.error()};
    auto it = std::find(edges->begin(), edges->end(), *edge);
    if (it == edges->end()) return std::optional<tracker::Dependency>{};
    return std::optional<tracker::Dependency>{*it};
  };
  auto existing = find_edge();
  if (!existing) return tracker_failure(existing.error(), 500);
  if (*existing) return json_response(200, {{"dependency", tracker::to_json(**existing)}});
  if (auto added = (*locked)->add_dependency(*edge); !added)
    return tracker_failure(added.error(), edge->issue_id == edge->depends_on_id ? 400 : 409);
  auto stored = find_edge();
  if (!stored || !*stored) return error_response(500, "the dependency was not stored");
  return json_response(201, {{"dependency", tracker::to_json(**stored)}});
}

ApiResponse Api::import(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  Fields fields(*body);
  auto spec_dir = fields.text("spec_dir", kMaxTitle, true);
  auto text = fields.text("tasks_md", limits_.max_json_body);
  if (fields.problem()) return error_response(400, *fields.problem());
  if (!spec_dir || spec_dir->empty())
    return error_response(400, "field 'spec_dir': the spec's directory");
  if (!text) return error_response(400, "field 'tasks_md': the text of tasks.md");
  const auto plan = tracker::parse_tasks_md(*text, *spec_dir);
  auto locked = store_.tracker(call.project, Access::Write);
  if (!locked) return store_failure(locked.error());
  auto report = tracker::apply_import(**locked, plan);
  if (!report) return tracker_failure(report.error(), 500);
  return json_response(200, tracker::to_json(*report));
}

// ---- sessions ----

ApiResponse Api::task_sessions(const Call& call) {
  {
    auto locked = store_.tracker(call.project, Access::Read);
    if (!locked) return store_failure(locked.error());
    if (auto task = (*locked)->get(call.task); !task) return tracker_failure(task.error(), 500);
  }
  auto sessions = store_.task_sessions(call.project, call.task);
  if (!sessions) return store_failure(sessions.error());
  json list = json::array();
  for (const auto& session : *sessions) list.push_back(session_json(session));
  return json_response(200, {{"sessions", list}});
}

ApiResponse Api::put_session(const Call& call) {
  auto body = read_object(*call.request, limits_.max_json_body, call.body_consumed);
  if (!body) return refusal(body.error());
  auto fields = session_fields_from(*body, call.uid, limits_.max_file_size);
  if (!fields) return refusal(fields.error());
  {
    auto locked = store_.tracker(call.project, Access::Read);
    if (!locked) return store_failure(locked.error());
    if (auto task = (*locked)->get(fields->task_id); !task)
      return tracker_failure(task.error(), 500);
  }
  auto held = store_.session_files(call.project, call.uid);
  if (!held) return store_failure(held.error());
  json missing = json::array();
  for (const auto& file : fields->files) {
    const bool complete = std::any_of(held->begin(), held->end(), [&](const StoredFile& have) {
      return have.name == file.name && have.sha256 == file.sha256 && have.size == file.size;
    });
    if (!complete) missing.push_back(file.name);
  }
  if (!missing.empty())
    return error_with(409, "missing_files", "upload these files first", {{"missing", missing}});
  SessionUpload upload{.uid = call.uid,
                       .task_id = fields->task_id,
                       .started_at = fields->started_at,
                       .metadata = *body,
                       .uploaded_at = tracker::iso_from_unix_ms(tracker::now_unix_ms()),
                       .uploaded_by = call.identity ? call.identity->label : ""};
  auto outcome = store_.put_session(call.project, upload);
  if (!outcome) return store_failure(outcome.error());
  return json_response(*outcome == PutOutcome::Created ? 201 : 200, session_json(upload));
}

ApiResponse Api::get_session(const Call& call) {
  auto session = store_.get_session(call.project, call.uid);
  if (!session) return store_failure(session.error());
  if (!*session) return error_response(404, "no session upload " + call.uid);
  return json_response(200, session_json(**session));
}

namespace {

// What a file PUT's headers say about the piece it carries.
struct PieceHeaders {
  UploadPiece piece;
  std::uint64_t length = 0;  // the body's bytes
};

Result<PieceHeaders> piece_headers(const ApiRequest& request, std::uint64_t max_file_size) {
  PieceHeaders headers;
  headers.piece.sha256 = lowercase(request.header("X-Sddsh-Sha256"));
  if (!tracker::is_sha256_hex(headers.piece.sha256))
    return refuse(400, "X-Sddsh-Sha256: the whole file's SHA-256 in hex is required");
  if (is_multipart_media_type(request.header("Content-Type")))
    return refuse(415, "send the file's bytes as the body, not a form");
  std::optional<std::uint64_t> length;
  if (request.has_header("Content-Length")) {
    length = parse_decimal(request.header("Content-Length"));
    if (!length) return refuse(400, "malformed Content-Length");
  }
  if (request.has_header("Content-Range")) {
    auto range = parse_content_range(request.header("Content-Range"));
    if (!range) return refuse(400, "Content-Range must be bytes START-END/TOTAL");
    headers.piece.start = range->start;
    headers.piece.total = range->total;
    headers.length = range->end - range->start + 1;
    if (length && *length != headers.length)
      return refuse(400, "Content-Length does not match Content-Range");
  } else {
    if (!length) return refuse(400, "a file PUT needs Content-Length (or Content-Range)");
    headers.piece.total = headers.length = *length;
  }
  if (headers.piece.total > max_file_size)
    return refuse(413, "a file is at most " + std::to_string(max_file_size) + " bytes");
  return headers;
}

json complete_json(const UploadState& state) {
  const auto& file = *state.file;
  return {{"name", file.name}, {"sha256", file.sha256}, {"size", file.size}, {"complete", true}};
}

// The answer to an upload that cannot take the piece, or is complete already.
std::optional<ApiResponse> settled_answer(const UploadStart& start) {
  switch (start.refusal) {
    case UploadRefusal::OffsetMismatch:
      return error_with(
          409, "offset_mismatch",
          "the server holds " + std::to_string(start.state.offset) + " bytes of this file",
          {{"offset", start.state.offset}});
    case UploadRefusal::SizeMismatch:
      return error_response(400, "the server holds these bytes (by SHA-256) with another size");
    case UploadRefusal::Busy:
      return error_response(409, "another request is still writing this file; try again");
    case UploadRefusal::None:
      break;
  }
  if (start.state.complete) return json_response(200, complete_json(start.state));
  return std::nullopt;
}

}  // namespace

std::optional<ApiResponse> Api::put_file_preflight(const Call& call) {
  auto headers = piece_headers(*call.request, limits_.max_file_size);
  if (!headers) return refusal(headers.error());
  headers->piece.project = call.project;
  headers->piece.uid = call.uid;
  headers->piece.name = call.file;
  auto start = store_.begin_upload(headers->piece);
  if (!start) return store_failure(start.error());
  return settled_answer(*start);
}

ApiResponse Api::put_file(const Call& call) {
  auto headers = piece_headers(*call.request, limits_.max_file_size);
  if (!headers) return refusal(headers.error());
  headers->piece.project = call.project;
  headers->piece.uid = call.uid;
  headers->piece.name = call.file;
  auto start = store_.begin_upload(headers->piece);
  if (!start) return store_failure(start.error());
  if (auto answer = settled_answer(*start)) return *answer;

  auto& sink = *start->sink;
  std::uint64_t received = 0;
  bool overflow = false;
  std::optional<Error> write_error;
  const bool whole =
      !call.request->read_body || call.request->read_body([&](std::string_view bytes) {
        if (bytes.size() > headers->length - received) {
          overflow = true;
          return false;
        }
        if (auto written = sink.write(bytes); !written) {
          write_error = written.error();
          return false;
        }
        received += bytes.size();
        return true;
      });
  if (write_error) return error_response(500, write_error->message);
  if (overflow) return error_response(400, "the body holds more bytes than Content-Range says");
  // A body that ended early keeps what arrived: the client resumes from there.
  if (!whole) return error_response(400, "the body ended early; resume from the status's offset");
  call.body_consumed = true;
  auto finished = sink.finish();
  if (!finished) return error_response(500, finished.error().message);
  if (finished->hash_mismatch)
    return error_response(
        400, "the file's SHA-256 is not " + headers->piece.sha256 + "; it was dropped");
  if (finished->state.complete) return json_response(200, complete_json(finished->state));
  return json_response(202, {{"offset", finished->state.offset}, {"complete", false}});
}

ApiResponse Api::file_status(const Call& call) {
  const auto sha256 = lowercase(call.request->header("X-Sddsh-Sha256"));
  if (!sha256.empty() && !tracker::is_sha256_hex(sha256))
    return error_response(400, "X-Sddsh-Sha256: a SHA-256 in hex");
  auto state = store_.upload_state(call.project, call.uid, call.file, sha256);
  if (!state) return error_response(state.error().code == EBUSY ? 409 : 500, state.error().message);
  json body = {{"offset", state->offset}, {"complete", state->complete}};
  if (state->file) {
    body["sha256"] = state->file->sha256;
    body["size"] = state->file->size;
  }
  return json_response(200, body);
}

ApiResponse Api::get_file(const Call& call) {
  auto found = store_.find_file(call.project, call.uid, call.file);
  if (!found) return store_failure(found.error());
  if (!*found) return error_response(404, "no file " + call.file + " in upload " + call.uid);
  ApiResponse response{.content_type = "application/octet-stream",
                       .file_path = (*found)->path,
                       .file_size = (*found)->file.size};
  response.headers.emplace_back("X-Sddsh-Sha256", (*found)->file.sha256);
  return response;
}

}  // namespace sddsh::server
