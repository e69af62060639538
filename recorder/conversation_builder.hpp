#pragma once
// conversation.jsonl from what the bundle holds: the copies of the agent's transcript, parsed
// and put on the recorder's turns; or, when there is no transcript or it cannot be read, the
// fallback: the prompts the recorder saw and the text the agent showed on its screen.
#include <functional>
#include <string>
#include <vector>

#include "recorder/conversation.hpp"
#include "recorder/session_record.hpp"

namespace sddsh::recorder {

inline constexpr const char* kConversationFile = "conversation.jsonl";

// The text the agent showed for each turn (index 0 = turn 1), read from the terminal stream.
// The screen model lives above the recorder, so the caller provides it.
using TerminalAnswers =
    std::function<std::vector<std::string>(const std::string& bundle_dir, const SessionRecord&)>;

struct BuiltConversation {
  std::vector<ConversationMessage> messages;
  ConversationRecord record;
  std::vector<std::string> warnings;
};

BuiltConversation build_conversation(const std::string& bundle_dir, const SessionRecord& session,
                                     const TerminalAnswers& terminal_answers);

// Puts each message on the recorder's turn it belongs to. When the agent's prompts and the
// recorder's turns pair up one to one they are paired in order; otherwise by time.
void assign_turns(std::vector<ConversationMessage>& messages, const SessionRecord& session);

Result<void> write_conversation(const std::string& bundle_dir,
                                const std::vector<ConversationMessage>& messages);
// conversation.jsonl of a bundle; bad lines are skipped.
Result<std::vector<ConversationMessage>> load_conversation(const std::string& bundle_dir);

}  // namespace sddsh::recorder
