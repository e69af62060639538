#pragma once
// Tasks and dependencies as rows of the local tracker's tables, and back. The one place that
// knows the column order, so every query reads and writes a task the same way.
#include <string>
#include <vector>

#include "tracker-client/model.hpp"
#include "tracker-client/sqlite.hpp"

namespace sddsh::tracker {

// The columns of a task, in the order task_from_row reads them and bind_task binds them
// (?1 .. ?19).
inline constexpr const char* kTaskColumns =
    "id, title, description, issue_type, status, priority, assignee, labels, created_at, "
    "updated_at, started_at, closed_at, defer_until, close_reason, closed_by_session, spec_dir, "
    "spec_task_id, spec_phase, parallel";
inline constexpr const char* kDependencyColumns = "issue_id, depends_on_id, type, created_at";

// "SELECT <task columns> FROM issues " + rest.
std::string select_tasks(const std::string& rest);

Task task_from_row(const sqlite::Statement& row);
std::vector<Task> read_tasks(sqlite::Statement& statement);
void bind_task(sqlite::Statement& statement, const Task& task);

Dependency dependency_from_row(const sqlite::Statement& row);

}  // namespace sddsh::tracker
