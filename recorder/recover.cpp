#include "recorder/recover.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>

#include "recorder/bundle_diff.hpp"
#include "recorder/cast_reader.hpp"
#include "recorder/git_snapshot.hpp"
#include "recorder/session_record.hpp"
#include "recorder/transcript_copier.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

namespace {

using Outcome = RecoverReport::Outcome;

// A session killed between making its bundle and writing its first session.json recorded
// nothing: the directory holds its lock and an empty diffs/, perhaps a session.json.tmp.
bool died_while_starting(const std::string& bundle_dir) {
  struct stat st {};
  if (::stat((bundle_dir + "/session.json").c_str(), &st) == 0 || errno != ENOENT) return false;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(bundle_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name == "lock" || name == "session.json.tmp") continue;
    if (name == "diffs" && entry.is_directory(error) && std::filesystem::is_empty(entry.path(), error)) continue;
    return false;
  }
  return !error;
}

// "turn 12: fix the bug" → 12 and "fix the bug".
bool parse_turn_marker(const std::string& label, int& index, std::string& prompt) {
  if (!label.starts_with("turn ")) return false;
  const char* first = label.data() + 5;
  const char* last = label.data() + label.size();
  auto [end, ec] = std::from_chars(first, last, index);
  if (ec != std::errc() || index < 1) return false;
  std::string_view rest(end, static_cast<std::size_t>(last - end));
  prompt = rest.starts_with(": ") ? std::string(rest.substr(2)) : "";
  return rest.empty() || rest.starts_with(": ");
}

// The cast is the most recent truth: it holds turn markers that session.json may not have
// caught before the crash, and it tells when the session last did something.
double adopt_cast(const std::string& bundle_dir, SessionRecord& record,
                  std::vector<std::string>& notes) {
  const std::string path = bundle_dir + "/terminal.cast";
  auto cast = read_cast(path);
  if (!cast) {
    notes.push_back("terminal.cast unreadable: " + cast.error().message);
    return record.duration;
  }
  if (cast->problem) {
    if (::truncate(path.c_str(), static_cast<off_t>(cast->valid_bytes)) == 0)
      notes.push_back("terminal.cast cut after its last complete event (" + *cast->problem + ")");
    else
      notes.push_back("terminal.cast: cannot cut its broken tail: " +
                      std::string(std::strerror(errno)));
  }
  double last = 0;
  for (const CastEvent& event : cast->events) {
    last = std::max(last, event.time);
    if (event.type != 'm') continue;
    int index = 0;
    std::string prompt;
    if (!parse_turn_marker(event.data, index, prompt) ||
        index != static_cast<int>(record.turns.size()) + 1)
      continue;
    TurnRecord turn;
    turn.index = index;
    turn.start = event.time;
    turn.prompt = prompt;
    turn.approximate = true;  // the marker holds the first line only
    if (!record.turns.empty() && !record.turns.back().end) record.turns.back().end = event.time;
    record.turns.push_back(std::move(turn));
  }
  return last;
}

void take_end_snapshot(const std::string& bundle_dir, SessionRecord& record, double ended,
                       std::uint64_t max_file_size, std::vector<std::string>& notes) {
  const std::string directory = record.git ? record.git->workdir : record.cwd;
  auto facts = read_git_facts(directory);
  if (!facts || !facts->in_repository) return;
  if (!record.git) {
    record.git.emplace();
    record.git->workdir = facts->workdir;
    record.git->ref = session_ref_name(record.id);
  }
  GitRecord& git = *record.git;
  SnapshotOptions options;
  options.max_file_size = max_file_size;
  auto snapshotter = Snapshotter::open(git.workdir, git.ref, options);
  if (!snapshotter) return notes.push_back("no end snapshot: " + snapshotter.error().message);
  // The ref's tip may be newer than session.json: a snapshot can land just before the crash.
  const std::string previous = snapshotter->tip();
  auto end = snapshotter->take("end");
  if (!end) return notes.push_back("no end snapshot: " + end.error().message);
  const std::string start = git.snapshots.empty() ? "" : git.snapshots.front().commit;
  git.snapshots.push_back({"end", end->commit, ended, end->omitted_large, end->omitted_lfs});
  // The last turn, if its snapshot never came, ends with the session.
  if (!record.turns.empty() && record.turns.back().snapshot.empty() && !previous.empty()) {
    TurnRecord& turn = record.turns.back();
    turn.snapshot = end->commit;
    auto stored =
        store_diff(bundle_dir, turn_patch_name(turn.index), git.workdir, previous, end->commit);
    if (stored) {
      turn.diff = stored->patch_file;
      turn.stat = stored->stat;
    } else {
      notes.push_back("no diff for turn " + std::to_string(turn.index) + ": " +
                      stored.error().message);
    }
  }
  if (start.empty()) return;
  auto stored = store_diff(bundle_dir, kSessionPatchName, git.workdir, start, end->commit);
  if (!stored) return notes.push_back("no session diff: " + stored.error().message);
  record.session_diff = stored->patch_file;
  record.session_stat = stored->stat;
  record.session_changes = stored->changes;
}

