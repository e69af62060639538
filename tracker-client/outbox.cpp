#include "tracker-client/outbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "tracker-client/http_client.hpp"
#include "tracker-client/session_upload.hpp"
#include "tracker-client/sha256.hpp"
#include "tracker-client/timestamps.hpp"

namespace sddsh::tracker {

namespace {

constexpr const char* kManifestName = "manifest.json";
constexpr const char* kFilesDir = "files";
constexpr std::string_view kStagingPrefix = ".staging-";
constexpr std::string_view kTrashPrefix = ".trash-";

// ---- files and directories ----

Result<void> make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return system_failure("mkdir " + path);
}

Result<void> make_directories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return Failure{Error{error.value(), "mkdir " + path + ": " + error.message()}};
  ::chmod(path.c_str(), 0700);  // what it holds was typed by the user, if redacted
  return {};
}

void remove_tree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

Result<void> write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_failure("write " + path);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> fsync_path(const std::string& path) {
  shell::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return system_failure("open " + path);
  if (::fsync(fd.get()) != 0) return system_failure("fsync " + path);
  return {};
}

// Temporary file, fsync, rename: a reader sees the old text or the new, never half.
Result<void> replace_file(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".tmp";
  shell::UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return system_failure("write " + temporary);
  if (auto written = write_all(fd.get(), text, temporary); !written) return written;
  if (::fsync(fd.get()) != 0) return system_failure("fsync " + temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return system_failure("rename " + temporary);
  return {};
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> directory_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(dir, error))
    names.push_back(item.path().filename().string());
  return names;
}

std::string random_suffix() {
  std::random_device device;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", device(), device());
  return text;
}

// ---- locks ----

// An exclusive flock on a directory, taken only when nobody else holds it. Between open and lock
// the path may have been replaced (an entry re-staged, or removed): the lock counts only when it
// is on what the path names now.
std::optional<shell::UniqueFd> try_lock_directory(const std::string& path) {
  for (int tries = 0; tries < 3; ++tries) {
    shell::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return std::nullopt;
    struct stat held {
    }, named{};
    if (::fstat(fd.get(), &held) != 0) return std::nullopt;
    if (::stat(path.c_str(), &named) != 0) return std::nullopt;  // gone meanwhile
    if (held.st_dev == named.st_dev && held.st_ino == named.st_ino) return fd;
  }
  return std::nullopt;
}

// Takes a locked entry out of the outbox at once (a rename), then deletes it.
void remove_locked_entry(const std::string& outbox_dir, const std::string& entry_dir,
                         const std::string& upload_id) {
  const std::string trash =
      outbox_dir + "/" + std::string(kTrashPrefix) + upload_id + "-" + random_suffix();
  if (::rename(entry_dir.c_str(), trash.c_str()) == 0)
    remove_tree(trash);
  else
    remove_tree(entry_dir);
}

// ---- the manifest ----

std::string normalized_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

Result<OutboxManifest> read_manifest(const std::string& entry_dir) {
  const auto text = read_text(entry_dir + "/" + kManifestName);
  if (!text) return Failure{Error{ENOENT, entry_dir + ": no manifest"}};
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) return Failure{Error{0, entry_dir + ": the manifest is not JSON"}};
  return manifest_from_json(json);
}

Result<void> save_manifest(const std::string& entry_dir, const OutboxManifest& manifest) {
  return replace_file(entry_dir + "/" + kManifestName, to_json(manifest).dump(2) + "\n");
}

// ---- sending ----

enum class SendFailure : unsigned char { Unreachable, Unauthorized, Refused, Stopped };

struct SendError {
  SendFailure kind;
  std::string message;
};

// What an error from the client means for the drain. Network failures carry code 0, replies
// their HTTP status, local file errors an errno (below 400).
SendFailure classify(const Error& error) {
  if (error.code == 0 || error.code == 429 || error.code >= 500) return SendFailure::Unreachable;
  if (error.code == 401 || error.code == 403) return SendFailure::Unauthorized;
  return SendFailure::Refused;  // a 4xx for this entry, or one of its files is unreadable
}

struct DrainCounter {
  const DrainOptions& options;
  DrainProgress progress;
  void report() const {
    if (options.progress) options.progress(progress);
  }
};

// Thrown from the progress callback to cut a transfer short: the HTTP client catches it inside
// its curl callback and aborts the transfer.
struct TransferAborted : std::runtime_error {
  TransferAborted() : std::runtime_error("upload aborted") {}
};

bool should_stop(const DrainOptions& options) {
  return options.stop.stop_requested() || options.abort.stop_requested();
}

