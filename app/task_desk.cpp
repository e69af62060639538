#include "app/task_desk.hpp"

#include "app/task_commands.hpp"

namespace sddsh::app {

namespace {

// The ready tasks the panel lists at most: more would not fit anyway.
constexpr std::size_t kQueueLimit = 50;

tui::QueuedTask queued(const tracker::Task& task) {
  return {.id = task.id,
          .title = task.title,
          .phase = task.spec_ref ? task.spec_ref->phase : "",
          .priority = task.priority,
          .parallel = task.parallel};
}

}  // namespace

TrackerDesk::TrackerDesk(std::unique_ptr<tracker::Tracker> tracker,
                         recorder::SessionRecorder* recorder, std::string actor,
                         std::string session_id)
    : tracker_(std::move(tracker)),
      recorder_(recorder),
      actor_(std::move(actor)),
      session_id_(std::move(session_id)) {}

Result<tracker::Tracker*> TrackerDesk::opened() {
  if (!tracker_) {
    auto tracker = open_tracker();
    if (!tracker) return Failure{tracker.error()};
    tracker_ = std::move(*tracker);
  }
  return tracker_.get();
}

Result<std::vector<tui::QueuedTask>> TrackerDesk::ready() {
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  auto tasks = (*tracker)->ready({.type = tracker::IssueType::Task, .limit = kQueueLimit});
  if (!tasks) return Failure{tasks.error()};
  std::vector<tui::QueuedTask> queue;
  for (const auto& task : *tasks)
    if (!current_ || task.id != current_->id) queue.push_back(queued(task));
  return queue;
}

Result<std::string> TrackerDesk::start(const std::string& id) {
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  auto task = (*tracker)->claim(id, actor_);
  if (!task) return Failure{task.error()};
  if (recorder_) recorder_->switch_task(id);
  current_ = queued(*task);
  return task_brief(*task);
}

Result<void> TrackerDesk::finish_current() {
  if (!current_) return Failure{Error{0, "no current task"}};
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  auto closed = (*tracker)->close(current_->id, "done", session_id_);
  if (!closed) return Failure{closed.error()};
  if (recorder_) recorder_->switch_task(std::nullopt);
  current_.reset();
  return {};
}

Result<void> TrackerDesk::begin_with(const std::string& id) {
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  auto task = (*tracker)->claim(id, actor_);
  if (!task) return Failure{task.error()};
  current_ = queued(*task);
  return {};
}

}  // namespace sddsh::app
