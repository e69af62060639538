#include "recorder/session_recorder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "recorder/bundle_diff.hpp"

namespace sddsh::recorder {

namespace {

constexpr std::size_t kMarkerPromptLength = 60;

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// The marker a player shows at a turn: its number and the start of the prompt's first line.
std::string turn_marker(int index, const std::string& prompt) {
  std::string first = prompt.substr(0, prompt.find('\n'));
  if (first.size() > kMarkerPromptLength) {
    std::size_t cut = kMarkerPromptLength;
    while (cut > 0 && (static_cast<unsigned char>(first[cut]) & 0xc0) == 0x80)
      --cut;  // whole characters
    first = first.substr(0, cut) + "…";
  }
  return "turn " + std::to_string(index) + (first.empty() ? "" : ": " + first);
}

}  // namespace

Result<std::unique_ptr<SessionRecorder>> SessionRecorder::create(const Store& store,
                                                                 RecorderOptions options) {
  const std::string bundle = store.bundle_dir(options.session_id);
  if (auto made = make_directories(bundle + "/diffs"); !made) return Failure{made.error()};
  shell::UniqueFd lock(::open((bundle + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return system_failure("open " + bundle + "/lock");
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return system_failure("lock " + bundle);
  std::unique_ptr<SessionRecorder> recorder(
      new SessionRecorder(bundle, std::move(lock), std::move(options)));
  if (recorder->options_.kind == AgentKind::ClaudeCode) {
    auto hooks = HookListener::open();
    if (hooks)
      recorder->hooks_ = std::move(*hooks);
    else
      recorder->warn("no hooks, turns are heuristic: " + hooks.error().message);
  }
  if (auto written =
          write_file_atomically(bundle + "/session.json", to_json_text(recorder->record_));
      !written)
    return Failure{written.error()};
  // The start snapshot must be of the tree before the agent touches it: the agent waits for it.
  recorder->post_git_start();
  recorder->background_.drain();
  return recorder;
}

SessionRecorder::SessionRecorder(std::string bundle_dir, shell::UniqueFd lock,
                                 RecorderOptions options)
    : bundle_dir_(std::move(bundle_dir)),
      lock_(std::move(lock)),
      options_(std::move(options)),
      copier_(bundle_dir_) {
  const std::int64_t now_ms = unix_now_ms();
  record_.id = options_.session_id;
  record_.argv = options_.argv;
  record_.agent = options_.argv.empty() ? "" : base_name(options_.argv.front());
  record_.cwd = options_.cwd;
  record_.hostname = host_name();
  record_.pid = static_cast<int>(::getpid());
  record_.started_unix_ms = now_ms;
  record_.started_at = iso8601_utc(now_ms);
  record_.input_recorded = options_.record_input;
  record_.agent_info.kind = agent_kind_name(options_.kind);
  if (options_.task_id) {
    TaskSegment first;
    first.task_id = *options_.task_id;
    record_.task_segments.push_back(std::move(first));
  }
}

SessionRecorder::~SessionRecorder() {
  if (!finished_) finish(std::nullopt);
}

double SessionRecorder::now_seconds() const {
  return std::chrono::duration<double>(Clock::now() - started_).count();
}

void SessionRecorder::launched_with(const LaunchPlan& plan) {
  record_.agent_info.session_id = plan.agent_session_id.value_or("");
  record_.agent_info.hooks = plan.hooks && hooks_;
  record_.agent_info.notes = plan.notes;
  if (!record_.agent_info.hooks) hooks_.reset();
  if (options_.kind != AgentKind::Generic)
    locator_.emplace(TranscriptSearch{.kind = options_.kind,
                                      .cwd = options_.cwd,
                                      .agent_session_id = plan.agent_session_id,
                                      .started_unix_ms = record_.started_unix_ms,
                                      .environment = options_.environment});
}

void SessionRecorder::started(shell::EventLoop& loop, winsize size, pid_t agent_pid) {
  started_ = Clock::now();
  agent_pid_ = agent_pid;
  size_ = size;
  record_.cols = size.ws_col;
  record_.rows = size.ws_row;
  CastHeader header;
  header.width = size.ws_col;
  header.height = size.ws_row;
  header.timestamp = record_.started_unix_ms / 1000;
  header.term = options_.term;
  header.shell = options_.shell;
  header.title = "sddsh " + record_.agent;
  auto cast = CastWriter::create(bundle_dir_ + "/terminal.cast", header);
  if (cast)
    cast_ = std::move(*cast);
  else
    warn("not recording the terminal: " + cast.error().message);
  if (cast_ && options_.task_id) cast_->marker(0, "task " + *options_.task_id);
  background_.attach(loop);
  loop_ = &loop;
  if (hooks_) hooks_->attach(loop, [this](HookEvent event) { on_hook(std::move(event)); });
  if (locator_) arm_harvest();
  persist();
}

void SessionRecorder::agent_output(std::string_view bytes) {
  const double at = now_seconds();
  if (cast_) cast_->output(at, bytes);
  // With hooks, a turn ends when the agent says so (Stop), not when it falls quiet.
  if (record_.turns.empty() || !loop_ || hook_seen_) return;
  unsettled_ = true;
  last_output_ = at;
  // Armed once per quiet spell, not per read: when it fires it checks the last output's time.
  if (!settle_timer_.armed()) settle_timer_ = loop_->after(kSettleTime, [this] { on_settled(); });
}

void SessionRecorder::user_input(std::string_view bytes) {
  const double at = now_seconds();
  if (cast_ && options_.record_input) cast_->input(at, bytes);
  for (const PromptSubmission& submission : turns_.feed(bytes, Clock::now())) {
    if (hook_seen_) continue;  // the agent's hooks tell the prompts exactly
    if (hooks_)
      hold_for_hooks(submission, at);
    else
      take_submission(submission, at);
  }
}

void SessionRecorder::take_submission(const PromptSubmission& submission, double at) {
  if (submission.continuation && !record_.turns.empty())
    extend_turn(submission);
  else
    begin_turn(submission, at);
}

void SessionRecorder::hold_for_hooks(const PromptSubmission& submission, double at) {
  held_prompts_.push_back({submission, at});
  if (!hook_grace_timer_.armed())
    hook_grace_timer_ = loop_->after(kHookGrace, [this] { release_held_prompts(); });
}

// No hook came for the typed prompts: the hooks do not work, so the keyboard tells the turns.
void SessionRecorder::release_held_prompts() {
  if (hook_seen_) return;
  if (!held_prompts_.empty() && hooks_)
    warn("the agent's hooks did not report: turns are heuristic");
  hooks_.reset();
  for (const auto& held : std::exchange(held_prompts_, {}))
    take_submission(held.submission, held.at);
}

void SessionRecorder::on_hook(HookEvent event) {
  const double at = now_seconds();
  hook_seen_ = true;
  held_prompts_.clear();
  hook_grace_timer_.reset();
  if (!event.transcript_path.empty() &&
      std::find(hinted_transcripts_.begin(), hinted_transcripts_.end(), event.transcript_path) ==
          hinted_transcripts_.end())
    hinted_transcripts_.push_back(event.transcript_path);
  if (!event.agent_session_id.empty()) record_.agent_info.session_id = event.agent_session_id;
  if (event.name == "UserPromptSubmit") {
    begin_hook_turn(event.prompt, at);
  } else if (event.name == "Stop") {
    if (unsettled_ && !record_.turns.empty()) settle_turn(at);
    persist();
    if (waiting_listener_) waiting_listener_();
  } else if (event.name == "Notification") {
    if (waiting_listener_) waiting_listener_();
  } else if (event.name == "PostToolUse" && !record_.turns.empty()) {
    auto& files = record_.turns.back().files_touched;
    for (auto& file : event.files)
      if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
    persist();
  } else if (event.name == "SessionEnd") {
    post_harvest(agent_pid_);
  }
}

void SessionRecorder::begin_hook_turn(const std::string& prompt, double at) {
  begin_turn(PromptSubmission{.text = prompt}, at);
  record_.turns.back().source = "hook";
  persist();
}

void SessionRecorder::resized(winsize size) {
  if (size.ws_col == size_.ws_col && size.ws_row == size_.ws_row) return;
  size_ = size;
  if (cast_) cast_->resize(now_seconds(), size.ws_col, size.ws_row);
}

void SessionRecorder::ended() {
  settle_timer_.reset();
  hook_grace_timer_.reset();
  harvest_timer_.reset();
  if (hooks_) hooks_->detach();
  loop_ = nullptr;
  background_.detach();
}

std::string SessionRecorder::summary() const {
  const std::size_t turns = record_.turns.size();
  std::string text = std::to_string(turns) + (turns == 1 ? " turn" : " turns");
  if (record_.git && !record_.git->snapshots.empty())
    text += " · " + std::to_string(record_.git->snapshots.size()) + " snap";
  if (!record_.transcripts.empty()) text += " · transcript";
  return text;
}

std::string SessionRecorder::warning() const {
  if (!warning_.empty()) return warning_;
  if (cast_)
    if (auto error = cast_->error()) return "recording stopped: " + error->message;
  return "";
}

void SessionRecorder::begin_turn(const PromptSubmission& submission, double at) {
  // The previous turn ends here unless it settled already (nothing happened since).
  if (unsettled_) settle_turn(at);
  TurnRecord turn;
  turn.index = static_cast<int>(record_.turns.size()) + 1;
  turn.start = at;
  turn.prompt = submission.text;
  turn.approximate = submission.approximate;
  if (cast_) cast_->marker(at, turn_marker(turn.index, turn.prompt));
  if (const int segment = open_segment(); segment >= 0)
    record_.task_segments[static_cast<std::size_t>(segment)].turns.push_back(turn.index);
  record_.turns.push_back(std::move(turn));
  // Agents write (or start) their transcript when a prompt comes: look soon, not in 2 s.
  if (locator_ && loop_)
    harvest_timer_ = loop_->after(kFirstLook, [this] {
      post_harvest(agent_pid_);
      arm_harvest();
    });
  unsettled_ = true;
  persist();
}

void SessionRecorder::extend_turn(const PromptSubmission& submission) {
  TurnRecord& turn = record_.turns.back();
  if (!submission.text.empty()) turn.prompt += (turn.prompt.empty() ? "" : "\n") + submission.text;
  turn.approximate = turn.approximate || submission.approximate;
  persist();
}

void SessionRecorder::on_settled() {
  const double quiet_for = now_seconds() - last_output_;
  const double settle = std::chrono::duration<double>(kSettleTime).count();
  if (quiet_for < settle) {
    settle_timer_ = loop_->after(std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(settle - quiet_for)),
                                 [this] { on_settled(); });
    return;
  }
  if (unsettled_) settle_turn(last_output_);
  persist();
}

void SessionRecorder::settle_turn(double at) {
  settle_timer_.reset();
  unsettled_ = false;
  TurnRecord& turn = record_.turns.back();
  turn.end = at;
  post_snapshot("turn " + std::to_string(turn.index), turn.index, at);
}

void SessionRecorder::post_git_start() {
  background_.post([this]() -> BackgroundQueue::Completion {
    auto facts = read_git_facts(options_.cwd);
    if (!facts) return [this, e = facts.error()] { warn("git: " + e.message); };
    if (!facts->in_repository) return {};
    git_directory_ = facts->workdir;
    SnapshotOptions snapshot_options;
    snapshot_options.max_file_size = options_.max_snapshot_file_size;
    auto snapshotter =
        Snapshotter::open(git_directory_, session_ref_name(options_.session_id), snapshot_options);
    if (!snapshotter)
      return [this, e = snapshotter.error()] { warn("git snapshots off: " + e.message); };
    snapshotter_.emplace(std::move(*snapshotter));
    auto start = snapshotter_->take("start");
    if (start) start_commit_ = last_commit_ = start->commit;
    // A session begun on a task (--task): its segment starts with the session.
    const bool first_segment = !record_.task_segments.empty();
    if (first_segment) segment_starts_.assign(1, start_commit_);
    GitRecord git;
    git.workdir = facts->workdir;
    git.branch = facts->branch;
    git.head = facts->head;
    git.detached = facts->detached;
    git.unborn = facts->unborn;
    git.remote_url = facts->remote_url;
    git.dirty_files = facts->dirty_files;
    git.ref = session_ref_name(options_.session_id);
    std::optional<SnapshotRecord> first;
    if (start)
      first = SnapshotRecord{"start", start->commit, 0, start->omitted_large, start->omitted_lfs};
    std::optional<Error> failure;
    if (!start) failure = start.error();
    return
        [this, git = std::move(git), first = std::move(first), failure, first_segment]() mutable {
          if (first && first_segment) record_.task_segments.front().start_snapshot = first->commit;
          if (first) git.snapshots.push_back(std::move(*first));
          record_.git = std::move(git);
          if (failure) warn("git snapshot failed: " + failure->message);
          persist();
        };
  });
}

void SessionRecorder::post_snapshot(const std::string& label, int turn_index, double at) {
  background_.post([this, label, turn_index, at]() -> BackgroundQueue::Completion {
    if (!snapshotter_) return {};
    auto snapshot = snapshotter_->take(label);
    if (!snapshot)
      return [this, e = snapshot.error()] { warn("git snapshot failed: " + e.message); };
    std::optional<BundleDiff> diff;
    std::optional<Error> failure;
    if (turn_index > 0) {
      // A turn may be snapshotted more than once (it settled, then went on): its diff always
      // starts where the turn began.
      if (based_turn_ != turn_index) {
        based_turn_ = turn_index;
        turn_base_ = last_commit_;
      }
      auto stored = store_diff(bundle_dir_, turn_patch_name(turn_index), git_directory_, turn_base_,
                               snapshot->commit);
      if (stored)
        diff = std::move(*stored);
      else
        failure = stored.error();
    }
    last_commit_ = snapshot->commit;
    SnapshotRecord entry{label, snapshot->commit, at, snapshot->omitted_large,
                         snapshot->omitted_lfs};
    return [this, entry = std::move(entry), turn_index, diff = std::move(diff), failure] {
      if (!record_.git) record_.git.emplace();
      record_.git->snapshots.push_back(entry);
      if (turn_index > 0 && turn_index <= static_cast<int>(record_.turns.size())) {
        TurnRecord& turn = record_.turns[static_cast<std::size_t>(turn_index - 1)];
        turn.snapshot = entry.commit;
        if (diff) {
          turn.stat = diff->stat;
          turn.diff = diff->patch_file;
        }
      }
      if (failure) warn("diff failed: " + failure->message);
      persist();
    };
  });
}

void SessionRecorder::arm_harvest() {
  harvest_timer_ = loop_->after(kHarvestInterval, [this] {
    post_harvest(agent_pid_);
    arm_harvest();
  });
}

// Finds the agent's transcript files and brings their copies up to date, on the worker.
void SessionRecorder::post_harvest(pid_t agent_pid) {
  if (!locator_ || harvest_pending_) return;
  harvest_pending_ = true;
  background_.post(
      [this, agent_pid, hinted = hinted_transcripts_]() -> BackgroundQueue::Completion {
        auto errors = harvest(agent_pid, hinted);
        return [this, copies = copier_.copies(), errors = std::move(errors)] {
          harvest_pending_ = false;
          for (const auto& error : errors) warn("transcript copy: " + error.message);
          const bool found_more = copies.size() != record_.transcripts.size();
          record_.transcripts = copies;
          if (found_more) persist();
        };
      });
}

std::vector<Error> SessionRecorder::harvest(pid_t agent_pid,
                                            const std::vector<std::string>& hinted) {
  if (locator_)
    for (const auto& path : locator_->poll(agent_pid)) copier_.track(path);
  for (const auto& path : hinted) copier_.track(path);
  return copier_.sync();
}

// The conversation, from the transcript copies (brought up to date once more) or the terminal.
void SessionRecorder::post_conversation() {
  background_.post([this, session = record_,
                    hinted = hinted_transcripts_]() mutable -> BackgroundQueue::Completion {
    // The agent is gone: only files found before, or named by id or hook, are taken now.
    const std::vector<Error> errors = harvest(0, hinted);
    session.transcripts = copier_.copies();
    BuiltConversation built = build_conversation(bundle_dir_, session, options_.terminal_answers);
    auto written = write_conversation(bundle_dir_, built.messages);
    if (!written) built.warnings.push_back("conversation.jsonl: " + written.error().message);
    for (const auto& error : errors) built.warnings.push_back("transcript copy: " + error.message);
    return [this, transcripts = std::move(session.transcripts), built = std::move(built)] {
      record_.transcripts = transcripts;
      record_.conversation = built.record;
      for (const auto& warning : built.warnings) warn(warning);
    };
  });
}

int SessionRecorder::open_segment() const {
  if (record_.task_segments.empty() || record_.task_segments.back().end) return -1;
  return static_cast<int>(record_.task_segments.size()) - 1;
}

std::optional<std::string> SessionRecorder::current_task() const {
  const int segment = open_segment();
  if (segment < 0) return std::nullopt;
  return record_.task_segments[static_cast<std::size_t>(segment)].task_id;
}

void SessionRecorder::switch_task(const std::optional<std::string>& task_id) {
  if (finished_ || current_task() == task_id) return;
  const double at = now_seconds();
  // A turn under way ends here: its diff stays within one task; the next prompt is a new turn.
  if (unsettled_ && !record_.turns.empty()) settle_turn(at);
  turns_.end_burst();
  const int ending = open_segment();
  if (ending >= 0) record_.task_segments[static_cast<std::size_t>(ending)].end = at;
  int starting = -1;
  if (task_id) {
    TaskSegment segment;
    segment.task_id = *task_id;
    segment.start = at;
    record_.task_segments.push_back(std::move(segment));
    starting = static_cast<int>(record_.task_segments.size()) - 1;
  }
  if (cast_) cast_->marker(at, task_id ? "task " + *task_id : "task none");
  post_snapshot(task_id ? "task " + *task_id : "task end", 0, at);
  post_task_boundary(ending, starting);
  persist();
}

// On the worker, after the boundary's snapshot: the ending segment's diff, the starting one's base.
void SessionRecorder::post_task_boundary(int ending, int starting) {
  std::string ending_task;
  if (ending >= 0) ending_task = record_.task_segments[static_cast<std::size_t>(ending)].task_id;
  // In flight from here until announce_segment's listener has it.
  if (ending >= 0 && segment_listener_) ++segments_in_flight_;
  background_.post([this, ending, starting, ending_task]() -> BackgroundQueue::Completion {
    if (!snapshotter_ || last_commit_.empty()) return [this, ending] { announce_segment(ending); };
    const std::string boundary = last_commit_;
    std::optional<BundleDiff> diff;
    std::optional<Error> failure;
    const auto ending_index = static_cast<std::size_t>(ending);
    if (ending >= 0 && ending_index < segment_starts_.size() &&
        !segment_starts_[ending_index].empty()) {
      auto stored = store_diff(bundle_dir_, task_patch_name(ending + 1, ending_task),
                               git_directory_, segment_starts_[ending_index], boundary);
      if (stored)
        diff = std::move(*stored);
      else
        failure = stored.error();
    }
    if (starting >= 0) {
      segment_starts_.resize(static_cast<std::size_t>(starting) + 1);
      segment_starts_[static_cast<std::size_t>(starting)] = boundary;
    }
    return [this, ending, starting, boundary, diff = std::move(diff), failure] {
      auto& segments = record_.task_segments;
      if (ending >= 0 && static_cast<std::size_t>(ending) < segments.size()) {
        TaskSegment& segment = segments[static_cast<std::size_t>(ending)];
        segment.end_snapshot = boundary;
        if (diff) {
          segment.diff = diff->patch_file;
          segment.stat = diff->stat;
        }
      }
      if (starting >= 0 && static_cast<std::size_t>(starting) < segments.size())
        segments[static_cast<std::size_t>(starting)].start_snapshot = boundary;
      if (failure) warn("task diff failed: " + failure->message);
      persist();
      announce_segment(ending);
    };
  });
}

// Posted after the write of session.json that holds the segment's end (the queue keeps order),
// so the listener finds it on disk. During finish() that write comes later: finish() tells then.
void SessionRecorder::announce_segment(int ending) {
  if (ending < 0 || !segment_listener_) return;
  const auto index = static_cast<std::size_t>(ending);
  if (finished_) {
    unannounced_segments_.push_back(index);
    return;
  }
  tell_segment_listener(index);
}

// On the worker, in order after what is already queued.
void SessionRecorder::tell_segment_listener(std::size_t index) {
  background_.post([this, index]() -> BackgroundQueue::Completion {
    segment_listener_(index);
    --segments_in_flight_;
    return {};
  });
}

void SessionRecorder::post_session_diff() {
  background_.post([this]() -> BackgroundQueue::Completion {
    if (!snapshotter_ || start_commit_.empty() || last_commit_.empty()) return {};
    auto stored =
        store_diff(bundle_dir_, kSessionPatchName, git_directory_, start_commit_, last_commit_);
    if (!stored) return [this, e = stored.error()] { warn("session diff failed: " + e.message); };
    return [this, diff = std::move(*stored)] {
      record_.session_stat = diff.stat;
      record_.session_diff = diff.patch_file;
      record_.session_changes = diff.changes;
    };
  });
}

void SessionRecorder::finish(std::optional<int> exit_code) {
  if (finished_) return;
  background_.detach();
  settle_timer_.reset();
  harvest_timer_.reset();
  if (hooks_) hooks_->detach();
  if (!held_prompts_.empty()) release_held_prompts();  // typed, never confirmed by a hook
  hook_grace_timer_.reset();
  finished_ = true;
  const double at = now_seconds();
  const bool open_turn = unsettled_ && !record_.turns.empty();
  if (open_turn) record_.turns.back().end = at;
  // A last turn that had not settled ends with the session: its snapshot is the end snapshot.
  post_snapshot("end", open_turn ? record_.turns.back().index : 0, at);
  post_session_diff();
  // The task the session ended on: its segment ends with the end snapshot.
  if (const int segment = open_segment(); segment >= 0) {
    record_.task_segments[static_cast<std::size_t>(segment)].end = at;
    post_task_boundary(segment, -1);
  }
  if (cast_) {
    if (auto closed = cast_->close(); !closed) warn("terminal.cast: " + closed.error().message);
  }
  post_conversation();  // after the cast is complete: the fallback reads it
  background_.drain();
  record_.status = SessionRecord::Status::Finished;
  record_.exit_code = exit_code;
  record_.duration = at;
  record_.ended_at = iso8601_utc(record_.started_unix_ms + static_cast<std::int64_t>(at * 1000));
  update_stats();
  if (auto written = write_file_atomically(bundle_dir_ + "/session.json", to_json_text(record_));
      !written)
    warn("session.json: " + written.error().message);
  for (const std::size_t index : std::exchange(unannounced_segments_, {})) tell_segment_listener(index);
  background_.drain();
}

void SessionRecorder::discard() {
  finished_ = true;
  hooks_.reset();
  background_.detach();
  if (cast_) (void)cast_->close();
  background_.drain();
  if (record_.git) remove_git_reference(record_.git->workdir, record_.git->ref);
  remove_tree(bundle_dir_);
}

void SessionRecorder::persist() {
  if (finished_) return;  // finish() writes the final file itself, after the queue drained
  update_stats();
  background_.post([this, text = to_json_text(record_)]() -> BackgroundQueue::Completion {
    auto written = write_file_atomically(bundle_dir_ + "/session.json", text);
    if (written) return {};
    return [this, e = written.error()] { warn("session.json: " + e.message); };
  });
}

void SessionRecorder::update_stats() {
  if (!cast_) return;
  const CastStats stats = cast_->stats();
  record_.stats.output_bytes = stats.output_bytes;
  record_.stats.input_bytes = stats.input_bytes;
  record_.stats.cast_bytes = stats.file_bytes;
  record_.stats.events = stats.events;
  record_.stats.dropped_bytes = stats.dropped_bytes;
}

void SessionRecorder::warn(const std::string& message) {
  if (warning_.empty()) warning_ = message;
  for (const auto& seen : problems_)
    if (seen == message) return;
  problems_.push_back(message);
  record_.warnings = problems_;
}

std::vector<std::string> SessionRecorder::problems() const {
  std::vector<std::string> all = problems_;
  if (cast_)
    if (auto error = cast_->error()) {
      const std::string message = "terminal.cast: " + error->message;
      if (std::find(all.begin(), all.end(), message) == all.end()) all.push_back(message);
    }
  return all;
}

}  // namespace sddsh::recorder
