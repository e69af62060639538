#pragma once
// The recorder of one session: it writes the bundle (session.json, terminal.cast, diffs/) while
// the agent runs, takes git snapshots at the start, at every turn's end and at the end, and
// finishes the bundle when the session is over. Disk and git work never runs on the event loop:
// the cast has its writer thread, snapshots and diffs run on a background queue.
#include <sys/ioctl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recorder/agent_kind.hpp"
#include "recorder/agent_launch.hpp"
#include "recorder/background.hpp"
#include "recorder/cast_writer.hpp"
#include "recorder/conversation_builder.hpp"
#include "recorder/git_snapshot.hpp"
#include "recorder/hook_channel.hpp"
#include "recorder/session_record.hpp"
#include "recorder/store.hpp"
#include "recorder/transcript_copier.hpp"
#include "recorder/transcript_locator.hpp"
#include "recorder/turn_detector.hpp"
#include "shell/session_tap.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

struct RecorderOptions {
  std::string session_id;
  std::vector<std::string> argv;
  std::string cwd;
  std::optional<std::string> task_id;
  bool record_input = true;
  std::string term, shell;  // for the cast header
  std::uint64_t max_snapshot_file_size = std::uint64_t{10} << 20;
  AgentKind kind = AgentKind::Generic;
  std::vector<std::string> environment;  // the agent's: where its transcripts go
  TerminalAnswers terminal_answers;      // for the conversation when there is no transcript
};

class SessionRecorder final : public shell::SessionTap {
 public:
  using Clock = std::chrono::steady_clock;
  // A turn has settled when the agent printed nothing for this long after its last output: its
  // snapshot is taken then, while the user reads, rather than when the next prompt is already
  // on its way to the agent. More output in the same turn means another snapshot later.
  static constexpr std::chrono::milliseconds kSettleTime{1500};
  // How often the agent's transcript is looked for and copied while it runs. The agent keeps
  // its own file meanwhile, and `recover` copies what is left.
  static constexpr std::chrono::milliseconds kHarvestInterval{2000};
  static constexpr std::chrono::milliseconds kFirstLook{500};  // after a prompt
  // A prompt typed while hooks are expected waits this long for the hook to tell it exactly;
  // when none comes, the hooks do not work and the typed prompt starts the turn.
  static constexpr std::chrono::milliseconds kHookGrace{5000};

  // Creates the bundle and locks it (the lock says "still recording" to `sddsh recover`).
  // Agents that take hooks (Claude Code) get a socket to report to.
  static Result<std::unique_ptr<SessionRecorder>> create(const Store& store,
                                                         RecorderOptions options);
  // The socket the agent's hooks report to; empty when this agent takes no hooks.
  std::string hook_socket() const { return hooks_ ? hooks_->path() : ""; }
  // What sddsh handed the agent (its session id, hooks): how its transcript is found.
  void launched_with(const LaunchPlan& plan);
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;
  ~SessionRecorder() override;

  void started(shell::EventLoop& loop, winsize size, pid_t agent_pid) override;
  void agent_output(std::string_view bytes) override;
  void user_input(std::string_view bytes) override;
  void resized(winsize size) override;
  void ended() override;
  std::string summary() const override;
  std::string warning() const override;
  void on_waiting_for_user(std::function<void()> listener) override { waiting_listener_ = std::move(listener); }

  // After the session: ends the last turn, takes the end snapshot, writes the diffs and the
  // final session.json. Blocks until that is done. `exit_code` is unset when the agent never ran.
  void finish(std::optional<int> exit_code);

  // The session moves to another task (or to none): the current task's segment ends with a
  // snapshot and its diff, and the new one begins there, with a marker in the cast.
  void switch_task(const std::optional<std::string>& task_id);
  // The task the session works on now, if any.
  std::optional<std::string> current_task() const;

