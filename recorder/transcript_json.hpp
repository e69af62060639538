#pragma once
// Private to recorder/: what the four transcript parsers share. Reading JSONL defensively (a
// transcript is outside input, often still being written), timestamps, safe field access, and a
// builder that joins tool calls with their results. See docs/transcripts.md for the formats.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "recorder/conversation.hpp"

namespace sddsh::recorder {

// The parsers behind parse_transcript(), one per agent.
ParsedTranscript parse_claude_transcript(std::string_view text);
ParsedTranscript parse_codex_transcript(std::string_view text);
ParsedTranscript parse_gemini_transcript(std::string_view text);
ParsedTranscript parse_copilot_transcript(std::string_view text);

namespace transcript {

using nlohmann::json;

// Deeper JSON than this is refused before parsing: nlohmann copies, compares and prints values
// recursively, and no agent writes anything close to it.
inline constexpr int kMaxJsonNesting = 200;

// Parses one JSON text without exceptions; nullopt when it is not JSON or nests too deeply.
std::optional<json> parse_json(std::string_view text);

// Calls `read_record` with each JSON object line of a JSONL text, in order, and counts
// `records` and `bad_records` in `out`. Blank lines are skipped. A last line without its newline
// that does not parse is the agent's unfinished write: skipped, not counted. An exception out of
// `read_record` counts the record as bad; it never escapes.
void for_each_jsonl_record(std::string_view text, ParsedTranscript& out,
                           const std::function<void(const json&)>& read_record);

// Field access that never throws: a missing field or one of another type reads as empty.
const json* member(const json& object, const char* key);
const json* object_member(const json& object, const char* key);
const json* array_member(const json& object, const char* key);
std::string string_member(const json& object, const char* key);
bool is_true(const json& object, const char* key);
std::optional<std::int64_t> integer_member(const json& object, const char* key);
std::int64_t timestamp_member(const json& object, const char* key);  // unix ms, 0 when absent

// "2026-11-21T10:04:05.123Z" (any fraction, 'Z' or an offset, no zone read as UTC) → unix ms.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);
// Unix ms → "2026-11-21T10:04:05.123Z"; nullopt for times outside years 0000-9999.
std::optional<std::string> format_iso8601_ms(std::int64_t unix_ms);

// The first kToolOutputSummaryLength bytes, cut on a UTF-8 character boundary, then "…" when
// anything was cut.
std::string summarize_output(std::string_view text);

// Paths a tool input names under the keys agents use for them (file_path, path, paths, ...),
// in order, without repeats.
std::vector<std::string> paths_in_tool_input(const json& input);
// Paths an apply_patch text adds, updates, deletes or moves to.
std::vector<std::string> paths_in_patch(std::string_view patch);
// Appends the paths of `more` that `files` does not hold yet.
void add_paths(std::vector<std::string>& files, const std::vector<std::string>& more);

// A tool input as a JSON object: an object as is, anything else wrapped as {"input": value}.
json input_object(const json& value);

// The number after `marker` in `text` ("Exit Code: 1"), when there is one.
std::optional<long> number_after(std::string_view text, std::string_view marker);

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes);
std::string_view trim_left(std::string_view text);
bool is_blank(std::string_view text);

// Text blocks joined with "\n": each element that is a string, or an object whose "type" is one
// of `types` (any type when empty) and whose "text" is a string. Empty texts are left out.
std::string joined_texts(const json& blocks, std::initializer_list<std::string_view> types = {});

// Appends normalized messages to a ParsedTranscript and joins each tool call with the result
// that comes later under the same call id (a reused id refers to its latest call).
class ConversationBuilder {
 public:
  explicit ConversationBuilder(ParsedTranscript& out) : out_(out) {}

  void user(std::string text, std::int64_t ts_ms);
  void assistant(std::string text, std::int64_t ts_ms);  // nothing when the text is empty
  void tool(ToolCall call, std::int64_t ts_ms);
  bool has_tool(const std::string& id) const;
  // Fills the summary of call `id` from its result; `failed` only ever sets the flag.
  void tool_result(const std::string& id, std::string_view output, bool failed);
  void tool_failed(const std::string& id);
  void tool_files(const std::string& id, const std::vector<std::string>& files);

 private:
  ToolCall* find(const std::string& id);

  ParsedTranscript& out_;
  std::unordered_map<std::string, std::size_t> calls_;  // call id → index in out_.messages
};

}  // namespace transcript
}  // namespace sddsh::recorder
