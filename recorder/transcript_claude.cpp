// Claude Code: ~/.claude/projects/<cwd, non-alphanumerics as '-'>/<session id>.jsonl. Each line is
// one record; "user" and "assistant" records carry an Anthropic Messages API `message`. Claude Code
// writes a reply as one record per content block, and returns tool results to the model as "user"
// records made of tool_result blocks. See docs/transcripts.md.
#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "recorder/transcript_json.hpp"

namespace sddsh::recorder {

namespace {

using transcript::ConversationBuilder;
using transcript::is_true;
using transcript::json;
using transcript::member;
using transcript::object_member;
using transcript::string_member;

// Records with nothing of the conversation in them: session bookkeeping, UI state, context the
// harness attaches, and slash-command echoes ("system" records with subtype local_command).
// clang-format off
constexpr std::array<std::string_view, 19> kIgnoredTypes = {
    "system", "summary", "attachment", "file-history-snapshot", "mode", "permission-mode",
    "last-prompt", "queue-operation", "custom-title", "ai-title", "tag", "agent-name", "pr-link",
    "worktree-state", "content-replacement", "progress", "bridge-session", "frame-link",
    "relocated"};
// clang-format on

bool is_ignored_type(std::string_view type) {
  return std::find(kIgnoredTypes.begin(), kIgnoredTypes.end(), type) != kIgnoredTypes.end();
}

// Text Claude Code puts in the user's place that the human did not type as a prompt: slash
// commands and their output (older versions wrote them as user records), `!` shell mode,
// reminders, interruption notes.
bool is_harness_text(std::string_view text) {
  return transcript::starts_with_any(
      transcript::trim_left(text),
      {"<command-name>", "<command-message>", "<command-args>", "<local-command-stdout>",
       "<local-command-stderr>", "<local-command-caveat>", "<bash-input>", "<bash-stdout>",
       "<bash-stderr>", "<system-reminder>", "<user-prompt-submit-hook>",
       "[Request interrupted by user"});
}

// Records that are in the file but not the human's words: meta context, the summary that
// replaces history after /compact, transcript-only notes, and prompts from channels, schedules
// or auto-continuation (2.1 marks the human's own with origin.kind "human").
bool is_not_typed_by_human(const json& record) {
  if (is_true(record, "isMeta") || is_true(record, "isCompactSummary") ||
      is_true(record, "isVisibleInTranscriptOnly")) {
    return true;
  }
  const json* origin = object_member(record, "origin");
  return origin != nullptr && string_member(*origin, "kind") != "human";
}

bool has_block_of_type(const json& content, std::string_view type) {
  if (!content.is_array()) return false;
  for (const json& block : content) {
    if (string_member(block, "type") == type) return true;
  }
  return false;
}

std::string prompt_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const json& block : content) {
    const std::string part =
        string_member(block, "type") == "text" ? string_member(block, "text") : std::string();
    if (part.empty() || is_harness_text(part)) continue;
    if (!text.empty()) text += '\n';
    text += part;
  }
  return text;
}

// A tool_result's content: a string, or blocks of which the text ones count.
std::string result_text(const json& block) {
  const json* content = member(block, "content");
  return content == nullptr ? std::string() : transcript::joined_texts(*content, {"text"});
}

// Claude Code does not always append in conversation order: the first prompt of a session has
// been seen to land after the answer to it. Its records are all timestamped by one process, so
// time order is conversation order; the sort is stable for records of the same millisecond.
void put_in_time_order(std::vector<ConversationMessage>& messages) {
  const bool all_timed = std::all_of(messages.begin(), messages.end(),
                                     [](const ConversationMessage& m) { return m.ts_ms != 0; });
  if (!all_timed) return;
  std::stable_sort(
      messages.begin(), messages.end(),
      [](const ConversationMessage& a, const ConversationMessage& b) { return a.ts_ms < b.ts_ms; });
}