Result<void> send_file(HttpClient& http, const OutboxEntry& entry, const OutboxFile& file,
                       DrainCounter& counter) {
  const std::uint64_t base = counter.progress.bytes_done;
  const UploadFile upload{file.name, entry.file_path(file.name), file.sha256, file.size};
  const std::stop_token& abort = counter.options.abort;
  try {
    return upload_file(http, entry.manifest.upload_id, upload,
                       [&counter, &abort, base](std::uint64_t done, std::uint64_t) {
                         if (abort.stop_requested()) throw TransferAborted();
                         counter.progress.bytes_done = base + done;
                         counter.report();
                       });
  } catch (const TransferAborted& aborted) {  // reported outside a transfer
    return Failure{Error{0, aborted.what()}};
  }
}

std::optional<SendError> send_entry(HttpClient& http, const OutboxEntry& entry,
                                    DrainCounter& counter) {
  const OutboxManifest& manifest = entry.manifest;
  for (const OutboxFile& file : manifest.files) {
    if (should_stop(counter.options)) return SendError{SendFailure::Stopped, "stopped"};
    const std::uint64_t base = counter.progress.bytes_done;
    counter.progress.file = file.name;
    counter.report();
    auto sent = send_file(http, entry, file, counter);
    if (!sent && counter.options.abort.stop_requested())
      return SendError{SendFailure::Stopped, "stopped"};
    if (!sent) return SendError{classify(sent.error()), sent.error().message};
    counter.progress.bytes_done = base + file.size;
  }
  counter.progress.file.clear();
  auto committed = put_session(http, manifest.upload_id, manifest.metadata);
  if (!committed && counter.options.abort.stop_requested())
    return SendError{SendFailure::Stopped, "stopped"};
  if (!committed) return SendError{classify(committed.error()), committed.error().message};
  return std::nullopt;
}

std::uint64_t total_bytes(const std::vector<OutboxEntry>& entries) {
  std::uint64_t total = 0;
  for (const auto& entry : entries)
    for (const auto& file : entry.manifest.files) total += file.size;
  return total;
}

std::uint64_t entry_bytes(const OutboxManifest& manifest) {
  std::uint64_t total = 0;
  for (const auto& file : manifest.files) total += file.size;
  return total;
}

enum class Next : unsigned char { Go, Stop };

// What the server's answer (or its silence) means for a locked entry, and for the drain.
Next settle_entry(const std::string& outbox_dir, OutboxEntry& entry,
                  const std::optional<SendError>& failure, const DrainOptions& options,
                  DrainReport& report) {
  OutboxManifest& manifest = entry.manifest;
  if (!failure) {
    if (options.on_outcome) options.on_outcome(manifest, {DrainOutcome::Kind::Uploaded, ""});
    remove_locked_entry(outbox_dir, entry.dir, manifest.upload_id);
    ++report.uploaded;
    return Next::Go;
  }
  if (failure->kind == SendFailure::Stopped) {
    report.stopped = true;
    return Next::Stop;
  }
  ++manifest.attempts;
  manifest.last_error = failure->message;
  manifest.failed = failure->kind == SendFailure::Refused;
  (void)save_manifest(entry.dir, manifest);  // a lost count of attempts harms nobody
  if (manifest.failed) {
    report.failed.push_back({manifest.upload_id, failure->message});
    if (options.on_outcome)
      options.on_outcome(manifest, {DrainOutcome::Kind::Failed, failure->message});
    return Next::Go;
  }
  report.server_down = failure->kind == SendFailure::Unreachable;
  report.error = failure->message;
  return Next::Stop;
}

}  // namespace

bool is_valid_upload_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (name.find("..") != std::string_view::npos) return false;
  const auto allowed = [](char c, bool first) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '.' || c == '_' || c == '-'));
  };
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!allowed(name[i], i == 0)) return false;
  return true;
}

// ---- manifest JSON ----

nlohmann::json to_json(const OutboxManifest& manifest) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : manifest.files)
    files.push_back({{"name", file.name}, {"sha256", file.sha256}, {"size", file.size}});
  return {{"upload_id", manifest.upload_id},   {"url", manifest.url},
          {"project", manifest.project},       {"created_at", manifest.created_at},
          {"created_ns", manifest.created_ns}, {"metadata", manifest.metadata},
          {"files", std::move(files)},         {"attempts", manifest.attempts},
          {"last_error", manifest.last_error}, {"failed", manifest.failed},
          {"origin", manifest.origin}};
}

