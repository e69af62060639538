#include "app/uploader.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "recorder/session_record.hpp"
#include "shell/signal_free_thread.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::app {

namespace {

std::string ledger_path(const std::string& bundle_dir) {
  return bundle_dir + "/" + kUploadLedgerFile;
}

std::string normalized_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The live uploader and a `sync` may update one bundle's record at once: each read-modify-write
// holds a lock on the bundle directory.
class BundleLock {
 public:
  explicit BundleLock(const std::string& bundle_dir)
      : fd_(::open(bundle_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_) ::flock(fd_.get(), LOCK_EX);
  }
  bool held() const { return fd_.valid(); }

 private:
  shell::UniqueFd fd_;
};

nlohmann::json ledger_json(const UploadLedger& ledger) {
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& segment : ledger.segments) {
    nlohmann::json entry = {{"index", segment.index}, {"state", segment.state}};
    if (!segment.message.empty()) entry["message"] = segment.message;
    segments.push_back(std::move(entry));
  }
  return {{"url", ledger.url}, {"project", ledger.project}, {"segments", std::move(segments)}};
}

std::optional<UploadLedger> parse_ledger(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  try {
    UploadLedger ledger;
    ledger.url = json.at("url").get<std::string>();
    ledger.project = json.at("project").get<std::string>();
    for (const auto& segment : json.value("segments", nlohmann::json::array()))
      ledger.segments.push_back({segment.at("index").get<std::size_t>(),
                                 segment.at("state").get<std::string>(),
                                 segment.value("message", "")});
    return ledger;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Result<void> write_ledger(const std::string& bundle_dir, const UploadLedger& ledger) {
  return recorder::write_file_atomically(ledger_path(bundle_dir),
                                         ledger_json(ledger).dump(2) + "\n");
}

bool bound_for(const UploadLedger& ledger, const tracker::RemoteConfig& remote) {
  return ledger.url == normalized_url(remote.url) && ledger.project == remote.project;
}

// A segment is ready for upload once it has ended: its end is in session.json, or the session
// is over (finished, or recovered after its sddsh died).
bool segment_ended(const recorder::SessionRecord& record, const recorder::TaskSegment& segment) {
  return segment.end.has_value() || record.status != recorder::SessionRecord::Status::Running;
}

bool needs_packing(const recorder::SessionRecord& record, std::size_t index,
                   const UploadLedger& ledger, const tracker::Outbox& outbox) {
  if (!segment_ended(record, record.task_segments[index])) return false;
  const UploadLedger::Segment* known = ledger.segment(index);
  // Uploaded; or refused by the server, and its entry deleted by hand to drop it.
  if (known && (known->state == "uploaded" || known->state == "failed")) return false;
  return !outbox.contains(upload_id_for(record.id, index));
}

std::chrono::milliseconds doubled(std::chrono::milliseconds delay, std::chrono::milliseconds first,
                                  std::chrono::milliseconds most) {
  return delay.count() == 0 ? first : std::min(delay * 2, most);
}

}  // namespace

// ---- the per-bundle record ----

const UploadLedger::Segment* UploadLedger::segment(std::size_t index) const {
  for (const auto& entry : segments)
    if (entry.index == index) return &entry;
  return nullptr;
}

std::optional<UploadLedger> read_ledger(const std::string& bundle_dir) {
  std::ifstream in(ledger_path(bundle_dir));
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_ledger(text.str());
}

Result<void> bind_bundle(const std::string& bundle_dir, const std::string& url,
                         const std::string& project) {
  BundleLock lock(bundle_dir);
  if (!lock.held()) return system_failure("open " + bundle_dir);
  if (read_ledger(bundle_dir)) return {};
  return write_ledger(bundle_dir, UploadLedger{normalized_url(url), project, {}});
}

Result<void> mark_segment(const std::string& bundle_dir, std::size_t index,
                          const std::string& state, const std::string& message) {
  BundleLock lock(bundle_dir);
  if (!lock.held()) return system_failure("open " + bundle_dir);
  auto ledger = read_ledger(bundle_dir);
  if (!ledger) return {};
  auto found = std::find_if(ledger->segments.begin(), ledger->segments.end(),
                            [index](const auto& segment) { return segment.index == index; });
  if (found == ledger->segments.end()) found = ledger->segments.insert(found, {index, "", ""});
  found->state = state;
  found->message = message;
  std::sort(ledger->segments.begin(), ledger->segments.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  return write_ledger(bundle_dir, *ledger);
}

void record_outcome(const tracker::OutboxManifest& manifest, const tracker::DrainOutcome& outcome) {
  const auto& origin = manifest.origin;
  if (!origin.contains("bundle_dir") || !origin.contains("segment")) return;
  try {
    const bool uploaded = outcome.kind == tracker::DrainOutcome::Kind::Uploaded;
    (void)mark_segment(origin.at("bundle_dir").get<std::string>(),
                       origin.at("segment").get<std::size_t>(), uploaded ? "uploaded" : "failed",
                       outcome.message);
  } catch (const nlohmann::json::exception&) {
    // A manifest from elsewhere: its bundle is not ours to mark.
  }
}

PackMissingReport pack_missing(const recorder::Store& store, const tracker::RemoteConfig& remote,
                               const tracker::Outbox& outbox, const recorder::Redactor& redactor,
                               const PackOptions& options) {
  PackMissingReport report;
  std::vector<std::string> ids = recorder::list_bundle_ids(store);
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    const std::string bundle = store.bundle_dir(id);
    const auto ledger = read_ledger(bundle);
    if (!ledger || !bound_for(*ledger, remote)) continue;
    auto record = recorder::load_session_record(bundle);
    if (!record) {
      report.errors.push_back(bundle + ": " + record.error().message);
      continue;
    }
    for (std::size_t index = 0; index < record->task_segments.size(); ++index) {
      if (!needs_packing(*record, index, *ledger, outbox)) continue;
      auto packed =
          pack_segment(outbox, remote.url, remote.project, bundle, index, redactor, options);
      if (!packed) {
        report.errors.push_back(bundle + ": segment " + std::to_string(index) + ": " +
                                packed.error().message);
        continue;
      }
      (void)mark_segment(bundle, index, "queued");
      ++report.packed;
    }
  }
  return report;
}

// ---- the uploader ----

Uploader::Uploader(recorder::Store store, tracker::RemoteConfig remote,
                   std::vector<std::string> environment, std::vector<std::string> redact_patterns,
                   UploaderOptions options)
    : store_(std::move(store)),
      remote_(std::move(remote)),
      options_(std::move(options)),
      outbox_(store_.root) {
  auto redactor = recorder::Redactor::create(environment, redact_patterns);
  if (redactor)
    redactor_.emplace(std::move(*redactor));
  else
    status_.last_error = "uploads off: " + redactor.error().message;
  thread_ = shell::start_signal_free_thread([this] { run(); });
}

Uploader::~Uploader() {
  stop_thread();
}

void Uploader::stop_thread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    abort_.request_stop();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Uploader::session_started(const std::string& bundle_dir) {
  if (auto bound = bind_bundle(bundle_dir, remote_.url, remote_.project); !bound) {
    std::lock_guard lock(mutex_);
    status_.last_error = bound.error().message;
  }
}

void Uploader::segment_closed(const std::string& bundle_dir, std::size_t segment_index) {
  {
    std::lock_guard lock(mutex_);
    packs_.push_back({bundle_dir, segment_index});
    drain_yield_.request_stop();  // pack first: a drain under way yields between files
  }
  wake_.notify_all();
}

UploadStatus Uploader::status() const {
  std::lock_guard lock(mutex_);
  UploadStatus status = status_;
  status.packing = packs_.size() + (packing_ ? 1 : 0);
  return status;
}

void Uploader::finish(std::chrono::milliseconds drain_for) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return (packs_.empty() && !packing_) || worker_done_; });
  const std::size_t wanted = ++drain_requests_;
  drain_wanted_ = true;
  retry_at_.reset();  // one last try now, whatever the server did before
  wake_.notify_all();
  changed_.wait_for(lock, drain_for, [&] { return drains_served_ >= wanted || worker_done_; });
  lock.unlock();
  stop_thread();
}

