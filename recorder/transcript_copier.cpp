#include "recorder/transcript_copier.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "recorder/store.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

namespace {

constexpr std::size_t kTailBytes = 256;
constexpr std::size_t kChunk = std::size_t{1} << 20;

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

Result<std::string> read_range(int fd, std::uint64_t offset, std::size_t length) {
  std::string data(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_failure("read");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  return data;
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_failure("write");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Copies [from, to) of `source_fd` to the end of `target_fd`; the last bytes go to `tail`.
Result<void> copy_range(int source_fd, int target_fd, std::uint64_t from, std::uint64_t to,
                        std::string& tail) {
  for (std::uint64_t at = from; at < to;) {
    auto chunk = read_range(source_fd, at,
                            static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, to - at)));
    if (!chunk) return Failure{chunk.error()};
    if (chunk->empty()) break;  // the source shrank under us: the next sync starts over
    if (auto written = write_all(target_fd, *chunk); !written) return written;
    at += chunk->size();
    tail += *chunk;
    if (tail.size() > kTailBytes) tail.erase(0, tail.size() - kTailBytes);
  }
  return {};
}

}  // namespace

TranscriptCopier::TranscriptCopier(std::string bundle_dir) : bundle_dir_(std::move(bundle_dir)) {}

bool TranscriptCopier::tracks(const std::string& source) const {
  return std::any_of(tracked_.begin(), tracked_.end(),
                     [&](const Tracked& t) { return t.copy.source == source; });
}

std::string TranscriptCopier::copy_name(const std::string& source) const {
  const std::string name = base_name(source);
  std::string file = "transcript/" + name;
  for (int n = 2; std::any_of(tracked_.begin(), tracked_.end(),
                              [&](const Tracked& t) { return t.copy.file == file; });
       ++n)
    file = "transcript/" + std::to_string(n) + "-" + name;
  return file;
}

void TranscriptCopier::track(const std::string& source) {
  if (source.empty() || tracks(source)) return;
  Tracked tracked;
  tracked.copy.source = source;
  tracked.copy.file = copy_name(source);
  tracked_.push_back(std::move(tracked));
}

std::vector<TranscriptFileRecord> TranscriptCopier::copies() const {
  std::vector<TranscriptFileRecord> all;
  for (const auto& t : tracked_)
    if (t.exists) all.push_back(t.copy);
  return all;
}

std::vector<Error> TranscriptCopier::sync() {
  std::vector<Error> errors;
  if (!tracked_.empty())
    if (auto made = make_directories(bundle_dir_ + "/transcript"); !made) return {made.error()};
  for (auto& tracked : tracked_)
    if (auto synced = sync_one(tracked); !synced)
      errors.push_back({synced.error().code, tracked.copy.file + ": " + synced.error().message});
  return errors;
}

Result<void> TranscriptCopier::sync_one(Tracked& tracked) {
  shell::UniqueFd source(::open(tracked.copy.source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source) {
    if (errno == ENOENT) return {};  // gone (deleted, or not written yet): the copy stays
    return system_failure("open " + tracked.copy.source);
  }
  struct stat st {};
  if (::fstat(source.get(), &st) != 0) return system_failure("stat " + tracked.copy.source);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t modified = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  const std::uint64_t copied = tracked.copy.bytes;
  if (size == copied && modified == tracked.modified_ns) return {};
  tracked.modified_ns = modified;
  // Appended to, unless it shrank, or what we copied last no longer ends where it did.
  bool appended = size > copied;
  if (appended && !tracked.tail.empty()) {
    auto now = read_range(source.get(), copied - tracked.tail.size(), tracked.tail.size());
    appended = now && *now == tracked.tail;
  }
  return appended ? append(tracked, source.get(), size) : copy_whole(tracked, source.get(), size);
}

Result<void> TranscriptCopier::append(Tracked& tracked, int source_fd, std::uint64_t size) {
  const std::string path = bundle_dir_ + "/" + tracked.copy.file;
  shell::UniqueFd target(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!target) return system_failure("open " + path);
  // Cut back to what is known good: a failed write earlier may have left a partial chunk.
  if (::ftruncate(target.get(), static_cast<off_t>(tracked.copy.bytes)) != 0 ||
      ::lseek(target.get(), 0, SEEK_END) < 0)
    return system_failure("truncate " + path);
  auto copied = copy_range(source_fd, target.get(), tracked.copy.bytes, size, tracked.tail);
  if (!copied) return copied;
  tracked.copy.bytes = static_cast<std::uint64_t>(::lseek(target.get(), 0, SEEK_END));
  tracked.exists = true;
  return {};
}

Result<void> TranscriptCopier::copy_whole(Tracked& tracked, int source_fd, std::uint64_t size) {
  const std::string path = bundle_dir_ + "/" + tracked.copy.file;
  const std::string temporary = path + ".new";
  shell::UniqueFd target(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!target) return system_failure("open " + temporary);
  std::string tail;
  if (auto copied = copy_range(source_fd, target.get(), 0, size, tail); !copied) {
    ::unlink(temporary.c_str());
    return copied;
  }
  const auto bytes = static_cast<std::uint64_t>(::lseek(target.get(), 0, SEEK_END));
  if (::rename(temporary.c_str(), path.c_str()) != 0) return system_failure("rename " + path);
  tracked.copy.bytes = bytes;
  tracked.tail = std::move(tail);
  tracked.exists = true;
  return {};
}

}  // namespace sddsh::recorder
