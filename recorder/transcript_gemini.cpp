// Gemini CLI: ~/.gemini/tmp/<project>/chats/session-<time>-<id>.jsonl (0.61; earlier versions wrote
// one JSON document, session-*.json, which 0.61 still reads). The JSONL is a log of updates to
// one conversation, not a list of messages: a message record is written again, under the same
// id, each time it changes (its tool calls arrive later), `$set` replaces fields (all messages
// when it sets "messages"), `$rewindTo` drops a message and everything after it. This reader
// replays the log first and converts the messages that remain. See docs/transcripts.md.
#include <exception>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "recorder/transcript_json.hpp"

namespace sddsh::recorder {

namespace {

using transcript::ConversationBuilder;
using transcript::json;
using transcript::member;
using transcript::object_member;
using transcript::string_member;

// The conversation as the log leaves it: messages in first-written order, the latest version
// of each.
class MessageLog {
 public:
  void upsert(const json& message) {
    const std::string id = string_member(message, "id");
    const auto [found, inserted] = index_.try_emplace(id, messages_.size());
    if (inserted) {
      messages_.push_back(message);
    } else {
      messages_[found->second] = message;
    }
  }

  // Like Gemini CLI: an id it does not hold drops everything.
  void rewind_to(const std::string& id) {
    const auto found = index_.find(id);
    const std::size_t keep = found == index_.end() ? 0 : found->second;
    messages_.resize(keep);
    std::erase_if(index_, [keep](const auto& entry) { return entry.second >= keep; });
  }

  void clear() {
    messages_.clear();
    index_.clear();
  }

  const std::vector<json>& messages() const { return messages_; }

 private:
  std::vector<json> messages_;
  std::unordered_map<std::string, std::size_t> index_;
};

bool is_message(const json& value) {
  const json* id = member(value, "id");
  return id != nullptr && id->is_string();
}

// Text parts of a Gemini Content: a string, or parts of which the text ones that are not
// thoughts count.
std::string content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const json& part : content) {
    std::string piece;
    if (part.is_string()) {
      piece = part.get<std::string>();
    } else if (!transcript::is_true(part, "thought")) {
      piece = string_member(part, "text");
    }
    if (piece.empty()) continue;
    if (!text.empty()) text += '\n';
    text += piece;
  }
  return text;
}

// Context Gemini CLI sends in the user's role at the start of a session or from hooks.
bool is_injected_context(std::string_view text) {
  return transcript::starts_with_any(transcript::trim_left(text),
                                     {"<session_context>", "<hook_context>"});
}

// A tool call's result: function responses ({"output"} or {"error"}), or a string.
std::string result_text(const json& result) {
  if (result.is_string()) return result.get<std::string>();
  if (!result.is_array()) return {};
  std::string text;
  for (const json& part : result) {
    const json* function_response = object_member(part, "functionResponse");
    const json* response =
        function_response != nullptr ? member(*function_response, "response") : nullptr;
    if (response == nullptr) continue;
    std::string piece =
        response->is_string() ? response->get<std::string>() : string_member(*response, "output");
    if (piece.empty()) piece = string_member(*response, "error");
    if (piece.empty()) continue;
    if (!text.empty()) text += '\n';
    text += piece;
  }
  return text;
}

class GeminiReader {
 public:
  explicit GeminiReader(ParsedTranscript& out) : out_(out), conversation_(out) {}

  // One JSONL line: a message, a metadata update, a rewind, or the session's metadata.
  void read_log_record(const json& record) {
    if (const json* rewind = member(record, "$rewindTo");
        rewind != nullptr && rewind->is_string()) {
      return log_.rewind_to(rewind->get<std::string>());
    }
    if (is_message(record)) return log_.upsert(record);
    if (const json* update = object_member(record, "$set")) {
      if (const json* messages = member(*update, "messages"); messages && messages->is_array()) {
        log_.clear();
        add_messages(*messages);
      }
      return;
    }
    if (member(record, "sessionId") != nullptr && member(record, "projectHash") != nullptr) {
      return read_document(record);
    }
    ++out_.unknown_records;
  }

