// libFuzzer target for a bundle's JSON as another machine wrote it: a session fetched from the
// tracker brings its session.json (an upload's SessionMeta, laid out as a bundle's record by
// app/fetched_bundle) and its conversation.jsonl, which the replay reads and shows. Any bytes as
// all three. Invariants: nothing throws; a record read (or made from a SessionMeta) is written
// as a session.json that reads back and writes again the same; a conversation line read is
// written as one that reads back the same; a tool call's one-line summary is one line, in bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/fetched_bundle.hpp"
#include "recorder/conversation.hpp"
#include "recorder/session_record.hpp"
#include "replay/pager.hpp"

namespace {

using sddsh::recorder::ConversationMessage;

void check(bool holds) {
  if (!holds) std::abort();
}

void check_written_reads_back(const sddsh::recorder::SessionRecord& record) {
  const std::string text = sddsh::recorder::to_json_text(record);
  const auto back = sddsh::recorder::parse_session_record(text);
  check(back.has_value());
  check(sddsh::recorder::to_json_text(*back) == text);
}

void check_session_json(const std::string& text) {
  if (const auto record = sddsh::recorder::parse_session_record(text)) {
    check_written_reads_back(*record);
  }
  const auto meta = nlohmann::json::parse(text, nullptr, false);
  if (meta.is_object()) {
    // No upload directory: only the JSON decides (patch files are looked up in it).
    check_written_reads_back(sddsh::app::record_of_upload(meta, "/nonexistent/sddsh-fuzz"));
  }
}

std::vector<ConversationMessage> check_conversation(std::string_view text) {
  std::vector<ConversationMessage> messages;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    auto message = sddsh::recorder::parse_jsonl_line(line);
    if (!message) continue;
    const std::string written = sddsh::recorder::to_jsonl_line(*message);
    const auto back = sddsh::recorder::parse_jsonl_line(written);
    check(back.has_value() && sddsh::recorder::to_jsonl_line(*back) == written);
    if (message->tool) {
      const std::string target = sddsh::recorder::tool_call_target(*message->tool, 60, true);
      check(target.find('\n') == std::string::npos && target.size() <= 60 + 3);
    }
    messages.push_back(std::move(*message));
  }
  return messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_session_json(text);
  const auto messages = check_conversation(text);
  const int turn = messages.empty() ? 0 : messages.front().turn;
  (void)sddsh::replay::conversation_lines(messages, turn, "claude");
  return 0;
}
