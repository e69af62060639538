#pragma once
// spec-kit's tasks.md → an epic (the spec dir), a feature per phase, a task per checklist line,
// with the blocking edges spec-kit's phases and prose imply. Parsing is pure (fuzzed); applying
// goes through the Tracker interface and is idempotent. docs/speckit-import.md is the reference.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tracker-client/tracker.hpp"

namespace sddsh::tracker {

struct PlannedTask {
  std::string task_id;      // "T012"
  std::string title;        // the line's description, backticks kept
  std::string description;  // the indented lines under the task line, if any
  bool done = false;        // [x]
  bool parallel = false;    // [P]
  std::string story;        // "US1", or empty
  int line = 0;
};

enum class PhaseKind : unsigned char { Setup, Foundational, Story, Polish, Other };

struct PlannedPhase {
  std::string title;  // "Phase 3: User Story 1 - Add a Task" (the priority annotation cut off)
  PhaseKind kind = PhaseKind::Other;
  std::string story;  // "US1" for a story phase
  int priority = 2;   // "(Priority: P1)" → 1; see docs for the other phases
  std::vector<PlannedTask> tasks;
  int line = 0;
  // Every task ticked (and at least one task): the phase imports closed.
  bool done() const;
};

// One end of a blocking edge: a task by its T-id, or a phase by its index in ImportPlan::phases.
struct PlanRef {
  std::string task_id;  // empty: the phase `phase`
  std::size_t phase = 0;
  bool operator==(const PlanRef&) const = default;
};

// `blocker` blocks `blocked`: from the phase order, or from prose ("T014 depends on T012",
// "User Story 3 … Depends on US1").
struct PlannedBlock {
  PlanRef blocked, blocker;
  int line = 0;  // where it was said (a phase edge: the blocked phase's heading)
};

struct ImportProblem {
  int line = 0;
  std::string message;  // "checklist line without a task id (T###); skipped"
};

struct ImportPlan {
  std::string spec_dir;  // "specs/001-python-console-todo"
  std::string title;     // from "# Tasks: …"
  std::vector<PlannedPhase> phases;
  std::vector<PlannedBlock> blocks;  // no duplicates; every ref resolved
  std::vector<ImportProblem> problems;

  bool done() const;     // every phase done (and at least one phase): the epic imports closed
  int priority() const;  // the epic's: its most urgent phase's
  std::size_t task_count() const;
};

// Parses a tasks.md text. `spec_dir` names the epic (the directory holding tasks.md). Never
// throws on any input: what it cannot read becomes a problem with its line number.
ImportPlan parse_tasks_md(std::string_view text, const std::string& spec_dir);

struct ImportCounts {
  int created = 0, updated = 0, unchanged = 0;
};

// A task (or a phase's feature) the tracker has for this spec dir that the file no longer
// lists. It is kept, not deleted: it may hold notes and sessions.
struct VanishedTask {
  std::string task_id;  // "T031"; empty for a phase
  std::string id;       // the tracker's id
  std::string title;
};

struct ImportReport {
  std::string epic_id;
  ImportCounts epic, features, tasks;
  int edges_added = 0;
  std::vector<VanishedTask> vanished;
  std::vector<ImportProblem> problems;  // the plan's, then any found while applying
};

// Creates or updates the epic, features, tasks and edges of `plan`, matched by spec dir (the
// epic), spec dir + phase (features) and spec dir + T-id (tasks): a second import of the same
// file changes nothing. Fails only when the tracker does.
Result<ImportReport> apply_import(Tracker& tracker, const ImportPlan& plan);

}  // namespace sddsh::tracker
