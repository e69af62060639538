#include "app/fetched_bundle.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "recorder/store.hpp"
#include "recorder/transcript_json.hpp"

namespace sddsh::app {

namespace {

using nlohmann::json;
using recorder::transcript::array_member;
using recorder::transcript::integer_member;
using recorder::transcript::is_true;
using recorder::transcript::member;
using recorder::transcript::object_member;
using recorder::transcript::string_member;

constexpr const char* kUploadFormat = "sddsh-upload";
constexpr const char* kBundleDir = "bundle";
constexpr const char* kTaskPatch = "task.patch";

std::optional<json> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  json parsed = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

bool exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

std::optional<double> number_member(const json& object, const char* key) {
  const json* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

std::optional<recorder::DiffStat> stat_member(const json& object, const char* key) {
  const json* stat = object_member(object, key);
  if (!stat) return std::nullopt;
  return recorder::DiffStat{static_cast<int>(integer_member(*stat, "files").value_or(0)),
                            static_cast<int>(integer_member(*stat, "insertions").value_or(0)),
                            static_cast<int>(integer_member(*stat, "deletions").value_or(0))};
}

std::vector<std::string> strings_member(const json& object, const char* key) {
  std::vector<std::string> out;
  if (const json* items = array_member(object, key))
    for (const auto& item : *items)
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

// The upload names a turn's patch after the bundle's file: diffs/turn-0003.patch → turn-0003.patch.
std::string turn_patch_name(int index) {
  char name[32];
  std::snprintf(name, sizeof name, "turn-%04d.patch", index);
  return name;
}

recorder::SessionRecord::Status status_of(const std::string& name) {
  if (name == "running") return recorder::SessionRecord::Status::Running;
  if (name == "recovered") return recorder::SessionRecord::Status::Recovered;
  return recorder::SessionRecord::Status::Finished;
}

recorder::TurnRecord turn_of(const json& item, const std::string& upload_dir) {
  recorder::TurnRecord turn;
  turn.index = static_cast<int>(integer_member(item, "index").value_or(0));
  turn.start = number_member(item, "start").value_or(0);
  turn.end = number_member(item, "end");
  turn.prompt = string_member(item, "prompt");
  turn.approximate = is_true(item, "approximate");
  if (std::string source = string_member(item, "source"); !source.empty()) turn.source = source;
  turn.stat = stat_member(item, "stat");
  if (exists(upload_dir + "/" + turn_patch_name(turn.index))) turn.diff = "diffs/" + turn_patch_name(turn.index);
  return turn;
}

std::optional<recorder::GitRecord> git_of(const json& meta) {
  const json* git = object_member(meta, "git");
  if (!git) return std::nullopt;
  recorder::GitRecord record;
  record.branch = string_member(*git, "branch");
  record.head = string_member(*git, "head");
  record.remote_url = string_member(*git, "remote_url");
  return record;
}

// A relative link, replacing whatever was there; nothing when the upload lacks the file.
Result<void> link_if_present(const std::string& upload_dir, const std::string& name,
                             const std::string& link_path, const std::string& target) {
  if (!exists(upload_dir + "/" + name)) return {};
  std::error_code error;
  std::filesystem::remove(link_path, error);
  std::filesystem::create_symlink(target, link_path, error);
  if (error) return Failure{Error{error.value(), "link " + link_path + ": " + error.message()}};
  return {};
}

}  // namespace

bool is_fetched_upload(const std::string& dir) {
  const auto meta = read_json(dir + "/session.json");
  return meta && string_member(*meta, "format") == kUploadFormat;
}

recorder::SessionRecord record_of_upload(const json& meta, const std::string& upload_dir) {
  recorder::SessionRecord r;
  r.id = string_member(meta, "session_id");
  if (r.id.empty()) r.id = string_member(meta, "upload_id");
  r.agent = string_member(meta, "agent");
  r.agent_info.kind = string_member(meta, "agent_kind");
  if (r.agent_info.kind.empty()) r.agent_info.kind = "generic";
  r.argv = strings_member(meta, "argv");
  r.cwd = string_member(meta, "cwd");
  r.hostname = string_member(meta, "hostname");
  r.started_at = string_member(meta, "started_at");
  r.started_unix_ms = recorder::transcript::parse_iso8601_ms(r.started_at).value_or(0);
  r.ended_at = string_member(meta, "ended_at");
  r.duration = number_member(meta, "duration").value_or(0);
  r.status = status_of(string_member(meta, "session_status"));
  r.cols = static_cast<int>(integer_member(meta, "cols").value_or(80));
  r.rows = static_cast<int>(integer_member(meta, "rows").value_or(24));
  r.git = git_of(meta);
  r.warnings = strings_member(meta, "warnings");

  recorder::TaskSegment segment;
  segment.task_id = string_member(meta, "task_id");
  segment.end = r.duration;
  segment.stat = stat_member(meta, "stat");
  if (exists(upload_dir + "/" + kTaskPatch)) segment.diff = std::string("diffs/") + kTaskPatch;
  if (const json* turns = array_member(meta, "turns"))
    for (const auto& item : *turns) {
      if (!item.is_object()) continue;
      r.turns.push_back(turn_of(item, upload_dir));
      segment.turns.push_back(r.turns.back().index);
    }
  r.session_stat = segment.stat;
  r.session_diff = segment.diff;
  r.task_segments.push_back(std::move(segment));
  return r;
}

Result<std::string> bundle_of_upload(const std::string& upload_dir) {
  const auto meta = read_json(upload_dir + "/session.json");
  if (!meta || string_member(*meta, "format") != kUploadFormat)
    return Failure{Error{0, upload_dir + ": not a session fetched from the tracker"}};
  const std::string bundle = upload_dir + "/" + kBundleDir;
  if (auto made = recorder::make_directories(bundle + "/diffs"); !made) return Failure{made.error()};
  const recorder::SessionRecord record = record_of_upload(*meta, upload_dir);
  // Links are relative, so the store can move.
  for (const char* name : {"terminal.cast", "conversation.jsonl"})
    if (auto linked = link_if_present(upload_dir, name, bundle + "/" + name, std::string("../") + name); !linked)
      return Failure{linked.error()};
  std::vector<std::string> patches{kTaskPatch};
  for (const auto& turn : record.turns) patches.push_back(turn_patch_name(turn.index));
  for (const auto& name : patches)
    if (auto linked = link_if_present(upload_dir, name, bundle + "/diffs/" + name, "../../" + name); !linked)
      return Failure{linked.error()};
  if (auto written = recorder::write_file_atomically(bundle + "/session.json", recorder::to_json_text(record)); !written)
    return Failure{written.error()};
  return bundle;
}

}  // namespace sddsh::app
