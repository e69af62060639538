#include "replay/keyframes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <utility>

#include "recorder/session_record.hpp"
#include "replay/cast_pipe.hpp"
#include "sddsh_version.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::replay {

// ---- the rules every reader of the cast follows

tui::ScreenOptions replay_screen_options(const recorder::CastHeader& header) {
  tui::ScreenOptions options;
  options.rows = std::clamp(header.height, 1, kMaxRows);
  options.cols = std::clamp(header.width, 1, kMaxCols);
  // Replies to the agent's queries go nowhere in a replay; the colours it asked about are the
  // live defaults, so it is told the same as it was live.
  return options;
}

bool is_screen_event(const recorder::CastEvent& event) {
  return event.type == 'o' || (event.type == 'r' && recorder::parse_resize(event.data));
}

void apply_event(tui::Screen& screen, const recorder::CastEvent& event) {
  if (event.type == 'o') {
    screen.feed(event.data);
  } else if (event.type == 'r') {
    if (const auto size = recorder::parse_resize(event.data)) {
      screen.resize(std::min(size->rows, kMaxRows), std::min(size->cols, kMaxCols));
    }
  }
}

// ---- compressed screen states

namespace {

// zstd's fastest level: states are built while the user waits for the first open.
constexpr int kPackLevel = 1;
// A screen at kMaxCols x kMaxRows with both grids and its scrollback stays far below this.
constexpr std::size_t kLargestState = std::size_t{64} << 20;

struct CompressDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DecompressDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

}  // namespace

struct StateCodec::Contexts {
  std::unique_ptr<ZSTD_CCtx, CompressDeleter> compress{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, DecompressDeleter> decompress{ZSTD_createDCtx()};
};

StateCodec::StateCodec() : contexts_(std::make_unique<Contexts>()) {}
StateCodec::~StateCodec() = default;

std::string StateCodec::pack(std::string_view state) {
  std::string packed(ZSTD_compressBound(state.size()), '\0');
  const std::size_t size = ZSTD_compressCCtx(contexts_->compress.get(), packed.data(),
                                             packed.size(), state.data(), state.size(), kPackLevel);
  // Compressing into a buffer of compressBound's size cannot fail but for lack of memory.
  if (ZSTD_isError(size)) throw std::bad_alloc();
  packed.resize(size);
  return packed;
}

std::optional<std::string> StateCodec::unpack(std::string_view packed) {
  const unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kLargestState) {
    return std::nullopt;
  }
  std::string state(static_cast<std::size_t>(size), '\0');
  const std::size_t got = ZSTD_decompressDCtx(contexts_->decompress.get(), state.data(),
                                              state.size(), packed.data(), packed.size());
  if (ZSTD_isError(got) || got != state.size()) return std::nullopt;
  return state;
}

// ---- building

namespace {

// Keyframes keep only the newest scrollback lines (stretched back to where their first logical
// line starts, so that a reflow rewraps it whole), so the builder's screen keeps few more: the
// live default of 10 000 lines costs a quarter of the pass in copying lines out to cold memory,
// 1 000 lines a few percent.
constexpr std::size_t kBuilderScrollback = 1000;

tui::ScreenOptions builder_screen_options(const recorder::CastHeader& header,
                                          const IndexOptions& options) {
  tui::ScreenOptions screen = replay_screen_options(header);
  screen.scrollback_limit = std::max(options.scrollback_lines, kBuilderScrollback);
  return screen;
}

class IndexBuilder {
 public:
  IndexBuilder(const IndexOptions& options, const recorder::CastHeader& header,
               const recorder::CastPosition& start)
      : options_(options), screen_(builder_screen_options(header, options)) {
    index_.keyframes.push_back({0, start, 0, codec_.pack(screen_.save_state())});
  }

