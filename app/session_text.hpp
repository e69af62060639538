#pragma once
// What the commands that read the store share: finding the store, one-line errors, and the
// few ways a session's facts are written for people.
#include <cstdint>
#include <optional>
#include <string>

#include "recorder/session_record.hpp"
#include "recorder/store.hpp"

namespace sddsh::app {

// The store of the current directory.
Result<recorder::Store> this_store();

// Prints "sddsh: MESSAGE" to stderr; returns the exit code 1.
int fail(const std::string& message);

std::string local_time(std::int64_t unix_ms, const char* format);
std::string format_duration(double seconds);
// "2 files +10 -3"; empty when there is no diff.
std::string stat_text(const std::optional<recorder::DiffStat>& stat);
// The first line of `text`, cut to `width` bytes on a character boundary ("…" when cut).
std::string first_line(const std::string& text, std::size_t width);
// A whole file; empty when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace sddsh::app
