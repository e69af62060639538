#pragma once
// Recording a session as an asciicast v2 file (docs/asciicast.md): what `asciinema play` and
// `asciinema cat` read, plus one extension event ("x") that keeps bytes which are not UTF-8.
//
// CastEncoder is the format alone (events in, lines out; no I/O), so tests and the fuzzer drive it
// directly. CastWriter puts it on a thread of its own: the event loop only appends bytes to a
// buffer, and escaping and write() happen on that thread.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "shell/result.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

struct CastHeader {
  int width = 80;
  int height = 24;
  std::int64_t timestamp = 0;  // unix seconds of the session's start
  std::string term;            // env.TERM; left out when empty (so are shell and title)
  std::string shell;           // env.SHELL
  std::string title;
};

// Turns session events into the lines of a cast file. Output and input each hold back an
// incomplete UTF-8 sequence at the end of a call (at most 3 bytes) until their next call or
// finish(), so a character split across two reads is written whole. Bytes that are not UTF-8
// become U+FFFD in the event's text and the event is followed by an "x" line that carries its
// exact bytes in base64.
class CastEncoder {
 public:
  static std::string header_line(const CastHeader& header);

  // Each call appends zero or more whole lines to `out`. `seconds` counts from the session's start.
  void output(std::string& out, double seconds, std::string_view bytes);
  void input(std::string& out, double seconds, std::string_view bytes);
  void resize(std::string& out, double seconds, int cols, int rows);  // "r", data "COLSxROWS"
  void marker(std::string& out, double seconds, std::string_view label);
  // Any event without hold-back ("r", "m", or a type of the caller's).
  void event(std::string& out, double seconds, char type, std::string_view data);
  // Writes what output and input still hold back (an incomplete sequence, so escaped).
  void finish(std::string& out);

  // Event lines appended so far, not counting "x" lines.
  std::uint64_t events() const { return events_; }

 private:
  struct Stream {
    char type;
    std::string held;  // the start of a character whose end has not come yet
    double last_seconds = 0;
  };
  void stream_text(std::string& out, Stream& stream, double seconds, std::string_view bytes);

  Stream output_{'o'};
  Stream input_{'i'};
  std::uint64_t events_ = 0;
};

struct CastStats {
  std::uint64_t output_bytes = 0;   // given to output()
  std::uint64_t input_bytes = 0;    // given to input()
  std::uint64_t events = 0;         // event lines on disk ("x" lines not counted)
  std::uint64_t file_bytes = 0;     // bytes on disk, header included
  std::uint64_t dropped_bytes = 0;  // output and input bytes that will never reach the file
};

struct CastWriterOptions {
  // Pending data is written once its oldest byte is this old, or once there is flush_bytes of it.
  std::chrono::milliseconds flush_delay{250};
  std::size_t flush_bytes = std::size_t{256} << 10;
  // Beyond this much pending data (the disk has stalled) new data is dropped, not queued.
  std::size_t max_pending_bytes = std::size_t{64} << 20;
};

// Owns the cast file and a writer thread. The recording calls (output … marker, close) come
// from one thread, the event loop; they never wait for the disk. error() and stats() may be
// called from any thread.
class CastWriter {
 public:
  // Creates (or truncates) `path`, mode 0600: a recording can hold what the user typed.
  // The header is written by the writer thread, so a full disk shows in error(), not here.
  static Result<std::unique_ptr<CastWriter>> create(const std::string& path,
                                                    const CastHeader& header,
                                                    CastWriterOptions options = {});
  CastWriter(const CastWriter&) = delete;
  CastWriter& operator=(const CastWriter&) = delete;
  ~CastWriter();  // close(), its result ignored

  void output(double seconds, std::string_view bytes);
  void input(double seconds, std::string_view bytes);
  void resize(double seconds, int cols, int rows);
  void marker(double seconds, std::string_view label);

  // Writes everything pending (held-back partial UTF-8 included), fsyncs and ends the thread.
  // Returns the first error of the whole recording, if any. Later calls return the same; events
  // after close() are ignored.
  Result<void> close();

  // The first failure (sticky): a write error such as ENOSPC, after which nothing more is
  // written, or data dropped because the disk fell too far behind.
  std::optional<Error> error() const;
  CastStats stats() const;

 private:
  CastWriter(std::string path, shell::UniqueFd fd, std::string header_line,
             CastWriterOptions options);

  // Event-loop side.
  void append(char type, double seconds, std::string_view bytes);
  bool refuse(std::size_t bytes, bool is_stream);  // locked; true when `bytes` must be dropped

  std::size_t batch_capacity() const;

  // Writer-thread side.
  void run();
  bool take_batch(std::string& batch);  // waits for data; true when it is the last batch
  void encode_batch(std::string_view batch, std::string& out);
  void encode_record(char type, double seconds, std::string_view data, std::string& out);
  void flush(std::string& out);
  void fail(const Error& error);
  void finish_file(std::string& out);

  const std::string path_;
  shell::UniqueFd fd_;  // used by the writer thread until it ends
  const CastWriterOptions options_;
  std::string header_line_;

  // Owned by the writer thread.
  CastEncoder encoder_;
  std::uint64_t good_bytes_ = 0;            // file length ending in a complete line
  std::uint64_t unflushed_data_bytes_ = 0;  // stream bytes encoded but not yet written

  // Shared, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;  // records: RecordHead then its bytes
  std::chrono::steady_clock::time_point pending_since_;
  bool closing_ = false;
  bool failed_ = false;  // a write failed: nothing more is written
  std::optional<Error> error_;
  CastStats stats_;

  // Owned by the recording thread.
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace sddsh::recorder
