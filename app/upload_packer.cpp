#include "app/upload_packer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <sstream>
#include <utility>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "recorder/cast_writer.hpp"
#include "recorder/conversation.hpp"
#include "recorder/session_record.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::app {

namespace {

using recorder::CastEvent;
using recorder::RedactionSummary;
using recorder::Redactor;

constexpr std::size_t kBatchBytes = kCastRedactionBatchBytes;
// Longer than any secret the redactor finds whole (a private key block reaches at most 64 KiB).
constexpr std::size_t kOverlapBytes = kCastRedactionOverlapBytes;
constexpr std::size_t kWriteBufferBytes = std::size_t{1} << 20;

// ---- files ----

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// A file written in large pieces, fsynced when closed.
class OutputFile {
 public:
  static Result<OutputFile> create(const std::string& path) {
    shell::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return system_failure("write " + path);
    return OutputFile(path, std::move(fd));
  }

  std::string& buffer() { return buffer_; }
  Result<void> flush_if_full() {
    return buffer_.size() >= kWriteBufferBytes ? flush() : Result<void>{};
  }

  Result<void> close() {
    if (auto flushed = flush(); !flushed) return flushed;
    if (::fsync(fd_.get()) != 0) return system_failure("fsync " + path_);
    if (::close(fd_.release()) != 0) return system_failure("close " + path_);
    return {};
  }

 private:
  OutputFile(std::string path, shell::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  Result<void> flush() {
    std::string_view rest = buffer_;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return system_failure("write " + path_);
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    buffer_.clear();
    return {};
  }

  std::string path_;
  shell::UniqueFd fd_;
  std::string buffer_;
};

// ---- redacting cast events ----

void subtract(RedactionSummary& from, const RedactionSummary& taken) {
  for (const auto& [kind, count] : taken.counts) {
    auto found = from.counts.find(kind);
    if (found == from.counts.end()) continue;
    found->second = found->second > count ? found->second - count : 0;
    if (found->second == 0) from.counts.erase(found);
  }
}

struct RedactedEvents {
  std::vector<CastEvent> events;
  std::vector<bool> changed;
  RedactionSummary summary;
};

// Output and input are each one stream of chunks (a secret may be split between two reads);
// markers hold prompts, redacted one by one; resizes and the rest pass as they are.
RedactedEvents redact_events(const Redactor& base, std::span<const CastEvent> events) {
  Redactor redactor = base;
  redactor.reset_summary();
  RedactedEvents out{{events.begin(), events.end()}, std::vector<bool>(events.size()), {}};
  for (const char type : {'o', 'i'}) {
    std::vector<std::size_t> at;
    std::vector<std::string> chunks;
    for (std::size_t i = 0; i < events.size(); ++i)
      if (events[i].type == type) {
        at.push_back(i);
        chunks.push_back(events[i].data);
      }
    if (chunks.empty()) continue;
    std::vector<std::string> redacted = redactor.redact_chunks(chunks);
    for (std::size_t k = 0; k < at.size() && k < redacted.size(); ++k)
      out.events[at[k]].data = std::move(redacted[k]);
  }
  for (auto& event : out.events)
    if (event.type == 'm') event.data = redactor.redact(event.data);
  for (std::size_t i = 0; i < events.size(); ++i) out.changed[i] = out.events[i] != events[i];
  out.summary = redactor.summary();
  return out;
}

// Feeds cast events through the redactor in overlapping batches and hands them on, in order.
class EventRedactor {
 public:
  EventRedactor(const Redactor& base, std::function<Result<void>(const CastEvent&)> emit)
      : base_(base), emit_(std::move(emit)) {}

  Result<void> add(CastEvent event) {
    pending_bytes_ += event.data.size();
    pending_.push_back(std::move(event));
    if (pending_bytes_ < kBatchBytes) return {};
    return flush(false);
  }
  Result<void> finish() { return flush(true); }
  const RedactionSummary& summary() const { return summary_; }

