#include "tracker-client/model.hpp"

#include <array>
#include <utility>

namespace sddsh::tracker {

namespace {

using nlohmann::json;

// Each enum's names in the enum's order, so name() is an index and parse() a search.
constexpr std::array<const char*, 5> kIssueTypeNames{"epic", "feature", "task", "bug", "chore"};
constexpr std::array<const char*, 5> kStatusNames{"open", "in_progress", "blocked", "deferred",
                                                  "closed"};
constexpr std::array<const char*, 4> kDependencyTypeNames{"blocks", "parent-child", "related",
                                                          "discovered-from"};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<const char*, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i)
    if (text == names[i]) return static_cast<Enum>(i);
  return std::nullopt;
}

Failure field_error(const char* field, const char* expected) {
  return Failure{Error{0, std::string("field '") + field + "': expected " + expected}};
}

// Optional strings are left out of the JSON when empty, as Beads does (Go's omitempty).
void put_if_set(json& out, const char* field, const std::string& value) {
  if (!value.empty()) out[field] = value;
}

// Reads `field` into `out` when present; a value of another type is an error, null is "unset".
Result<void> read_string(const json& in, const char* field, std::string& out, bool required) {
  auto it = in.find(field);
  if (it == in.end() || it->is_null()) {
    if (required) return field_error(field, "a string");
    return {};
  }
  if (!it->is_string()) return field_error(field, "a string");
  out = it->get<std::string>();
  return {};
}

template <typename Enum>
Result<Enum> read_enum(const json& in, const char* field,
                       std::optional<Enum> (*parse)(std::string_view), const char* choices) {
  auto it = in.find(field);
  if (it == in.end() || !it->is_string()) return field_error(field, choices);
  auto value = parse(it->get<std::string>());
  if (!value) return field_error(field, choices);
  return *value;
}

Result<std::optional<SpecRef>> read_spec_ref(const json& in) {
  auto it = in.find("spec_ref");
  if (it == in.end() || it->is_null()) return std::optional<SpecRef>{};
  if (!it->is_object()) return field_error("spec_ref", "an object {dir, task_id, phase}");
  SpecRef ref;
  for (auto [field, out] : {std::pair{"dir", &ref.dir}, std::pair{"task_id", &ref.task_id},
                            std::pair{"phase", &ref.phase}})
    if (auto read = read_string(*it, field, *out, false); !read) return Failure{read.error()};
  return std::optional<SpecRef>{std::move(ref)};
}

Result<std::vector<std::string>> read_labels(const json& in) {
  std::vector<std::string> labels;
  auto it = in.find("labels");
  if (it == in.end() || it->is_null()) return labels;
  if (!it->is_array()) return field_error("labels", "an array of strings");
  for (const auto& label : *it) {
    if (!label.is_string()) return field_error("labels", "an array of strings");
    labels.push_back(label.get<std::string>());
  }
  return labels;
}

Result<int> read_priority(const json& in) {
  auto it = in.find("priority");
  if (it == in.end() || !it->is_number_integer()) return field_error("priority", "an integer 0..4");
  auto value = it->get<long long>();
  if (value < 0 || value > 4) return field_error("priority", "an integer 0..4");
  return static_cast<int>(value);
}

Result<bool> read_parallel(const json& in) {
  auto it = in.find("parallel");
  if (it == in.end() || it->is_null()) return false;
  if (!it->is_boolean()) return field_error("parallel", "true or false");
  return it->get<bool>();
}

// The plain string fields of a task, besides id and title.
Result<void> read_task_strings(const json& in, Task& task) {
  for (auto [field, out] :
       {std::pair{"description", &task.description}, std::pair{"assignee", &task.assignee},
        std::pair{"created_at", &task.created_at}, std::pair{"updated_at", &task.updated_at},
        std::pair{"started_at", &task.started_at}, std::pair{"closed_at", &task.closed_at},
        std::pair{"defer_until", &task.defer_until}, std::pair{"close_reason", &task.close_reason},
        std::pair{"closed_by_session", &task.closed_by_session}})
    if (auto read = read_string(in, field, *out, false); !read) return read;
  return {};
}

}  // namespace