  void add(recorder::CastEvent& event, const recorder::CastPosition& after) {
    const double time = clock_.time_of(event.time);
    note_pause(time);
    if (!is_screen_event(event)) return;
    apply_event(screen_, event);
    ++index_.screen_events;
    bytes_since_keyframe_ += event.data.size();
    if (keyframe_due(time)) take_keyframe(time, after);
  }

  CastIndex finish(std::optional<std::string> problem) {
    index_.end_time = clock_.now();
    index_.problem = std::move(problem);
    return std::move(index_);
  }

 private:
  void note_pause(double time) {
    if (options_.idle_limit > 0 && time - last_event_time_ > options_.idle_limit) {
      index_.pauses.push_back({last_event_time_, time});
    }
    last_event_time_ = time;
  }

  bool keyframe_due(double time) const {
    return bytes_since_keyframe_ >= options_.keyframe_bytes ||
           time - index_.keyframes.back().time >= options_.keyframe_seconds;
  }

  void take_keyframe(double time, const recorder::CastPosition& next) {
    index_.keyframes.push_back({index_.screen_events, next, time,
                                codec_.pack(screen_.save_state(options_.scrollback_lines))});
    bytes_since_keyframe_ = 0;
    screen_.take_events();  // bells and titles nobody will watch
  }

  IndexOptions options_;
  tui::Screen screen_;
  StateCodec codec_;
  MonotoneClock clock_;
  CastIndex index_;
  double last_event_time_ = 0;  // pauses count from the start of the session
  std::size_t bytes_since_keyframe_ = 0;
};

}  // namespace

Result<CastIndex> build_index(const std::string& cast_path, const IndexOptions& options,
                              const BuildProgress& progress) {
  auto reader = recorder::CastReader::open(cast_path);
  if (!reader) return Failure{reader.error()};
  std::error_code size_error;
  const auto file_size = std::filesystem::file_size(cast_path, size_error);
  IndexBuilder builder(options, reader->header(), reader->position());
  CastPipe pipe(std::move(*reader));
  const std::uint64_t report_every = std::uint64_t{4} << 20;
  std::uint64_t next_report = report_every;
  while (auto* batch = pipe.next_batch()) {
    for (auto& item : *batch) builder.add(item.event, item.after);
    const std::uint64_t offset = pipe.offset();
    if (progress && !size_error && file_size > 0 && offset >= next_report) {
      progress(static_cast<double>(offset) / static_cast<double>(file_size));
      next_report = offset + report_every;
    }
  }
  if (progress) progress(1.0);
  return builder.finish(pipe.problem());
}

// ---- the cache

namespace {

constexpr std::string_view kMagic = "sddsh-keyframes\n";
constexpr std::uint64_t kCacheFormat = 1;
constexpr std::size_t kFingerprintBytes = std::size_t{64} << 10;

// Fixed-width little-endian fields, so a cache reads the same on any machine.
class PayloadWriter {
 public:
  explicit PayloadWriter(std::string& out) : out_(out) {}
  void u64(std::uint64_t value) {
    for (int shift = 0; shift < 64; shift += 8) out_ += static_cast<char>(value >> shift);
  }
  void u8(std::uint8_t value) { out_ += static_cast<char>(value); }
  void f64(double value) { u64(std::bit_cast<std::uint64_t>(value)); }
  void str(std::string_view text) {
    u64(text.size());
    out_ += text;
  }

 private:
  std::string& out_;
};

// Reads what PayloadWriter wrote; any read past the end sets failed() and returns zeros.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view in) : in_(in) {}
  bool failed() const { return failed_; }
  std::size_t left() const { return in_.size() - at_; }