// The agent's transcript as it is now (the agent outlives a killed sddsh and may have written
// more), and the conversation from it.
void finish_conversation(const std::string& bundle_dir, SessionRecord& record,
                         const TerminalAnswers& terminal_answers, std::vector<std::string>& notes) {
  TranscriptCopier copier(bundle_dir);
  for (const auto& t : record.transcripts) copier.track(t.source);
  for (const auto& error : copier.sync()) notes.push_back("transcript copy: " + error.message);
  record.transcripts = copier.copies();
  BuiltConversation built = build_conversation(bundle_dir, record, terminal_answers);
  if (auto written = write_conversation(bundle_dir, built.messages); !written)
    notes.push_back("conversation.jsonl: " + written.error().message);
  record.conversation = built.record;
  for (auto& warning : built.warnings) notes.push_back(std::move(warning));
}

}  // namespace

RecoverReport recover_bundle(const std::string& bundle_dir, std::uint64_t max_snapshot_file_size,
                             const TerminalAnswers& terminal_answers) {
  RecoverReport report;
  report.id = bundle_dir.substr(bundle_dir.rfind('/') + 1);
  shell::UniqueFd lock(::open((bundle_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock)
    return {report.id, Outcome::Failed,
            "cannot open its lock: " + std::string(std::strerror(errno))};
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
    return {report.id, Outcome::Running, "still recording"};
  auto loaded = load_session_record(bundle_dir);
  if (!loaded && died_while_starting(bundle_dir)) {
    std::error_code error;
    std::filesystem::remove_all(bundle_dir, error);
    if (!error) return {report.id, Outcome::Recovered, "died while starting, nothing recorded: removed"};
  }
  if (!loaded) return {report.id, Outcome::Failed, loaded.error().message};
  SessionRecord record = std::move(*loaded);
  if (record.status != SessionRecord::Status::Running)
    return {report.id, Outcome::Recovered, "already finished"};

  std::vector<std::string> notes;
  const double ended = std::max(record.duration, adopt_cast(bundle_dir, record, notes));
  if (!record.turns.empty() && !record.turns.back().end) record.turns.back().end = ended;
  for (auto& segment : record.task_segments)
    if (!segment.end) segment.end = ended;
  take_end_snapshot(bundle_dir, record, ended, max_snapshot_file_size, notes);
  finish_conversation(bundle_dir, record, terminal_answers, notes);
  record.status = SessionRecord::Status::Recovered;
  record.duration = ended;
  record.ended_at = iso8601_utc(record.started_unix_ms + static_cast<std::int64_t>(ended * 1000));
  for (const auto& note : notes) record.warnings.push_back("recover: " + note);
  if (auto written = write_file_atomically(bundle_dir + "/session.json", to_json_text(record));
      !written)
    return {report.id, Outcome::Failed, written.error().message};
  std::string detail = std::to_string(record.turns.size()) + " turns";
  for (const auto& note : notes) detail += "; " + note;
  return {report.id, Outcome::Recovered, detail};
}

std::vector<RecoverReport> recover_store(const Store& store, std::uint64_t max_snapshot_file_size,
                                         const TerminalAnswers& terminal_answers) {
  std::vector<RecoverReport> reports;
  for (const std::string& id : list_bundle_ids(store)) {
    const std::string dir = store.bundle_dir(id);
    auto record = load_session_record(dir);
    if (record && record->status != SessionRecord::Status::Running) continue;
    reports.push_back(recover_bundle(dir, max_snapshot_file_size, terminal_answers));
  }
  return reports;
}

}  // namespace sddsh::recorder