 private:
  // Redacts what is pending and hands on all of it (at the end) or all but a tail of at least
  // kOverlapBytes, cut where no secret found in this batch reaches across.
  Result<void> flush(bool last) {
    if (pending_.empty()) return {};
    RedactedEvents batch = redact_events(base_, pending_);
    const std::size_t cut = last ? pending_.size() : safe_cut(batch.changed);
    if (cut < pending_.size())  // the tail is redacted (and counted) again with the next batch
      subtract(batch.summary, redact_events(base_, std::span(pending_).subspan(cut)).summary);
    summary_.merge(batch.summary);
    for (std::size_t i = 0; i < cut; ++i)
      if (auto emitted = emit_(batch.events[i]); !emitted) return emitted;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(cut));
    pending_bytes_ = 0;
    for (const auto& event : pending_) pending_bytes_ += event.data.size();
    return {};
  }

  // The latest index at or before the start of the last kOverlapBytes where, for output and
  // input alike, the next event of the stream was left untouched: no secret found in this batch
  // reaches into the part kept back. None: everything goes (the batch was all secrets).
  std::size_t safe_cut(const std::vector<bool>& changed) const {
    std::size_t start = pending_.size();
    for (std::size_t tail = 0; start > 0 && tail < kOverlapBytes;)
      tail += pending_[--start].data.size();
    for (std::size_t cut = start; cut > 0; --cut)
      if (untouched_from(cut, changed)) return cut;
    return pending_.size();
  }

  bool untouched_from(std::size_t cut, const std::vector<bool>& changed) const {
    for (const char type : {'o', 'i'})
      for (std::size_t i = cut; i < pending_.size(); ++i)
        if (pending_[i].type == type) {
          if (changed[i]) return false;
          break;
        }
    return true;
  }

  const Redactor& base_;
  std::function<Result<void>(const CastEvent&)> emit_;
  std::vector<CastEvent> pending_;
  std::size_t pending_bytes_ = 0;
  RedactionSummary summary_;
};

// ---- writing a cast ----

void encode_event(recorder::CastEncoder& encoder, std::string& out, const CastEvent& event,
                  double time) {
  switch (event.type) {
    case 'o':
      encoder.output(out, time, event.data);
      break;
    case 'i':
      encoder.input(out, time, event.data);
      break;
    case 'm':
      encoder.marker(out, time, event.data);
      break;
    case 'r':
      if (const auto size = recorder::parse_resize(event.data)) {
        encoder.resize(out, time, size->cols, size->rows);
        break;
      }
      [[fallthrough]];
    default:
      encoder.event(out, time, event.type, event.data);
  }
}

// Writes the header once the terminal's size at the slice's start is known, then the events.
class CastSliceWriter {
 public:
  CastSliceWriter(OutputFile file, recorder::CastHeader header, double start)
      : file_(std::move(file)), header_(std::move(header)), start_(start) {}

  void before_start(const CastEvent& event) {
    if (event.type != 'r') return;
    if (const auto size = recorder::parse_resize(event.data)) {
      header_.width = size->cols;
      header_.height = size->rows;
    }
  }

  Result<void> write(const CastEvent& event) {
    write_header();
    encode_event(encoder_, file_.buffer(), event, std::max(0.0, event.time - start_));
    return file_.flush_if_full();
  }

  Result<void> close() {
    write_header();
    encoder_.finish(file_.buffer());
    return file_.close();
  }

 private:
  void write_header() {
    if (header_written_) return;
    header_.timestamp += static_cast<std::int64_t>(start_);
    file_.buffer() += recorder::CastEncoder::header_line(header_);
    header_written_ = true;
  }

  OutputFile file_;
  recorder::CastHeader header_;
  double start_;
  recorder::CastEncoder encoder_;
  bool header_written_ = false;
};

// ---- the segment's parts ----

const recorder::TaskSegment* find_segment(const recorder::SessionRecord& record,
                                          std::size_t index) {
  return index < record.task_segments.size() ? &record.task_segments[index] : nullptr;
}

bool in_segment(const recorder::TaskSegment& segment, int turn) {
  return std::find(segment.turns.begin(), segment.turns.end(), turn) != segment.turns.end();
}

// The conversation.jsonl lines of the segment's turns, as stored (or as built now, while the
// session still runs and the file is not written yet).
std::string segment_conversation(const std::string& bundle_dir,
                                 const recorder::SessionRecord& record,
                                 const recorder::TaskSegment& segment, const PackOptions& options) {
  std::string lines;
  if (const auto text = read_text(bundle_dir + "/" + recorder::kConversationFile)) {
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      const auto message = recorder::parse_jsonl_line(line);
      if (message && in_segment(segment, message->turn)) lines += line + "\n";
    }
    return lines;
  }
  const recorder::BuiltConversation built =
      recorder::build_conversation(bundle_dir, record, options.terminal_answers);
  for (const auto& message : built.messages)
    if (in_segment(segment, message.turn)) lines += recorder::to_jsonl_line(message) + "\n";
  return lines;
}

