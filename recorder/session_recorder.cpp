#include "recorder/session_recorder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

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
    : bundle_dir_(std::move(bundle_dir)), lock_(std::move(lock)), options_(std::move(options)) {
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
  if (options_.task_id) record_.task_segments.push_back({*options_.task_id, 0, std::nullopt});
}

SessionRecorder::~SessionRecorder() {
  if (!finished_) finish(std::nullopt);
}

double SessionRecorder::now_seconds() const {
  return std::chrono::duration<double>(Clock::now() - started_).count();
}

void SessionRecorder::started(shell::EventLoop& loop, winsize size) {
  started_ = Clock::now();
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
  persist();
}

void SessionRecorder::agent_output(std::string_view bytes) {
  const double at = now_seconds();
  if (cast_) cast_->output(at, bytes);
  if (record_.turns.empty() || !loop_) return;
  unsettled_ = true;
  last_output_ = at;
  // Armed once per quiet spell, not per read: when it fires it checks the last output's time.
  if (!settle_timer_.armed()) settle_timer_ = loop_->after(kSettleTime, [this] { on_settled(); });
}

void SessionRecorder::user_input(std::string_view bytes) {
  const double at = now_seconds();
  if (cast_ && options_.record_input) cast_->input(at, bytes);
  for (const PromptSubmission& submission : turns_.feed(bytes, Clock::now())) {
    if (submission.continuation && !record_.turns.empty())
      extend_turn(submission);
    else
      begin_turn(submission, at);
  }
}

void SessionRecorder::resized(winsize size) {
  if (size.ws_col == size_.ws_col && size.ws_row == size_.ws_row) return;
  size_ = size;
  if (cast_) cast_->resize(now_seconds(), size.ws_col, size.ws_row);
}

void SessionRecorder::ended() {
  settle_timer_.reset();
  loop_ = nullptr;
  background_.detach();
}

std::string SessionRecorder::summary() const {
  const std::size_t turns = record_.turns.size();
  std::string text = std::to_string(turns) + (turns == 1 ? " turn" : " turns");
  if (record_.git && !record_.git->snapshots.empty())
    text += " · " + std::to_string(record_.git->snapshots.size()) + " snap";
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
  record_.turns.push_back(std::move(turn));
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
    return [this, git = std::move(git), first = std::move(first), failure]() mutable {
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
      auto stored = store_diff(bundle_dir_, turn_patch_name(turn_index), git_directory_,
                               turn_base_, snapshot->commit);
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
  finished_ = true;
  background_.detach();
  settle_timer_.reset();
  const double at = now_seconds();
  const bool open_turn = unsettled_ && !record_.turns.empty();
  if (open_turn) record_.turns.back().end = at;
  // A last turn that had not settled ends with the session: its snapshot is the end snapshot.
  post_snapshot("end", open_turn ? record_.turns.back().index : 0, at);
  post_session_diff();
  for (auto& segment : record_.task_segments)
    if (!segment.end) segment.end = at;
  if (cast_) {
    if (auto closed = cast_->close(); !closed) warn("terminal.cast: " + closed.error().message);
  }
  background_.drain();
  record_.status = SessionRecord::Status::Finished;
  record_.exit_code = exit_code;
  record_.duration = at;
  record_.ended_at = iso8601_utc(record_.started_unix_ms + static_cast<std::int64_t>(at * 1000));
  update_stats();
  if (auto written = write_file_atomically(bundle_dir_ + "/session.json", to_json_text(record_));
      !written)
    warn("session.json: " + written.error().message);
}

void SessionRecorder::discard() {
  finished_ = true;
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
