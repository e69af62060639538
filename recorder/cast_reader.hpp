#pragma once
// Reading asciicast v2 files (ours, and asciinema's), one event at a time so a long recording
// is never held whole. Our "x" extension events are applied: an event's data is its exact bytes.
// A bad or truncated line ends the reading; what came before it is kept (docs/asciicast.md).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/cast_writer.hpp"
#include "shell/result.hpp"
#include "shell/unique_fd.hpp"

namespace sddsh::recorder {

struct CastEvent {
  double time = 0;  // seconds since the session's start
  char type = 0;    // 'o' output, 'i' input, 'r' resize, 'm' marker, or another one-letter type
  std::string data;

  bool operator==(const CastEvent&) const = default;
};

struct CastFile {
  CastHeader header;
  std::vector<CastEvent> events;
  std::optional<std::string>
      problem;                    // why reading stopped early, and where: "line 5012: truncated"
  std::uint64_t valid_bytes = 0;  // the file's length up to the end of its last good line
};

// Where an event's line starts in a cast file, and how many lines come before it: enough to
// read on from there later without reading what came before (replay's keyframes).
struct CastPosition {
  std::uint64_t offset = 0;
  std::uint64_t line = 0;  // lines before `offset`; the header is line 1

  bool operator==(const CastPosition&) const = default;
};

class CastReader {
 public:
  // Fails only when the header cannot be read: no such file, not a cast, not version 2.
  static Result<CastReader> open(const std::string& path);
  // Reads from memory; `text` must outlive the reader.
  static Result<CastReader> from_memory(std::string_view text);

  const CastHeader& header() const { return header_; }
  // The next event, or nothing at the end of the file or at its first bad line.
  std::optional<CastEvent> next();
  // Set once reading stopped at a bad line or a read error.
  const std::optional<std::string>& problem() const { return problem_; }
  // How much of the file is good so far (all of it that was read, unless problem() is set).
  std::uint64_t valid_bytes() const { return valid_bytes_; }

  // Where the event that next() returns next begins (never between an event and its "x" line;
  // after a bad line, that line's start): seek() there reads on with the same events.
  CastPosition position() const;
  // Reads on from `at`, a position() of this same file: the lookahead and any problem are
  // dropped, and line numbers in later problems count from `at.line`.
  void seek(const CastPosition& at);

 private:
  // A line and whether it ended with '\n' (the last one may not).
  struct Line {
    std::string_view text;
    bool terminated;
  };
  CastReader(shell::UniqueFd fd, std::string_view text, std::string name);
  Result<void> read_header();
  std::optional<Line> next_line();
  bool fill();
  bool read_event(CastEvent& event);
  void stop(const std::string& why);
  void mark_valid();  // everything read so far is good

  shell::UniqueFd fd_;  // invalid when reading from memory
  std::string buffer_;  // read from fd_: the current line and what follows it
  std::string_view memory_;
  std::string name_;               // for messages: the path, or "<memory>"
  std::size_t position_ = 0;       // next unread byte of data()
  std::uint64_t data_offset_ = 0;  // file offset of data()[0]
  bool at_eof_ = false;
  std::uint64_t line_number_ = 0;
  CastHeader header_;
  std::optional<CastEvent> lookahead_;  // read to see whether an "x" follows
  CastPosition lookahead_position_;     // where lookahead_'s line starts
  CastPosition event_position_;         // where the line of the last read_event() starts
  std::optional<std::string> problem_;
  std::uint64_t valid_bytes_ = 0;
  std::uint64_t valid_lines_ = 0;  // lines up to valid_bytes_
  bool stopped_ = false;

  std::string_view data() const { return fd_ ? std::string_view(buffer_) : memory_; }
};

Result<CastFile> read_cast(const std::string& path);
Result<CastFile> parse_cast(std::string_view text);

// The size a resize event ("r", "COLSxROWS") gives, if its data is one.
struct CastSize {
  int cols;
  int rows;
};
std::optional<CastSize> parse_resize(std::string_view data);

}  // namespace sddsh::recorder