nlohmann::json stat_json(const std::optional<recorder::DiffStat>& stat) {
  if (!stat) return nullptr;
  return {{"files", stat->files}, {"insertions", stat->insertions}, {"deletions", stat->deletions}};
}

std::string absolute_time(const recorder::SessionRecord& record, double seconds) {
  return recorder::iso8601_utc(record.started_unix_ms +
                               static_cast<std::int64_t>(seconds * 1000.0));
}

double segment_end(const recorder::SessionRecord& record, const recorder::TaskSegment& segment) {
  return segment.end.value_or(std::max(record.duration, segment.start));
}

nlohmann::json turns_json(const recorder::SessionRecord& record,
                          const recorder::TaskSegment& segment, Redactor& redactor) {
  nlohmann::json turns = nlohmann::json::array();
  for (const auto& turn : record.turns) {
    if (!in_segment(segment, turn.index)) continue;
    turns.push_back({{"index", turn.index},
                     {"start", std::max(0.0, turn.start - segment.start)},
                     {"end", turn.end ? nlohmann::json(std::max(0.0, *turn.end - segment.start))
                                      : nlohmann::json(nullptr)},
                     {"prompt", redactor.redact(turn.prompt)},
                     {"approximate", turn.approximate},
                     {"source", turn.source},
                     {"stat", stat_json(turn.stat)}});
  }
  return turns;
}

nlohmann::json git_json(const recorder::SessionRecord& record, const recorder::TaskSegment& segment,
                        Redactor& redactor) {
  if (!record.git) return nullptr;
  return {{"branch", record.git->branch},
          {"head", record.git->head},
          {"remote_url", redactor.redact(record.git->remote_url)},
          {"start_snapshot", segment.start_snapshot},
          {"end_snapshot", segment.end_snapshot}};
}

nlohmann::json argv_json(const std::vector<std::string>& argv, Redactor& redactor) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& argument : argv) out.push_back(redactor.redact(argument));
  return out;
}

// The SessionMeta of one upload; "files" and "redaction" are filled in last.
nlohmann::json session_meta(const recorder::SessionRecord& record, std::size_t index,
                            const recorder::TaskSegment& segment, Redactor& redactor) {
  const double end = segment_end(record, segment);
  return {{"format", "sddsh-upload"},
          {"version", 1},
          {"session_id", record.id},
          {"upload_id", upload_id_for(record.id, index)},
          {"task_id", segment.task_id},
          {"segment", index},
          {"segments", record.task_segments.size()},
          {"agent", record.agent},
          {"agent_kind", record.agent_info.kind},
          {"argv", argv_json(record.argv, redactor)},
          {"cwd", redactor.redact(record.cwd)},
          {"hostname", record.hostname},
          {"started_at", absolute_time(record, segment.start)},
          {"ended_at", absolute_time(record, end)},
          {"duration", std::max(0.0, end - segment.start)},
          {"session_status", recorder::status_name(record.status)},
          {"cols", record.cols},
          {"rows", record.rows},
          {"turns", turns_json(record, segment, redactor)},
          {"stat", stat_json(segment.stat)},
          {"git", git_json(record, segment, redactor)}};
}

// One file of the upload: the bundle's file at `source`, redacted as text or as JSON lines.
Result<bool> stage_redacted(tracker::StagedEntry& staged, const std::string& name,
                            const std::string& source, bool json_lines, Redactor& redactor) {
  const auto text = read_text(source);
  if (!text) return false;  // not written (no diff, no transcript yet): nothing to send
  const std::string redacted = json_lines ? redactor.redact_jsonl(*text) : redactor.redact(*text);
  if (auto added = staged.add_bytes(name, redacted); !added) return Failure{added.error()};
  return true;
}