  // The whole session as one object (the .json format, or a metadata line that holds messages).
  void read_document(const json& document) {
    if (const json* messages = member(document, "messages"); messages && messages->is_array()) {
      add_messages(*messages);
    }
  }

  void convert() {
    for (const json& message : log_.messages()) {
      try {
        convert_message(message);
      } catch (const std::exception&) {
        ++out_.bad_records;  // a shape not foreseen; the other messages still count
      }
    }
  }

 private:
  void add_messages(const json& messages) {
    for (const json& message : messages) {
      if (is_message(message)) {
        log_.upsert(message);
      } else {
        ++out_.bad_records;
      }
    }
  }

  void convert_message(const json& message) {
    const std::string type = string_member(message, "type");
    const std::int64_t ts = transcript::timestamp_member(message, "timestamp");
    if (type == "user") return convert_user(message, ts);
    if (type == "gemini") return convert_answer(message, ts);
    // info, error and warning are the CLI's own notes to the user, not the model's answers.
    if (type != "info" && type != "error" && type != "warning") ++out_.unknown_records;
  }

  // User messages also carry function responses back to the model; those have no text.
  // displayContent, when set, is what the user typed before @file references were expanded.
  void convert_user(const json& message, std::int64_t ts) {
    const json* display = member(message, "displayContent");
    const json* content = member(message, "content");
    std::string text = display != nullptr ? content_text(*display) : "";
    if (text.empty() && content != nullptr) text = content_text(*content);
    if (transcript::is_blank(text) || is_injected_context(text)) return;
    conversation_.user(std::move(text), ts);
  }

  void convert_answer(const json& message, std::int64_t ts) {
    if (const json* content = member(message, "content")) {
      conversation_.assistant(content_text(*content), ts);
    }
    const json* calls = transcript::array_member(message, "toolCalls");
    if (calls == nullptr) return;
    for (const json& call : *calls) {
      if (call.is_object()) convert_tool_call(call, ts);
    }
  }

  // Calls are recorded once they completed, with their result, so nothing needs joining. A shell
  // command that exits non-zero still has status "success"; its exit code is only in the output
  // text.
  void convert_tool_call(const json& record, std::int64_t ts) {
    ToolCall call;
    call.id = string_member(record, "id");
    call.name = string_member(record, "name");
    if (const json* args = member(record, "args")) call.input = transcript::input_object(*args);
    call.files = transcript::paths_in_tool_input(call.input);
    const json* result = member(record, "result");
    std::string output = result != nullptr ? result_text(*result) : "";
    if (output.empty()) output = string_member(record, "resultDisplay");
    const std::string status = string_member(record, "status");
    call.output_summary = transcript::summarize_output(output);
    call.failed = status == "error" || status == "cancelled" ||
                  (call.name == "run_shell_command" &&
                   transcript::number_after(output, "Exit Code: ").value_or(0) != 0);
    conversation_.tool(std::move(call), ts);
  }

  ParsedTranscript& out_;
  ConversationBuilder conversation_;
  MessageLog log_;
};

// The .json format: one document, pretty-printed over many lines.
bool is_json_document(const std::optional<json>& document) {
  return document && document->is_object() && transcript::array_member(*document, "messages");
}

}  // namespace

ParsedTranscript parse_gemini_transcript(std::string_view text) {
  ParsedTranscript out;
  GeminiReader reader(out);
  if (const std::optional<json> document = transcript::parse_json(text);
      is_json_document(document)) {
    out.format = "gemini-cli chat json";
    out.records = document->at("messages").size();
    reader.read_document(*document);
  } else {
    out.format = "gemini-cli chat jsonl";
    transcript::for_each_jsonl_record(text, out,
                                      [&](const json& record) { reader.read_log_record(record); });
  }
  reader.convert();
  return out;
}

}  // namespace sddsh::recorder
