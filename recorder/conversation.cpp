#include "recorder/conversation.hpp"

#include <exception>
#include <type_traits>

#include "recorder/transcript_json.hpp"

namespace sddsh::recorder {

namespace {

using nlohmann::json;
using Role = ConversationMessage::Role;
using transcript::member;

std::optional<Role> parse_role(std::string_view name) {
  if (name == "user") return Role::User;
  if (name == "assistant") return Role::Assistant;
  if (name == "tool") return Role::Tool;
  return std::nullopt;
}

// Ordered so that a line reads turn, ts, role, text, tool as documented.
using OrderedJson = nlohmann::ordered_json;

OrderedJson tool_json(const ToolCall& call) {
  return {{"name", call.name},
          {"input", OrderedJson(call.input)},
          {"output_summary", call.output_summary},
          {"files", call.files},
          {"failed", call.failed}};
}

// A field that is absent or null reads as the default; one of another type makes the line bad.
template <typename T>
bool read_optional(const json& object, const char* key, T& value) {
  const json* field = member(object, key);
  if (field == nullptr || field->is_null()) return true;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!field->is_string()) return false;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!field->is_boolean()) return false;
  } else {
    if (!field->is_number_integer()) return false;
  }
  value = field->get<T>();
  return true;
}

std::optional<ToolCall> parse_tool(const json& object) {
  ToolCall call;
  if (!read_optional(object, "name", call.name) ||
      !read_optional(object, "output_summary", call.output_summary) ||
      !read_optional(object, "failed", call.failed)) {
    return std::nullopt;
  }
  if (const json* input = member(object, "input"); input != nullptr && !input->is_null()) {
    if (!input->is_object()) return std::nullopt;
    call.input = *input;
  }
  if (const json* files = member(object, "files"); files != nullptr && !files->is_null()) {
    if (!files->is_array()) return std::nullopt;
    for (const json& file : *files) {
      if (!file.is_string()) return std::nullopt;
      call.files.push_back(file.get<std::string>());
    }
  }
  return call;
}

std::optional<ConversationMessage> parse_message(const json& object) {
  ConversationMessage message;
  std::string role;
  std::string ts;
  if (!object.is_object() || !read_optional(object, "role", role) ||
      !read_optional(object, "turn", message.turn) || !read_optional(object, "ts", ts) ||
      !read_optional(object, "text", message.text)) {
    return std::nullopt;
  }
  const std::optional<Role> parsed_role = parse_role(role);
  if (!parsed_role) return std::nullopt;
  message.role = *parsed_role;
  if (!ts.empty()) {
    const std::optional<std::int64_t> ts_ms = transcript::parse_iso8601_ms(ts);
    if (!ts_ms) return std::nullopt;
    message.ts_ms = *ts_ms;
  }
  if (message.role != Role::Tool) return message;
  const json* tool = member(object, "tool");
  if (tool == nullptr || tool->is_null()) {
    message.tool = ToolCall{};
    return message;
  }
  if (!tool->is_object()) return std::nullopt;
  message.tool = parse_tool(*tool);
  if (!message.tool) return std::nullopt;
  return message;
}

}  // namespace

const char* role_name(ConversationMessage::Role role) {
  switch (role) {
    case Role::User:
      return "user";
    case Role::Assistant:
      return "assistant";
    case Role::Tool:
      return "tool";
  }
  return "user";
}

ParsedTranscript parse_transcript(AgentKind kind, std::string_view text) {
  switch (kind) {
    case AgentKind::ClaudeCode:
      return parse_claude_transcript(text);
    case AgentKind::Codex:
      return parse_codex_transcript(text);
    case AgentKind::GeminiCli:
      return parse_gemini_transcript(text);
    case AgentKind::CopilotCli:
      return parse_copilot_transcript(text);
    case AgentKind::Generic:
      break;
  }
  ParsedTranscript generic;
  generic.format = "generic";
  return generic;
}

std::string to_jsonl_line(const ConversationMessage& message) {
  OrderedJson line = {{"turn", message.turn}};
  if (message.ts_ms != 0) {
    if (const auto ts = transcript::format_iso8601_ms(message.ts_ms)) line["ts"] = *ts;
  }
  line["role"] = role_name(message.role);
  line["text"] = message.text;
  if (message.role == Role::Tool) line["tool"] = tool_json(message.tool.value_or(ToolCall{}));
  return line.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

std::optional<ConversationMessage> parse_jsonl_line(std::string_view line) {
  const std::optional<json> object = transcript::parse_json(line);
  if (!object) return std::nullopt;
  try {
    return parse_message(*object);
  } catch (const std::exception&) {
    return std::nullopt;  // a shape no reader check foresaw; garbage all the same
  }
}

std::string tool_call_target(const ToolCall& tool, std::size_t max_length, bool first_line_only) {
  std::string text;
  for (const auto& file : tool.files) text += (text.empty() ? "" : ", ") + file;
  if (text.empty())
    for (const char* key : {"command", "cmd", "pattern", "query", "url", "description"})
      if (auto it = tool.input.find(key); it != tool.input.end()) {
        text = it->is_string() ? it->get<std::string>() : it->dump();
        break;
      }
  if (text.empty() && !tool.input.empty())
    text = tool.input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (first_line_only) text = text.substr(0, text.find('\n'));
  if (text.size() > max_length) {
    std::size_t cut = max_length;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    text = text.substr(0, cut) + "…";
  }
  return text;
}

}  // namespace sddsh::recorder