Result<void> stage_patches(tracker::StagedEntry& staged, const std::string& bundle_dir,
                           const recorder::SessionRecord& record,
                           const recorder::TaskSegment& segment, Redactor& redactor) {
  if (!segment.diff.empty()) {
    auto added =
        stage_redacted(staged, "task.patch", bundle_dir + "/" + segment.diff, false, redactor);
    if (!added) return Failure{added.error()};
  }
  for (const auto& turn : record.turns) {
    if (!in_segment(segment, turn.index) || turn.diff.empty()) continue;
    auto added =
        stage_redacted(staged, base_name(turn.diff), bundle_dir + "/" + turn.diff, false, redactor);
    if (!added) return Failure{added.error()};
  }
  return {};
}

// The agent's own transcripts, whole: they are the session's, not the segment's.
Result<std::vector<std::string>> stage_transcripts(tracker::StagedEntry& staged,
                                                   const std::string& bundle_dir,
                                                   const recorder::SessionRecord& record,
                                                   Redactor& redactor) {
  std::vector<std::string> skipped;
  for (const auto& transcript : record.transcripts) {
    const std::string name = "transcript-" + base_name(transcript.file);
    if (!tracker::is_valid_upload_name(name)) {
      skipped.push_back(transcript.file + ": its name cannot be uploaded");
      continue;
    }
    auto added = stage_redacted(staged, name, bundle_dir + "/" + transcript.file, true, redactor);
    if (!added) return Failure{added.error()};
  }
  return skipped;
}

Result<RedactionSummary> stage_cast(tracker::StagedEntry& staged, const std::string& bundle_dir,
                                    const recorder::TaskSegment& segment,
                                    const Redactor& redactor) {
  const std::string source = bundle_dir + "/terminal.cast";
  if (!std::filesystem::exists(source)) return RedactionSummary{};
  auto summary = write_cast_slice(source, staged.file_path("terminal.cast"), segment.start,
                                  segment.end, redactor);
  if (!summary) return summary;
  if (auto added = staged.add_file("terminal.cast"); !added) return Failure{added.error()};
  return summary;
}

// session.json lists the other files (it cannot hold its own hash); the metadata PUT lists all.
nlohmann::json files_json(const std::vector<tracker::OutboxFile>& files) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& file : files)
    out.push_back({{"name", file.name}, {"sha256", file.sha256}, {"size", file.size}});
  return out;
}

}  // namespace

std::string upload_id_for(const std::string& session_id, std::size_t segment_index) {
  return session_id + "." + std::to_string(segment_index);
}

Result<RedactionSummary> write_cast_slice(const std::string& source, const std::string& dest,
                                          double start, std::optional<double> end,
                                          const Redactor& redactor) {
  auto reader = recorder::CastReader::open(source);
  if (!reader) return Failure{reader.error()};
  auto file = OutputFile::create(dest);
  if (!file) return Failure{file.error()};
  CastSliceWriter writer(std::move(*file), reader->header(), start);
  EventRedactor events(redactor, [&writer](const CastEvent& event) { return writer.write(event); });
  while (auto event = reader->next()) {
    if (end && event->time >= *end) break;
    if (event->time < start) {
      writer.before_start(*event);
      continue;
    }
    if (auto added = events.add(std::move(*event)); !added) return Failure{added.error()};
  }
  if (auto finished = events.finish(); !finished) return Failure{finished.error()};
  if (auto closed = writer.close(); !closed) return Failure{closed.error()};
  return events.summary();
}