Result<OutboxManifest> manifest_from_json(const nlohmann::json& json) {
  const auto bad = [](const std::string& why) {
    return Failure{Error{0, "bad outbox manifest: " + why}};
  };
  if (!json.is_object()) return bad("not an object");
  OutboxManifest manifest;
  try {
    manifest.upload_id = json.at("upload_id").get<std::string>();
    manifest.url = json.at("url").get<std::string>();
    manifest.project = json.at("project").get<std::string>();
    manifest.created_at = json.value("created_at", "");
    manifest.created_ns = json.value("created_ns", std::int64_t{0});
    manifest.metadata = json.value("metadata", nlohmann::json::object());
    for (const auto& file : json.at("files")) {
      OutboxFile entry{file.at("name").get<std::string>(), file.at("sha256").get<std::string>(),
                       file.at("size").get<std::uint64_t>()};
      if (!is_valid_upload_name(entry.name)) return bad("file name " + entry.name);
      if (!is_sha256_hex(entry.sha256)) return bad("hash of " + entry.name);
      manifest.files.push_back(std::move(entry));
    }
    manifest.attempts = json.value("attempts", 0);
    manifest.last_error = json.value("last_error", "");
    manifest.failed = json.value("failed", false);
    manifest.origin = json.value("origin", nlohmann::json::object());
  } catch (const nlohmann::json::exception& error) {
    return bad(error.what());
  }
  if (!is_valid_upload_name(manifest.upload_id)) return bad("upload id " + manifest.upload_id);
  return manifest;
}

// ---- StagedEntry ----

StagedEntry::StagedEntry(std::string outbox_dir, std::string staging_dir, shell::UniqueFd lock,
                         OutboxManifest manifest)
    : outbox_dir_(std::move(outbox_dir)),
      staging_dir_(std::move(staging_dir)),
      lock_(std::move(lock)),
      manifest_(std::move(manifest)) {}

StagedEntry::StagedEntry(StagedEntry&& other) noexcept
    : outbox_dir_(std::move(other.outbox_dir_)),
      staging_dir_(std::move(other.staging_dir_)),
      lock_(std::move(other.lock_)),
      manifest_(std::move(other.manifest_)),
      done_(std::exchange(other.done_, true)) {}

StagedEntry::~StagedEntry() {
  if (!done_) remove_tree(staging_dir_);
}

std::string StagedEntry::file_path(const std::string& name) const {
  return staging_dir_ + "/" + kFilesDir + "/" + name;
}

Result<void> StagedEntry::add_file(const std::string& name) {
  if (!is_valid_upload_name(name)) return Failure{Error{EINVAL, "bad upload file name: " + name}};
  auto digest = sha256_file(file_path(name));
  if (!digest) return Failure{digest.error()};
  if (auto synced = fsync_path(file_path(name)); !synced) return synced;
  std::erase_if(manifest_.files, [&](const OutboxFile& file) { return file.name == name; });
  manifest_.files.push_back({name, digest->sha256, digest->size});
  return {};
}

Result<void> StagedEntry::add_bytes(const std::string& name, std::string_view bytes) {
  if (!is_valid_upload_name(name)) return Failure{Error{EINVAL, "bad upload file name: " + name}};
  const std::string path = file_path(name);
  shell::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return system_failure("write " + path);
  if (auto written = write_all(fd.get(), bytes, path); !written) return written;
  fd.reset();
  return add_file(name);
}

Result<std::string> StagedEntry::commit() {
  const std::string target = outbox_dir_ + "/" + manifest_.upload_id;
  if (manifest_.metadata.is_object()) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& file : manifest_.files)
      files.push_back({{"name", file.name}, {"sha256", file.sha256}, {"size", file.size}});
    manifest_.metadata["files"] = std::move(files);
  }
  if (auto saved = save_manifest(staging_dir_, manifest_); !saved) return Failure{saved.error()};
  for (const std::string& dir : {staging_dir_ + "/" + kFilesDir, staging_dir_})
    if (auto synced = fsync_path(dir); !synced) return Failure{synced.error()};
  if (::rename(staging_dir_.c_str(), target.c_str()) != 0) {
    if (errno != ENOTEMPTY && errno != EEXIST) return system_failure("rename " + staging_dir_);
    // An entry of that id is there. Replace it when nobody is sending it.
    auto held = try_lock_directory(target);
    if (!held) {
      done_ = true;
      remove_tree(staging_dir_);
      return target;
    }
    if (::renameat2(AT_FDCWD, staging_dir_.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0)
      return system_failure("rename " + staging_dir_);
    remove_tree(staging_dir_);  // now the old entry
  }
  done_ = true;
  lock_.reset();  // a drain may take it now
  if (auto synced = fsync_path(outbox_dir_); !synced) return Failure{synced.error()};
  return target;
}

// ---- Outbox ----

