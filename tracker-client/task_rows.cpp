#include "tracker-client/task_rows.hpp"

#include <cstdint>
#include <optional>

namespace sddsh::tracker {

namespace {

using nlohmann::json;

// Labels are a JSON array in one column: they are read with their task, never searched.
std::string labels_text(const std::vector<std::string>& labels) {
  return json(labels).dump();
}

std::vector<std::string> labels_from_text(const std::string& text) {
  json labels = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!labels.is_array()) return out;
  for (const auto& label : labels)
    if (label.is_string()) out.push_back(label.get<std::string>());
  return out;
}

std::optional<std::string> spec_part(const std::optional<SpecRef>& ref,
                                     std::string SpecRef::*part) {
  if (!ref) return std::nullopt;
  return (*ref).*part;
}

}  // namespace

std::string select_tasks(const std::string& rest) {
  return std::string("SELECT ") + kTaskColumns + " FROM issues " + rest;
}

Task task_from_row(const sqlite::Statement& row) {
  Task task;
  task.id = row.text(0);
  task.title = row.text(1);
  task.description = row.text(2);
  task.issue_type = parse_issue_type(row.text(3)).value_or(IssueType::Task);
  task.status = parse_status(row.text(4)).value_or(Status::Open);
  task.priority = static_cast<int>(row.integer(5));
  task.assignee = row.text(6);
  task.labels = labels_from_text(row.text(7));
  task.created_at = row.text(8);
  task.updated_at = row.text(9);
  task.started_at = row.text(10);
  task.closed_at = row.text(11);
  task.defer_until = row.text(12);
  task.close_reason = row.text(13);
  task.closed_by_session = row.text(14);
  if (!row.is_null(15)) task.spec_ref = SpecRef{row.text(15), row.text(16), row.text(17)};
  task.parallel = row.integer(18) != 0;
  return task;
}

std::vector<Task> read_tasks(sqlite::Statement& statement) {
  std::vector<Task> tasks;
  while (statement.step()) tasks.push_back(task_from_row(statement));
  return tasks;
}

void bind_task(sqlite::Statement& statement, const Task& task) {
  statement.bind(1, task.id).bind(2, task.title).bind(3, task.description);
  statement.bind(4, name(task.issue_type)).bind(5, name(task.status));
  statement.bind(6, std::int64_t{task.priority}).bind(7, task.assignee);
  statement.bind(8, labels_text(task.labels)).bind(9, task.created_at).bind(10, task.updated_at);
  statement.bind(11, task.started_at).bind(12, task.closed_at).bind(13, task.defer_until);
  statement.bind(14, task.close_reason).bind(15, task.closed_by_session);
  statement.bind_or_null(16, spec_part(task.spec_ref, &SpecRef::dir));
  statement.bind_or_null(17, spec_part(task.spec_ref, &SpecRef::task_id));
  statement.bind_or_null(18, spec_part(task.spec_ref, &SpecRef::phase));
  statement.bind(19, std::int64_t{task.parallel ? 1 : 0});
}

Dependency dependency_from_row(const sqlite::Statement& row) {
  return Dependency{row.text(0), row.text(1),
                    parse_dependency_type(row.text(2)).value_or(DependencyType::Related),
                    row.text(3)};
}

}  // namespace sddsh::tracker
