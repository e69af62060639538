#pragma once
// The background uploader (docs/outbox.md): when a task segment ends, a thread of its own packs it
// into the outbox and drains the outbox to the remote tracker; the caller (the event loop, the
// recorder's worker) never waits for the disk or the network. What cannot be sent stays queued
// for the next run or `sddsh sync`.
//
// Each bundle bound for a remote keeps <bundle>/uploads.json: the remote, and per segment whether
// it is queued, uploaded or failed. A segment that ended but was never packed (sddsh killed in
// between) has no state there, and `sync` packs it.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "app/upload_packer.hpp"
#include "recorder/redaction.hpp"
#include "recorder/store.hpp"
#include "shell/result.hpp"
#include "tracker-client/http_client.hpp"
#include "tracker-client/outbox.hpp"
#include "tracker-client/remote_config.hpp"

namespace sddsh::app {

// ---- the per-bundle record: <bundle>/uploads.json ----

inline constexpr const char* kUploadLedgerFile = "uploads.json";

struct UploadLedger {
  std::string url, project;
  struct Segment {
    std::size_t index = 0;
    std::string state;    // "queued", "uploaded", "failed"
    std::string message;  // the server's, for "failed"
  };
  std::vector<Segment> segments;

  const Segment* segment(std::size_t index) const;
};

// Marks the bundle as bound for this remote (a bundle bound already keeps its record).
Result<void> bind_bundle(const std::string& bundle_dir, const std::string& url,
                         const std::string& project);
std::optional<UploadLedger> read_ledger(const std::string& bundle_dir);
// Sets one segment's state; a bundle that is not bound is left alone.
Result<void> mark_segment(const std::string& bundle_dir, std::size_t index,
                          const std::string& state, const std::string& message = {});
// For Outbox::drain: what the server said about an entry goes to its bundle's record.
void record_outcome(const tracker::OutboxManifest& manifest, const tracker::DrainOutcome& outcome);

struct PackMissingReport {
  std::size_t packed = 0;
  std::vector<std::string> errors;  // "<bundle>: segment 2: <why>"
};

// Packs every ended segment of the store's bundles bound for this remote that is neither in
// the outbox, nor uploaded, nor failed (a failed entry deleted by hand stays dropped).
PackMissingReport pack_missing(const recorder::Store& store, const tracker::RemoteConfig& remote,
                               const tracker::Outbox& outbox, const recorder::Redactor& redactor,
                               const PackOptions& options = {});

// ---- the uploader ----

struct UploadStatus {
  std::size_t packing = 0;  // handed over by segment_closed(), not in the outbox yet
  std::size_t queued = 0, uploaded = 0, failed = 0;
  std::string current;  // "<upload id> <file>" while sending
  double fraction = 0;  // of the current drain's bytes
  std::string last_error;
  bool server_down = false;
};

struct UploaderOptions {
  // The outbox retries what failed anyway: a short policy keeps a dead server from holding up
  // the queue (and finish()).
  tracker::RetryPolicy policy{.max_attempts = 3};
  // After the server was down, the next drain comes this long later (doubling up to the max),
  // or at once when a segment ends.
  std::chrono::milliseconds retry_after{30000}, max_retry_after{300000};
  PackOptions pack;
};

class Uploader {
 public:
  // Starts the thread, which first drains what earlier runs left queued. A bad redaction
  // pattern stops every upload (nothing leaves unredacted): status().last_error says why.
  Uploader(recorder::Store store, tracker::RemoteConfig remote,
           std::vector<std::string> environment, std::vector<std::string> redact_patterns,
           UploaderOptions options = {});
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;
  ~Uploader();  // stops at once (what is left stays queued) unless finish() ran

  // Marks the bundle as bound for this remote (uploads.json).
  void session_started(const std::string& bundle_dir);
  // Thread-safe; returns at once. The segment is packed, then the outbox drained.
  void segment_closed(const std::string& bundle_dir, std::size_t segment_index);
  // Thread-safe and cheap: the panel polls it.
  UploadStatus status() const;
  // At session end: every handed segment is packed (however long that takes), then the outbox
  // drains for at most `drain_for`; what is left stays queued. The thread has ended on return.
  void finish(std::chrono::milliseconds drain_for);

 private:
  struct PackJob {
    std::string bundle_dir;
    std::size_t segment_index;
  };
  using Clock = std::chrono::steady_clock;

  void run();
  void work();
  void pack(const PackJob& job);
  void drain(tracker::HttpClient& http, std::stop_token yield);
  void refresh_counts();
  bool wait_for_work(std::unique_lock<std::mutex>& lock);
  void stop_thread();

  const recorder::Store store_;
  const tracker::RemoteConfig remote_;
  const UploaderOptions options_;
  const tracker::Outbox outbox_;
  std::optional<recorder::Redactor> redactor_;  // unset: a bad pattern, no uploads

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the worker: work, or stop
  std::condition_variable changed_;  // finish(): packs done, a drain done
  std::deque<PackJob> packs_;
  bool packing_ = false;
  bool drain_wanted_ = true;  // earlier runs' leftovers
  std::optional<Clock::time_point> retry_at_;
  std::chrono::milliseconds retry_delay_{};
  std::size_t drain_requests_ = 0, drains_served_ = 0;
  std::stop_source drain_yield_;  // of the drain under way: a pack waits, it goes first
  std::stop_source abort_;        // the thread is stopping: cut even a transfer short
  bool stopping_ = false;
  bool worker_done_ = false;  // run() returned (also at once, without a redactor)
  UploadStatus status_;
  std::thread thread_;  // last: started once the rest is set up
};

}  // namespace sddsh::app
