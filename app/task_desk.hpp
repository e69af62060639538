#pragma once
// The TUI's task queue on top of the tracker and the recorder: starting a task claims it and
// opens a segment of the session for it; marking it done closes it as done by this session.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/queue_fetcher.hpp"
#include "recorder/session_recorder.hpp"
#include "tracker-client/remote_config.hpp"
#include "tracker-client/tracker.hpp"
#include "tui/task_desk.hpp"

namespace sddsh::app {

class TrackerDesk final : public tui::TaskDesk {
 public:
  // `tracker` may be null: it is then opened on first use, once the session runs (opening
  // SQLite before the terminal is raw would let early keys be echoed by the line discipline).
  // `ca_file`: a --ca-file option, for a remote tracker.
  TrackerDesk(std::unique_ptr<tracker::Tracker> tracker, recorder::SessionRecorder* recorder,
              std::string actor, std::string session_id, std::string ca_file = {});
  ~TrackerDesk() override;

  Result<std::vector<tui::QueuedTask>> ready() override;
  std::optional<tui::QueuedTask> current() const override { return current_; }
  Result<std::string> start(const std::string& id) override;
  Result<void> finish_current() override;
  tui::DeskStatus status() const override;
  void refresh() override {
    if (fetcher_) fetcher_->refresh_now();
  }

  // The session's recorder, when it starts after the desk (a window set up first).
  void attach_recorder(recorder::SessionRecorder* recorder) { recorder_ = recorder; }

  // Adds the uploads' state to status() (the uploader lives beside the desk, in the app).
  void show_uploads(std::function<void(tui::DeskStatus&)> describe) { describe_uploads_ = std::move(describe); }

  // `--task ID`: the session begins on it. The task is claimed; the recorder knows already.
  // Returns the task's brief.
  Result<std::string> begin_with(const std::string& id);

 private:
  Result<tracker::Tracker*> opened();
  void read_remote_queue_in_background(const tracker::RemoteConfig& config);

  std::unique_ptr<tracker::Tracker> tracker_;
  recorder::SessionRecorder* recorder_;
  std::string actor_, session_id_;
  std::string ca_file_;
  std::optional<tui::QueuedTask> current_;
  std::function<void(tui::DeskStatus&)> describe_uploads_;
  // A remote tracker's queue is read on a thread of its own; claims and closes stay here (the
  // user waits for their answer anyway), with short timeouts.
  std::unique_ptr<QueueFetcher> fetcher_;
  bool remote_checked_ = false;  // the configuration was read into remote_
  std::optional<tracker::RemoteConfig> remote_;
};

}  // namespace sddsh::app
