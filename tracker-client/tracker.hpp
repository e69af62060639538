#pragma once
// What sddsh asks of a tracker. The local one (SQLite in the session store) implements it now;
// the HTTP client of a remote tracker implements the same interface later.
#include <optional>
#include <string>
#include <vector>

#include "shell/result.hpp"
#include "tracker-client/model.hpp"

namespace sddsh::tracker {

struct ReadyQuery {
  std::optional<IssueType> type;  // only this type (the panel and `tasks --ready` use Task)
  std::size_t limit = 0;          // 0: all
};

struct ListQuery {
  std::optional<Status> status;
  std::optional<IssueType> type;
  bool include_closed = false;
};

struct NewTask {
  std::string title;
  std::string description;
  IssueType issue_type = IssueType::Task;
  Status status = Status::Open;
  int priority = 2;
  std::vector<std::string> labels;
  std::optional<SpecRef> spec_ref;
  bool parallel = false;
  std::string parent;  // adds a parent-child edge to it when set
};

// Fields to change; unset ones stay as they are.
struct TaskChange {
  std::optional<std::string> title, description, assignee, defer_until;
  std::optional<Status> status;
  std::optional<int> priority;
  std::optional<std::vector<std::string>> labels;
  std::optional<bool> parallel;
  std::optional<SpecRef> spec_ref;
};

class Tracker {
 public:
  virtual ~Tracker() = default;

  // Open tasks nothing holds back, by priority, then age, then id (see docs/tracker.md).
  virtual Result<std::vector<Task>> ready(const ReadyQuery& query) = 0;
  virtual Result<std::vector<Task>> list(const ListQuery& query) = 0;
  virtual Result<Task> get(const std::string& id) = 0;
  // The task whose spec_ref has this dir and task id (an imported task), if any. An empty task id
  // finds the spec's epic (not one of its phase features, which share the empty id).
  virtual Result<std::optional<Task>> find_by_spec(const std::string& dir, const std::string& task_id) = 0;

  virtual Result<Task> create(const NewTask& task) = 0;
  virtual Result<Task> change(const std::string& id, const TaskChange& change) = 0;
  // Atomically: open (or already mine) and unassigned (or mine) → in_progress, assignee, started_at.
  // Fails with "already claimed by X" (or "is closed", ...) otherwise; two claimers never both win.
  virtual Result<Task> claim(const std::string& id, const std::string& assignee) = 0;
  // Closes it; a phase feature (and then its epic) closes by itself when its last child closes.
  virtual Result<Task> close(const std::string& id, const std::string& reason,
                             const std::string& session_id) = 0;
  // Opens a closed task again (and its parents, if they had closed by themselves).
  virtual Result<Task> reopen(const std::string& id) = 0;
  // A note goes into the description's end, with a time stamp and who wrote it (`actor`, may be
  // empty): "\n\n[2025-03-04T05:06:07.089Z alice] note".
  virtual Result<Task> add_note(const std::string& id, const std::string& note,
                                const std::string& actor) = 0;

  virtual Result<void> add_dependency(const Dependency& dependency) = 0;
  // Every edge touching `id`, either side.
  virtual Result<std::vector<Dependency>> dependencies(const std::string& id) = 0;
};

}  // namespace sddsh::tracker
