#pragma once
// The conversation of a session, agent-independent: what the user said, what the agent answered,
// which tools it called. Parsed from the agent's own transcript (one parser per agent CLI), or
// rebuilt from the terminal when there is no transcript. Stored as conversation.jsonl in the
// bundle, one message per line.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "recorder/agent_kind.hpp"

namespace sddsh::recorder {

inline constexpr int kConversationFormatVersion = 1;

struct ToolCall {
  std::string id;    // the agent's call id, to join the call with its result; not stored
  std::string name;  // as the agent names it: "Write", "shell", "write_file"
  nlohmann::json input = nlohmann::json::object();
  std::string output_summary;  // the result's first kToolOutputSummaryLength bytes, "…" when cut
  std::vector<std::string> files;  // paths the call names (file_path, path, ...)
  bool failed = false;             // the agent reported an error result
};

inline constexpr std::size_t kToolOutputSummaryLength = 400;

struct ConversationMessage {
  enum class Role : unsigned char { User, Assistant, Tool };
  int turn = 0;            // the recorder's turn (from 1); 0 before the first prompt
  std::int64_t ts_ms = 0;  // unix milliseconds; 0 when the transcript gives none
  Role role = Role::User;
  std::string text;              // the prompt, the answer; for a tool: empty or a short note
  std::optional<ToolCall> tool;  // set for Role::Tool
};

// What a parser made of a transcript.
struct ParsedTranscript {
  std::vector<ConversationMessage> messages;  // in transcript order, turn still 0
  std::string format;                         // "claude-code jsonl", "codex rollout", ...
  std::string agent_version;                  // as the transcript states it ("2.1.197"), or empty
  std::size_t records = 0;          // lines (or entries) read
  std::size_t unknown_records = 0;  // well-formed but of a type the parser does not know: skipped
  std::size_t bad_records = 0;      // not JSON, or not the expected shape: skipped
};

// Parses a whole transcript of `kind` (a JSONL file's text, or a JSON document where the agent
// writes one). Never throws: anything it does not understand is counted and skipped.
ParsedTranscript parse_transcript(AgentKind kind, std::string_view text);

const char* role_name(ConversationMessage::Role role);

// What a tool call worked on, for a one-line summary: the files it names, else its command,
// pattern, query, URL or description, else its whole input as JSON. Cut to `max_length` bytes
// (on a character boundary, with "…") when longer; no newlines when `first_line_only`.
std::string tool_call_target(const ToolCall& tool, std::size_t max_length, bool first_line_only);

// One conversation.jsonl line (no newline) and back.
std::string to_jsonl_line(const ConversationMessage& message);
std::optional<ConversationMessage> parse_jsonl_line(std::string_view line);

}  // namespace sddsh::recorder
