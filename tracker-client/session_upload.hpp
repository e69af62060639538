#pragma once
// Uploading one task segment of a session to the remote tracker: its files first (resumable,
// idempotent, content-addressed by SHA-256), then the metadata PUT that commits them.
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "tracker-client/http_client.hpp"

namespace sddsh::tracker {

struct UploadFile {
  std::string name, path, sha256;
  std::uint64_t size = 0;
};
using UploadProgress = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;

// The most one PUT carries. The rest of a file normally goes in one PUT: the server keeps what
// arrived when a connection breaks, so every byte is a resume point already, and a file sent whole
// is hashed by the server as it arrives (pieces make it read the file again at the end; 8 MiB
// pieces made a 100 MB upload 2.5x slower than `curl -T`, see docs/tracker-client.md).
inline constexpr std::uint64_t kUploadChunkBytes = 1ULL << 30;

struct UploadOptions {
  std::uint64_t chunk_bytes = kUploadChunkBytes;  // smaller behind a proxy that limits bodies
};

// Resumable and idempotent: asks the server how much of the file it holds (…/status), sends the
// rest in chunks (options.chunk_bytes; a 409 offset_mismatch resumes from the server's offset); a
// file the server already holds is not sent again. Network errors/5xx: resumes from the server's
// offset, with backoff, up to the policy. An empty `file.sha256` is computed here; otherwise the
// file's size must still be `file.size`.
Result<void> upload_file(HttpClient& http, const std::string& upload_id, const UploadFile& file,
                         const UploadProgress& progress = {}, const UploadOptions& options = {});

// How much of a file the server holds: the reply of …/files/{name}/status, of a 202 to a chunk
// and of a 409 offset_mismatch ({"error":…,"offset":N}). Pure; fuzzed.
struct UploadState {
  std::uint64_t offset = 0;
  bool complete = false;
};
Result<UploadState> decode_upload_state(const nlohmann::json& reply);

// Commits one upload (PUT metadata). Idempotent.
Result<void> put_session(HttpClient& http, const std::string& upload_id,
                         const nlohmann::json& metadata);

}  // namespace sddsh::tracker
