#pragma once
// How the task commands write tasks for people: the `sddsh tasks` table, `sddsh task show`,
// and the brief an agent starts from. Pure functions of their inputs (no terminal, no tracker),
// so tests can compare their text.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tracker-client/model.hpp"

namespace sddsh::app {

struct TextStyle {
  std::size_t width = 0;  // columns to fit in; 0: no limit (output that is not a terminal)
  bool colour = false;
};

// One line per task under a header: id, priority, type, status, the assignee and the spec-kit
// phase when any task has one, and the title cut to fit the width.
std::string task_table(const std::vector<tracker::Task>& tasks, const TextStyle& style);

// An edge of the shown task, with the task at its other end when it still exists.
struct TaskEdge {
  tracker::Dependency dependency;
  std::optional<tracker::Task> other;
};

// `sddsh task show`: the fields, the description, then what the task waits for and what waits
// for it.
std::string task_details(const tracker::Task& task, const std::vector<TaskEdge>& edges,
                         const TextStyle& style);

// The brief of `task_brief()`, with the spec files that exist already found.
std::string brief_text(const tracker::Task& task, const std::vector<std::string>& spec_files);

// "Phase 3: User Story 1 - Add a Task" → "Phase 3"; text without a colon stays whole.
std::string short_phase(const std::string& phase);

}  // namespace sddsh::app
