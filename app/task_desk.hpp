#pragma once
// The TUI's task queue on top of the tracker and the recorder: starting a task claims it and
// opens a segment of the session for it; marking it done closes it as done by this session.
#include <memory>
#include <optional>
#include <string>

#include "recorder/session_recorder.hpp"
#include "tracker-client/tracker.hpp"
#include "tui/task_desk.hpp"

namespace sddsh::app {

class TrackerDesk final : public tui::TaskDesk {
 public:
  // `tracker` may be null: it is then opened on first use, once the session runs (opening
  // SQLite before the terminal is raw would let early keys be echoed by the line discipline).
  TrackerDesk(std::unique_ptr<tracker::Tracker> tracker, recorder::SessionRecorder* recorder,
              std::string actor, std::string session_id);

  Result<std::vector<tui::QueuedTask>> ready() override;
  std::optional<tui::QueuedTask> current() const override { return current_; }
  Result<std::string> start(const std::string& id) override;
  Result<void> finish_current() override;

  // `--task ID`: the session begins on it. The task is claimed; the recorder knows already.
  Result<void> begin_with(const std::string& id);

 private:
  Result<tracker::Tracker*> opened();

  std::unique_ptr<tracker::Tracker> tracker_;
  recorder::SessionRecorder* recorder_;
  std::string actor_, session_id_;
  std::optional<tui::QueuedTask> current_;
};

}  // namespace sddsh::app
