#include "tracker-server/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "tracker-client/sha256.hpp"
#include "tracker-server/validate.hpp"

namespace sddsh::server {

namespace {

namespace fs = std::filesystem;

Result<void> make_dirs(const std::string& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) return Failure{Error{error.value(), "creating " + path + ": " + error.message()}};
  return {};
}

bool is_safe(const PartialKey& key) {
  return is_project_name(key.project) && is_upload_id(key.uid) && is_file_name(key.name);
}

}  // namespace

BlobStore::BlobStore(std::string data_dir) : data_dir_(std::move(data_dir)) {}

Result<void> BlobStore::create_layout() const {
  if (auto made = make_dirs(data_dir_ + "/blobs"); !made) return made;
  return make_dirs(data_dir_ + "/partial");
}

std::string BlobStore::blob_path(std::string_view sha256) const {
  return data_dir_ + "/blobs/" + std::string(sha256.substr(0, 2)) + "/" + std::string(sha256);
}

std::optional<std::uint64_t> BlobStore::blob_size(std::string_view sha256) const {
  if (!tracker::is_sha256_hex(sha256)) return std::nullopt;
  struct stat info {};
  if (::stat(blob_path(sha256).c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return static_cast<std::uint64_t>(info.st_size);
}

std::string BlobStore::partial_dir(const PartialKey& key) const {
  return data_dir_ + "/partial/" + key.project + "/" + key.uid;
}

Result<std::string> BlobStore::partial_path(const PartialKey& key) const {
  if (!is_safe(key)) return Failure{Error{EINVAL, "refusing an unsafe upload path"}};
  return partial_dir(key) + "/" + key.name;
}

std::uint64_t BlobStore::partial_size(const PartialKey& key) const {
  auto path = partial_path(key);
  struct stat info {};
  if (!path || ::stat(path->c_str(), &info) != 0) return 0;
  return static_cast<std::uint64_t>(info.st_size);
}

Result<shell::UniqueFd> BlobStore::open_partial(const PartialKey& key) const {
  auto path = partial_path(key);
  if (!path) return Failure{path.error()};
  if (auto made = make_dirs(partial_dir(key)); !made) return Failure{made.error()};
  shell::UniqueFd fd(::open(path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return system_failure("opening " + *path);
  return fd;
}

void BlobStore::drop_partial(const PartialKey& key) const {
  auto path = partial_path(key);
  if (!path) return;
  ::unlink(path->c_str());
  ::rmdir(partial_dir(key).c_str());  // only when it is empty: other files may be on their way
}

Result<std::string> BlobStore::hash_partial(const PartialKey& key) const {
  auto path = partial_path(key);
  if (!path) return Failure{path.error()};
  auto digest = tracker::sha256_file(*path);
  if (!digest) return Failure{digest.error()};
  return digest->sha256;
}

Result<void> BlobStore::adopt_partial(const PartialKey& key, const std::string& sha256) const {
  auto path = partial_path(key);
  if (!path) return Failure{path.error()};
  if (!tracker::is_sha256_hex(sha256)) return Failure{Error{EINVAL, "not a SHA-256: " + sha256}};
  if (blob_size(sha256)) {
    drop_partial(key);
    return {};
  }
  const auto target = blob_path(sha256);
  if (auto made = make_dirs(target.substr(0, target.rfind('/'))); !made) return made;
  if (std::rename(path->c_str(), target.c_str()) != 0) return system_failure("storing " + target);
  ::rmdir(partial_dir(key).c_str());
  return {};
}

}  // namespace sddsh::server
