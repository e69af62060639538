// libFuzzer target for one agent's transcript parser, picked at compile time by
// SDDSH_TRANSCRIPT_KIND (claude, codex, gemini, copilot: one binary each, so each corpus grows
// toward its own format). Any bytes as a transcript. Invariants: nothing throws; every tool
// message, and only those, has a tool call; summaries stay within their bound; counts add up;
// and every message survives a conversation.jsonl round trip (the parsers only produce valid
// UTF-8, so nothing is replaced on the way).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "recorder/conversation.hpp"
#include "recorder/transcript_json.hpp"

namespace {

using sddsh::recorder::AgentKind;
using sddsh::recorder::ConversationMessage;
using sddsh::recorder::ParsedTranscript;

constexpr AgentKind kKind = AgentKind::SDDSH_TRANSCRIPT_KIND;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_counts(const ParsedTranscript& parsed) {
  require(!parsed.format.empty());
  // Gemini also counts unknown and bad messages inside a record, so only the others are bound
  // to one count per record.
  if (kKind != AgentKind::GeminiCli) {
    require(parsed.unknown_records + parsed.bad_records <= parsed.records);
  }
}

void check_message(const ConversationMessage& message) {
  require(message.turn == 0);
  require(message.tool.has_value() == (message.role == ConversationMessage::Role::Tool));
  if (message.tool) {
    require(message.tool->output_summary.size() <=
            sddsh::recorder::kToolOutputSummaryLength + std::string_view("…").size());
    require(message.tool->input.is_object());
  }
}

void check_round_trip(const ConversationMessage& message) {
  const auto back = sddsh::recorder::parse_jsonl_line(sddsh::recorder::to_jsonl_line(message));
  require(back.has_value());
  require(back->role == message.role && back->text == message.text);
  const bool ts_written = sddsh::recorder::transcript::format_iso8601_ms(message.ts_ms).has_value();
  require(back->ts_ms == (ts_written ? message.ts_ms : 0));
  if (!message.tool) return;
  require(back->tool.has_value());
  require(back->tool->name == message.tool->name);
  require(back->tool->input == message.tool->input);
  require(back->tool->output_summary == message.tool->output_summary);
  require(back->tool->files == message.tool->files);
  require(back->tool->failed == message.tool->failed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParsedTranscript parsed = sddsh::recorder::parse_transcript(kKind, text);
  check_counts(parsed);
  for (const ConversationMessage& message : parsed.messages) {
    check_message(message);
    check_round_trip(message);
  }
  return 0;
}
