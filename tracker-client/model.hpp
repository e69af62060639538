#pragma once
// The tracker's data, with Beads' names (so a Beads user feels at home and an adapter stays
// trivial): tasks ("issues") of five types, their status and priority, and typed dependencies.
// JSON field names are exactly the Beads ones; docs/tracker.md is the reference.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shell/result.hpp"

namespace sddsh::tracker {

enum class IssueType : unsigned char { Epic, Feature, Task, Bug, Chore };
enum class Status : unsigned char { Open, InProgress, Blocked, Deferred, Closed };
// `issue_id` depends on `depends_on_id`. Blocks: depends_on blocks issue. ParentChild: issue is
// the child, depends_on the parent.
enum class DependencyType : unsigned char { Blocks, ParentChild, Related, DiscoveredFrom };

// Where a task came from in a spec-kit project.
struct SpecRef {
  std::string dir;      // "specs/001-python-console-todo"
  std::string task_id;  // "T012"; empty for the epic and the phase features
  std::string phase;    // "Phase 3: User Story 1 - Add a Task"
  bool operator==(const SpecRef&) const = default;
};

struct Task {
  std::string id;  // "sd-1a2b": a prefix and a short hash, as Beads makes them
  std::string title;
  std::string description;
  IssueType issue_type = IssueType::Task;
  Status status = Status::Open;
  int priority = 2;  // 0 (highest) .. 4
  std::string assignee;
  std::vector<std::string> labels;
  std::string created_at, updated_at;  // ISO 8601 UTC with milliseconds
  std::string started_at, closed_at;   // empty when not
  std::string defer_until;             // empty: not deferred
  std::string close_reason;
  std::string closed_by_session;       // the sddsh session that closed it
  std::optional<SpecRef> spec_ref;
  bool parallel = false;  // spec-kit [P]
};

struct Dependency {
  std::string issue_id;
  std::string depends_on_id;
  DependencyType type = DependencyType::Blocks;
  std::string created_at;
  bool operator==(const Dependency& other) const {
    return issue_id == other.issue_id && depends_on_id == other.depends_on_id && type == other.type;
  }
};

// "epic", "in_progress", "parent-child", ... and back.
const char* name(IssueType type);
const char* name(Status status);
const char* name(DependencyType type);
std::optional<IssueType> parse_issue_type(std::string_view text);
std::optional<Status> parse_status(std::string_view text);
std::optional<DependencyType> parse_dependency_type(std::string_view text);

nlohmann::json to_json(const Task& task);
nlohmann::json to_json(const Dependency& dependency);
// Unknown fields are ignored; a missing or mistyped required field is an error that names it.
Result<Task> task_from_json(const nlohmann::json& value);
Result<Dependency> dependency_from_json(const nlohmann::json& value);

}  // namespace sddsh::tracker
