#pragma once
// The files of session uploads on disk: complete ones content-addressed in blobs/<aa>/<sha256>
// (one copy however many sessions name it), unfinished ones in partial/<p>/<uid>/<name>, where
// an interrupted upload resumes from the partial's size. Every name reaching here was checked by
// validate.hpp; the checks run again so no caller can ever build a path out of the data dir.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shell/result.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::server {

struct PartialKey {
  std::string project, uid, name;
};

class BlobStore {
 public:
  explicit BlobStore(std::string data_dir);

  // Creates blobs/ and partial/ when missing.
  Result<void> create_layout() const;

  std::string blob_path(std::string_view sha256) const;
  // The blob's size; nothing when the server does not hold these bytes.
  std::optional<std::uint64_t> blob_size(std::string_view sha256) const;

  // The bytes a partial upload holds (0 when there is none).
  std::uint64_t partial_size(const PartialKey& key) const;
  // Opens the partial for appending, creating it (and its folders) when missing.
  Result<shell::UniqueFd> open_partial(const PartialKey& key) const;
  void drop_partial(const PartialKey& key) const;
  Result<std::string> hash_partial(const PartialKey& key) const;
  // Moves a finished partial into the blob store under its hash; drops it instead when the
  // blob is already there (the same bytes, by their hash).
  Result<void> adopt_partial(const PartialKey& key, const std::string& sha256) const;

 private:
  Result<std::string> partial_path(const PartialKey& key) const;
  std::string partial_dir(const PartialKey& key) const;

  std::string data_dir_;
};

}  // namespace sddsh::server