Outbox::Outbox(const std::string& store_root) : dir_(store_root + "/outbox") {}

Result<StagedEntry> Outbox::stage(const std::string& upload_id, const std::string& url,
                                  const std::string& project) const {
  if (!is_valid_upload_name(upload_id))
    return Failure{Error{EINVAL, "bad upload id: " + upload_id}};
  if (auto made = make_directories(dir_); !made) return Failure{made.error()};
  const std::string staging =
      dir_ + "/" + std::string(kStagingPrefix) + upload_id + "-" + random_suffix();
  if (auto made = make_directory(staging); !made) return Failure{made.error()};
  auto lock = try_lock_directory(staging);
  if (!lock) {
    remove_tree(staging);
    return Failure{Error{EAGAIN, "cannot lock " + staging}};
  }
  if (auto made = make_directory(staging + "/" + kFilesDir); !made) {
    remove_tree(staging);
    return Failure{made.error()};
  }
  OutboxManifest manifest;
  manifest.upload_id = upload_id;
  manifest.url = normalized_url(url);
  manifest.project = project;
  manifest.created_at = iso_from_unix_ms(now_unix_ms());
  manifest.created_ns = now_ns();
  return StagedEntry(dir_, staging, std::move(*lock), std::move(manifest));
}

bool Outbox::contains(const std::string& upload_id) const {
  return is_valid_upload_name(upload_id) && entry(upload_id).has_value();
}

std::optional<OutboxEntry> Outbox::entry(const std::string& upload_id) const {
  if (!is_valid_upload_name(upload_id)) return std::nullopt;
  const std::string dir = dir_ + "/" + upload_id;
  auto manifest = read_manifest(dir);
  if (!manifest) return std::nullopt;
  return OutboxEntry{dir, std::move(*manifest)};
}

std::vector<OutboxEntry> Outbox::pending() const {
  std::vector<OutboxEntry> entries;
  for (const std::string& name : directory_names(dir_)) {
    if (name.starts_with('.')) continue;  // staging, trash
    if (auto found = entry(name)) entries.push_back(std::move(*found));
  }
  std::sort(entries.begin(), entries.end(), [](const OutboxEntry& a, const OutboxEntry& b) {
    return std::tie(a.manifest.created_ns, a.manifest.upload_id) <
           std::tie(b.manifest.created_ns, b.manifest.upload_id);
  });
  return entries;
}

std::vector<OutboxEntry> Outbox::pending_for(const std::string& url,
                                             const std::string& project) const {
  std::vector<OutboxEntry> entries = pending();
  const std::string wanted = normalized_url(url);
  std::erase_if(entries, [&](const OutboxEntry& entry) {
    return entry.manifest.url != wanted || entry.manifest.project != project;
  });
  return entries;
}

void Outbox::clean_stale() const {
  for (const std::string& name : directory_names(dir_)) {
    if (!name.starts_with(kStagingPrefix) && !name.starts_with(kTrashPrefix)) continue;
    const std::string path = dir_ + "/" + name;
    // A live builder or remover holds its directory's lock.
    if (auto held = try_lock_directory(path)) remove_tree(path);
  }
}

DrainReport Outbox::drain(HttpClient& http, const DrainOptions& options) const {
  clean_stale();
  DrainReport report;
  const RemoteConfig& remote = http.config();
  const std::vector<OutboxEntry> entries = pending_for(remote.url, remote.project);
  DrainCounter counter{options, {}};
  counter.progress.items = entries.size();
  counter.progress.bytes_total = total_bytes(entries);
  for (const OutboxEntry& listed : entries) {
    ++counter.progress.item;
    if (should_stop(options)) {
      report.stopped = true;
      break;
    }
    auto lock = try_lock_directory(listed.dir);
    if (!lock) {  // another drain is sending it (or it just left)
      if (std::filesystem::exists(listed.dir)) ++report.busy;
      counter.progress.bytes_done += entry_bytes(listed.manifest);
      continue;
    }
    auto current = read_manifest(listed.dir);  // it may have been re-staged since the listing
    if (!current) continue;
    OutboxEntry entry{listed.dir, std::move(*current)};
    counter.progress.upload_id = entry.manifest.upload_id;
    const std::uint64_t before = counter.progress.bytes_done;
    const auto failure = send_entry(http, entry, counter);
    counter.progress.bytes_done = before + entry_bytes(entry.manifest);
    if (settle_entry(dir_, entry, failure, options, report) == Next::Stop) break;
  }
  counter.progress.file.clear();
  report.remaining = pending_for(remote.url, remote.project).size();
  return report;
}

}  // namespace sddsh::tracker
