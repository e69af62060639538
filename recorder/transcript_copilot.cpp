// Copilot CLI: ~/.copilot/session-state/<session id>/events.jsonl. Each line is one session event
// {type, data, id, timestamp, parentId}, as described by the JSON schema the CLI ships
// (schemas/session-events.schema.json). The conversation is in user.message, assistant.message
// (its text and toolRequests), tool.execution_start and tool.execution_complete; the rest are
// session, model, permission and UI events. See docs/transcripts.md.
#include <array>
#include <string_view>
#include <utility>

#include "recorder/transcript_json.hpp"

namespace sddsh::recorder {

namespace {

using transcript::ConversationBuilder;
using transcript::json;
using transcript::member;
using transcript::object_member;
using transcript::string_member;

// Event namespaces of the schema that hold nothing this reader needs. An event type outside
// them (and outside the ones read) counts as unknown: a sign that the format moved.
// clang-format off
constexpr std::array<std::string_view, 27> kIgnoredPrefixes = {
    "session.", "assistant.", "tool.", "permission.", "hook.", "subagent.", "skill.", "system.",
    "model.", "user_input.", "elicitation.", "sampling.", "mcp.", "external_tool.", "command.",
    "commands.", "capabilities.", "exit_plan_mode.", "auto_mode_switch.", "pending_messages.",
    "sandbox.", "workflow.", "human_response.", "tool_search.", "ui.", "session_limits_exhausted.",
    "agent."};
// clang-format on

constexpr std::array<std::string_view, 2> kIgnoredTypes = {"abort", "prompt_cache_break"};

bool is_ignored_type(std::string_view type) {
  for (const std::string_view prefix : kIgnoredPrefixes) {
    if (type.starts_with(prefix)) return true;
  }
  return std::find(kIgnoredTypes.begin(), kIgnoredTypes.end(), type) != kIgnoredTypes.end();
}

ToolCall tool_call(std::string id, std::string name, const json* arguments) {
  ToolCall call;
  call.id = std::move(id);
  call.name = std::move(name);
  if (arguments != nullptr) call.input = transcript::input_object(*arguments);
  call.files = transcript::paths_in_tool_input(call.input);
  return call;
}

class CopilotReader {
 public:
  explicit CopilotReader(ParsedTranscript& out) : out_(out), conversation_(out) {}

  void read(const json& event) {
    const std::string type = string_member(event, "type");
    const json* data = object_member(event, "data");
    if (type.empty() || data == nullptr) {
      ++out_.bad_records;
      return;
    }
    // Events of sub-agents carry their agentId; the CLI itself reads the primary agent's only.
    if (member(event, "agentId") != nullptr) return;
    ts_ = transcript::timestamp_member(event, "timestamp");
    if (type == "session.start") return read_start(*data);
    if (type == "user.message") return read_user_message(*data);
    if (type == "assistant.message") return read_assistant_message(*data);
    if (type == "tool.execution_start") return read_tool_start(*data);
    if (type == "tool.execution_complete") return read_tool_complete(*data);
    if (!is_ignored_type(type)) ++out_.unknown_records;
  }

 private:
  void read_start(const json& data) {
    const std::string version = string_member(data, "copilotVersion");
    if (!version.empty()) out_.agent_version = version;
  }

  // `content` is what the user typed (`transformedContent` is what the model got). A `source`
  // other than "user" marks a prompt injected by a skill or another agent.
  void read_user_message(const json& data) {
    const std::string source = string_member(data, "source");
    if (!source.empty() && source != "user") return;
    std::string text = string_member(data, "content");
    if (transcript::is_blank(text)) return;
    last_answer_id_.clear();
    conversation_.user(std::move(text), ts_);
  }

  // A long answer may come in chunks (chunkIndex 1, 2, ... under one messageId) that continue
  // one message.
  void read_assistant_message(const json& data) {
    const std::string message_id = string_member(data, "messageId");
    const std::string text = string_member(data, "content");
    const bool continues = !message_id.empty() && message_id == last_answer_id_ &&
                           transcript::integer_member(data, "chunkIndex").value_or(0) > 0;
    if (continues) {
      out_.messages[last_answer_index_].text += text;
    } else if (!text.empty()) {
      last_answer_id_ = message_id;
      last_answer_index_ = out_.messages.size();
      conversation_.assistant(text, ts_);
    }
    const json* requests = transcript::array_member(data, "toolRequests");
    if (requests == nullptr) return;
    for (const json& request : *requests) {
      if (!request.is_object()) continue;
      last_answer_id_.clear();
      conversation_.tool(tool_call(string_member(request, "toolCallId"),
                                   string_member(request, "name"), member(request, "arguments")),
                         ts_);
    }
  }

  // Tools the model asked for are already known from toolRequests; this adds the others
  // (tools the user ran, runtimes that send no toolRequests).
  void read_tool_start(const json& data) {
    const std::string id = string_member(data, "toolCallId");
    if (id.empty() || conversation_.has_tool(id)) return;
    last_answer_id_.clear();
    conversation_.tool(tool_call(id, string_member(data, "toolName"), member(data, "arguments")),
                       ts_);
  }

  // `success` is false when the tool failed; a shell command that exits non-zero is a success
  // to Copilot, with the exit code in shellExecution.
  void read_tool_complete(const json& data) {
    const std::string id = string_member(data, "toolCallId");
    const json* success = member(data, "success");
    bool failed = success != nullptr && success->is_boolean() && !success->get<bool>();
    if (const json* shell = object_member(data, "shellExecution")) {
      failed = failed || transcript::integer_member(*shell, "exitCode").value_or(0) != 0;
    }
    std::string output;
    if (const json* result = object_member(data, "result"))
      output = string_member(*result, "content");
    if (const json* error = object_member(data, "error"); error != nullptr && output.empty()) {
      output = string_member(*error, "message");
    }
    conversation_.tool_result(id, output, failed);
    conversation_.tool_files(id, edited_files(data));
  }

  static std::vector<std::string> edited_files(const json& data) {
    std::vector<std::string> files;
    const json* edits = transcript::array_member(data, "fileEdits");
    if (edits == nullptr) return files;
    for (const json& edit : *edits) {
      const std::string path = string_member(edit, "path");
      if (!path.empty()) transcript::add_paths(files, {path});
    }
    return files;
  }

  ParsedTranscript& out_;
  ConversationBuilder conversation_;
  std::int64_t ts_ = 0;
  std::string last_answer_id_;  // the answer a chunk with this messageId continues
  std::size_t last_answer_index_ = 0;
};

}  // namespace

ParsedTranscript parse_copilot_transcript(std::string_view text) {
  ParsedTranscript out;
  out.format = "copilot-cli events jsonl";
  CopilotReader reader(out);
  transcript::for_each_jsonl_record(text, out, [&](const json& record) { reader.read(record); });
  return out;
}

}  // namespace sddsh::recorder
