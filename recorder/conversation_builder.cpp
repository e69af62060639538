#include "recorder/conversation_builder.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sddsh::recorder {

namespace {

// A transcript's user record is written a moment after the recorder saw the prompt; a little
// earlier too, when the clock or the hook is late.
constexpr std::int64_t kTurnStartSlackMs = 1500;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::int64_t turn_start_ms(const SessionRecord& session, const TurnRecord& turn) {
  return session.started_unix_ms + static_cast<std::int64_t>(turn.start * 1000);
}

bool is_prompt(const ConversationMessage& m) {
  return m.role == ConversationMessage::Role::User;
}

void assign_in_order(std::vector<ConversationMessage>& messages) {
  int turn = 0;
  for (auto& m : messages) {
    if (is_prompt(m)) ++turn;
    m.turn = turn;
  }
}

void assign_by_time(std::vector<ConversationMessage>& messages, const SessionRecord& session) {
  int turn = 0;
  for (auto& m : messages) {
    if (m.ts_ms > 0) {
      // The last turn that began before this message; turns never go back.
      for (const auto& t : session.turns)
        if (t.index > turn && turn_start_ms(session, t) <= m.ts_ms + kTurnStartSlackMs)
          turn = t.index;
    } else if (is_prompt(m)) {
      turn = std::min(turn + 1, static_cast<int>(session.turns.size()));
    }
    m.turn = turn;
  }
}

std::vector<ConversationMessage> terminal_conversation(const SessionRecord& session,
                                                       const std::vector<std::string>& answers) {
  std::vector<ConversationMessage> messages;
  for (const auto& turn : session.turns) {
    ConversationMessage prompt;
    prompt.turn = turn.index;
    prompt.ts_ms = turn_start_ms(session, turn);
    prompt.text = turn.prompt;
    messages.push_back(std::move(prompt));
    const auto i = static_cast<std::size_t>(turn.index - 1);
    if (i < answers.size() && !answers[i].empty()) {
      ConversationMessage answer;
      answer.turn = turn.index;
      answer.ts_ms =
          session.started_unix_ms + static_cast<std::int64_t>(turn.end.value_or(turn.start) * 1000);
      answer.role = ConversationMessage::Role::Assistant;
      answer.text = answers[i];
      messages.push_back(std::move(answer));
    }
  }
  return messages;
}

// Every copied transcript file parsed, in the order they were found.
BuiltConversation from_transcripts(const std::string& bundle_dir, const SessionRecord& session,
                                   AgentKind kind) {
  BuiltConversation built;
  for (const auto& copy : session.transcripts) {
    auto text = read_file(bundle_dir + "/" + copy.file);
    if (!text) {
      built.warnings.push_back("transcript copy missing: " + copy.file);
      continue;
    }
    ParsedTranscript parsed = parse_transcript(kind, *text);
    // Read but with nothing said yet is fine; records it could not read are not.
    if (parsed.messages.empty() && parsed.unknown_records + parsed.bad_records > 0)
      built.warnings.push_back(copy.file + ": not a transcript this sddsh can read (" +
                               std::to_string(parsed.records) + " records, " +
                               std::to_string(parsed.unknown_records) + " unknown, " +
                               std::to_string(parsed.bad_records) + " bad); kept as it is");
    built.record.format = parsed.format;
    if (!parsed.agent_version.empty()) built.record.agent_version = parsed.agent_version;
    built.record.unknown_records += parsed.unknown_records;
    built.record.bad_records += parsed.bad_records;
    for (auto& m : parsed.messages) built.messages.push_back(std::move(m));
  }
  return built;
}

}  // namespace

void assign_turns(std::vector<ConversationMessage>& messages, const SessionRecord& session) {
  const auto prompts = std::count_if(messages.begin(), messages.end(), is_prompt);
  if (session.turns.empty() || static_cast<std::size_t>(prompts) == session.turns.size())
    assign_in_order(messages);
  else
    assign_by_time(messages, session);
}

BuiltConversation build_conversation(const std::string& bundle_dir, const SessionRecord& session,
                                     const TerminalAnswers& terminal_answers) {
  const AgentKind kind = parse_agent_kind(session.agent_info.kind).value_or(AgentKind::Generic);
  BuiltConversation built;
  if (kind != AgentKind::Generic && !session.transcripts.empty())
    built = from_transcripts(bundle_dir, session, kind);
  if (!built.messages.empty()) {
    assign_turns(built.messages, session);
    built.record.source = "transcript";
  } else {
    if (kind != AgentKind::Generic && session.transcripts.empty() && !session.turns.empty())
      built.warnings.push_back(
          "no transcript of the agent was found; the conversation is "
          "rebuilt from the terminal");
    std::vector<std::string> answers;
    if (terminal_answers) answers = terminal_answers(bundle_dir, session);
    built.messages = terminal_conversation(session, answers);
    built.record.source = "terminal";
    built.record.format = "sddsh terminal text";
  }
  built.record.messages = built.messages.size();
  return built;
}

Result<void> write_conversation(const std::string& bundle_dir,
                                const std::vector<ConversationMessage>& messages) {
  std::string text;
  for (const auto& m : messages) text += to_jsonl_line(m) + "\n";
  return write_file_atomically(bundle_dir + "/" + kConversationFile, text);
}

Result<std::vector<ConversationMessage>> load_conversation(const std::string& bundle_dir) {
  auto text = read_file(bundle_dir + "/" + kConversationFile);
  if (!text) return system_failure(bundle_dir + "/" + kConversationFile);
  std::vector<ConversationMessage> messages;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);)
    if (auto m = parse_jsonl_line(line)) messages.push_back(std::move(*m));
  return messages;
}

}  // namespace sddsh::recorder