  // Told, on the recorder's worker thread, when a task segment has ended and session.json holds
  // its end snapshot and diff (or its end alone, outside a repository): the segment can be
  // packed for upload. The index is into task_segments. Set it before the session starts.
  using SegmentListener = std::function<void(std::size_t segment_index)>;
  void set_segment_listener(SegmentListener listener) { segment_listener_ = std::move(listener); }
  // Segments that have ended and that the listener has not been told of yet (any thread): their
  // snapshot and diff are still being made. The panel counts them as uploads on their way.
  std::size_t segments_in_flight() const { return segments_in_flight_.load(); }

  // The agent never started: no bundle, no snapshot chain is left behind.
  void discard();

  const std::string& bundle_dir() const { return bundle_dir_; }
  const SessionRecord& record() const { return record_; }
  // Everything that went wrong while recording, for the exit message.
  std::vector<std::string> problems() const;

 private:
  SessionRecorder(std::string bundle_dir, shell::UniqueFd lock, RecorderOptions options);

  double now_seconds() const;
  void begin_turn(const PromptSubmission& submission, double at);
  void extend_turn(const PromptSubmission& submission);
  void settle_turn(double at);
  void on_settled();
  void post_git_start();
  void post_snapshot(const std::string& label, int turn_index, double at);
  void post_session_diff();
  void post_task_boundary(int ending, int starting);
  void announce_segment(int ending);
  void tell_segment_listener(std::size_t index);
  int open_segment() const;
  void on_hook(HookEvent event);
  void begin_hook_turn(const std::string& prompt, double at);
  void hold_for_hooks(const PromptSubmission& submission, double at);
  void release_held_prompts();
  void take_submission(const PromptSubmission& submission, double at);
  void arm_harvest();
  void post_harvest(pid_t agent_pid);
  std::vector<Error> harvest(pid_t agent_pid, const std::vector<std::string>& hinted);
  void post_conversation();
  void persist();
  void warn(const std::string& message);
  void update_stats();

  std::string bundle_dir_;
  shell::UniqueFd lock_;
  RecorderOptions options_;
  SessionRecord record_;
  Clock::time_point started_ = Clock::now();
  std::unique_ptr<CastWriter> cast_;
  TurnDetector turns_;
  winsize size_{};
  shell::EventLoop* loop_ = nullptr;
  shell::EventLoop::Timer settle_timer_;
  bool unsettled_ = false;  // the last turn changed (output, or just begun) since its snapshot
  double last_output_ = 0;
  std::unique_ptr<HookListener> hooks_;
  std::function<void()> waiting_listener_;
  bool hook_seen_ = false;  // the agent's hooks report: turns are theirs, not the keyboard's
  struct HeldPrompt {
    PromptSubmission submission;
    double at;
  };
  std::vector<HeldPrompt> held_prompts_;
  shell::EventLoop::Timer hook_grace_timer_;
  std::vector<std::string> hinted_transcripts_;  // named by the hooks
  pid_t agent_pid_ = 0;
  shell::EventLoop::Timer harvest_timer_;
  bool harvest_pending_ = false;
  std::string warning_;
  std::vector<std::string> problems_;
  bool finished_ = false;
  SegmentListener segment_listener_;
  std::vector<std::size_t> unannounced_segments_;  // ended during finish(): told after its write
  std::atomic<std::size_t> segments_in_flight_{0};

  // Touched only by jobs on the background queue.
  std::optional<Snapshotter> snapshotter_;
  std::string git_directory_;
  std::string start_commit_, last_commit_;
  int based_turn_ = 0;     // the turn whose diff starts at turn_base_
  std::string turn_base_;  // the snapshot before that turn
  std::vector<std::string> segment_starts_;  // the start snapshot of each task segment
  std::optional<TranscriptLocator> locator_;
  TranscriptCopier copier_;

  BackgroundQueue background_;  // last: its worker joins before the members it uses go
};

}  // namespace sddsh::recorder