const char* name(IssueType type) {
  return kIssueTypeNames.at(static_cast<std::size_t>(type));
}
const char* name(Status status) {
  return kStatusNames.at(static_cast<std::size_t>(status));
}
const char* name(DependencyType type) {
  return kDependencyTypeNames.at(static_cast<std::size_t>(type));
}

std::optional<IssueType> parse_issue_type(std::string_view text) {
  return parse_name<IssueType>(kIssueTypeNames, text);
}
std::optional<Status> parse_status(std::string_view text) {
  return parse_name<Status>(kStatusNames, text);
}
std::optional<DependencyType> parse_dependency_type(std::string_view text) {
  return parse_name<DependencyType>(kDependencyTypeNames, text);
}

json to_json(const Task& task) {
  json out = {{"id", task.id},
              {"title", task.title},
              {"description", task.description},
              {"issue_type", name(task.issue_type)},
              {"status", name(task.status)},
              {"priority", task.priority},
              {"created_at", task.created_at},
              {"updated_at", task.updated_at},
              {"parallel", task.parallel}};
  put_if_set(out, "assignee", task.assignee);
  if (!task.labels.empty()) out["labels"] = task.labels;
  put_if_set(out, "started_at", task.started_at);
  put_if_set(out, "closed_at", task.closed_at);
  put_if_set(out, "close_reason", task.close_reason);
  put_if_set(out, "closed_by_session", task.closed_by_session);
  put_if_set(out, "defer_until", task.defer_until);
  if (task.spec_ref)
    out["spec_ref"] = {{"dir", task.spec_ref->dir},
                       {"task_id", task.spec_ref->task_id},
                       {"phase", task.spec_ref->phase}};
  return out;
}

json to_json(const Dependency& dependency) {
  json out = {{"issue_id", dependency.issue_id},
              {"depends_on_id", dependency.depends_on_id},
              {"type", name(dependency.type)}};
  put_if_set(out, "created_at", dependency.created_at);
  return out;
}

Result<Task> task_from_json(const json& value) {
  if (!value.is_object()) return Failure{Error{0, "a task must be a JSON object"}};
  Task task;
  if (auto id = read_string(value, "id", task.id, true); !id) return Failure{id.error()};
  if (auto title = read_string(value, "title", task.title, true); !title)
    return Failure{title.error()};
  auto type = read_enum<IssueType>(value, "issue_type", parse_issue_type,
                                   "epic, feature, task, bug or chore");
  if (!type) return Failure{type.error()};
  task.issue_type = *type;
  auto status = read_enum<Status>(value, "status", parse_status,
                                  "open, in_progress, blocked, deferred or closed");
  if (!status) return Failure{status.error()};
  task.status = *status;
  auto priority = read_priority(value);
  if (!priority) return Failure{priority.error()};
  task.priority = *priority;
  if (auto strings = read_task_strings(value, task); !strings) return Failure{strings.error()};
  auto labels = read_labels(value);
  if (!labels) return Failure{labels.error()};
  task.labels = std::move(*labels);
  auto spec_ref = read_spec_ref(value);
  if (!spec_ref) return Failure{spec_ref.error()};
  task.spec_ref = std::move(*spec_ref);
  auto parallel = read_parallel(value);
  if (!parallel) return Failure{parallel.error()};
  task.parallel = *parallel;
  return task;
}

Result<Dependency> dependency_from_json(const json& value) {
  if (!value.is_object()) return Failure{Error{0, "a dependency must be a JSON object"}};
  Dependency dependency;
  if (auto read = read_string(value, "issue_id", dependency.issue_id, true); !read)
    return Failure{read.error()};
  if (auto read = read_string(value, "depends_on_id", dependency.depends_on_id, true); !read)
    return Failure{read.error()};
  auto type = read_enum<DependencyType>(value, "type", parse_dependency_type,
                                        "blocks, parent-child, related or discovered-from");
  if (!type) return Failure{type.error()};
  dependency.type = *type;
  if (auto read = read_string(value, "created_at", dependency.created_at, false); !read)
    return Failure{read.error()};
  return dependency;
}

}  // namespace sddsh::tracker
