#pragma once
// The storage behind the tracker's HTTP API: projects, tokens (kept only as SHA-256), each
// project's tracker (the local tracker's own store code), session uploads and their files.
// SQLite now (open_sqlite_store); a PostgreSQL store can implement the same interface later.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shell/result.hpp"
#include "tracker-client/tracker.hpp"

namespace sddsh::server {

enum class Role : unsigned char { Read, Write, Admin };
const char* name(Role role);  // "read", "write", "admin"
std::optional<Role> parse_role(std::string_view text);
// Whether a token of role `held` may do what needs `needed` (admin ⊇ write ⊇ read).
bool role_allows(Role held, Role needed);

// Who a bearer token is: never the token or its hash.
struct TokenIdentity {
  std::int64_t id = 0;
  std::string project;
  Role role = Role::Read;
  std::string label;
};

struct TokenRecord {
  TokenIdentity identity;
  std::string created_at;
};

// Why a project's tracker is taken: a write makes every reply cached for it stale.
enum class Access : unsigned char { Read, Write };

// One project's tracker, held under the project's lock: the local tracker object is not
// thread-safe, so every call on it is serialized per project while this lives.
class LockedTracker {
 public:
  LockedTracker(std::unique_lock<std::mutex> lock, tracker::Tracker& tracker,
                std::uint64_t generation)
      : lock_(std::move(lock)), tracker_(&tracker), generation_(generation) {}
  tracker::Tracker& operator*() const { return *tracker_; }
  tracker::Tracker* operator->() const { return tracker_; }
  // The project's write count as of this lock: data read under it belongs to this generation.
  std::uint64_t generation() const { return generation_; }

 private:
  std::unique_lock<std::mutex> lock_;
  tracker::Tracker* tracker_;
  std::uint64_t generation_;
};

// A file of a session upload as the server holds it.
struct StoredFile {
  std::string name;
  std::string sha256;
  std::uint64_t size = 0;
};

// Where an upload of one file stands: the bytes held so far, or complete.
struct UploadState {
  std::uint64_t offset = 0;
  bool complete = false;
  std::optional<StoredFile> file;  // when complete
};

// One PUT of a file, or one piece of it (Content-Range).
struct UploadPiece {
  std::string project, uid, name;
  std::string sha256;       // of the whole file
  std::uint64_t start = 0;  // where the piece begins
  std::uint64_t total = 0;  // the whole file's size
};

struct UploadFinish {
  bool hash_mismatch = false;  // the whole file's SHA-256 was not the announced one: dropped
  UploadState state;
};

// Streams a piece's bytes to the partial file (straight to disk, never held whole); `finish`
// completes the file, verifying its hash, once every byte is there. Dropped unfinished, it keeps
// what arrived: the upload resumes from there.
class UploadSink {
 public:
  virtual ~UploadSink() = default;
  virtual Result<void> write(std::string_view bytes) = 0;
  virtual Result<UploadFinish> finish() = 0;
};

// Why an upload cannot take a piece now: the API maps these to HTTP answers.
enum class UploadRefusal : unsigned char {
  None,
  OffsetMismatch,  // start ≠ the bytes held (state.offset)
  SizeMismatch,    // the server holds these bytes (by hash) with another size
  Busy,            // another request is still writing this file
};

struct UploadStart {
  UploadRefusal refusal = UploadRefusal::None;
  UploadState state;                 // complete: the server already has the bytes, nothing to send
  std::unique_ptr<UploadSink> sink;  // set when bytes are expected
};

// A session upload: one task segment of a local session ("<session-id>.<segment>").
struct SessionUpload {
  std::string uid;
  std::string task_id;
  std::string started_at;   // from the metadata (may be empty): orders a task's sessions
  nlohmann::json metadata;  // as PUT
  std::string uploaded_at;  // set by the store
  std::string uploaded_by;  // the token's label
};

enum class PutOutcome : unsigned char { Created, Replaced };

struct BlobRef {
  StoredFile file;
  std::string path;  // the content-addressed blob
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<void> create_project(const std::string& name) = 0;  // idempotent
  virtual Result<bool> has_project(const std::string& name) = 0;
  // Makes a token for the project (creating the project when missing); returns it once; keeps
  // only its SHA-256.
  virtual Result<std::string> create_token(const std::string& project, Role role,
                                           const std::string& label) = 0;
  // Who holds this token; nullopt for an unknown (or revoked) one.
  virtual Result<std::optional<TokenIdentity>> find_token(std::string_view token) = 0;
  virtual Result<std::vector<TokenRecord>> list_tokens() = 0;
  // False when no token has this id.
  virtual Result<bool> revoke_token(std::int64_t id) = 0;

  // The project's tracker (opened on first use), locked for the caller. Fails for a project
  // that does not exist.
  virtual Result<LockedTracker> tracker(const std::string& project, Access access) = 0;
  // The project's write count now (no lock taken): a cached reply of an older generation is stale.
  virtual std::uint64_t tracker_generation(const std::string& project) = 0;

  // Files: content-addressed blobs; partial uploads resume from the bytes they hold.
  // Where the upload of these bytes (`sha256`; empty: whatever the name holds) stands.
  virtual Result<UploadState> upload_state(const std::string& project, const std::string& uid,
                                           const std::string& name, std::string_view sha256) = 0;
  virtual Result<UploadStart> begin_upload(const UploadPiece& piece) = 0;
  // The complete files of an upload, by name.
  virtual Result<std::vector<StoredFile>> session_files(const std::string& project,
                                                        const std::string& uid) = 0;
  // Where a complete file's bytes are on disk; nullopt when the upload has no such file.
  virtual Result<std::optional<BlobRef>> find_file(const std::string& project,
                                                   const std::string& uid,
                                                   const std::string& name) = 0;

  // Sessions: the metadata PUT commits an upload whose files are complete (the API checks).
  virtual Result<PutOutcome> put_session(const std::string& project,
                                         const SessionUpload& upload) = 0;
  virtual Result<std::optional<SessionUpload>> get_session(const std::string& project,
                                                           const std::string& uid) = 0;
  // Newest first (by the metadata's started_at, then upload time).
  virtual Result<std::vector<SessionUpload>> task_sessions(const std::string& project,
                                                           const std::string& task_id) = 0;
};

// Opens (creating DIR and its layout when missing) the SQLite store in `data_dir`:
// server.db, projects/<p>/tracker.db, blobs/<aa>/<sha256>, partial/<p>/<uid>/<name>.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& data_dir);

}  // namespace sddsh::server
