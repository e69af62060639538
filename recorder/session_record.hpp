#pragma once
// session.json: what a bundle says about its session. Versioned; docs/session-bundle.md is the
// reference. The recorder owns one SessionRecord while the session runs and rewrites the file
// (atomically) whenever something worth keeping changes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::recorder {

inline constexpr int kSessionFormatVersion = 1;

struct DiffStat {
  int files = 0;
  int insertions = 0;
  int deletions = 0;
};

// One file of a diff, as `git diff --numstat --find-renames` would list it.
struct FileChangeRecord {
  std::string path;
  std::string old_path;  // renames
  char status = 'M';     // A M D R T
  int insertions = 0, deletions = 0;
  bool binary = false;
};

struct SnapshotRecord {
  std::string label;   // "start", "turn 3", "end"
  std::string commit;  // hex id of the commit under the session's ref
  double at = 0;       // seconds since the session started
  std::vector<std::string> omitted_large, omitted_lfs;
};

struct TurnRecord {
  int index = 0;  // from 1
  double start = 0;
  std::optional<double> end;  // seconds since the session started; unset while it runs
  std::string prompt;
  bool approximate = false;  // history recall or completion: the prompt text is not exact
  std::string source = "heuristic";
  std::string snapshot;  // commit at the turn's end
  std::string diff;      // bundle-relative patch file, empty until the snapshot is taken
  std::optional<DiffStat> stat;
  std::vector<std::string> files_touched;  // from the agent's hooks: paths its tools named
};

// The part of a session spent on one task: from the moment it was started (or the session
// began with it) to the switch to another task, its close, or the session's end.
struct TaskSegment {
  std::string task_id;
  double start = 0;
  std::optional<double> end;
  std::vector<int> turns;                    // the turns begun in it
  std::string start_snapshot, end_snapshot;  // commits under the session's ref
  std::string diff;                          // bundle-relative patch: start → end snapshot
  std::optional<DiffStat> stat;
};

struct GitRecord {
  std::string workdir, branch, head, remote_url, ref;
  bool detached = false;
  bool unborn = false;
  std::vector<std::string> dirty_files;
  std::vector<SnapshotRecord> snapshots;
};

// The agent as sddsh started it: which kind, what it was handed, where its transcript is.
struct AgentRecord {
  std::string kind = "generic";  // "claude", "gemini", "copilot", "codex", "generic"
  std::string session_id;        // the agent's own session id, when known
  bool hooks = false;            // the agent's hooks report turns (exact turns)
  std::vector<std::string> notes;  // what sddsh could not hand it, and why
};

struct TranscriptFileRecord {
  std::string source;  // the agent's file
  std::string file;    // the copy in the bundle: "transcript/<name>"
  std::uint64_t bytes = 0;
};

// What conversation.jsonl was made from.
struct ConversationRecord {
  std::string source;  // "transcript" (the agent's own) or "terminal" (the fallback)
  std::string format;  // the transcript format the parser read: "claude-code jsonl"
  std::string agent_version;  // the agent version the transcript states
  std::size_t messages = 0, unknown_records = 0, bad_records = 0;
};

struct SessionStats {
  std::uint64_t output_bytes = 0, input_bytes = 0, cast_bytes = 0, events = 0, dropped_bytes = 0;
};

struct SessionRecord {
  std::string id;
  std::string agent;  // the command's base name: "claude"
  std::vector<std::string> argv;
  std::string cwd;
  std::string hostname;
  int pid = 0;             // of the sddsh that records it (recover checks its lock, not this)
  std::string started_at;  // ISO 8601 UTC with milliseconds
  std::int64_t started_unix_ms = 0;
  std::string ended_at;
  double duration = 0;
  enum class Status : unsigned char { Running, Finished, Recovered } status = Status::Running;
  std::optional<int> exit_code;
  int cols = 80, rows = 24;
  bool input_recorded = true;
  AgentRecord agent_info;
  std::vector<TranscriptFileRecord> transcripts;
  std::optional<ConversationRecord> conversation;  // unset until the session ends
  std::optional<GitRecord> git;  // unset outside a repository
  std::vector<TurnRecord> turns;
  std::vector<TaskSegment> task_segments;
  SessionStats stats;
  std::optional<DiffStat> session_stat;  // start → end
  std::string session_diff;              // bundle-relative patch file
  std::vector<FileChangeRecord> session_changes;
  std::vector<std::string> warnings;
};

std::string to_json_text(const SessionRecord& record);
Result<SessionRecord> parse_session_record(const std::string& text);

// Reads and parses <bundle>/session.json.
Result<SessionRecord> load_session_record(const std::string& bundle_dir);

// Writes `text` to `path` so that a reader sees either the old or the new file, never half:
// a temporary file, fsync, rename.
Result<void> write_file_atomically(const std::string& path, const std::string& text);

const char* status_name(SessionRecord::Status status);

// "2026-11-21T10:04:05.123Z" for a time in milliseconds since the epoch.
std::string iso8601_utc(std::int64_t unix_ms);
std::int64_t unix_now_ms();

}  // namespace sddsh::recorder
