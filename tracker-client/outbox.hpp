#pragma once
// The upload outbox (docs/outbox.md): every upload waits on disk, in <store>/outbox/, until the
// server has confirmed it. An entry is a directory <upload-id>/ holding manifest.json (where it
// goes, the metadata to PUT, its files and how its tries went) and files/ (the bytes to send,
// already redacted). Entries appear whole (built under .staging-…, fsynced, renamed), so a crash
// never leaves half of one; a drain holds a lock on each entry it sends, so two processes
// draining at once never send the same one.
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shell/result.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::tracker {

class HttpClient;

struct OutboxFile {
  std::string name, sha256;
  std::uint64_t size = 0;
};

struct OutboxManifest {
  std::string upload_id;
  std::string url, project;                            // the remote it is bound for
  std::string created_at;                              // ISO 8601 UTC
  std::int64_t created_ns = 0;                         // orders entries made within one millisecond
  nlohmann::json metadata = nlohmann::json::object();  // the SessionMeta to PUT
  std::vector<OutboxFile> files;
  int attempts = 0;
  std::string last_error;
  bool failed = false;  // the server refused it (a 4xx): kept, reported, tried again next drain
  // Local only, never sent: where the upload came from (the packer puts the bundle and segment).
  nlohmann::json origin = nlohmann::json::object();
};

nlohmann::json to_json(const OutboxManifest& manifest);
Result<OutboxManifest> manifest_from_json(const nlohmann::json& json);

struct OutboxEntry {
  std::string dir;  // <outbox>/<upload-id>
  OutboxManifest manifest;

  std::string file_path(const std::string& name) const { return dir + "/files/" + name; }
};

// An entry being built in a staging directory, which is locked while it lives (a cleaner leaves
// it alone) and removed unless committed.
class StagedEntry {
 public:
  StagedEntry(StagedEntry&& other) noexcept;
  StagedEntry& operator=(StagedEntry&&) = delete;
  StagedEntry(const StagedEntry&) = delete;
  StagedEntry& operator=(const StagedEntry&) = delete;
  ~StagedEntry();

  const std::string& upload_id() const { return manifest_.upload_id; }
  // Where the file `name` goes, for a caller that streams it (then add_file).
  std::string file_path(const std::string& name) const;
  // Takes the file written at file_path(name) into the entry: its hash and size.
  Result<void> add_file(const std::string& name);
  Result<void> add_bytes(const std::string& name, std::string_view bytes);
  const std::vector<OutboxFile>& files() const { return manifest_.files; }
  void set_metadata(nlohmann::json metadata) { manifest_.metadata = std::move(metadata); }
  void set_origin(nlohmann::json origin) { manifest_.origin = std::move(origin); }

  // Syncs everything to disk and renames the entry into the outbox. An older entry with the same
  // id is replaced, unless a drain is sending it right now (then that one stays and this one is
  // dropped). Returns the entry's directory.
  Result<std::string> commit();

 private:
  friend class Outbox;
  StagedEntry(std::string outbox_dir, std::string staging_dir, shell::UniqueFd lock,
              OutboxManifest manifest);

  std::string outbox_dir_, staging_dir_;
  shell::UniqueFd lock_;
  OutboxManifest manifest_;
  bool done_ = false;  // committed, or moved from
};

struct DrainProgress {
  std::size_t item = 0, items = 0;  // item counts from 1
  std::string upload_id, file;
  std::uint64_t bytes_done = 0, bytes_total = 0;  // over the whole drain
};

struct DrainOutcome {
  enum class Kind : unsigned char { Uploaded, Failed } kind = Kind::Uploaded;
  std::string message;  // the server's, for Failed
};

struct DrainOptions {
  std::function<void(const DrainProgress&)> progress;
  // Called right after the server confirmed (or refused) an entry, before it is removed.
  std::function<void(const OutboxManifest&, const DrainOutcome&)> on_outcome;
  std::stop_token stop;   // checked between files: the drain yields, nothing is cut
  std::stop_token abort;  // also cuts a file's transfer short (the server keeps what came)
};

struct DrainFailure {
  std::string upload_id, message;
};

struct DrainReport {
  std::size_t uploaded = 0;
  std::vector<DrainFailure> failed;  // refused by the server this time; still in the outbox
  std::size_t remaining = 0;         // entries for this remote left in the outbox (failed ones too)
  std::size_t busy = 0;              // skipped: another process was sending them
  bool server_down = false;          // network error or 5xx: the drain stopped, nothing was lost
  bool stopped = false;              // asked to stop
  std::string error;                 // why the drain stopped early (server down, token refused)
};

class Outbox {
 public:
  // The outbox of a store: <store_root>/outbox.
  explicit Outbox(const std::string& store_root);

  const std::string& dir() const { return dir_; }

  // Starts an entry. The upload id must be a valid one (docs/tracker-api.md).
  Result<StagedEntry> stage(const std::string& upload_id, const std::string& url,
                            const std::string& project) const;
  bool contains(const std::string& upload_id) const;
  std::optional<OutboxEntry> entry(const std::string& upload_id) const;

  // Every entry, in creation order. Entries whose manifest cannot be read are skipped.
  std::vector<OutboxEntry> pending() const;
  // Those bound for this remote.
  std::vector<OutboxEntry> pending_for(const std::string& url, const std::string& project) const;

  // Removes what crashed builders and removers left behind (.staging-…, .trash-… that no live
  // process holds).
  void clean_stale() const;

  // Sends each entry bound for the client's remote: its files (resumable, idempotent), then
  // the metadata PUT that commits them; an entry leaves the outbox only once the server has
  // confirmed it. A network error or 5xx stops the drain (retried next time); a 4xx marks that
  // entry failed and goes on; 401/403 stop it (every entry would get the same answer).
  DrainReport drain(HttpClient& http, const DrainOptions& options = {}) const;

 private:
  std::string dir_;
};

// Upload ids and upload file names: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$, never "..".
bool is_valid_upload_name(std::string_view name);

}  // namespace sddsh::tracker
