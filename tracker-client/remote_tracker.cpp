#include "tracker-client/remote_tracker.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "tracker-client/sha256.hpp"

namespace sddsh::tracker {

namespace {

using nlohmann::json;

// The API's page size ceiling: lists are read a page at a time until next_cursor is null.
constexpr int kPageSize = 1000;

// Checked before a request: an id that could never exist (or would change the path) fails here.
Result<void> check_task_id(const std::string& id) {
  if (is_task_id(id)) return {};
  return Failure{Error{404, "task '" + id.substr(0, 80) + "' not found (not a valid task id)"}};
}

Result<void> check_upload_id(const std::string& id) {
  if (is_upload_name(id)) return {};
  return Failure{
      Error{404, "session upload '" + id.substr(0, 80) + "' not found (not a valid id)"}};
}

Failure shape_failure(const std::string& what) {
  return Failure{Error{0, "the tracker's reply is not what the API promises: " + what}};
}

json spec_ref_json(const SpecRef& ref) {
  return {{"dir", ref.dir}, {"task_id", ref.task_id}, {"phase", ref.phase}};
}

json new_task_json(const NewTask& task) {
  json out = {{"title", task.title},
              {"description", task.description},
              {"issue_type", name(task.issue_type)},
              {"status", name(task.status)},
              {"priority", task.priority},
              {"labels", task.labels},
              {"parallel", task.parallel}};
  if (task.spec_ref) out["spec_ref"] = spec_ref_json(*task.spec_ref);
  if (!task.parent.empty()) out["parent"] = task.parent;
  return out;
}

// Only the fields that change are sent; an absent field stays as it is on the server.
json task_change_json(const TaskChange& change) {
  json out = json::object();
  auto put = [&out](const char* field, const auto& value) {
    if (value) out[field] = *value;
  };
  put("title", change.title);
  put("description", change.description);
  put("assignee", change.assignee);
  put("defer_until", change.defer_until);
  put("priority", change.priority);
  put("labels", change.labels);
  put("parallel", change.parallel);
  if (change.status) out["status"] = name(*change.status);
  if (change.spec_ref) out["spec_ref"] = spec_ref_json(*change.spec_ref);
  return out;
}

// "?a=1&b=x" from the pairs whose value is set.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (value.empty()) continue;
    out += (out.empty() ? "?" : "&") + key + "=" + url_escape(value);
  }
  return out;
}

Result<std::optional<std::string>> read_cursor(const json& reply) {
  auto it = reply.find("next_cursor");
  if (it == reply.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return shape_failure("\"next_cursor\" must be a non-empty string or null");
  return std::optional<std::string>{it->get<std::string>()};
}

// Follows next_cursor from page to page; a server that repeats a cursor cannot loop us forever.
Result<std::vector<Task>> read_all_pages(HttpClient& http, const std::string& path,
                                         std::vector<std::pair<std::string, std::string>> query,
                                         std::size_t limit) {
  std::vector<Task> tasks;
  std::optional<std::string> cursor;
  std::vector<std::string> seen;
  for (;;) {
    auto page_query = query;
    page_query.emplace_back("cursor", cursor.value_or(""));
    auto reply = json_reply(http.request("GET", path + query_string(page_query)), {200});
    if (!reply) return Failure{reply.error()};
    auto page = decode_task_page(*reply);
    if (!page) return Failure{page.error()};
    for (auto& task : page->tasks) tasks.push_back(std::move(task));
    if (limit != 0 && tasks.size() >= limit) {
      tasks.resize(limit);
      return tasks;
    }
    if (!page->next_cursor) return tasks;
    if (std::find(seen.begin(), seen.end(), *page->next_cursor) != seen.end())
      return shape_failure("the tracker repeated a page cursor");
    seen.push_back(*page->next_cursor);
    cursor = std::move(page->next_cursor);
  }
}

// Through a temporary file and a rename: a half-written session.json never marks a session whole.
Result<void> write_text_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".part";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return system_failure("write " + temporary);
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    return system_failure("rename " + temporary);
  return {};
}

}  // namespace

namespace {

bool is_name_char(char c, bool first, bool lowercase_only) {
  const bool digit = c >= '0' && c <= '9';
  const bool lower = c >= 'a' && c <= 'z';
  const bool upper = !lowercase_only && c >= 'A' && c <= 'Z';
  if (first) return digit || lower || upper;
  return digit || lower || upper || c == '-' || c == '_' || (!lowercase_only && c == '.');
}

// ^[first][rest]{0,max-1}$ for the API's three kinds of name.
bool is_api_name(std::string_view text, std::size_t max, bool lowercase_only) {
  if (text.empty() || text.size() > max) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!is_name_char(text[i], i == 0, lowercase_only)) return false;
  return true;
}

}  // namespace

bool is_project_name(std::string_view name) {
  return is_api_name(name, 63, true);
}

bool is_task_id(std::string_view id) {
  return is_api_name(id, 64, false);
}

bool is_upload_name(std::string_view name) {
  return is_api_name(name, 128, false) && name.find("..") == std::string_view::npos;
}

