#include "tracker-server/request_bodies.hpp"

#include <set>

#include "tracker-client/sha256.hpp"
#include "tracker-client/timestamps.hpp"
#include "tracker-server/validate.hpp"

namespace sddsh::server {

namespace {

using nlohmann::json;

std::string range(std::int64_t low, std::int64_t high) {
  return "an integer from " + std::to_string(low) + " to " + std::to_string(high);
}

// The uploaded files a session's metadata lists.
Result<std::vector<StoredFile>> listed_files(const json& body, std::uint64_t max_size) {
  auto it = body.find("files");
  if (it == body.end() || !it->is_array() || it->size() > kMaxListItems)
    return refuse(400, "field 'files': expected an array of {name, sha256, size}");
  std::vector<StoredFile> files;
  std::set<std::string> names;
  for (const auto& entry : *it) {
    if (!entry.is_object())
      return refuse(400, "field 'files': expected objects {name, sha256, size}");
    Fields fields(entry);
    auto name = fields.text("name", 128, true);
    auto sha256 = fields.text("sha256", 64, true);
    auto size = fields.integer("size", 0, static_cast<std::int64_t>(max_size));
    if (fields.problem()) return refuse(400, "field 'files': " + *fields.problem());
    if (!name || !is_file_name(*name))
      return refuse(400, "field 'files': a file needs a flat name");
    if (!sha256 || !tracker::is_sha256_hex(*sha256))
      return refuse(400, "field 'files': " + *name + " needs a lowercase hex SHA-256");
    if (!size) return refuse(400, "field 'files': " + *name + " needs a size");
    if (!names.insert(*name).second)
      return refuse(400, "field 'files': " + *name + " is listed twice");
    files.push_back({.name = *name, .sha256 = *sha256, .size = static_cast<std::uint64_t>(*size)});
  }
  return files;
}

}  // namespace

Failure refuse(int status, std::string message) {
  return Failure{Error{status, std::move(message)}};
}

std::string shown(std::string_view value) {
  auto text =
      json(std::string(value.substr(0, 80))).dump(-1, ' ', true, json::error_handler_t::replace);
  return value.size() > 80 ? text + "…" : text;
}

std::optional<std::string> Fields::text(const char* name, std::size_t max_length, bool one_line) {
  const auto* value = find(name);
  if (!value) return std::nullopt;
  if (!value->is_string()) return wrong(name, "a string");
  auto text = value->get<std::string>();
  if (one_line ? !is_single_line(text, max_length) : text.size() > max_length)
    return wrong(name, one_line ? "one line of at most " + std::to_string(max_length) + " bytes"
                                : "at most " + std::to_string(max_length) + " bytes");
  return text;
}

std::optional<std::int64_t> Fields::integer(const char* name, std::int64_t low, std::int64_t high) {
  const auto* value = find(name);
  if (!value) return std::nullopt;
  if (!value->is_number_integer()) return wrong(name, "an integer");
  if (value->is_number_unsigned() && value->get<std::uint64_t>() > static_cast<std::uint64_t>(high))
    return wrong(name, range(low, high));
  const auto number = value->get<std::int64_t>();
  if (number < low || number > high) return wrong(name, range(low, high));
  return number;
}

std::optional<bool> Fields::boolean(const char* name) {
  const auto* value = find(name);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) return wrong(name, "true or false");
  return value->get<bool>();
}

std::optional<std::vector<std::string>> Fields::strings(const char* name) {
  const auto* value = find(name);
  if (!value) return std::nullopt;
  if (!value->is_array() || value->size() > kMaxListItems)
    return wrong(name, "an array of strings");
  std::vector<std::string> items;
  for (const auto& item : *value) {
    if (!item.is_string() || !is_single_line(item.get_ref<const std::string&>(), kMaxName))
      return wrong(name, "an array of one-line strings");
    items.push_back(item.get<std::string>());
  }
  return items;
}