Result<PackedUpload> pack_segment(const tracker::Outbox& outbox, const std::string& url,
                                  const std::string& project, const std::string& bundle_dir,
                                  std::size_t segment_index, const Redactor& base,
                                  const PackOptions& options) {
  auto record = recorder::load_session_record(bundle_dir);
  if (!record) return Failure{record.error()};
  const recorder::TaskSegment* segment = find_segment(*record, segment_index);
  if (!segment)
    return Failure{Error{0, bundle_dir + " has no task segment " + std::to_string(segment_index)}};
  const std::string upload_id = upload_id_for(record->id, segment_index);
  auto staged = outbox.stage(upload_id, url, project);
  if (!staged) return Failure{staged.error()};
  Redactor redactor = base;
  redactor.reset_summary();

  auto cast = stage_cast(*staged, bundle_dir, *segment, redactor);
  if (!cast) return Failure{cast.error()};
  const std::string conversation =
      redactor.redact_jsonl(segment_conversation(bundle_dir, *record, *segment, options));
  if (auto added = staged->add_bytes(recorder::kConversationFile, conversation); !added)
    return Failure{added.error()};
  if (auto patches = stage_patches(*staged, bundle_dir, *record, *segment, redactor); !patches)
    return Failure{patches.error()};
  auto skipped = stage_transcripts(*staged, bundle_dir, *record, redactor);
  if (!skipped) return Failure{skipped.error()};

  nlohmann::json meta = session_meta(*record, segment_index, *segment, redactor);
  RedactionSummary summary = redactor.summary();
  summary.merge(*cast);
  meta["redaction"] = summary.to_json();
  if (!skipped->empty()) meta["warnings"] = *skipped;
  meta["files"] = files_json(staged->files());
  if (auto added = staged->add_bytes("session.json", meta.dump(2) + "\n"); !added)
    return Failure{added.error()};
  staged->set_metadata(std::move(meta));
  staged->set_origin({{"bundle_dir", bundle_dir},
                      {"session_id", record->id},
                      {"segment", segment_index},
                      {"task_id", segment->task_id}});
  auto committed = staged->commit();
  if (!committed) return Failure{committed.error()};
  return PackedUpload{upload_id, *committed, std::move(summary)};
}

// ---- --redact-local ----

namespace {

// Rewrites a bundle file redacted: a temporary file, then a rename.
Result<void> redact_file_in_place(const std::string& path, bool json_lines, Redactor& redactor) {
  const auto text = read_text(path);
  if (!text) return {};
  const std::string redacted = json_lines ? redactor.redact_jsonl(*text) : redactor.redact(*text);
  if (redacted == *text) return {};
  return recorder::write_file_atomically(path, redacted);
}

Result<RedactionSummary> redact_cast_in_place(const std::string& path, const Redactor& redactor) {
  if (!std::filesystem::exists(path)) return RedactionSummary{};
  const std::string temporary = path + ".redacting";
  auto summary = write_cast_slice(path, temporary, 0, std::nullopt, redactor);
  if (!summary) {
    std::filesystem::remove(temporary);
    return summary;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return system_failure("rename " + temporary);
  return summary;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(dir, error))
    if (item.is_regular_file()) paths.push_back(item.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string summary_text(const RedactionSummary& summary) {
  std::string text;
  for (const auto& [kind, count] : summary.counts)
    text += (text.empty() ? "" : ", ") + kind + " " + std::to_string(count);
  return text;
}

void redact_record(recorder::SessionRecord& record, Redactor& redactor) {
  for (auto& argument : record.argv) argument = redactor.redact(argument);
  for (auto& turn : record.turns) turn.prompt = redactor.redact(turn.prompt);
  if (record.git) record.git->remote_url = redactor.redact(record.git->remote_url);
}

}  // namespace

Result<RedactionSummary> redact_bundle_in_place(const std::string& bundle_dir,
                                                const Redactor& base) {
  auto record = recorder::load_session_record(bundle_dir);
  if (!record) return Failure{record.error()};
  Redactor redactor = base;
  redactor.reset_summary();
  auto cast = redact_cast_in_place(bundle_dir + "/terminal.cast", redactor);
  if (!cast) return Failure{cast.error()};
  std::vector<std::pair<std::string, bool>> files{
      {bundle_dir + "/" + recorder::kConversationFile, true}};
  for (const auto& path : files_under(bundle_dir + "/transcript")) files.emplace_back(path, true);
  for (const auto& path : files_under(bundle_dir + "/diffs")) files.emplace_back(path, false);
  for (const auto& [path, json_lines] : files)
    if (auto done = redact_file_in_place(path, json_lines, redactor); !done)
      return Failure{done.error()};
  redact_record(*record, redactor);
  RedactionSummary summary = redactor.summary();
  summary.merge(*cast);
  record->warnings.push_back(
      "redacted locally (--redact-local): " +
      (summary.total() == 0 ? std::string("nothing found") : summary_text(summary)));
  if (auto written =
          recorder::write_file_atomically(bundle_dir + "/session.json", to_json_text(*record));
      !written)
    return Failure{written.error()};
  return summary;
}

}  // namespace sddsh::app
