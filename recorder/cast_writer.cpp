#include "recorder/cast_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "shell/signal_free_thread.hpp"

namespace sddsh::recorder {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Bytes are escaped or copied by kind; one table lookup per byte keeps the common case fast.
enum ByteKind : std::uint8_t { kCopy, kEscape, kNonAscii };

constexpr std::array<std::uint8_t, 256> make_byte_kinds() {
  std::array<std::uint8_t, 256> kinds{};
  for (int c = 0; c < 0x20; ++c) kinds[c] = kEscape;
  kinds['"'] = kEscape;
  kinds['\\'] = kEscape;
  for (int c = 0x80; c < 0x100; ++c) kinds[c] = kNonAscii;
  return kinds;
}
constexpr std::array<std::uint8_t, 256> kByteKinds = make_byte_kinds();

unsigned char byte_at(std::string_view bytes, std::size_t i) {
  return static_cast<unsigned char>(bytes[i]);
}

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// What a lead byte needs: the sequence length and the range of the second byte (the ranges
// exclude overlong forms, surrogates and code points above U+10FFFF). Length 0: not a lead.
struct LeadByte {
  std::uint8_t length = 0;
  std::uint8_t second_min = 0x80;
  std::uint8_t second_max = 0xBF;
};

constexpr std::array<LeadByte, 256> make_lead_bytes() {
  std::array<LeadByte, 256> leads{};
  for (int c = 0xC2; c <= 0xDF; ++c) leads[c] = {2};
  for (int c = 0xE0; c <= 0xEF; ++c) leads[c] = {3};
  for (int c = 0xF0; c <= 0xF4; ++c) leads[c] = {4};
  leads[0xE0].second_min = 0xA0;  // shorter forms are overlong
  leads[0xED].second_max = 0x9F;  // beyond are the UTF-16 surrogates
  leads[0xF0].second_min = 0x90;  // overlong
  leads[0xF4].second_max = 0x8F;  // beyond is above U+10FFFF
  return leads;
}
constexpr std::array<LeadByte, 256> kLeadBytes = make_lead_bytes();

// How many bytes at `i` are a valid prefix of the sequence the lead byte there starts (up to
// the sequence's length or the end of `bytes`), and that length (0: not a lead byte).
std::pair<std::size_t, std::size_t> utf8_prefix(std::string_view bytes, std::size_t i) {
  const LeadByte lead = kLeadBytes[byte_at(bytes, i)];
  if (lead.length == 0) return {0, 0};
  const std::size_t available = std::min<std::size_t>(lead.length, bytes.size() - i);
  std::size_t valid = 1;
  if (valid < available) {
    const unsigned char second = byte_at(bytes, i + 1);
    if (second < lead.second_min || second > lead.second_max) return {valid, lead.length};
    ++valid;
  }
  while (valid < available && is_continuation(byte_at(bytes, i + valid))) ++valid;
  return {valid, lead.length};
}

// The length of the valid UTF-8 sequence at `p`, or 0 when the byte there starts none. The hot
// path of escaping, hence pointers and no loop.
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t available) {
  const LeadByte lead = kLeadBytes[p[0]];
  if (lead.length == 0 || lead.length > available) return 0;
  if (p[1] < lead.second_min || p[1] > lead.second_max) return 0;
  if (lead.length >= 3 && !is_continuation(p[2])) return 0;
  if (lead.length == 4 && !is_continuation(p[3])) return 0;
  return lead.length;
}

// The length of an unfinished but so far valid sequence at the end of `bytes` (0 to 3): the
// rest of it may come with the next read.
std::size_t incomplete_tail_length(std::string_view bytes) {
  const std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, n); ++back) {
    if (is_continuation(byte_at(bytes, n - back))) continue;
    const auto [valid, length] = utf8_prefix(bytes, n - back);
    return valid == back && length > back ? back : 0;
  }
  return 0;
}

// The JSON escape of each byte that needs one: the short forms where JSON has them (as
// Python's json writes), \u00XX for the other control characters.
struct Escape {
  char text[6] = {};
  std::uint8_t size = 0;
};

