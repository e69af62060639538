#pragma once
// The task queue as the TUI sees it: ready work, the session's current task, and the two things
// the user does from the panel (start a task, mark it done). The app implements it on top of the
// tracker and the recorder; the TUI knows neither.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::tui {

struct QueuedTask {
  std::string id;
  std::string title;
  std::string phase;  // spec-kit phase, or empty
  int priority = 2;
  bool parallel = false;  // [P]
};

// How current the queue is and how the session's uploads go, for the panel.
struct DeskStatus {
  bool stale = false;          // the queue shown is the last good one: the tracker did not answer
  std::string queue_note;      // why, and since when; empty when all is well
  std::string uploads;         // "2 uploads queued", "uploading 45%"; empty: nothing to say
  bool uploads_alert = false;  // an upload failed, or the server is down
  std::uint64_t generation = 0;  // changes when a newer queue can be read with ready()
  // Something is on its way (a queue asked for, an upload going): the panel looks again every
  // second instead of every minute.
  bool busy = false;
  bool operator==(const DeskStatus&) const = default;
};

class TaskDesk {
 public:
  virtual ~TaskDesk() = default;
  // Ready tasks in the tracker's order (priority, then age).
  virtual Result<std::vector<QueuedTask>> ready() = 0;
  virtual std::optional<QueuedTask> current() const = 0;
  // Claims the task and makes it the session's current one. Returns the brief for the agent.
  virtual Result<std::string> start(const std::string& id) = 0;
  // Closes the current task as done by this session.
  virtual Result<void> finish_current() = 0;
  // Cheap and never blocking: the panel asks every second.
  virtual DeskStatus status() const { return {}; }
  // The user asked for a fresh queue: a desk that reads it in the background starts now (the
  // answer shows through status().generation). Never blocks.
  virtual void refresh() {}
};

}  // namespace sddsh::tui
