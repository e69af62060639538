#include "recorder/session_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

using nlohmann::json;

namespace {

constexpr const char* kFormatName = "sddsh-session";

json optional_number(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

json stat_json(const std::optional<DiffStat>& stat) {
  if (!stat) return nullptr;
  return {{"files", stat->files}, {"insertions", stat->insertions}, {"deletions", stat->deletions}};
}

// A file that session.json names lives in the bundle: a name that leads out of it (absolute, or
// with a ".." part) is damage, read as no file rather than followed.
std::string bundle_file_from(const json& j, const char* key) {
  std::string name = j.value(key, "");
  const std::filesystem::path path(name);
  if (path.is_absolute()) return "";
  for (const auto& part : path)
    if (part == "..") return "";
  return name;
}

// An integer field: a value that is not an integer T holds (2.5, 1e300, -1 for a count, "x") is
// damage, read as the fallback. json's value() would convert 1e300 anyway: undefined behaviour.
template <typename T>
T integer_from(const json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    return std::in_range<T>(value) ? static_cast<T>(value) : fallback;
  }
  if (it->is_number_integer()) {
    const auto value = it->get<std::int64_t>();
    return std::in_range<T>(value) ? static_cast<T>(value) : fallback;
  }
  return fallback;
}

std::optional<DiffStat> stat_from(const json& j) {
  if (!j.is_object()) return std::nullopt;
  return DiffStat{integer_from(j, "files", 0), integer_from(j, "insertions", 0),
                  integer_from(j, "deletions", 0)};
}

std::optional<double> number_from(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::vector<std::string> strings_from(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& item : *it)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

json change_json(const FileChangeRecord& c) {
  json j = {{"path", c.path},
            {"status", std::string(1, c.status)},
            {"insertions", c.insertions},
            {"deletions", c.deletions},
            {"binary", c.binary}};
  if (!c.old_path.empty()) j["old_path"] = c.old_path;
  return j;
}

FileChangeRecord change_from(const json& j) {
  FileChangeRecord c;
  c.path = j.value("path", "");
  c.old_path = j.value("old_path", "");
  const std::string status = j.value("status", "M");
  c.status = status.empty() ? 'M' : status.front();
  c.insertions = integer_from(j, "insertions", 0);
  c.deletions = integer_from(j, "deletions", 0);
  c.binary = j.value("binary", false);
  return c;
}

json snapshot_json(const SnapshotRecord& s) {
  return {{"label", s.label},
          {"commit", s.commit},
          {"at", s.at},
          {"omitted_large", s.omitted_large},
          {"omitted_lfs", s.omitted_lfs}};
}

SnapshotRecord snapshot_from(const json& j) {
  return {j.value("label", ""), j.value("commit", ""), j.value("at", 0.0),
          strings_from(j, "omitted_large"), strings_from(j, "omitted_lfs")};
}

json git_json(const GitRecord& g) {
  json snapshots = json::array();
  for (const auto& s : g.snapshots) snapshots.push_back(snapshot_json(s));
  return {{"workdir", g.workdir},   {"branch", g.branch},           {"head", g.head},
          {"detached", g.detached}, {"unborn", g.unborn},           {"remote_url", g.remote_url},
          {"ref", g.ref},           {"dirty_files", g.dirty_files}, {"snapshots", snapshots}};
}

GitRecord git_from(const json& j) {
  GitRecord g;
  g.workdir = j.value("workdir", "");
  g.branch = j.value("branch", "");
  g.head = j.value("head", "");
  g.detached = j.value("detached", false);
  g.unborn = j.value("unborn", false);
  g.remote_url = j.value("remote_url", "");
  g.ref = j.value("ref", "");
  g.dirty_files = strings_from(j, "dirty_files");
  if (auto it = j.find("snapshots"); it != j.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_object()) g.snapshots.push_back(snapshot_from(s));
  return g;
}

json turn_json(const TurnRecord& t) {
  return {{"index", t.index},
          {"start", t.start},
          {"end", optional_number(t.end)},
          {"prompt", t.prompt},
          {"approximate", t.approximate},
          {"source", t.source},
          {"snapshot", t.snapshot},
          {"diff", t.diff},
          {"stat", stat_json(t.stat)},
          {"files_touched", t.files_touched}};
}

TurnRecord turn_from(const json& j) {
  TurnRecord t;
  t.index = integer_from(j, "index", 0);
  t.start = j.value("start", 0.0);
  t.end = number_from(j, "end");
  t.prompt = j.value("prompt", "");
  t.approximate = j.value("approximate", false);
  t.source = j.value("source", "heuristic");
  t.snapshot = j.value("snapshot", "");
  t.diff = bundle_file_from(j, "diff");
  if (auto it = j.find("stat"); it != j.end()) t.stat = stat_from(*it);
  t.files_touched = strings_from(j, "files_touched");
  return t;
}

json agent_json(const AgentRecord& a) {
  return {{"kind", a.kind}, {"session_id", a.session_id}, {"hooks", a.hooks}, {"notes", a.notes}};
}

AgentRecord agent_from(const json& j) {
  return {j.value("kind", "generic"), j.value("session_id", ""), j.value("hooks", false),
          strings_from(j, "notes")};
}

json transcript_json(const TranscriptFileRecord& t) {
  return {{"source", t.source}, {"file", t.file}, {"bytes", t.bytes}};
}

TranscriptFileRecord transcript_from(const json& j) {
  return {j.value("source", ""), bundle_file_from(j, "file"), integer_from(j, "bytes", std::uint64_t{0})};
}

json conversation_json(const ConversationRecord& c) {
  return {{"source", c.source},   {"format", c.format},
          {"agent_version", c.agent_version}, {"messages", c.messages},
          {"unknown_records", c.unknown_records}, {"bad_records", c.bad_records}};
}

ConversationRecord conversation_from(const json& j) {
  return {j.value("source", ""),
          j.value("format", ""),
          j.value("agent_version", ""),
          integer_from(j, "messages", std::size_t{0}),
          integer_from(j, "unknown_records", std::size_t{0}),
          integer_from(j, "bad_records", std::size_t{0})};
}

json segment_json(const TaskSegment& s) {
  return {{"task_id", s.task_id},
          {"start", s.start},
          {"end", optional_number(s.end)},
          {"turns", s.turns},
          {"start_snapshot", s.start_snapshot},
          {"end_snapshot", s.end_snapshot},
          {"diff", s.diff},
          {"stat", stat_json(s.stat)}};
}

TaskSegment segment_from(const json& j) {
  TaskSegment s;
  s.task_id = j.value("task_id", "");
  s.start = j.value("start", 0.0);
  s.end = number_from(j, "end");
  if (auto it = j.find("turns"); it != j.end() && it->is_array())
    for (const auto& turn : *it)
      if (turn.is_number_integer()) s.turns.push_back(turn.get<int>());
  s.start_snapshot = j.value("start_snapshot", "");
  s.end_snapshot = j.value("end_snapshot", "");
  s.diff = bundle_file_from(j, "diff");
  if (auto it = j.find("stat"); it != j.end()) s.stat = stat_from(*it);
  return s;
}

SessionRecord::Status status_from(const std::string& name) {
  if (name == "finished") return SessionRecord::Status::Finished;
  if (name == "recovered") return SessionRecord::Status::Recovered;
  return SessionRecord::Status::Running;
}

template <typename T, typename F>
std::vector<T> array_from(const json& j, const char* key, F convert) {
  std::vector<T> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& item : *it)
      if (item.is_object()) out.push_back(convert(item));
  return out;
}

SessionRecord record_from(const json& j) {
  SessionRecord r;
  r.id = j.value("id", "");
  r.agent = j.value("agent", "");
  r.argv = strings_from(j, "argv");
  r.cwd = j.value("cwd", "");
  r.hostname = j.value("hostname", "");
  r.pid = integer_from(j, "pid", 0);
  r.started_at = j.value("started_at", "");
  r.started_unix_ms = integer_from(j, "started_unix_ms", std::int64_t{0});
  r.ended_at = j.value("ended_at", "");
  r.duration = j.value("duration", 0.0);
  r.status = status_from(j.value("status", "running"));
  if (auto it = j.find("exit_code"); it != j.end() && it->is_number_integer())
    r.exit_code = it->get<int>();
  if (auto it = j.find("terminal"); it != j.end() && it->is_object()) {
    r.cols = integer_from(*it, "cols", 80);
    r.rows = integer_from(*it, "rows", 24);
  }
  r.input_recorded = j.value("input_recorded", true);
  if (auto it = j.find("agent_info"); it != j.end() && it->is_object()) r.agent_info = agent_from(*it);
  r.transcripts = array_from<TranscriptFileRecord>(j, "transcripts", transcript_from);
  std::erase_if(r.transcripts, [](const TranscriptFileRecord& t) { return t.file.empty(); });
  if (auto it = j.find("conversation"); it != j.end() && it->is_object())
    r.conversation = conversation_from(*it);
  if (auto it = j.find("git"); it != j.end() && it->is_object()) r.git = git_from(*it);
  r.turns = array_from<TurnRecord>(j, "turns", turn_from);
  r.task_segments = array_from<TaskSegment>(j, "task_segments", segment_from);
  if (auto it = j.find("stats"); it != j.end() && it->is_object()) {
    r.stats.output_bytes = integer_from(*it, "output_bytes", std::uint64_t{0});
    r.stats.input_bytes = integer_from(*it, "input_bytes", std::uint64_t{0});
    r.stats.cast_bytes = integer_from(*it, "cast_bytes", std::uint64_t{0});
    r.stats.events = integer_from(*it, "events", std::uint64_t{0});
    r.stats.dropped_bytes = integer_from(*it, "dropped_bytes", std::uint64_t{0});
  }
  if (auto it = j.find("diff"); it != j.end() && it->is_object()) {
    r.session_stat = stat_from(*it);
    r.session_diff = bundle_file_from(*it, "patch");
    r.session_changes = array_from<FileChangeRecord>(*it, "changes", change_from);
  }
  r.warnings = strings_from(j, "warnings");
  return r;
}

}  // namespace