constexpr std::array<Escape, 0x60> make_escapes() {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<Escape, 0x60> escapes{};
  for (int c = 0; c < 0x20; ++c)
    escapes[c] = {{'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]}, 6};
  escapes['\b'] = {{'\\', 'b'}, 2};
  escapes['\t'] = {{'\\', 't'}, 2};
  escapes['\n'] = {{'\\', 'n'}, 2};
  escapes['\f'] = {{'\\', 'f'}, 2};
  escapes['\r'] = {{'\\', 'r'}, 2};
  escapes['"'] = {{'\\', '"'}, 2};
  escapes['\\'] = {{'\\', '\\'}, 2};
  return escapes;
}
constexpr std::array<Escape, 0x60> kEscapes = make_escapes();

// Appends `bytes` as the inside of a JSON string. Valid UTF-8 is copied as is; each byte that
// is not part of a valid sequence becomes U+FFFD. Returns false when that happened.
bool append_json_text(std::string& out, std::string_view bytes) {
  const auto* const begin = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* const end = begin + bytes.size();
  const auto* copied_to = begin;  // bytes before this are in `out` already
  const auto copy_run = [&](const unsigned char* to) {
    out.append(reinterpret_cast<const char*>(copied_to), static_cast<std::size_t>(to - copied_to));
  };
  bool all_valid = true;
  for (const unsigned char* p = begin; p < end;) {
    const std::uint8_t kind = kByteKinds[*p];
    if (kind == kCopy) {
      ++p;
      continue;
    }
    if (kind == kNonAscii) {
      const std::size_t length = utf8_sequence_length(p, static_cast<std::size_t>(end - p));
      if (length != 0) {
        p += length;
        continue;
      }
    }
    copy_run(p);
    if (kind == kEscape) {
      out.append(kEscapes[*p].text, kEscapes[*p].size);
    } else {
      out += kReplacementCharacter;
      all_valid = false;
    }
    copied_to = ++p;
  }
  copy_run(end);
  return all_valid;
}

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v =
        byte_at(bytes, i) << 16 | byte_at(bytes, i + 1) << 8 | byte_at(bytes, i + 2);
    const char group[] = {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
                          kAlphabet[v & 63]};
    out.append(group, 4);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return;
  const std::uint32_t v = byte_at(bytes, i) << 16 | (rest == 2 ? byte_at(bytes, i + 1) << 8 : 0);
  const char group[] = {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63],
                        rest == 2 ? kAlphabet[(v >> 6) & 63] : '=', '='};
  out.append(group, 4);
}

// Seconds with exactly 6 decimals, as asciinema writes them. Times that make no sense (negative,
// NaN) become 0 rather than a number a reader would reject.
void append_seconds(std::string& out, double seconds) {
  constexpr double kLongest = 1e12;  // 31 000 years: keeps the microseconds in an int64
  if (!(seconds > 0)) seconds = 0;
  seconds = std::min(seconds, kLongest);
  const auto micros = static_cast<std::int64_t>(std::llround(seconds * 1e6));
  char text[32];
  char* end = std::to_chars(text, text + sizeof text, micros / 1000000).ptr;
  *end++ = '.';
  std::int64_t fraction = micros % 1000000;
  for (char* digit = end + 5; digit >= end; --digit) {  // zero-padded to 6 digits
    *digit = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  out.append(text, static_cast<std::size_t>(end + 6 - text));
}

void append_line_start(std::string& out, double seconds, char type) {
  out += '[';
  append_seconds(out, seconds);
  out += ", \"";
  append_json_text(out, std::string_view(&type, 1));
  out += "\", \"";
}

}  // namespace

// ---- CastEncoder ----