class ClaudeReader {
 public:
  explicit ClaudeReader(ParsedTranscript& out) : out_(out), conversation_(out) {}

  void read(const json& record) {
    const std::string type = string_member(record, "type");
    if (type.empty()) {
      ++out_.bad_records;
      return;
    }
    if (const std::string version = string_member(record, "version"); !version.empty()) {
      out_.agent_version = version;  // the latest writer: a resumed session may be newer
    }
    if (type == "user") return read_user(record);
    if (type == "assistant") return read_assistant(record);
    if (!is_ignored_type(type)) ++out_.unknown_records;
  }

 private:
  void read_user(const json& record) {
    const json* message = object_member(record, "message");
    const json* content = message != nullptr ? member(*message, "content") : nullptr;
    if (content == nullptr) {
      ++out_.bad_records;
      return;
    }
    // A sub-agent's conversation (Task tool) is the agent talking to itself, not to the user.
    if (is_true(record, "isSidechain")) return;
    if (has_block_of_type(*content, "tool_result")) return read_tool_results(*content);
    if (is_not_typed_by_human(record)) return;
    std::string text = prompt_text(*content);
    if (transcript::is_blank(text) || is_harness_text(text)) return;
    conversation_.user(std::move(text), transcript::timestamp_member(record, "timestamp"));
  }

  // Text blocks between tool calls are joined into one answer; thinking is not answer text.
  void read_assistant(const json& record) {
    const json* message = object_member(record, "message");
    const json* content = message != nullptr ? member(*message, "content") : nullptr;
    if (content == nullptr) {
      ++out_.bad_records;
      return;
    }
    // isApiErrorMessage: Claude Code's own note that the API call failed, not the model's answer.
    if (is_true(record, "isSidechain") || is_true(record, "isApiErrorMessage")) return;
    const std::int64_t ts = transcript::timestamp_member(record, "timestamp");
    if (content->is_string()) return conversation_.assistant(content->get<std::string>(), ts);
    if (!content->is_array()) {
      ++out_.bad_records;
      return;
    }
    std::string text;
    for (const json& block : *content) {
      const std::string type = string_member(block, "type");
      if (type == "text") {
        const std::string part = string_member(block, "text");
        if (!part.empty() && !text.empty()) text += '\n';
        text += part;
      } else if (type == "tool_use" || type == "server_tool_use") {
        conversation_.assistant(std::exchange(text, {}), ts);
        conversation_.tool(tool_call(block), ts);
      } else if (type.ends_with("_tool_result")) {
        read_server_tool_result(block);
      }
    }
    conversation_.assistant(std::move(text), ts);
  }

  void read_tool_results(const json& content) {
    for (const json& block : content) {
      if (string_member(block, "type") != "tool_result") continue;
      conversation_.tool_result(string_member(block, "tool_use_id"), result_text(block),
                                is_true(block, "is_error"));
    }
  }

  // Results of tools the API runs itself (web search) come inside the assistant's message.
  void read_server_tool_result(const json& block) {
    const json* content = member(block, "content");
    const bool failed = content != nullptr && string_member(*content, "type").ends_with("_error");
    conversation_.tool_result(string_member(block, "tool_use_id"), result_text(block), failed);
  }

  static ToolCall tool_call(const json& block) {
    ToolCall call;
    call.id = string_member(block, "id");
    call.name = string_member(block, "name");
    if (const json* input = member(block, "input")) call.input = transcript::input_object(*input);
    call.files = transcript::paths_in_tool_input(call.input);
    return call;
  }

  ParsedTranscript& out_;
  ConversationBuilder conversation_;
};

}  // namespace

ParsedTranscript parse_claude_transcript(std::string_view text) {
  ParsedTranscript out;
  out.format = "claude-code jsonl";
  ClaudeReader reader(out);
  transcript::for_each_jsonl_record(text, out, [&](const json& record) { reader.read(record); });
  put_in_time_order(out.messages);
  return out;
}

}  // namespace sddsh::recorder