const char* status_name(SessionRecord::Status status) {
  switch (status) {
    case SessionRecord::Status::Running:
      return "running";
    case SessionRecord::Status::Finished:
      return "finished";
    case SessionRecord::Status::Recovered:
      return "recovered";
  }
  return "running";
}

std::string to_json_text(const SessionRecord& r) {
  json turns = json::array(), segments = json::array();
  for (const auto& t : r.turns) turns.push_back(turn_json(t));
  for (const auto& s : r.task_segments) segments.push_back(segment_json(s));
  json transcripts = json::array();
  for (const auto& t : r.transcripts) transcripts.push_back(transcript_json(t));
  json diff = nullptr;
  if (r.session_stat) {
    diff = stat_json(r.session_stat);
    diff["patch"] = r.session_diff;
    json changes = json::array();
    for (const auto& c : r.session_changes) changes.push_back(change_json(c));
    diff["changes"] = changes;
  }
  json j = {
      {"format", kFormatName},
      {"version", kSessionFormatVersion},
      {"id", r.id},
      {"agent", r.agent},
      {"argv", r.argv},
      {"cwd", r.cwd},
      {"hostname", r.hostname},
      {"pid", r.pid},
      {"started_at", r.started_at},
      {"started_unix_ms", r.started_unix_ms},
      {"ended_at", r.ended_at},
      {"duration", r.duration},
      {"status", status_name(r.status)},
      {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
      {"terminal", {{"cols", r.cols}, {"rows", r.rows}}},
      {"input_recorded", r.input_recorded},
      {"agent_info", agent_json(r.agent_info)},
      {"transcripts", transcripts},
      {"conversation", r.conversation ? conversation_json(*r.conversation) : json(nullptr)},
      {"git", r.git ? git_json(*r.git) : json(nullptr)},
      {"turns", turns},
      {"task_segments", segments},
      {"stats",
       {{"output_bytes", r.stats.output_bytes},
        {"input_bytes", r.stats.input_bytes},
        {"cast_bytes", r.stats.cast_bytes},
        {"events", r.stats.events},
        {"dropped_bytes", r.stats.dropped_bytes}}},
      {"diff", diff},
      {"warnings", r.warnings},
  };
  // Prompts are user text and may hold invalid UTF-8: replace rather than throw.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<SessionRecord> parse_session_record(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Failure{Error{0, "session.json is not valid JSON"}};
  // Read without value(), which throws on a format that is not a string (or converts 1e300).
  if (const auto format = j.find("format"); format == j.end() || *format != kFormatName)
    return Failure{Error{0, "session.json is not an sddsh session"}};
  const int version = integer_from(j, "version", 0);
  if (version < 1 || version > kSessionFormatVersion)
    return Failure{Error{0, "session.json has format version " + std::to_string(version) +
                                "; this sddsh reads up to " +
                                std::to_string(kSessionFormatVersion)}};
  try {
    return record_from(j);
  } catch (const json::exception& e) {
    return Failure{Error{0, std::string("session.json: ") + e.what()}};
  }
}

Result<SessionRecord> load_session_record(const std::string& bundle_dir) {
  std::ifstream in(bundle_dir + "/session.json", std::ios::binary);
  if (!in) return system_failure(bundle_dir + "/session.json");
  std::ostringstream text;
  text << in.rdbuf();
  auto record = parse_session_record(text.str());
  if (!record) return Failure{Error{0, bundle_dir + ": " + record.error().message}};
  return record;
}

Result<void> write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  shell::UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return system_failure("write " + temporary);
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto failure = system_failure("write " + temporary);
      ::unlink(temporary.c_str());
      return failure;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    auto failure = system_failure("write " + temporary);
    ::unlink(temporary.c_str());
    return failure;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return system_failure("rename " + temporary);
  return {};
}

std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso8601_utc(std::int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return text;
}

}  // namespace sddsh::recorder