std::string CastEncoder::header_line(const CastHeader& header) {
  nlohmann::ordered_json json;
  json["version"] = 2;
  json["width"] = std::max(1, header.width);
  json["height"] = std::max(1, header.height);
  json["timestamp"] = header.timestamp;
  auto env = nlohmann::ordered_json::object();
  if (!header.term.empty()) env["TERM"] = header.term;
  if (!header.shell.empty()) env["SHELL"] = header.shell;
  json["env"] = std::move(env);
  if (!header.title.empty()) json["title"] = header.title;
  // `replace`: a title that is not UTF-8 must not stop the recording.
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void CastEncoder::output(std::string& out, double seconds, std::string_view bytes) {
  stream_text(out, output_, seconds, bytes);
}

void CastEncoder::input(std::string& out, double seconds, std::string_view bytes) {
  stream_text(out, input_, seconds, bytes);
}

void CastEncoder::resize(std::string& out, double seconds, int cols, int rows) {
  event(out, seconds, 'r', std::to_string(cols) + "x" + std::to_string(rows));
}

void CastEncoder::marker(std::string& out, double seconds, std::string_view label) {
  event(out, seconds, 'm', label);
}

void CastEncoder::event(std::string& out, double seconds, char type, std::string_view data) {
  append_line_start(out, seconds, type);
  const bool valid = append_json_text(out, data);
  out += "\"]\n";
  ++events_;
  if (valid) return;
  // The text above shows U+FFFD to asciinema; the exact bytes follow for our reader.
  append_line_start(out, seconds, 'x');
  append_base64(out, data);
  out += "\"]\n";
}

void CastEncoder::finish(std::string& out) {
  for (Stream* stream : {&output_, &input_}) {
    if (stream->held.empty()) continue;
    event(out, stream->last_seconds, stream->type, stream->held);
    stream->held.clear();
  }
}

void CastEncoder::stream_text(std::string& out, Stream& stream, double seconds,
                              std::string_view bytes) {
  stream.last_seconds = seconds;
  std::string joined;
  if (!stream.held.empty()) {
    joined.reserve(stream.held.size() + bytes.size());
    joined.append(stream.held).append(bytes);
    bytes = joined;
  }
  const std::size_t held = incomplete_tail_length(bytes);
  if (held < bytes.size()) event(out, seconds, stream.type, bytes.substr(0, bytes.size() - held));
  stream.held.assign(bytes.substr(bytes.size() - held));
}

// ---- CastWriter ----

namespace {

// What the event loop appends to the pending buffer before each record's bytes.
struct RecordHead {
  double seconds;
  std::size_t size;
  char type;
};

// Output is encoded in slices of this size so the escaped text of a huge read (up to 6× its
// size) never sits in memory whole; written once this much escaped text has gathered.
constexpr std::size_t kSliceBytes = std::size_t{1} << 20;
// Buffers that grew beyond this in a burst are given back rather than kept for the next batch.
constexpr std::size_t kKeptCapacity = std::size_t{4} << 20;

Result<void> write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_failure("writing " + path);
    if (n == 0) return system_failure("writing " + path, EIO);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Empties a buffer for its next use. Its memory is kept (no page faults next time) unless a
// burst made it large.
void recycle(std::string& buffer, std::size_t usual_size) {
  if (buffer.capacity() > std::max(kKeptCapacity, usual_size)) std::string().swap(buffer);
  buffer.clear();
  buffer.reserve(usual_size);
}

}  // namespace

Result<std::unique_ptr<CastWriter>> CastWriter::create(const std::string& path,
                                                       const CastHeader& header,
                                                       CastWriterOptions options) {
  shell::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return system_failure("creating " + path);
  try {
    return std::unique_ptr<CastWriter>(
        new CastWriter(path, std::move(fd), CastEncoder::header_line(header), options));
  } catch (const std::system_error& e) {
    return Failure{Error{e.code().value(), "starting the writer of " + path + ": " + e.what()}};
  }
}

CastWriter::CastWriter(std::string path, shell::UniqueFd fd, std::string header_line,
                       CastWriterOptions options)
    : path_(std::move(path)),
      fd_(std::move(fd)),
      options_(options),
      header_line_(std::move(header_line)) {
  pending_.reserve(batch_capacity());
  // last: everything it uses exists now; signals stay with the event loop's signalfd
  thread_ = shell::start_signal_free_thread([this] { run(); });
}

// The pending buffer and the writer's batch swap places; each is made big enough that a usual
// batch (the flush size, and what comes while the writer is busy) never makes it grow.
std::size_t CastWriter::batch_capacity() const {
  return std::min(2 * options_.flush_bytes, options_.max_pending_bytes);
}

CastWriter::~CastWriter() {
  (void)close();
}

void CastWriter::output(double seconds, std::string_view bytes) {
  append('o', seconds, bytes);
}

void CastWriter::input(double seconds, std::string_view bytes) {
  append('i', seconds, bytes);
}

void CastWriter::resize(double seconds, int cols, int rows) {
  append('r', seconds, std::to_string(cols) + "x" + std::to_string(rows));
}

void CastWriter::marker(double seconds, std::string_view label) {
  append('m', seconds, label);
}

Result<void> CastWriter::close() {
  if (!closed_) {
    closed_ = true;
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    fd_.reset();
  }
  if (auto failure = error()) return Failure{*failure};
  return {};
}

std::optional<Error> CastWriter::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

CastStats CastWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// The event loop's whole cost: a copy into the pending buffer, and a wake-up only when the
// writer thread has a reason to look (the first pending byte, or enough for a write).
void CastWriter::append(char type, double seconds, std::string_view bytes) {
  if (closed_) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (type == 'o') stats_.output_bytes += bytes.size();
    if (type == 'i') stats_.input_bytes += bytes.size();
    if (refuse(bytes.size(), type == 'o' || type == 'i')) return;
    const std::size_t before = pending_.size();
    if (before == 0) pending_since_ = std::chrono::steady_clock::now();
    const RecordHead head{seconds, bytes.size(), type};
    pending_.append(reinterpret_cast<const char*>(&head), sizeof head);
    pending_.append(bytes);
    wake =
        before == 0 || (before < options_.flush_bytes && pending_.size() >= options_.flush_bytes);
  }
  if (wake) wake_.notify_one();
}

