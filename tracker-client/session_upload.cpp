#include "tracker-client/session_upload.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tracker-client/remote_tracker.hpp"
#include "tracker-client/sha256.hpp"

namespace sddsh::tracker {

namespace {

using nlohmann::json;

// `code` keeps the HTTP status of a refusal: the outbox tells a refused entry (4xx: kept as
// failed, the drain goes on) from a server that is down.
Failure upload_failure(const UploadFile& file, const std::string& why, int code = 0) {
  return Failure{Error{code, "upload of " + file.name + ": " + why}};
}

// The file as it is on disk now: its hash computed when the caller left it out, its size checked
// against the one queued (a file that changed since would fail the server's hash check anyway).
Result<UploadFile> local_file(const UploadFile& file) {
  UploadFile local = file;
  if (local.sha256.empty()) {
    auto digest = sha256_file(file.path);
    if (!digest) return Failure{digest.error()};
    local.sha256 = digest->sha256;
    local.size = digest->size;
    return local;
  }
  struct stat info {};
  if (::stat(file.path.c_str(), &info) != 0) return system_failure("stat " + file.path);
  if (static_cast<std::uint64_t>(info.st_size) != file.size)
    return upload_failure(file, file.path + " changed size since it was queued");
  if (!is_sha256_hex(file.sha256)) return upload_failure(file, "not a SHA-256: " + file.sha256);
  return local;
}

std::string files_path(HttpClient& http, const std::string& upload_id, const std::string& name) {
  return http.project_path() + "/sessions/" + url_escape(upload_id) + "/files/" + url_escape(name);
}

// What the server holds of the file; a file it never heard of is at offset 0.
Result<UploadState> server_state(HttpClient& http, const std::string& path) {
  auto reply = http.request("GET", path + "/status");
  if (reply && reply->status == 404) return UploadState{};
  auto value = json_reply(reply, {200});
  if (!value) return Failure{value.error()};
  return decode_upload_state(*value);
}

// One PUT: the whole file when it is small and nothing is there yet, else one chunk with its
// Content-Range. `ask_first`: Expect: 100-continue, so that the server can settle the upload
// before any byte is sent (it holds these bytes already, or another offset).
Result<HttpResponse> send_chunk(HttpClient& http, const std::string& path, const UploadFile& file,
                                std::uint64_t offset, std::uint64_t chunk_bytes, bool ask_first,
                                const UploadProgress& progress) {
  const std::uint64_t length = std::min(chunk_bytes, file.size - offset);
  std::vector<std::string> headers{"X-Sddsh-Sha256: " + file.sha256};
  if (ask_first && length > 0) headers.emplace_back("Expect: 100-continue");
  if (offset != 0 || length != file.size)
    headers.push_back("Content-Range: bytes " + std::to_string(offset) + "-" +
                      std::to_string(offset + length - 1) + "/" + std::to_string(file.size));
  std::function<void(std::uint64_t)> sent;
  if (progress) sent = [&](std::uint64_t bytes) { progress(offset + bytes, file.size); };
  return http.put_file_range(path, file.path, offset, length, headers, sent);
}

// What to do after a chunk's reply.
struct Step {
  enum Kind { Done, Continue, Retry, Fail } kind = Fail;
  std::uint64_t offset = 0;           // Continue: where the server stands now
  std::chrono::milliseconds wait{0};  // Retry: at least this long (Retry-After)
  Error error;                        // Fail, or the last reason for Retry
};

std::chrono::milliseconds retry_after(const HttpResponse& response) {
  auto it = response.headers.find("retry-after");
  if (it == response.headers.end() || it->second.empty() || it->second.size() > 3 ||
      !std::all_of(it->second.begin(), it->second.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return std::chrono::milliseconds(0);
  return std::chrono::seconds(std::stoi(it->second));
}

Step complete_step(const Result<HttpResponse>& reply, const UploadFile& file) {
  auto value = json_reply(reply, {200});
  if (!value) return {Step::Fail, 0, {}, value.error()};
  auto state = decode_upload_state(*value);
  auto sha256 = value->find("sha256");
  if (!state || !state->complete || (sha256 != value->end() && *sha256 != file.sha256))
    return {Step::Fail,
            0,
            {},
            Error{0, "the tracker confirmed " + file.name + " with a different hash"}};
  return {Step::Done};
}

bool is_offset_mismatch(const HttpResponse& response) {
  if (response.status != 409) return false;
  auto value = nlohmann::json::parse(response.body, nullptr, false);
  if (!value.is_object()) return false;
  auto error = value.find("error");
  return error != value.end() && error->is_object() &&
         error->value("code", json()) == "offset_mismatch";
}

Step next_step(const Result<HttpResponse>& reply, const UploadFile& file, std::uint64_t offset) {
  if (!reply) return {Step::Retry, 0, {}, reply.error()};
  const long status = reply->status;
  if (status == 200) return complete_step(reply, file);
  if (status == 429 || status >= 500)
    return {Step::Retry, 0, retry_after(*reply), json_reply(reply, {}).error()};
  if (status == 202 || is_offset_mismatch(*reply)) {
    auto value = nlohmann::json::parse(reply->body, nullptr, false);
    auto state = decode_upload_state(value);
    if (state && value.contains("offset") && state->offset <= file.size &&
        (status == 409 || state->offset > offset))
      return {Step::Continue, state->offset};
    return {Step::Fail, 0, {}, Error{0, "the tracker reported a bad offset for " + file.name}};
  }
  // Another 409: the server is still writing this file for an earlier (cut) request.
  if (status == 409) return {Step::Retry, 0, {}, json_reply(reply, {}).error()};
  return {Step::Fail, 0, {}, json_reply(reply, {}).error()};
}

}  // namespace

Result<UploadState> decode_upload_state(const json& reply) {
  if (!reply.is_object()) return Failure{Error{0, "an upload state must be a JSON object"}};
  UploadState state;
  auto offset = reply.find("offset");
  if (offset != reply.end()) {
    if (!offset->is_number_integer() || offset->get<std::int64_t>() < 0)
      return Failure{Error{0, "an upload state's \"offset\" must be a byte count"}};
    state.offset = offset->get<std::uint64_t>();
  }
  if (auto complete = reply.find("complete"); complete != reply.end()) {
    if (!complete->is_boolean())
      return Failure{Error{0, "an upload state's \"complete\" must be true or false"}};
    state.complete = complete->get<bool>();
  }
  return state;
}

Result<void> upload_file(HttpClient& http, const std::string& upload_id, const UploadFile& queued,
                         const UploadProgress& progress, const UploadOptions& options) {
  const std::uint64_t chunk_bytes = std::max<std::uint64_t>(options.chunk_bytes, 1);
  if (!is_upload_name(upload_id))
    return upload_failure(queued, "bad upload id '" + upload_id + "'");
  if (!is_upload_name(queued.name)) return upload_failure(queued, "bad file name");
  auto file = local_file(queued);
  if (!file) return Failure{file.error()};
  const std::string path = files_path(http, upload_id, file->name);
  auto state = server_state(http, path);
  if (!state) return upload_failure(*file, state.error().message);
  std::uint64_t offset = state->offset;
  bool done = state->complete;
  // Failures in a row without progress; progress resets it, so a long file on a flaky link goes on.
  int failures = 0;
  bool ask_first = true;  // the first piece after learning the server's state
  while (!done) {
    if (offset > file->size)
      return upload_failure(*file, "the tracker holds more bytes than the file has");
    const Step step = next_step(
        send_chunk(http, path, *file, offset, chunk_bytes, ask_first, progress), *file, offset);
    ask_first = step.kind != Step::Continue;
    switch (step.kind) {
      case Step::Done:
        done = true;
        break;
      case Step::Continue:
        failures = step.offset > offset ? 0 : failures + 1;
        offset = step.offset;
        break;
      case Step::Fail:
        return upload_failure(*file, step.error.message, step.error.code);
      case Step::Retry:
        ++failures;
        break;
    }
    if (failures >= http.policy().max_attempts)
      return upload_failure(
          *file, step.error.message.empty()
                     ? "no progress"
                     : step.error.message + " (after " + std::to_string(failures) + " attempts)");
    if (step.kind == Step::Retry) {
      http.back_off(failures, step.wait);
      auto resumed = server_state(http, path);  // what reached the server before the failure
      if (!resumed) return upload_failure(*file, resumed.error().message);
      offset = resumed->offset;
      done = resumed->complete;
    }
  }
  if (progress) progress(file->size, file->size);
  return {};
}

Result<void> put_session(HttpClient& http, const std::string& upload_id, const json& metadata) {
  if (!is_upload_name(upload_id)) return Failure{Error{0, "bad upload id '" + upload_id + "'"}};
  if (!metadata.is_object()) return Failure{Error{0, "session metadata must be a JSON object"}};
  auto reply = http.request("PUT", http.project_path() + "/sessions/" + url_escape(upload_id),
                            metadata.dump());
  if (reply && reply->status == 409) {
    auto value = json::parse(reply->body, nullptr, false);
    auto missing = value.is_object() ? value.find("missing") : value.end();
    if (value.is_object() && missing != value.end() && missing->is_array()) {
      std::string names;
      for (const auto& name : *missing)
        if (name.is_string()) names += (names.empty() ? "" : ", ") + name.get<std::string>();
      return Failure{Error{409, "the tracker does not have every file of " + upload_id +
                                    " yet (missing: " + names.substr(0, 300) + ")"}};
    }
  }
  auto value = json_reply(reply, {200, 201});
  if (!value) return Failure{value.error()};
  return {};
}

}  // namespace sddsh::tracker
