#include "tracker-server/sqlite_store.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <openssl/rand.h>

#include "tracker-client/local_schema.hpp"
#include "tracker-client/local_tracker.hpp"
#include "tracker-client/sha256.hpp"
#include "tracker-client/timestamps.hpp"
#include "tracker-server/validate.hpp"

namespace sddsh::server {

namespace {

namespace sqlite = tracker::sqlite;
using nlohmann::json;

constexpr int kBusyTimeoutMs = 10000;
// Long enough for a request that still streams the same file to notice its client is gone
// (the server's read timeout), short enough that a retry is not left hanging.
constexpr std::chrono::seconds kUploadLockWait{15};
constexpr std::size_t kTokenBytes = 32;
constexpr const char* kTokenPrefix = "sddsh_";

// server.db's migrations (append only, as the local tracker's).
constexpr std::array<const char*, 1> kMigrations = {
    R"sql(
CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sha256 TEXT NOT NULL UNIQUE,
  project TEXT NOT NULL REFERENCES projects(name),
  role TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE session_uploads (
  project TEXT NOT NULL,
  uid TEXT NOT NULL,
  task_id TEXT NOT NULL,
  started_at TEXT NOT NULL,
  metadata TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  uploaded_by TEXT NOT NULL,
  PRIMARY KEY (project, uid)
);
CREATE INDEX session_uploads_by_task ON session_uploads (project, task_id, started_at);
CREATE TABLE session_files (
  project TEXT NOT NULL,
  uid TEXT NOT NULL,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (project, uid, name)
);
CREATE TABLE partial_uploads (
  project TEXT NOT NULL,
  uid TEXT NOT NULL,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  total INTEGER NOT NULL,
  PRIMARY KEY (project, uid, name)
);
)sql"};

Failure failure(std::string message, int code = 0) {
  return Failure{Error{code, std::move(message)}};
}

// Runs one public operation; a database failure becomes its Result's error.
template <typename Body>
auto guarded(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const sqlite::Error& error) {
    return failure(std::string("server database: ") + error.what());
  } catch (const json::exception& error) {
    return failure(std::string("server database: stored JSON: ") + error.what());
  }
}

std::string now_iso() {
  return tracker::iso_from_unix_ms(tracker::now_unix_ms());
}

std::int64_t as_int64(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}
std::uint64_t as_uint64(std::int64_t value) {
  return value < 0 ? 0 : static_cast<std::uint64_t>(value);
}

Result<std::string> random_token() {
  std::array<unsigned char, kTokenBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    return failure("no random bytes for a token");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token = kTokenPrefix;
  for (unsigned char byte : bytes) {
    token += kHex[byte >> 4];
    token += kHex[byte & 0xf];
  }
  return token;
}

Result<void> make_dirs(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return failure("creating " + path + ": " + error.message(), error.value());
  return {};
}

SessionUpload session_from_row(const sqlite::Statement& row) {
  SessionUpload upload;
  upload.uid = row.text(0);
  upload.task_id = row.text(1);
  upload.started_at = row.text(2);
  upload.metadata = json::parse(row.text(3));
  upload.uploaded_at = row.text(4);
  upload.uploaded_by = row.text(5);
  return upload;
}

constexpr const char* kSessionColumns =
    "SELECT uid, task_id, started_at, metadata, uploaded_at, uploaded_by FROM session_uploads ";

// Writes every byte, through short writes and signals.
Result<void> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return system_failure("writing an upload");
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

// The bytes of one upload request on their way to the partial file. Hashes as it goes when the
// piece starts at byte 0, so a file sent in one request is read only once.
class PartialSink final : public UploadSink {
 public:
  PartialSink(SqliteStore& store, PartialKey key, std::string sha256, std::uint64_t held,
              std::uint64_t total, shell::UniqueFd fd, std::optional<KeyedLocks::Guard> guard)
      : store_(store),
        key_(std::move(key)),
        sha256_(std::move(sha256)),
        held_(held),
        total_(total),
        fd_(std::move(fd)),
        guard_(std::move(guard)) {
    if (held_ == 0) hasher_.emplace();
  }

  // Keeps what arrived: an interrupted upload resumes from it.
  ~PartialSink() override { [[maybe_unused]] auto flushed = flush(); }