bool CastWriter::refuse(std::size_t bytes, bool is_stream) {
  const bool full = pending_.size() + sizeof(RecordHead) + bytes > options_.max_pending_bytes;
  if (!failed_ && !full) return false;
  if (is_stream) stats_.dropped_bytes += bytes;
  if (full && !error_) {
    error_ = Error{0, "recording " + path_ + " fell behind the disk: output is being dropped"};
  }
  return true;
}

void CastWriter::run() {
  std::string out = std::move(header_line_);
  flush(out);
  recycle(out, 2 * kSliceBytes);
  std::string batch;
  recycle(batch, batch_capacity());
  for (bool last = false; !last;) {
    last = take_batch(batch);
    encode_batch(batch, out);
    recycle(batch, batch_capacity());
  }
  finish_file(out);
}

bool CastWriter::take_batch(std::string& batch) {
  std::unique_lock lock(mutex_);
  // Idle: no timeout, so an idle recording never wakes the process.
  wake_.wait(lock, [this] { return closing_ || !pending_.empty(); });
  wake_.wait_until(lock, pending_since_ + options_.flush_delay,
                   [this] { return closing_ || pending_.size() >= options_.flush_bytes; });
  batch.swap(pending_);
  return closing_;
}

void CastWriter::encode_batch(std::string_view batch, std::string& out) {
  while (!batch.empty()) {
    RecordHead head{};
    std::memcpy(&head, batch.data(), sizeof head);
    const std::string_view data = batch.substr(sizeof head, head.size);
    batch.remove_prefix(sizeof head + head.size);
    encode_record(head.type, head.seconds, data, out);
  }
  flush(out);
  recycle(out, 2 * kSliceBytes);
}

void CastWriter::encode_record(char type, double seconds, std::string_view data, std::string& out) {
  const bool is_stream = type == 'o' || type == 'i';
  if (!is_stream) {
    if (!failed_) encoder_.event(out, seconds, type, data);
    return;
  }
  while (!data.empty()) {
    const std::string_view slice = data.substr(0, kSliceBytes);
    if (failed_) {
      std::lock_guard lock(mutex_);
      stats_.dropped_bytes += data.size();
      return;
    }
    if (type == 'o') encoder_.output(out, seconds, slice);
    if (type == 'i') encoder_.input(out, seconds, slice);
    unflushed_data_bytes_ += slice.size();
    data.remove_prefix(slice.size());
    if (out.size() >= kSliceBytes) flush(out);
  }
}

void CastWriter::flush(std::string& out) {
  if (!out.empty() && !failed_) {
    if (auto written = write_all(fd_.get(), out, path_); !written) {
      fail(written.error());
    } else {
      good_bytes_ += out.size();
      unflushed_data_bytes_ = 0;
      std::lock_guard lock(mutex_);
      stats_.file_bytes = good_bytes_;
      stats_.events = encoder_.events();
    }
  }
  out.clear();
}

// After a write error nothing more is written, so the file stays what it was: a cast that is
// valid up to its last complete line.
void CastWriter::fail(const Error& error) {
  // Cuts a partly written line off a regular file; a pipe or a device cannot be cut, and need not.
  [[maybe_unused]] const int cut = ::ftruncate(fd_.get(), static_cast<off_t>(good_bytes_));
  std::lock_guard lock(mutex_);
  failed_ = true;
  if (!error_) error_ = error;
  stats_.dropped_bytes += unflushed_data_bytes_;
  unflushed_data_bytes_ = 0;
}

void CastWriter::finish_file(std::string& out) {
  encoder_.finish(out);
  flush(out);
  if (failed_) return;
  // EINVAL and EROFS: a pipe or a device, which has nothing to sync.
  if (::fsync(fd_.get()) != 0 && errno != EINVAL && errno != EROFS) {
    fail(system_failure("syncing " + path_).error);
  }
}

}  // namespace sddsh::recorder