std::optional<tracker::SpecRef> Fields::spec_ref(const char* name) {
  const auto* value = find(name);
  if (!value) return std::nullopt;
  if (!value->is_object()) return wrong(name, "an object {dir, task_id, phase}");
  Fields inner(*value);
  tracker::SpecRef ref{.dir = inner.text("dir", kMaxTitle, true).value_or(""),
                       .task_id = inner.text("task_id", 64, true).value_or(""),
                       .phase = inner.text("phase", kMaxTitle, true).value_or("")};
  if (inner.problem_) return wrong(name, "an object {dir, task_id, phase}: " + *inner.problem_);
  return ref;
}

const json* Fields::find(const char* name) const {
  auto it = object_.find(name);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

std::nullopt_t Fields::wrong(const char* name, const std::string& expected) {
  if (!problem_) problem_ = std::string("field '") + name + "': expected " + expected;
  return std::nullopt;
}

Result<tracker::NewTask> new_task_from(const json& body) {
  Fields fields(body);
  tracker::NewTask task;
  task.title = fields.text("title", kMaxTitle).value_or("");
  task.description = fields.text("description", kMaxText).value_or("");
  task.issue_type =
      fields.named("issue_type", tracker::parse_issue_type, "epic, feature, task, bug or chore")
          .value_or(tracker::IssueType::Task);
  task.status = fields.named("status", tracker::parse_status, "a status name")
                    .value_or(tracker::Status::Open);
  task.priority = static_cast<int>(fields.integer("priority", 0, 4).value_or(2));
  task.labels = fields.strings("labels").value_or(std::vector<std::string>{});
  task.spec_ref = fields.spec_ref("spec_ref");
  task.parallel = fields.boolean("parallel").value_or(false);
  task.parent = fields.text("parent", 64, true).value_or("");
  if (fields.problem()) return refuse(400, *fields.problem());
  if (task.title.empty()) return refuse(400, "field 'title': a task needs a title");
  if (!task.parent.empty() && !is_task_id(task.parent))
    return refuse(400, "field 'parent': not a task id: " + shown(task.parent));
  return task;
}

Result<tracker::TaskChange> task_change_from(const json& body) {
  Fields fields(body);
  tracker::TaskChange change;
  change.title = fields.text("title", kMaxTitle);
  change.description = fields.text("description", kMaxText);
  change.assignee = fields.text("assignee", kMaxName, true);
  change.defer_until = fields.text("defer_until", 64, true);
  change.status = fields.named("status", tracker::parse_status, "a status name");
  if (auto priority = fields.integer("priority", 0, 4))
    change.priority = static_cast<int>(*priority);
  change.labels = fields.strings("labels");
  change.parallel = fields.boolean("parallel");
  change.spec_ref = fields.spec_ref("spec_ref");
  if (fields.problem()) return refuse(400, *fields.problem());
  if (change.title && change.title->empty())
    return refuse(400, "field 'title': a task needs a title");
  if (change.defer_until && !change.defer_until->empty() &&
      !tracker::unix_ms_from_iso(*change.defer_until))
    return refuse(400, "field 'defer_until': not an ISO 8601 UTC time");
  return change;
}

Result<SessionFields> session_fields_from(const json& body, const std::string& uid,
                                          std::uint64_t max_size) {
  Fields fields(body);
  auto session_id = fields.text("session_id", 128, true);
  auto task_id = fields.text("task_id", 64, true);
  auto segment = fields.integer("segment", 0, 1'000'000);
  auto started_at = fields.text("started_at", 64, true);
  for (const char* name : {"agent", "ended_at"}) fields.text(name, kMaxTitle, true);
  if (fields.problem()) return refuse(400, *fields.problem());
  if (!session_id || !is_upload_id(*session_id))
    return refuse(400, "field 'session_id': expected a session id");
  if (!task_id || !is_task_id(*task_id)) return refuse(400, "field 'task_id': expected a task id");
  if (!segment) return refuse(400, "field 'segment': expected the segment's index");
  if (uid != *session_id + "." + std::to_string(*segment))
    return refuse(400, "the upload id must be <session_id>.<segment>: " + *session_id + "." +
                           std::to_string(*segment));
  auto files = listed_files(body, max_size);
  if (!files) return Failure{files.error()};
  return SessionFields{
      .task_id = *task_id, .started_at = started_at.value_or(""), .files = std::move(*files)};
}

}  // namespace sddsh::server