  Result<void> write(std::string_view bytes) override {
    if (bytes.size() > total_ - held_) return failure("more bytes than the file's size", EOVERFLOW);
    if (hasher_) hasher_->update(bytes);
    held_ += bytes.size();
    buffer_.append(bytes);
    // The socket hands over a few KiB at a time; the disk gets them in larger writes.
    if (buffer_.size() >= kWriteBuffer) return flush();
    return {};
  }

  Result<UploadFinish> finish() override {
    return guarded([&] { return complete(); });
  }

 private:
  Result<UploadFinish> complete() {
    if (auto flushed = flush(); !flushed) return Failure{flushed.error()};
    if (held_ < total_) return UploadFinish{.state = {.offset = held_}};
    // On disk before anyone is told the file is safe (the client then drops its copy).
    if (::fdatasync(fd_.get()) != 0) return system_failure("syncing an upload");
    fd_.reset();
    std::string actual;
    if (hasher_) {
      actual = hasher_->hex();
    } else {
      auto hashed = store_.blobs().hash_partial(key_);
      if (!hashed) return Failure{hashed.error()};
      actual = *hashed;
    }
    if (actual != sha256_) {
      store_.forget_partial(key_);
      return UploadFinish{.hash_mismatch = true};
    }
    if (auto adopted = store_.blobs().adopt_partial(key_, sha256_); !adopted)
      return Failure{adopted.error()};
    StoredFile file{.name = key_.name, .sha256 = sha256_, .size = total_};
    store_.record_file(key_, file);
    return UploadFinish{.state = {.offset = total_, .complete = true, .file = file}};
  }

  Result<void> flush() {
    if (buffer_.empty() || !fd_) return {};
    auto written = write_all(fd_.get(), buffer_);
    buffer_.clear();
    return written;
  }

  static constexpr std::size_t kWriteBuffer = 1u << 20;
  SqliteStore& store_;
  std::string buffer_;
  PartialKey key_;
  std::string sha256_;
  std::uint64_t held_, total_;
  shell::UniqueFd fd_;
  std::optional<KeyedLocks::Guard> guard_;  // the file is this request's until the sink goes
  std::optional<tracker::Sha256> hasher_;
};

std::string lock_key(const PartialKey& key) {
  return key.project + "/" + key.uid + "/" + key.name;
}

}  // namespace

KeyedLocks::Guard::~Guard() {
  if (!owner_) return;
  {
    std::lock_guard lock(owner_->mutex_);
    owner_->held_.erase(key_);
  }
  owner_->released_.notify_all();
}

std::optional<KeyedLocks::Guard> KeyedLocks::acquire(const std::string& key,
                                                     std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!released_.wait_for(lock, wait, [&] { return !held_.contains(key); })) return std::nullopt;
  held_.insert(key);
  return Guard(*this, key);
}

SqliteStore::SqliteStore(std::string data_dir, sqlite::Database database)
    : data_dir_(std::move(data_dir)), blobs_(data_dir_), db_(std::move(database)) {}

Result<void> SqliteStore::create_project(const std::string& name) {
  if (!is_project_name(name)) return failure("not a project name: " + name, EINVAL);
  if (auto made = make_dirs(data_dir_ + "/projects/" + name); !made) return made;
  return guarded([&]() -> Result<void> {
    std::lock_guard lock(db_mutex_);
    db_.prepare("INSERT OR IGNORE INTO projects (name, created_at) VALUES (?1, ?2)")
        .bind(1, name)
        .bind(2, now_iso())
        .run();
    return {};
  });
}

Result<bool> SqliteStore::has_project(const std::string& name) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(db_mutex_);
    return db_.prepare("SELECT 1 FROM projects WHERE name = ?1").bind(1, name).step();
  });
}