bool Uploader::wait_for_work(std::unique_lock<std::mutex>& lock) {
  const auto ready = [this] {
    return stopping_ || !packs_.empty() || (drain_wanted_ && !retry_at_);
  };
  while (!ready()) {
    if (!retry_at_) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point at = *retry_at_;
    if (wake_.wait_until(lock, at) == std::cv_status::timeout && retry_at_ == at)
      retry_at_.reset();  // time for another try
  }
  return !stopping_;
}

void Uploader::run() {
  if (redactor_) work();
  std::lock_guard lock(mutex_);
  worker_done_ = true;
  changed_.notify_all();
}

void Uploader::work() {
  tracker::HttpClient http(remote_, options_.policy);
  http.set_abort(abort_.get_token());  // stopping never waits out a hung server's timeouts
  {
    const auto left = pack_missing(store_, remote_, outbox_, *redactor_, options_.pack);
    std::lock_guard lock(mutex_);
    if (!left.errors.empty()) status_.last_error = left.errors.front();
  }
  refresh_counts();
  std::unique_lock lock(mutex_);
  while (wait_for_work(lock)) {
    if (!packs_.empty()) {
      const PackJob job = packs_.front();
      packs_.pop_front();
      packing_ = true;
      lock.unlock();
      pack(job);
      lock.lock();
      packing_ = false;
      drain_wanted_ = true;
      retry_at_.reset();  // a new upload is worth a try at once
      changed_.notify_all();
      continue;
    }
    drain_wanted_ = false;
    drain_yield_ = std::stop_source();
    const std::stop_token yield = drain_yield_.get_token();
    const std::size_t serving = drain_requests_;
    lock.unlock();
    drain(http, yield);
    lock.lock();
    if (yield.stop_requested()) drain_wanted_ = true;  // yielded to a pack: go on after it
    drains_served_ = std::max(drains_served_, serving);
    if (drain_requests_ > drains_served_) {  // finish() asked while this one ran: once more, now
      drain_wanted_ = true;
      retry_at_.reset();
    }
    changed_.notify_all();
  }
}

