// Codex: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl. Each line is
// {timestamp, type, payload}. "response_item" payloads are the model's conversation items
// (messages, reasoning, tool calls and their outputs); "event_msg" payloads are what the UI was
// told. Both tell of the user's prompt; this reader takes it from the events (which hold only
// what the user typed) and everything else from the response items. See docs/transcripts.md.
#include <algorithm>
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

// Top-level records with nothing of the conversation in them.
constexpr std::array<std::string_view, 4> kIgnoredRecordTypes = {
    "turn_context", "compacted", "world_state", "token_usage_record"};
// Response items that are not shown as messages: hidden reasoning, undo snapshots, compaction.
constexpr std::array<std::string_view, 4> kIgnoredItemTypes = {"reasoning", "ghost_snapshot",
                                                               "compaction", "compaction_summary"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// What Codex sends the model in the user's role besides the prompt: instructions and context.
// It matters for the user-role items (see finish()); older versions also sent some of it as
// prompt events.
bool is_injected_context(std::string_view text) {
  return transcript::starts_with_any(
      transcript::trim_left(text),
      {"<environment_context>", "<user_instructions>", "# AGENTS.md instructions",
       "<permissions instructions>", "<skills_instructions>", "<collaboration_mode>",
       "<turn_aborted>", "<user_shell_command>", "<subagent_notification>"});
}

// function_call arguments are a JSON text; an unreadable one is kept as a string.
json arguments_input(const std::string& arguments) {
  const std::optional<json> parsed = transcript::parse_json(arguments);
  if (parsed && parsed->is_object()) return *parsed;
  return json{{"arguments", arguments}};
}

// A function_call_output's output: a string, content items (newer versions), or an object.
std::string output_text(const json& output) {
  if (output.is_string()) return output.get<std::string>();
  if (output.is_array()) return transcript::joined_texts(output, {"input_text", "output_text"});
  if (output.is_object()) {
    if (const json* content = member(output, "content")) return output_text(*content);
  }
  return {};
}

class CodexReader {
 public:
  explicit CodexReader(ParsedTranscript& out) : out_(out), conversation_(out) {}

  void read(const json& record) {
    const std::string type = string_member(record, "type");
    const json* payload = object_member(record, "payload");
    if (type.empty() || payload == nullptr) {
      ++out_.bad_records;
      return;
    }
    ts_ = transcript::timestamp_member(record, "timestamp");
    if (type == "session_meta") return read_session_meta(*payload);
    if (type == "response_item") return read_response_item(*payload);
    if (type == "event_msg") return read_event(*payload);
    if (!contains(kIgnoredRecordTypes, type)) ++out_.unknown_records;
  }

  // Prompts come from the events; the user-role items are only a fallback for files without
  // them, since those items also carry the context Codex injects in the user's role.
  void finish() {
    if (!saw_prompt_event_) return;
    std::vector<ConversationMessage>& messages = out_.messages;
    for (auto index = item_prompts_.rbegin(); index != item_prompts_.rend(); ++index) {
      messages.erase(messages.begin() + static_cast<std::ptrdiff_t>(*index));
    }
  }

 private:
  void read_session_meta(const json& payload) {
    const std::string version = string_member(payload, "cli_version");
    if (!version.empty()) out_.agent_version = version;
  }

  void read_response_item(const json& item) {
    const std::string type = string_member(item, "type");
    if (type == "message") return read_message(item);
    if (type == "function_call") return read_function_call(item);
    if (type == "custom_tool_call") return read_custom_tool_call(item);
    if (type == "local_shell_call") return read_local_shell_call(item);
    if (type == "web_search_call") return read_web_search_call(item);
    if (type == "function_call_output" || type == "custom_tool_call_output") {
      return read_tool_output(item);
    }
    if (!contains(kIgnoredItemTypes, type)) ++out_.unknown_records;
  }

  void read_message(const json& item) {
    const std::string role = string_member(item, "role");
    const json* content = member(item, "content");
    const std::string text = content != nullptr ? transcript::joined_texts(*content) : "";
    if (role == "assistant") return conversation_.assistant(text, ts_);
    if (role != "user" || transcript::is_blank(text) || is_injected_context(text)) return;
    item_prompts_.push_back(out_.messages.size());
    conversation_.user(text, ts_);
  }

  void read_function_call(const json& item) {
    ToolCall call = new_call(item);
    call.input = arguments_input(string_member(item, "arguments"));
    call.files = transcript::paths_in_tool_input(call.input);
    if (call.name == "apply_patch") {
      transcript::add_paths(call.files,
                            transcript::paths_in_patch(string_member(call.input, "input")));
    }
    conversation_.tool(std::move(call), ts_);
  }

  // Free-form tools (apply_patch) take raw text instead of JSON arguments.
  void read_custom_tool_call(const json& item) {
    ToolCall call = new_call(item);
    const std::string input = string_member(item, "input");
    call.input = json{{"input", input}};
    if (call.name == "apply_patch") call.files = transcript::paths_in_patch(input);
    conversation_.tool(std::move(call), ts_);
  }

  void read_local_shell_call(const json& item) {
    ToolCall call = new_call(item);
    if (call.id.empty()) call.id = string_member(item, "id");
    call.name = "local_shell";
    if (const json* action = object_member(item, "action")) call.input = *action;
    conversation_.tool(std::move(call), ts_);
  }

  // Searches run by the API: no call id, no output item.
  void read_web_search_call(const json& item) {
    ToolCall call;
    call.name = "web_search";
    if (const json* action = object_member(item, "action")) call.input = *action;
    conversation_.tool(std::move(call), ts_);
  }

  // Older shell tools wrapped their output as JSON {"output": ..., "metadata": {"exit_code"}};
  // exec_command states "Process exited with code N" in its text.
  void read_tool_output(const json& item) {
    const std::string id = string_member(item, "call_id");
    const json* output = member(item, "output");
    std::string text = output != nullptr ? output_text(*output) : "";
    bool failed = transcript::number_after(text, "Process exited with code ").value_or(0) != 0;
    if (const std::optional<json> wrapped = transcript::parse_json(text);
        wrapped && wrapped->is_object() && member(*wrapped, "output") != nullptr) {
      if (const json* metadata = object_member(*wrapped, "metadata")) {
        failed = failed || transcript::integer_member(*metadata, "exit_code").value_or(0) != 0;
      }
      text = string_member(*wrapped, "output");
    }
    conversation_.tool_result(id, text, failed);
  }

  // Events: the prompts, and how commands and patches ended. Agent messages and reasoning
  // repeat response items; token counts and task boundaries are not conversation.
  void read_event(const json& event) {
    const std::string type = string_member(event, "type");
    if (type == "user_message") return read_user_message_event(event);
    if (type == "item_completed") return read_item_completed(event);
    if (type == "exec_command_end") {
      if (transcript::integer_member(event, "exit_code").value_or(0) != 0) {
        conversation_.tool_failed(string_member(event, "call_id"));
      }
    } else if (type == "patch_apply_end") {
      if (const json* success = member(event, "success");
          success != nullptr && success->is_boolean() && !success->get<bool>()) {
        conversation_.tool_failed(string_member(event, "call_id"));
      }
    }
  }

  // Up to 0.5x: {"type":"user_message","message":...}; some versions also sent the injected
  // context this way, marked by `kind`.
  void read_user_message_event(const json& event) {
    const std::string kind = string_member(event, "kind");
    if (!kind.empty() && kind != "plain") return;
    add_prompt(string_member(event, "message"));
  }

  // 0.169: {"type":"item_completed","item":{"type":"UserMessage"|"CommandExecution"|...}}.
  void read_item_completed(const json& event) {
    const json* item = object_member(event, "item");
    if (item == nullptr) return;
    const std::string type = string_member(*item, "type");
    if (type == "UserMessage") {
      const json* content = member(*item, "content");
      if (content != nullptr) add_prompt(transcript::joined_texts(*content, {"text"}));
      return;
    }
    const std::string status = string_member(*item, "status");
    if (status == "failed" || status == "declined" ||
        transcript::integer_member(*item, "exit_code").value_or(0) != 0) {
      conversation_.tool_failed(string_member(*item, "id"));
    }
  }

  void add_prompt(std::string text) {
    saw_prompt_event_ = true;
    if (transcript::is_blank(text) || is_injected_context(text)) return;
    // A version that sends the prompt as two kinds of event must not show it twice.
    const std::vector<ConversationMessage>& messages = out_.messages;
    if (last_prompt_event_ && *last_prompt_event_ + 1 == messages.size() &&
        messages.back().text == text) {
      return;
    }
    last_prompt_event_ = messages.size();
    conversation_.user(std::move(text), ts_);
  }

  static ToolCall new_call(const json& item) {
    ToolCall call;
    call.id = string_member(item, "call_id");
    call.name = string_member(item, "name");
    return call;
  }

  ParsedTranscript& out_;
  ConversationBuilder conversation_;
  std::int64_t ts_ = 0;
  bool saw_prompt_event_ = false;
  std::vector<std::size_t> item_prompts_;  // indices of prompts taken from user-role items
  std::optional<std::size_t> last_prompt_event_;
};

}  // namespace

ParsedTranscript parse_codex_transcript(std::string_view text) {
  ParsedTranscript out;
  out.format = "codex rollout jsonl";
  CodexReader reader(out);
  transcript::for_each_jsonl_record(text, out, [&](const json& record) { reader.read(record); });
  reader.finish();
  return out;
}

}  // namespace sddsh::recorder