Result<TaskPage> decode_task_page(const json& reply) {
  if (!reply.is_object()) return shape_failure("a list of tasks must be a JSON object");
  auto tasks = reply.find("tasks");
  if (tasks == reply.end() || !tasks->is_array())
    return shape_failure("\"tasks\" must be an array");
  TaskPage page;
  for (const auto& value : *tasks) {
    auto task = task_from_json(value);
    if (!task) return shape_failure("a task: " + task.error().message);
    page.tasks.push_back(std::move(*task));
  }
  auto cursor = read_cursor(reply);
  if (!cursor) return Failure{cursor.error()};
  page.next_cursor = std::move(*cursor);
  return page;
}

Result<std::vector<Dependency>> decode_dependencies(const json& reply) {
  auto list = reply.is_object() ? reply.find("dependencies") : reply.end();
  if (!reply.is_object() || list == reply.end() || !list->is_array())
    return shape_failure("\"dependencies\" must be an array");
  std::vector<Dependency> dependencies;
  for (const auto& value : *list) {
    auto dependency = dependency_from_json(value);
    if (!dependency) return shape_failure("a dependency: " + dependency.error().message);
    dependencies.push_back(std::move(*dependency));
  }
  return dependencies;
}

Result<std::vector<json>> decode_sessions(const json& reply) {
  auto list = reply.is_object() ? reply.find("sessions") : reply.end();
  if (!reply.is_object() || list == reply.end() || !list->is_array())
    return shape_failure("\"sessions\" must be an array");
  std::vector<json> sessions;
  for (const auto& value : *list) {
    if (!value.is_object()) return shape_failure("a session must be a JSON object");
    sessions.push_back(value);
  }
  return sessions;
}

Result<std::vector<SessionFile>> decode_session_files(const json& metadata) {
  auto list = metadata.is_object() ? metadata.find("files") : metadata.end();
  if (!metadata.is_object() || list == metadata.end() || !list->is_array())
    return shape_failure("a session's \"files\" must be an array");
  std::vector<SessionFile> files;
  for (const auto& value : *list) {
    SessionFile file;
    auto name = value.is_object() ? value.find("name") : value.end();
    auto sha256 = value.is_object() ? value.find("sha256") : value.end();
    if (!value.is_object() || name == value.end() || !name->is_string() || sha256 == value.end() ||
        !sha256->is_string())
      return shape_failure("a session file needs \"name\" and \"sha256\" strings");
    file.name = name->get<std::string>();
    file.sha256 = sha256->get<std::string>();
    // The names become paths on this machine: only flat, plain names are accepted.
    if (!is_upload_name(file.name)) return shape_failure("unsafe session file name");
    if (!is_sha256_hex(file.sha256)) return shape_failure("a session file's sha256 is not a hash");
    if (auto size = value.find("size");
        size != value.end() && size->is_number_integer() && size->get<std::int64_t>() >= 0)
      file.size = size->get<std::uint64_t>();
    files.push_back(std::move(file));
  }
  return files;
}

RemoteTracker::RemoteTracker(RemoteConfig config, RetryPolicy policy)
    : http_(std::move(config), policy) {}

HttpClient& RemoteTracker::http() {
  return http_;
}

std::string RemoteTracker::task_path(const std::string& id) const {
  return http_.project_path() + "/tasks/" + url_escape(id);
}

Result<Task> RemoteTracker::task_reply(const Result<HttpResponse>& reply,
                                       std::initializer_list<long> ok) {
  auto value = json_reply(reply, ok);
  if (!value) return Failure{value.error()};
  auto task = task_from_json(*value);
  if (!task) return shape_failure("a task: " + task.error().message);
  return task;
}

Result<std::vector<Task>> RemoteTracker::ready(const ReadyQuery& query) {
  const std::string limit =
      std::to_string(query.limit == 0 ? kPageSize : std::min<std::size_t>(query.limit, kPageSize));
  return read_all_pages(http_, http_.project_path() + "/ready",
                        {{"type", query.type ? name(*query.type) : ""}, {"limit", limit}},
                        query.limit);
}

Result<std::vector<Task>> RemoteTracker::list(const ListQuery& query) {
  return read_all_pages(http_, http_.project_path() + "/tasks",
                        {{"status", query.status ? name(*query.status) : ""},
                         {"type", query.type ? name(*query.type) : ""},
                         {"all", query.include_closed ? "1" : ""},
                         {"limit", std::to_string(kPageSize)}},
                        0);
}

Result<Task> RemoteTracker::get(const std::string& id) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  return task_reply(http_.request("GET", task_path(id)), {200});
}

Result<std::optional<Task>> RemoteTracker::find_by_spec(const std::string& dir,
                                                        const std::string& task_id) {
  auto reply = http_.request("GET", http_.project_path() + "/spec-tasks" +
                                        query_string({{"dir", dir}, {"task_id", task_id}}));
  if (reply && reply->status == 404) {
    // 404 means "no such task" only when the server says so in its error, not for a wrong route.
    auto value = json::parse(reply->body, nullptr, false);
    if (value.is_object() && value.contains("error")) return std::optional<Task>{};
  }
  auto task = task_reply(reply, {200});
  if (!task) return Failure{task.error()};
  return std::optional<Task>{std::move(*task)};
}