Result<std::string> SqliteStore::create_token(const std::string& project, Role role,
                                              const std::string& label) {
  if (!is_single_line(label, 200))
    return failure("a token label is one line of at most 200 characters", EINVAL);
  if (auto created = create_project(project); !created) return Failure{created.error()};
  auto token = random_token();
  if (!token) return token;
  return guarded([&]() -> Result<std::string> {
    std::lock_guard lock(db_mutex_);
    db_.prepare(
           "INSERT INTO tokens (sha256, project, role, label, created_at)"
           " VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(1, tracker::sha256_hex(*token))
        .bind(2, project)
        .bind(3, name(role))
        .bind(4, label)
        .bind(5, now_iso())
        .run();
    return std::move(*token);
  });
}

Result<std::optional<TokenIdentity>> SqliteStore::find_token(std::string_view token) {
  const auto hash = tracker::sha256_hex(token);
  return guarded([&]() -> Result<std::optional<TokenIdentity>> {
    std::lock_guard lock(db_mutex_);
    auto row = db_.prepare("SELECT id, project, role, label FROM tokens WHERE sha256 = ?1");
    if (!row.bind(1, hash).step()) return std::optional<TokenIdentity>{};
    auto role = parse_role(row.text(2));
    if (!role) return failure("token " + std::to_string(row.integer(0)) + " has an unknown role");
    return std::optional<TokenIdentity>{TokenIdentity{
        .id = row.integer(0), .project = row.text(1), .role = *role, .label = row.text(3)}};
  });
}

Result<std::vector<TokenRecord>> SqliteStore::list_tokens() {
  return guarded([&]() -> Result<std::vector<TokenRecord>> {
    std::lock_guard lock(db_mutex_);
    auto row = db_.prepare("SELECT id, project, role, label, created_at FROM tokens ORDER BY id");
    std::vector<TokenRecord> tokens;
    while (row.step()) {
      tokens.push_back({.identity = {.id = row.integer(0),
                                     .project = row.text(1),
                                     .role = parse_role(row.text(2)).value_or(Role::Read),
                                     .label = row.text(3)},
                        .created_at = row.text(4)});
    }
    return tokens;
  });
}

Result<bool> SqliteStore::revoke_token(std::int64_t id) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(db_mutex_);
    db_.prepare("DELETE FROM tokens WHERE id = ?1").bind(1, id).run();
    return db_.changes() > 0;
  });
}

SqliteStore::ProjectSlot& SqliteStore::slot(const std::string& project) {
  std::lock_guard lock(slots_mutex_);
  auto& slot = slots_[project];
  if (!slot) slot = std::make_unique<ProjectSlot>();
  return *slot;
}

Result<LockedTracker> SqliteStore::tracker(const std::string& project, Access access) {
  if (!is_project_name(project)) return failure("no project " + project, ENOENT);
  auto& project_slot = slot(project);
  std::unique_lock lock(project_slot.mutex);
  if (!project_slot.tracker) {
    auto exists = has_project(project);
    if (!exists) return Failure{exists.error()};
    if (!*exists) return failure("no project " + project, ENOENT);
    const auto dir = data_dir_ + "/projects/" + project;
    if (auto made = make_dirs(dir); !made) return Failure{made.error()};
    auto opened = tracker::open_local_tracker(dir + "/" + tracker::kLocalTrackerFile);
    if (!opened) return Failure{opened.error()};
    project_slot.tracker = std::move(*opened);
  }
  // Counted before the write happens, under the lock: whatever a reader computes under this
  // lock later carries the new generation.
  if (access == Access::Write) ++project_slot.generation;
  return LockedTracker(std::move(lock), *project_slot.tracker, project_slot.generation.load());
}

std::uint64_t SqliteStore::tracker_generation(const std::string& project) {
  return slot(project).generation.load();
}

std::optional<SqliteStore::PartialRow> SqliteStore::partial_row(const PartialKey& key) {
  std::lock_guard lock(db_mutex_);
  auto row = db_.prepare(
      "SELECT sha256, total FROM partial_uploads WHERE project = ?1 AND uid = ?2 AND name = ?3");
  if (!row.bind(1, key.project).bind(2, key.uid).bind(3, key.name).step()) return std::nullopt;
  return PartialRow{.sha256 = row.text(0), .total = as_uint64(row.integer(1))};
}

