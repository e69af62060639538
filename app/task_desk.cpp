#include "app/task_desk.hpp"

#include "app/session_text.hpp"
#include "app/task_commands.hpp"
#include "tracker-client/remote_tracker.hpp"

namespace sddsh::app {

namespace {

// The ready tasks the panel lists at most: more would not fit anyway.
constexpr std::size_t kQueueLimit = 50;
// How often a remote queue is read when nothing asks sooner.
constexpr std::chrono::seconds kRemoteQueuePeriod{10};

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
                         std::string session_id, std::string ca_file)
    : tracker_(std::move(tracker)),
      recorder_(recorder),
      actor_(std::move(actor)),
      session_id_(std::move(session_id)),
      ca_file_(std::move(ca_file)) {}

TrackerDesk::~TrackerDesk() = default;

Result<tracker::Tracker*> TrackerDesk::opened() {
  if (tracker_ && remote_checked_) return tracker_.get();
  auto remote = tracker::load_remote_config(ca_file_);
  if (!remote) return Failure{remote.error()};
  remote_checked_ = true;
  // Only the panel reads the queue (ready()): that is where the fetcher starts. A tracker handed
  // over (--task claimed with it before the session) is remote or not as the configuration says.
  remote_ = *remote;
  if (tracker_) return tracker_.get();
  if (*remote) {
    tracker_ = std::make_unique<tracker::RemoteTracker>(**remote, kInteractiveRetryPolicy);
    return tracker_.get();
  }
  auto tracker = open_tracker(ca_file_);
  if (!tracker) return Failure{tracker.error()};
  tracker_ = std::move(*tracker);
  return tracker_.get();
}

void TrackerDesk::read_remote_queue_in_background(const tracker::RemoteConfig& config) {
  // Its own client: a curl handle belongs to one thread.
  auto reader = std::make_shared<tracker::RemoteTracker>(config, kInteractiveRetryPolicy);
  fetcher_ = std::make_unique<QueueFetcher>(
      [reader] { return reader->ready({.type = tracker::IssueType::Task, .limit = kQueueLimit}); },
      kRemoteQueuePeriod);
}

Result<std::vector<tui::QueuedTask>> TrackerDesk::ready() {
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  std::vector<tracker::Task> tasks;
  if (remote_ && !fetcher_) read_remote_queue_in_background(*remote_);
  if (fetcher_) {
    // The last list that came; status() says when it is stale.
    auto snapshot = fetcher_->snapshot();
    if (!snapshot.tasks && !snapshot.error.empty()) return Failure{Error{0, snapshot.error}};
    if (snapshot.tasks) tasks = std::move(*snapshot.tasks);
  } else {
    auto read = (*tracker)->ready({.type = tracker::IssueType::Task, .limit = kQueueLimit});
    if (!read) return Failure{read.error()};
    tasks = std::move(*read);
  }
  std::vector<tui::QueuedTask> queue;
  for (const auto& task : tasks)
    if (!current_ || task.id != current_->id) queue.push_back(queued(task));
  return queue;
}

Result<std::string> TrackerDesk::start(const std::string& id) {
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  auto task = (*tracker)->claim(id, actor_);
  if (fetcher_) fetcher_->refresh_now();  // claimed or not, the queue has news
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
  if (fetcher_) fetcher_->refresh_now();
  if (recorder_) recorder_->switch_task(std::nullopt);
  current_.reset();
  return {};
}

Result<std::string> TrackerDesk::begin_with(const std::string& id) {
  auto tracker = opened();
  if (!tracker) return Failure{tracker.error()};
  auto task = (*tracker)->claim(id, actor_);
  if (!task) return Failure{task.error()};
  current_ = queued(*task);
  return task_brief(*task);
}

tui::DeskStatus TrackerDesk::status() const {
  tui::DeskStatus status;
  if (fetcher_) {
    const auto snapshot = fetcher_->snapshot();
    status.generation = snapshot.generation;
    status.busy = snapshot.pending;
    if (!snapshot.error.empty()) {
      status.stale = snapshot.tasks.has_value();
      status.queue_note = snapshot.tasks ? "stale, from " + local_time(snapshot.fetched_unix_ms, "%H:%M:%S") +
                                               ": " + snapshot.error
                                         : snapshot.error;
    }
  }
  if (describe_uploads_) describe_uploads_(status);
  return status;
}

}  // namespace sddsh::app