Result<Task> RemoteTracker::create(const NewTask& task) {
  return task_reply(
      http_.request("POST", http_.project_path() + "/tasks", new_task_json(task).dump()),
      {200, 201});
}

Result<Task> RemoteTracker::change(const std::string& id, const TaskChange& change) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  return task_reply(http_.request("PATCH", task_path(id), task_change_json(change).dump()), {200});
}

Result<Task> RemoteTracker::claim(const std::string& id, const std::string& assignee) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  return task_reply(
      http_.request("POST", task_path(id) + "/claim", json{{"assignee", assignee}}.dump()), {200});
}

Result<Task> RemoteTracker::close(const std::string& id, const std::string& reason,
                                  const std::string& session_id) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  const json body = {{"reason", reason}, {"session_id", session_id}};
  return task_reply(http_.request("POST", task_path(id) + "/close", body.dump()), {200});
}

Result<Task> RemoteTracker::reopen(const std::string& id) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  return task_reply(http_.request("POST", task_path(id) + "/reopen", "{}"), {200});
}

Result<Task> RemoteTracker::add_note(const std::string& id, const std::string& note,
                                     const std::string& actor) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  const json body = {{"note", note}, {"actor", actor}};
  return task_reply(http_.request("POST", task_path(id) + "/notes", body.dump()), {200, 201});
}

Result<void> RemoteTracker::add_dependency(const Dependency& dependency) {
  auto reply = json_reply(
      http_.request("POST", http_.project_path() + "/dependencies", to_json(dependency).dump()),
      {200, 201});
  if (!reply) return Failure{reply.error()};
  return {};
}

Result<std::vector<Dependency>> RemoteTracker::dependencies(const std::string& id) {
  if (auto valid = check_task_id(id); !valid) return Failure{valid.error()};
  auto reply = json_reply(http_.request("GET", task_path(id) + "/dependencies"), {200});
  if (!reply) return Failure{reply.error()};
  return decode_dependencies(*reply);
}

Result<json> RemoteTracker::import_tasks_md(const std::string& spec_dir, const std::string& text) {
  const json body = {{"spec_dir", spec_dir}, {"tasks_md", text}};
  auto reply =
      json_reply(http_.request("POST", http_.project_path() + "/import", body.dump()), {200, 201});
  if (reply && !reply->is_object()) return shape_failure("an import report must be an object");
  return reply;
}

Result<std::vector<json>> RemoteTracker::task_sessions(const std::string& task_id) {
  if (auto valid = check_task_id(task_id); !valid) return Failure{valid.error()};
  auto reply = json_reply(http_.request("GET", task_path(task_id) + "/sessions"), {200});
  if (!reply) return Failure{reply.error()};
  return decode_sessions(*reply);
}

Result<json> RemoteTracker::session(const std::string& upload_id) {
  if (auto valid = check_upload_id(upload_id); !valid) return Failure{valid.error()};
  auto reply = json_reply(
      http_.request("GET", http_.project_path() + "/sessions/" + url_escape(upload_id)), {200});
  if (reply && !reply->is_object()) return shape_failure("a session must be a JSON object");
  return reply;
}

Result<void> RemoteTracker::fetch_session(const std::string& upload_id,
                                          const std::string& dest_dir) {
  auto metadata = session(upload_id);
  if (!metadata) return Failure{metadata.error()};
  auto files = decode_session_files(*metadata);
  if (!files) return Failure{files.error()};
  std::error_code error;
  std::filesystem::create_directories(dest_dir, error);
  if (error) return Failure{Error{error.value(), "create " + dest_dir + ": " + error.message()}};
  auto listed = [&](const char* name) {
    return std::any_of(files->begin(), files->end(),
                       [name](const SessionFile& file) { return file.name == name; });
  };
  // The upload's own metadata (with the server's uploaded_at/uploaded_by) is kept beside the
  // files; it stands in for session.json when the upload did not include one.
  const std::string text = metadata->dump(2) + "\n";
  if (!listed("upload.json"))
    if (auto written = write_text_file(dest_dir + "/upload.json", text); !written) return written;
  // session.json comes last: a directory that has it holds the whole session.
  std::stable_partition(files->begin(), files->end(),
                        [](const SessionFile& file) { return file.name != "session.json"; });
  const std::string files_path =
      http_.project_path() + "/sessions/" + url_escape(upload_id) + "/files/";
  for (const auto& file : *files) {
    auto fetched =
        http_.download(files_path + url_escape(file.name), dest_dir + "/" + file.name, file.sha256);
    if (!fetched) return fetched;
  }
  if (listed("session.json")) return {};
  return write_text_file(dest_dir + "/session.json", text);
}

}  // namespace sddsh::tracker