void Uploader::pack(const PackJob& job) {
  auto packed = pack_segment(outbox_, remote_.url, remote_.project, job.bundle_dir,
                             job.segment_index, *redactor_, options_.pack);
  if (packed) {
    (void)mark_segment(job.bundle_dir, job.segment_index, "queued");
  } else {
    std::lock_guard lock(mutex_);
    status_.last_error = "packing segment " + std::to_string(job.segment_index) + " of " +
                         job.bundle_dir + ": " + packed.error().message;
  }
  refresh_counts();
}

void Uploader::drain(tracker::HttpClient& http, std::stop_token yield) {
  tracker::DrainOptions options;
  options.stop = std::move(yield);
  options.abort = abort_.get_token();
  options.on_outcome = record_outcome;
  options.progress = [this](const tracker::DrainProgress& progress) {
    std::lock_guard lock(mutex_);
    status_.current = progress.upload_id + (progress.file.empty() ? "" : " " + progress.file);
    status_.fraction = progress.bytes_total == 0 ? 1.0
                                                 : static_cast<double>(progress.bytes_done) /
                                                       static_cast<double>(progress.bytes_total);
  };
  const tracker::DrainReport report = outbox_.drain(http, options);
  {
    std::lock_guard lock(mutex_);
    status_.current.clear();
    status_.fraction = 0;
    status_.uploaded += report.uploaded;
    status_.server_down = report.server_down;
    if (!report.error.empty())
      status_.last_error = report.error;
    else if (!report.failed.empty())
      status_.last_error = report.failed.back().message;
    if (report.server_down || (!report.error.empty() && !report.stopped)) {
      retry_delay_ = doubled(retry_delay_, options_.retry_after, options_.max_retry_after);
      retry_at_ = Clock::now() + retry_delay_;
      drain_wanted_ = true;
    } else if (!report.stopped) {
      retry_delay_ = {};
    }
  }
  refresh_counts();
}

void Uploader::refresh_counts() {
  std::size_t queued = 0, failed = 0;
  for (const auto& entry : outbox_.pending_for(remote_.url, remote_.project))
    ++(entry.manifest.failed ? failed : queued);
  std::lock_guard lock(mutex_);
  status_.queued = queued;
  status_.failed = failed;
}

}  // namespace sddsh::app
