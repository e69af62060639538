#pragma once
// The Store on SQLite: <data>/server.db (projects, token hashes, session uploads and their
// files, partial uploads' expected hash and size), each project's tracker in
// <data>/projects/<p>/tracker.db through tracker::open_local_tracker (the very store code of the
// local tracker), and the files through BlobStore.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "tracker-client/sqlite.hpp"
#include "tracker-server/blob_store.hpp"
#include "tracker-server/store.hpp"

namespace sddsh::server {

// Named locks made on demand (one per file being uploaded), gone when nobody holds them.
class KeyedLocks {
 public:
  class Guard {
   public:
    Guard(KeyedLocks& owner, std::string key) : owner_(&owner), key_(std::move(key)) {}
    Guard(Guard&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard();

   private:
    KeyedLocks* owner_;
    std::string key_;
  };

  // Waits up to `wait` for the key to be free.
  std::optional<Guard> acquire(const std::string& key, std::chrono::milliseconds wait);

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  std::set<std::string> held_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string data_dir, tracker::sqlite::Database database);

  Result<void> create_project(const std::string& name) override;
  Result<bool> has_project(const std::string& name) override;
  Result<std::string> create_token(const std::string& project, Role role,
                                   const std::string& label) override;
  Result<std::optional<TokenIdentity>> find_token(std::string_view token) override;
  Result<std::vector<TokenRecord>> list_tokens() override;
  Result<bool> revoke_token(std::int64_t id) override;

  Result<LockedTracker> tracker(const std::string& project, Access access) override;
  std::uint64_t tracker_generation(const std::string& project) override;

  Result<UploadState> upload_state(const std::string& project, const std::string& uid,
                                   const std::string& name, std::string_view sha256) override;
  Result<UploadStart> begin_upload(const UploadPiece& piece) override;
  Result<std::vector<StoredFile>> session_files(const std::string& project,
                                                const std::string& uid) override;
  Result<std::optional<BlobRef>> find_file(const std::string& project, const std::string& uid,
                                           const std::string& name) override;

  Result<PutOutcome> put_session(const std::string& project, const SessionUpload& upload) override;
  Result<std::optional<SessionUpload>> get_session(const std::string& project,
                                                   const std::string& uid) override;
  Result<std::vector<SessionUpload>> task_sessions(const std::string& project,
                                                   const std::string& task_id) override;

  // What an upload sink needs when its file completes (called with no store lock held).
  void record_file(const PartialKey& key, const StoredFile& file);
  void forget_partial(const PartialKey& key);
  const BlobStore& blobs() const { return blobs_; }

 private:
  struct ProjectSlot {
    std::mutex mutex;  // serializes every call on `tracker`
    std::unique_ptr<tracker::Tracker> tracker;
    std::atomic<std::uint64_t> generation{0};
  };
  struct PartialRow {
    std::string sha256;
    std::uint64_t total = 0;
  };

  ProjectSlot& slot(const std::string& project);
  std::optional<PartialRow> partial_row(const PartialKey& key);
  void insert_partial_row(const PartialKey& key, const PartialRow& row);
  std::optional<StoredFile> complete_file(const PartialKey& key);
  // A partial whose every byte arrived (the request that sent them ended before completing
  // it): completes it now, or drops it when its hash is wrong.
  Result<void> settle_whole_partial(const PartialKey& key);
  // What the server holds of this file for these bytes (`sha256`; empty: any).
  Result<UploadState> state_of(const PartialKey& key, std::string_view sha256);

  std::string data_dir_;
  BlobStore blobs_;
  std::mutex db_mutex_;  // one connection to server.db, shared by the request threads
  tracker::sqlite::Database db_;
  std::mutex slots_mutex_;
  std::map<std::string, std::unique_ptr<ProjectSlot>> slots_;
  KeyedLocks uploads_;
};

}  // namespace sddsh::server
