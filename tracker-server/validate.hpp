#pragma once
// The checks every outside input of the server passes before anything touches the disk or the
// store: names and ids, the request target (each path segment percent-decoded on its own, so
// "%2F" can never make a new segment), query values, Content-Range, JSON nesting. Pure; fuzzed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sddsh::server {

// ^[a-z0-9][a-z0-9_-]{0,62}$
bool is_project_name(std::string_view text);
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
bool is_task_id(std::string_view text);
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ and no "..": upload ids and (flat) file names.
bool is_upload_id(std::string_view text);
bool is_file_name(std::string_view text);

// A request target split into percent-decoded path segments and decoded query pairs.
struct Target {
  std::vector<std::string> segments;  // "/v1/projects/a" → {"v1", "projects", "a"}
  std::vector<std::pair<std::string, std::string>> query;
  std::string path;  // the raw path (no query): what the access log shows
};
// Nothing for a target that is not an absolute path or holds a bad escape.
std::optional<Target> parse_target(std::string_view target);
// "%41+b" → "A b" when `plus_is_space`; nothing for a bad escape or an escaped NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// A whole non-negative decimal number without sign, spaces or overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view text);

// "bytes START-END/TOTAL" (END inclusive, END < TOTAL, START ≤ END).
struct ContentRange {
  std::uint64_t start = 0, end = 0, total = 0;
};
std::optional<ContentRange> parse_content_range(std::string_view text);

// The token of "Bearer <token>" (scheme case-insensitive); nothing for any other shape.
std::optional<std::string_view> bearer_token(std::string_view header);
// Whether a bearer token is shaped as ours could be (printable ASCII, bounded): anything else is
// refused before hashing.
bool is_plausible_token(std::string_view token);

// "application/json" with optional parameters ("; charset=utf-8").
bool is_json_media_type(std::string_view content_type);
bool is_multipart_media_type(std::string_view content_type);

// Whether JSON text nests arrays/objects at most `max_depth` deep (strings are skipped), so a
// parser and later a dump never recurse without bound.
bool json_depth_within(std::string_view text, int max_depth);

// Text safe to store as a one-line label or name: no control characters, bounded length.
bool is_single_line(std::string_view text, std::size_t max_length);

}  // namespace sddsh::server