  std::uint64_t u64() {
    if (!take(8)) return 0;
    std::uint64_t value = 0;
    for (int k = 7; k >= 0; --k) value = value << 8 | static_cast<unsigned char>(in_[at_ - 8 + k]);
    return value;
  }
  std::uint8_t u8() { return take(1) ? static_cast<std::uint8_t>(in_[at_ - 1]) : 0; }
  double f64() { return std::bit_cast<double>(u64()); }
  std::string_view str() {
    const std::uint64_t size = u64();
    if (size > left()) {
      failed_ = true;
      return {};
    }
    const auto n = static_cast<std::size_t>(size);
    take(n);
    return in_.substr(at_ - n, n);
  }
  // A count of items of at least `item_bytes` each: more than could fit is damage, not a
  // reason to reserve gigabytes.
  std::size_t count(std::size_t item_bytes) {
    const std::uint64_t n = u64();
    if (n > left() / item_bytes) {
      failed_ = true;
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

 private:
  bool take(std::size_t n) {
    if (failed_ || n > left()) {
      failed_ = true;
      return false;
    }
    at_ += n;
    return true;
  }

  std::string_view in_;
  std::size_t at_ = 0;
  bool failed_ = false;
};

std::uint64_t fingerprint(std::string_view bytes) {
  return std::hash<std::string_view>{}(bytes);
}

std::string hex(std::uint64_t value) {
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(value));
  return text.data();
}

Result<std::string> read_at(int fd, std::uint64_t offset, std::size_t size,
                            const std::string& path) {
  std::string bytes(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, bytes.data() + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_failure("reading " + path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

bool is_finite_time(double time) {
  return std::isfinite(time) && time >= 0;
}

std::optional<std::string> check_keyframes(const CastIndex& index) {
  if (index.keyframes.empty()) return "no keyframes";
  const Keyframe& first = index.keyframes.front();
  if (first.event_index != 0 || first.time != 0) return "the first keyframe is not the start";
  for (std::size_t i = 1; i < index.keyframes.size(); ++i) {
    const Keyframe& before = index.keyframes[i - 1];
    const Keyframe& frame = index.keyframes[i];
    if (frame.event_index <= before.event_index || frame.next.offset <= before.next.offset ||
        frame.next.line <= before.next.line || !is_finite_time(frame.time) ||
        frame.time < before.time) {
      return "keyframe " + std::to_string(i) + " is out of order";
    }
  }
  if (index.keyframes.back().event_index > index.screen_events) return "too few events";
  if (!is_finite_time(index.end_time) || index.end_time < index.keyframes.back().time) {
    return "bad end time";
  }
  return std::nullopt;
}

std::optional<std::string> check_pauses(const CastIndex& index) {
  double end_of_last = 0;
  for (const Pause& pause : index.pauses) {
    if (!is_finite_time(pause.start) || !is_finite_time(pause.end) || pause.start < end_of_last ||
        pause.end <= pause.start || pause.end > index.end_time) {
      return "bad pause";
    }
    end_of_last = pause.end;
  }
  return std::nullopt;
}

// Everything but the keyframes' states, which are checked when a seek restores them.
std::optional<std::string> decode_payload(std::string_view payload, CastIndex& index) {
  PayloadReader in(payload);
  index.end_time = in.f64();
  index.screen_events = in.u64();
  const bool has_problem = in.u8() != 0;
  const std::string_view problem = in.str();
  if (has_problem) index.problem = std::string(problem);
  index.pauses.resize(in.count(16));
  for (Pause& pause : index.pauses) {
    pause.start = in.f64();
    pause.end = in.f64();
  }
  index.keyframes.resize(in.count(40));
  for (Keyframe& frame : index.keyframes) {
    frame.event_index = in.u64();
    frame.next.offset = in.u64();
    frame.next.line = in.u64();
    frame.time = in.f64();
    frame.packed_state = std::string(in.str());
  }
  if (in.failed()) return "cut short";
  if (in.left() != 0) return "bytes after the end";
  if (auto bad = check_keyframes(index)) return bad;
  return check_pauses(index);
}

CacheLoad damaged(std::string why) {
  return {CacheLoad::Status::Damaged, std::move(why), {}};
}

}  // namespace

Result<std::string> cache_key(const std::string& cast_path, const IndexOptions& options) {
  shell::UniqueFd fd(::open(cast_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return system_failure("opening " + cast_path);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) return system_failure("reading " + cast_path);
  const auto size = static_cast<std::uint64_t>(status.st_size);
  auto head = read_at(fd.get(), 0, kFingerprintBytes, cast_path);
  if (!head) return Failure{head.error()};
  const std::uint64_t tail_start = size > kFingerprintBytes ? size - kFingerprintBytes : 0;
  auto tail = read_at(fd.get(), tail_start, kFingerprintBytes, cast_path);
  if (!tail) return Failure{tail.error()};
  const auto mtime_ns =
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec;
  return std::string("sddsh ") + sddsh::version + " size " + std::to_string(size) + " mtime " +
         std::to_string(mtime_ns) + " head " + hex(fingerprint(*head)) + " tail " +
         hex(fingerprint(*tail)) + " every " + std::to_string(options.keyframe_bytes) + "B " +
         hex(std::bit_cast<std::uint64_t>(options.keyframe_seconds)) + "s idle " +
         hex(std::bit_cast<std::uint64_t>(options.idle_limit)) + " scrollback " +
         std::to_string(options.scrollback_lines) + " max " + std::to_string(kMaxCols) + "x" +
         std::to_string(kMaxRows);
}

std::string encode_payload(const CastIndex& index) {
  std::string payload;
  PayloadWriter out(payload);
  out.f64(index.end_time);
  out.u64(index.screen_events);
  out.u8(index.problem ? 1 : 0);
  out.str(index.problem.value_or(""));
  out.u64(index.pauses.size());
  for (const Pause& pause : index.pauses) {
    out.f64(pause.start);
    out.f64(pause.end);
  }
  out.u64(index.keyframes.size());
  for (const Keyframe& frame : index.keyframes) {
    out.u64(frame.event_index);
    out.u64(frame.next.offset);
    out.u64(frame.next.line);
    out.f64(frame.time);
    out.str(frame.packed_state);
  }
  return payload;
}

std::string seal_cache(std::string_view key, std::string_view payload) {
  std::string file(kMagic);
  PayloadWriter out(file);
  out.u64(kCacheFormat);
  out.str(key);
  out.u64(fingerprint(payload));
  file += payload;
  return file;
}

CacheLoad decode_cache(std::string_view bytes, std::string_view key) {
  if (!bytes.starts_with(kMagic)) return damaged("not a keyframe cache");
  PayloadReader in(bytes.substr(kMagic.size()));
  const std::uint64_t format = in.u64();
  const std::string_view stored_key = in.str();
  const std::uint64_t hash = in.u64();
  if (in.failed()) return damaged("cut short");
  // An older or newer format is not damage: it is rebuilt as a changed cast would be.
  if (format != kCacheFormat || stored_key != key) return {CacheLoad::Status::Stale, {}, {}};
  const std::string_view payload = bytes.substr(bytes.size() - in.left());
  if (fingerprint(payload) != hash) return damaged("its checksum does not match");
  CacheLoad load{CacheLoad::Status::Loaded, {}, {}};
  if (auto bad = decode_payload(payload, load.index)) return damaged(*bad);
  return load;
}

CacheLoad load_cache(const std::string& path, std::string_view key) {
  shell::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return {};
    return damaged(system_failure("opening " + path).error.message);
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0)
    return damaged(system_failure("reading " + path).error.message);
  if (!S_ISREG(status.st_mode)) return damaged(path + " is not a file");
  auto bytes = read_at(fd.get(), 0, static_cast<std::size_t>(status.st_size), path);
  if (!bytes) return damaged(bytes.error().message);
  return decode_cache(*bytes, key);
}

Result<void> save_cache(const std::string& path, std::string_view key, const CastIndex& index) {
  const std::string directory = std::filesystem::path(path).parent_path().string();
  if (!directory.empty() && ::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return system_failure("creating " + directory);
  }
  return recorder::write_file_atomically(path, seal_cache(key, encode_payload(index)));
}

}  // namespace sddsh::replay