void SqliteStore::insert_partial_row(const PartialKey& key, const PartialRow& partial) {
  std::lock_guard lock(db_mutex_);
  db_.prepare(
         "INSERT OR REPLACE INTO partial_uploads (project, uid, name, sha256, total)"
         " VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, key.project)
      .bind(2, key.uid)
      .bind(3, key.name)
      .bind(4, partial.sha256)
      .bind(5, as_int64(partial.total))
      .run();
}

void SqliteStore::forget_partial(const PartialKey& key) {
  blobs_.drop_partial(key);
  std::lock_guard lock(db_mutex_);
  db_.prepare("DELETE FROM partial_uploads WHERE project = ?1 AND uid = ?2 AND name = ?3")
      .bind(1, key.project)
      .bind(2, key.uid)
      .bind(3, key.name)
      .run();
}

void SqliteStore::record_file(const PartialKey& key, const StoredFile& file) {
  std::lock_guard lock(db_mutex_);
  sqlite::Transaction transaction(db_, sqlite::Transaction::Mode::Write);
  db_.prepare(
         "INSERT OR REPLACE INTO session_files (project, uid, name, sha256, size)"
         " VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, key.project)
      .bind(2, key.uid)
      .bind(3, key.name)
      .bind(4, file.sha256)
      .bind(5, as_int64(file.size))
      .run();
  db_.prepare("DELETE FROM partial_uploads WHERE project = ?1 AND uid = ?2 AND name = ?3")
      .bind(1, key.project)
      .bind(2, key.uid)
      .bind(3, key.name)
      .run();
  transaction.commit();
}

std::optional<StoredFile> SqliteStore::complete_file(const PartialKey& key) {
  std::lock_guard lock(db_mutex_);
  auto row = db_.prepare(
      "SELECT sha256, size FROM session_files WHERE project = ?1 AND uid = ?2 AND name = ?3");
  if (!row.bind(1, key.project).bind(2, key.uid).bind(3, key.name).step()) return std::nullopt;
  return StoredFile{.name = key.name, .sha256 = row.text(0), .size = as_uint64(row.integer(1))};
}

Result<void> SqliteStore::settle_whole_partial(const PartialKey& key) {
  auto row = partial_row(key);
  if (!row || blobs_.partial_size(key) != row->total) return {};
  auto fd = blobs_.open_partial(key);
  if (!fd) return Failure{fd.error()};
  PartialSink sink(*this, key, row->sha256, row->total, row->total, std::move(*fd),
                   std::nullopt);  // the caller holds the file's lock
  auto finished = sink.finish();
  if (!finished) return Failure{finished.error()};
  return {};
}

Result<UploadState> SqliteStore::state_of(const PartialKey& key, std::string_view sha256) {
  if (auto file = complete_file(key); file && (sha256.empty() || file->sha256 == sha256))
    return UploadState{.offset = file->size, .complete = true, .file = file};
  auto row = partial_row(key);
  if (!row || (!sha256.empty() && row->sha256 != sha256)) return UploadState{};
  return UploadState{.offset = std::min(blobs_.partial_size(key), row->total)};
}

Result<UploadState> SqliteStore::upload_state(const std::string& project, const std::string& uid,
                                              const std::string& name, std::string_view sha256) {
  const PartialKey key{project, uid, name};
  return guarded([&]() -> Result<UploadState> {
    auto guard = uploads_.acquire(lock_key(key), kUploadLockWait);
    if (!guard) return failure("an upload of " + name + " is still running", EBUSY);
    if (auto settled = settle_whole_partial(key); !settled) return Failure{settled.error()};
    return state_of(key, sha256);
  });
}

Result<UploadStart> SqliteStore::begin_upload(const UploadPiece& piece) {
  const PartialKey key{piece.project, piece.uid, piece.name};
  return guarded([&]() -> Result<UploadStart> {
    auto guard = uploads_.acquire(lock_key(key), kUploadLockWait);
    if (!guard) return UploadStart{.refusal = UploadRefusal::Busy};
    // Bytes the server already holds (for any session) complete at once: nothing is re-sent.
    if (auto size = blobs_.blob_size(piece.sha256)) {
      if (*size != piece.total) return UploadStart{.refusal = UploadRefusal::SizeMismatch};
      StoredFile file{.name = piece.name, .sha256 = piece.sha256, .size = *size};
      record_file(key, file);
      blobs_.drop_partial(key);
      return UploadStart{.state = {.offset = *size, .complete = true, .file = file}};
    }
    if (auto settled = settle_whole_partial(key); !settled) return Failure{settled.error()};
    auto row = partial_row(key);
    auto held = blobs_.partial_size(key);
    // A partial of other bytes, one without its row (a crash in between) or a longer one than
    // its file: the upload starts over.
    if (!row || row->sha256 != piece.sha256 || row->total != piece.total || held > piece.total) {
      if (row || held > 0) forget_partial(key);
      row.reset();
      held = 0;
    }
    if (piece.start != held)
      return UploadStart{.refusal = UploadRefusal::OffsetMismatch, .state = {.offset = held}};
    if (!row) insert_partial_row(key, {.sha256 = piece.sha256, .total = piece.total});
    auto fd = blobs_.open_partial(key);
    if (!fd) return Failure{fd.error()};
    UploadStart start{.state = {.offset = held}};
    start.sink = std::make_unique<PartialSink>(*this, key, piece.sha256, held, piece.total,
                                               std::move(*fd), std::move(*guard));
    return start;
  });
}

Result<std::vector<StoredFile>> SqliteStore::session_files(const std::string& project,
                                                           const std::string& uid) {
  return guarded([&]() -> Result<std::vector<StoredFile>> {
    std::lock_guard lock(db_mutex_);
    auto row = db_.prepare(
        "SELECT name, sha256, size FROM session_files WHERE project = ?1 AND uid = ?2 ORDER BY "
        "name");
    row.bind(1, project).bind(2, uid);
    std::vector<StoredFile> files;
    while (row.step())
      files.push_back(
          {.name = row.text(0), .sha256 = row.text(1), .size = as_uint64(row.integer(2))});
    return files;
  });
}

Result<std::optional<BlobRef>> SqliteStore::find_file(const std::string& project,
                                                      const std::string& uid,
                                                      const std::string& name) {
  return guarded([&]() -> Result<std::optional<BlobRef>> {
    auto file = complete_file({project, uid, name});
    if (!file) return std::optional<BlobRef>{};
    return std::optional<BlobRef>{BlobRef{.file = *file, .path = blobs_.blob_path(file->sha256)}};
  });
}

Result<PutOutcome> SqliteStore::put_session(const std::string& project,
                                            const SessionUpload& upload) {
  return guarded([&]() -> Result<PutOutcome> {
    std::lock_guard lock(db_mutex_);
    sqlite::Transaction transaction(db_, sqlite::Transaction::Mode::Write);
    const bool existed =
        db_.prepare("SELECT 1 FROM session_uploads WHERE project = ?1 AND uid = ?2")
            .bind(1, project)
            .bind(2, upload.uid)
            .step();
    db_.prepare(
           "INSERT OR REPLACE INTO session_uploads"
           " (project, uid, task_id, started_at, metadata, uploaded_at, uploaded_by)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind(1, project)
        .bind(2, upload.uid)
        .bind(3, upload.task_id)
        .bind(4, upload.started_at)
        .bind(5, upload.metadata.dump(-1, ' ', false, json::error_handler_t::replace))
        .bind(6, upload.uploaded_at.empty() ? now_iso() : upload.uploaded_at)
        .bind(7, upload.uploaded_by)
        .run();
    transaction.commit();
    return existed ? PutOutcome::Replaced : PutOutcome::Created;
  });
}

Result<std::optional<SessionUpload>> SqliteStore::get_session(const std::string& project,
                                                              const std::string& uid) {
  return guarded([&]() -> Result<std::optional<SessionUpload>> {
    std::lock_guard lock(db_mutex_);
    auto row = db_.prepare(std::string(kSessionColumns) + "WHERE project = ?1 AND uid = ?2");
    if (!row.bind(1, project).bind(2, uid).step()) return std::optional<SessionUpload>{};
    return std::optional<SessionUpload>{session_from_row(row)};
  });
}

Result<std::vector<SessionUpload>> SqliteStore::task_sessions(const std::string& project,
                                                              const std::string& task_id) {
  return guarded([&]() -> Result<std::vector<SessionUpload>> {
    std::lock_guard lock(db_mutex_);
    auto row = db_.prepare(std::string(kSessionColumns) +
                           "WHERE project = ?1 AND task_id = ?2"
                           " ORDER BY started_at DESC, uploaded_at DESC, uid DESC");
    row.bind(1, project).bind(2, task_id);
    std::vector<SessionUpload> sessions;
    while (row.step()) sessions.push_back(session_from_row(row));
    return sessions;
  });
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& data_dir) {
  if (data_dir.empty()) return failure("no data directory given", EINVAL);
  if (auto made = make_dirs(data_dir + "/projects"); !made) return Failure{made.error()};
  BlobStore blobs(data_dir);
  if (auto made = blobs.create_layout(); !made) return Failure{made.error()};
  return guarded([&]() -> Result<std::unique_ptr<Store>> {
    auto database = sqlite::Database::open(data_dir + "/server.db", kBusyTimeoutMs);
    database.execute(
        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
    tracker::migrate(database, kMigrations);
    return std::unique_ptr<Store>(std::make_unique<SqliteStore>(data_dir, std::move(database)));
  });
}

}  // namespace sddsh::server
