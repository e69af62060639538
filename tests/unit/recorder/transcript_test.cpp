// The transcript parsers against sample transcripts of each agent (tests/unit/recorder/
// transcripts/, written from the formats the agents' current versions write), and the
// conversation.jsonl line format.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "recorder/conversation.hpp"
#include "recorder/transcript_json.hpp"

using namespace sddsh::recorder;
using Role = ConversationMessage::Role;
using nlohmann::json;

namespace {

std::string sample(const std::string& name) {
  std::ifstream in(std::string(SDDSH_SOURCE_DIR) + "/tests/unit/recorder/transcripts/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in) << "missing sample " << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::int64_t ms(const char* iso) {
  return transcript::parse_iso8601_ms(iso).value();
}

// One message as a short line, so that a failing comparison shows the whole conversation.
std::string describe(const ConversationMessage& m) {
  std::string line = std::string(role_name(m.role)) + ": " + m.text;
  if (m.tool) {
    line += "[" + m.tool->name + " " + m.tool->input.dump() + " -> " + m.tool->output_summary +
            (m.tool->failed ? " FAILED" : "") + " files:";
    for (const auto& file : m.tool->files) line += " " + file;
    line += "]";
  }
  return line;
}

std::vector<std::string> describe_all(const ParsedTranscript& parsed) {
  std::vector<std::string> lines;
  for (const auto& m : parsed.messages) lines.push_back(describe(m));
  return lines;
}

void expect_counts(const ParsedTranscript& parsed, std::size_t records, std::size_t unknown,
                   std::size_t bad) {
  EXPECT_EQ(parsed.records, records);
  EXPECT_EQ(parsed.unknown_records, unknown);
  EXPECT_EQ(parsed.bad_records, bad);
}

const ToolCall& tool_of(const ParsedTranscript& parsed, std::size_t index) {
  static const ToolCall none;
  if (index >= parsed.messages.size() || !parsed.messages[index].tool) {
    ADD_FAILURE() << "message " << index << " is not a tool call";
    return none;
  }
  return *parsed.messages[index].tool;
}

// ---- Claude Code

TEST(ClaudeTranscript, ReadsPromptsAnswersAndToolCallsWithTheirResults) {
  const ParsedTranscript parsed =
      parse_transcript(AgentKind::ClaudeCode, sample("claude-session.jsonl"));
  EXPECT_EQ(parsed.format, "claude-code jsonl");
  EXPECT_EQ(parsed.agent_version, "2.1.198");  // the latest record's: the session was resumed
  // Not JSON, a JSON array, a user record without a message; the unfinished last line is not
  // counted at all.
  expect_counts(parsed, 21, 1, 3);
  const std::vector<std::string> expected = {
      "user: Write a hello script",
      "assistant: I'll create the file.",
      R"(tool: [Write {"content":"print('hi')\n","file_path":"/work/demo/hello.py"} -> File created successfully at: /work/demo/hello.py files: /work/demo/hello.py])",
      R"(tool: [Bash {"command":"python3 hello.py && false","description":"Run the script"} -> Exit code 1
hi FAILED files:])",
      "assistant: Created hello.py.\nIt prints hi.",
      "user: Now add a test",
  };
  EXPECT_EQ(describe_all(parsed), expected);
  ASSERT_EQ(parsed.messages.size(), 6u);
  EXPECT_EQ(parsed.messages[0].ts_ms, ms("2026-11-21T10:00:00.000Z"));
  EXPECT_EQ(parsed.messages[2].ts_ms, ms("2026-11-21T10:00:01.200Z"));
  EXPECT_EQ(parsed.messages[5].ts_ms, ms("2026-11-21T10:01:00.000Z"));
  EXPECT_EQ(tool_of(parsed, 2).id, "toolu_write");
  for (const auto& m : parsed.messages) EXPECT_EQ(m.turn, 0);
}

TEST(ClaudeTranscript, PutsAPromptWrittenAfterItsAnswerBackInTimeOrder) {
  // Claude Code 2.1 was seen writing a session's first prompt after the answer to it.
  const std::string text =
      R"({"type":"assistant","timestamp":"2026-01-01T00:00:02.000Z","message":{"role":"assistant","content":[{"type":"text","text":"Hello."}]}})"
      "\n"
      R"({"type":"user","timestamp":"2026-01-01T00:00:01.000Z","message":{"role":"user","content":"Hi"}})"
      "\n";
  const ParsedTranscript parsed = parse_transcript(AgentKind::ClaudeCode, text);
  EXPECT_EQ(describe_all(parsed), (std::vector<std::string>{"user: Hi", "assistant: Hello."}));
}

TEST(ClaudeTranscript, SkipsHarnessTextAndPromptsFromOtherOrigins) {
  const std::string text =
      R"({"type":"user","timestamp":"2026-01-01T00:00:01.000Z","message":{"role":"user","content":[{"type":"text","text":"<system-reminder>Be brief.</system-reminder>"},{"type":"text","text":"Fix the bug"}]}})"
      "\n"
      R"({"type":"user","timestamp":"2026-01-01T00:00:02.000Z","origin":{"kind":"task-notification"},"message":{"role":"user","content":"Task finished"}})"
      "\n"
      R"({"type":"user","timestamp":"2026-01-01T00:00:03.000Z","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]}})"
      "\n"
      R"({"type":"user","timestamp":"2026-01-01T00:00:04.000Z","isCompactSummary":true,"message":{"role":"user","content":"This session is being continued..."}})"
      "\n"
      R"({"type":"assistant","timestamp":"2026-01-01T00:00:05.000Z","isApiErrorMessage":true,"message":{"role":"assistant","content":[{"type":"text","text":"API Error: Connection error."}]}})"
      "\n";
  const ParsedTranscript parsed = parse_transcript(AgentKind::ClaudeCode, text);
  EXPECT_EQ(describe_all(parsed), (std::vector<std::string>{"user: Fix the bug"}));
  expect_counts(parsed, 5, 0, 0);
}

TEST(ClaudeTranscript, CutsALongToolResultOnACharacterBoundary) {
  // 399 ASCII bytes, then "é" (2 bytes) straddles the 400-byte limit.
  const std::string output = std::string(399, 'x') + "\xC3\xA9" + "tail";
  json result = {
      {"type", "user"},
      {"timestamp", "2026-01-01T00:00:02.000Z"},
      {"message",
       {{"role", "user"},
        {"content", {{{"type", "tool_result"}, {"tool_use_id", "t1"}, {"content", output}}}}}}};
  const std::string text =
      R"({"type":"assistant","timestamp":"2026-01-01T00:00:01.000Z","message":{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"a.txt"}}]}})"
      "\n" +
      result.dump() + "\n";
  const ParsedTranscript parsed = parse_transcript(AgentKind::ClaudeCode, text);
  ASSERT_EQ(parsed.messages.size(), 1u);
  EXPECT_EQ(tool_of(parsed, 0).output_summary, std::string(399, 'x') + "…");
  EXPECT_EQ(tool_of(parsed, 0).files, std::vector<std::string>{"a.txt"});
}

// ---- Codex

TEST(CodexTranscript, ReadsPromptsFromEventsAndTheRestFromResponseItems) {
  const ParsedTranscript parsed = parse_transcript(AgentKind::Codex, sample("codex-session.jsonl"));
  EXPECT_EQ(parsed.format, "codex rollout jsonl");
  EXPECT_EQ(parsed.agent_version, "0.169.0");
  expect_counts(parsed, 22, 2, 2);
  const std::vector<std::string> expected = {
      "user: Add a greeting file",
      "assistant: Adding it now.",
      R"(tool: [apply_patch {"input":"*** Begin Patch\n*** Add File: greeting.txt\n+hello\n*** End Patch\n"} -> Success. Updated the following files:
A greeting.txt
 files: greeting.txt])",
      R"(tool: [exec_command {"cmd":"cat greeting.txt missing.txt","workdir":"/work/demo"} -> Chunk ID: 7
Wall time: 0.0100 seconds
Process exited with code 1
Output:
hello
cat: missing.txt: No such file or directory
 FAILED files:])",
      "assistant: Created greeting.txt.\nmissing.txt does not exist.",
  };
  EXPECT_EQ(describe_all(parsed), expected);
  ASSERT_EQ(parsed.messages.size(), 5u);
  EXPECT_EQ(parsed.messages[0].ts_ms, ms("2026-11-21T11:00:00.060Z"));
  EXPECT_EQ(parsed.messages[3].ts_ms, ms("2026-11-21T11:00:02.000Z"));
}

TEST(CodexTranscript, ReadsTheOlderUserMessageEventsAndWrappedShellOutput) {
  const ParsedTranscript parsed = parse_transcript(AgentKind::Codex, sample("codex-older.jsonl"));
  EXPECT_EQ(parsed.agent_version, "0.30.0");
  expect_counts(parsed, 13, 0, 0);
  const std::vector<std::string> expected = {
      "user: List the files",
      R"(tool: [shell {"command":["bash","-lc","ls"]} -> a.txt
 files:])",
      R"(tool: [apply_patch {"input":"*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+b\n*** End Patch\n"} -> error: context not found FAILED files: a.txt])",
      "assistant: There is one file, a.txt; the edit did not apply.",
  };
  EXPECT_EQ(describe_all(parsed), expected);
}

TEST(CodexTranscript, FallsBackOnUserItemsWhenThereAreNoPromptEvents) {
  const std::string text =
      R"({"timestamp":"2025-05-01T00:00:00.000Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n<cwd>/w</cwd>\n</environment_context>"}]}})"
      "\n"
      R"({"timestamp":"2025-05-01T00:00:01.000Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"Hello"}]}})"
      "\n"
      R"({"timestamp":"2025-05-01T00:00:02.000Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi."}]}})"
      "\n";
  const ParsedTranscript parsed = parse_transcript(AgentKind::Codex, text);
  EXPECT_EQ(describe_all(parsed), (std::vector<std::string>{"user: Hello", "assistant: Hi."}));
}

// ---- Gemini CLI

TEST(GeminiTranscript, ReplaysTheUpdateLogAndReadsTheMessagesThatRemain) {
  const ParsedTranscript parsed =
      parse_transcript(AgentKind::GeminiCli, sample("gemini-session.jsonl"));
  EXPECT_EQ(parsed.format, "gemini-cli chat jsonl");
  EXPECT_EQ(parsed.agent_version, "");  // Gemini CLI does not write its version into the chat
  // Unknown: the "$futureOperation" line and the message of type "future_kind". Bad: the line
  // that is not JSON and the one that is a JSON string.
  expect_counts(parsed, 17, 2, 2);
  const std::vector<std::string> expected = {
      "user: Create notes.md with a title",
      "assistant: Creating notes.md.",
      R"(tool: [write_file {"content":"# Notes\n","file_path":"/work/demo/notes.md"} -> Successfully created and wrote to new file: /work/demo/notes.md. files: /work/demo/notes.md])",
      R"(tool: [run_shell_command {"command":"mdcat notes.md","description":"Render notes"} -> Output: bash: mdcat: command not found
Exit Code: 127 FAILED files:])",
      R"(tool: [read_file {"file_path":"/work/demo/secret.txt"} -> File not found. FAILED files: /work/demo/secret.txt])",
      "assistant: Created notes.md.\nmdcat is not installed.",
      "user: Thanks!",
  };
  EXPECT_EQ(describe_all(parsed), expected);
  ASSERT_EQ(parsed.messages.size(), 7u);
  EXPECT_EQ(parsed.messages[0].ts_ms, ms("2026-11-21T12:00:10.000Z"));
  EXPECT_EQ(parsed.messages[2].ts_ms, ms("2026-11-21T12:00:11.000Z"));
  EXPECT_EQ(tool_of(parsed, 2).id, "write_file_1");
}

TEST(GeminiTranscript, ReadsTheOlderSingleDocumentFormat) {
  const ParsedTranscript parsed =
      parse_transcript(AgentKind::GeminiCli, sample("gemini-legacy.json"));
  EXPECT_EQ(parsed.format, "gemini-cli chat json");
  expect_counts(parsed, 4, 0, 1);
  const std::vector<std::string> expected = {
      "user: Fix the typo in README.md",
      "assistant: Fixed.",
      R"(tool: [replace {"file_path":"/work/old/README.md","new_string":"the","old_string":"teh"} -> Successfully modified file: /work/old/README.md (1 replacements). files: /work/old/README.md])",
  };
  EXPECT_EQ(describe_all(parsed), expected);
}

TEST(GeminiTranscript, ARewindToAnUnknownMessageDropsEverything) {
  const std::string text =
      R"({"id":"a","timestamp":"2026-01-01T00:00:00.000Z","type":"user","content":"one"})"
      "\n"
      R"({"$rewindTo":"nowhere"})"
      "\n"
      R"({"id":"b","timestamp":"2026-01-01T00:00:01.000Z","type":"user","content":"two"})"
      "\n";
  const ParsedTranscript parsed = parse_transcript(AgentKind::GeminiCli, text);
  EXPECT_EQ(describe_all(parsed), (std::vector<std::string>{"user: two"}));
}

// ---- Copilot CLI

TEST(CopilotTranscript, ReadsUserAndAssistantMessagesAndToolExecutions) {
  const ParsedTranscript parsed =
      parse_transcript(AgentKind::CopilotCli, sample("copilot-session.jsonl"));
  EXPECT_EQ(parsed.format, "copilot-cli events jsonl");
  EXPECT_EQ(parsed.agent_version, "1.0.102");
  expect_counts(parsed, 23, 1, 2);
  const std::vector<std::string> expected = {
      "user: Create todo.txt with one item",
      "assistant: Creating the file.",
      R"(tool: [create {"file_text":"- buy milk\n","path":"/work/demo/todo.txt"} -> Created file /work/demo/todo.txt with 11 characters files: /work/demo/todo.txt])",
      R"(tool: [bash {"command":"wc -l todo.txt nothere.txt","description":"Count lines"} -> 1 todo.txt
wc: nothere.txt: No such file or directory
<shellId: 0 completed with exit code 1> FAILED files:])",
      R"(tool: [view {"path":"/work/demo/missing.txt"} -> Path does not exist FAILED files: /work/demo/missing.txt])",
      "assistant: todo.txt has one item. nothere.txt does not exist.",
  };
  EXPECT_EQ(describe_all(parsed), expected);
  ASSERT_EQ(parsed.messages.size(), 6u);
  EXPECT_EQ(parsed.messages[0].ts_ms, ms("2026-11-21T13:00:05.000Z"));
  EXPECT_EQ(parsed.messages[4].ts_ms, ms("2026-11-21T13:00:09.500Z"));
}

// ---- Every parser

TEST(Transcript, GenericHasNoTranscript) {
  const ParsedTranscript parsed = parse_transcript(AgentKind::Generic, "{\"type\":\"user\"}\n");
  EXPECT_EQ(parsed.format, "generic");
  EXPECT_TRUE(parsed.messages.empty());
  expect_counts(parsed, 0, 0, 0);
}

TEST(Transcript, EmptyAndBlankTextsHoldNothing) {
  for (const AgentKind kind :
       {AgentKind::ClaudeCode, AgentKind::Codex, AgentKind::GeminiCli, AgentKind::CopilotCli}) {
    for (const char* text : {"", "\n\n", "  \r\n\t\n"}) {
      const ParsedTranscript parsed = parse_transcript(kind, text);
      EXPECT_TRUE(parsed.messages.empty());
      expect_counts(parsed, 0, 0, 0);
      EXPECT_FALSE(parsed.format.empty());
    }
  }
}

TEST(Transcript, SurvivesGarbageDeepNestingAndWrongTypes) {
  std::vector<std::string> inputs = {
      std::string(100000, '[') + "\n" + std::string(5000, '{') + "\n",
      "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"content\":7}]}}\n",
      "{\"type\":5,\"payload\":[],\"data\":\"x\",\"id\":[],\"messages\":{}}\n",
      "{\"type\":\"response_item\",\"payload\":{\"type\":\"function_call\",\"arguments\":{}}}\n",
      "{\"type\":\"assistant.message\",\"data\":{\"toolRequests\":[1,null,{\"arguments\":\"x\"}]}}"
      "\n",
      "{\"id\":\"a\",\"type\":\"gemini\",\"toolCalls\":[{\"args\":[1],\"result\":{\"a\":1}},3]}\n",
      "{\"$set\":{\"messages\":[1,{\"id\":2}]}}\n{\"$rewindTo\":5}\n",
      "\xff\xfe\x00garbage\n{\"text\":\"\xC3\"}\n",
  };
  std::mt19937 random(42);
  for (int i = 0; i < 200; ++i) {
    std::string bytes(random() % 300, '\0');
    for (char& c : bytes) c = "{}[]\":,\\ \nabtuy01"[random() % 18];
    inputs.push_back(bytes);
  }
  for (const AgentKind kind :
       {AgentKind::ClaudeCode, AgentKind::Codex, AgentKind::GeminiCli, AgentKind::CopilotCli}) {
    for (const std::string& input : inputs) EXPECT_NO_THROW(parse_transcript(kind, input));
  }
}

// ---- Helpers shared by the parsers

TEST(TranscriptHelpers, SummaryKeepsShortOutputAndCutsLongOutputBetweenCharacters) {
  const std::string exact(kToolOutputSummaryLength, 'a');
  EXPECT_EQ(transcript::summarize_output(exact), exact);
  // "€" is 3 bytes; the cut at 400 falls after its first or second byte.
  for (std::size_t lead : {398u, 399u}) {
    const std::string text = std::string(lead, 'a') + "€€€";
    EXPECT_EQ(transcript::summarize_output(text), std::string(lead, 'a') + "…") << lead;
  }
  const std::string on_boundary = std::string(397, 'a') + "€" + "b";
  EXPECT_EQ(transcript::summarize_output(on_boundary), std::string(397, 'a') + "€" + "…");
  // Bytes that are not UTF-8 are cut at most 3 bytes early.
  const std::string garbage(500, '\x80');
  EXPECT_EQ(transcript::summarize_output(garbage), std::string(397, '\x80') + "…");
}

TEST(TranscriptHelpers, ReadsIso8601Timestamps) {
  EXPECT_EQ(transcript::parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(transcript::parse_iso8601_ms("2026-11-21T10:04:05.123Z"), 1795255445123);
  EXPECT_EQ(transcript::parse_iso8601_ms("2026-11-21T10:04:05.1234567Z"), 1795255445123);
  EXPECT_EQ(transcript::parse_iso8601_ms("2026-11-21T10:04:05.5Z"), 1795255445500);
  EXPECT_EQ(transcript::parse_iso8601_ms("2026-11-21T12:04:05.123+02:00"), 1795255445123);
  EXPECT_EQ(transcript::parse_iso8601_ms("2026-11-21T05:04:05.123-0500"), 1795255445123);
  EXPECT_EQ(transcript::parse_iso8601_ms("2026-11-21T10:04:05"), 1795255445000);
  for (const char* bad :
       {"", "2026-11-21", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-21T24:00:00Z",
        "2026-11-21T10:04:05.Z", "2026-11-21T10:04:05Zx", "yesterday", "2026-11-21T10:04:05+2"}) {
    EXPECT_EQ(transcript::parse_iso8601_ms(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(transcript::format_iso8601_ms(1795255445123), "2026-11-21T10:04:05.123Z");
  EXPECT_EQ(transcript::format_iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(transcript::format_iso8601_ms(INT64_MAX), std::nullopt);
  EXPECT_EQ(transcript::format_iso8601_ms(INT64_MIN), std::nullopt);
}

TEST(TranscriptHelpers, FindsPathsInToolInputsAndPatches) {
  const json input = {{"file_path", "a.c"},
                      {"path", "a.c"},
                      {"paths", {"b.c", 3, "", "c.c"}},
                      {"notebook_path", "n.ipynb"},
                      {"content", "x"}};
  EXPECT_EQ(transcript::paths_in_tool_input(input),
            (std::vector<std::string>{"a.c", "n.ipynb", "b.c", "c.c"}));
  EXPECT_TRUE(transcript::paths_in_tool_input(json::array()).empty());
  const std::string patch =
      "*** Begin Patch\n*** Update File: src/x.c\n*** Move to: src/y.c\n@@\n-a\n+b\n"
      "*** Delete File: old.c\r\n*** Add File: new.c\n+hi\n*** End Patch";
  EXPECT_EQ(transcript::paths_in_patch(patch),
            (std::vector<std::string>{"src/x.c", "src/y.c", "old.c", "new.c"}));
}

// ---- conversation.jsonl

ConversationMessage tool_message() {
  ConversationMessage m;
  m.turn = 3;
  m.ts_ms = 1795255445123;
  m.role = Role::Tool;
  m.text = "";
  ToolCall call;
  call.id = "toolu_1";
  call.name = "Write";
  call.input = {{"file_path", "/w/a.txt"}, {"content", "hi\n"}};
  call.output_summary = "File created";
  call.files = {"/w/a.txt"};
  call.failed = true;
  m.tool = call;
  return m;
}

TEST(ConversationJsonl, WritesTheDocumentedLine) {
  EXPECT_EQ(
      to_jsonl_line(tool_message()),
      R"({"turn":3,"ts":"2026-11-21T10:04:05.123Z","role":"tool","text":"","tool":{"name":"Write","input":{"content":"hi\n","file_path":"/w/a.txt"},"output_summary":"File created","files":["/w/a.txt"],"failed":true}})");
  ConversationMessage prompt;
  prompt.role = Role::User;
  prompt.text = "Fix it";
  EXPECT_EQ(to_jsonl_line(prompt), R"({"turn":0,"role":"user","text":"Fix it"})");
}

TEST(ConversationJsonl, RoundTripsEveryField) {
  const ConversationMessage original = tool_message();
  const std::optional<ConversationMessage> back = parse_jsonl_line(to_jsonl_line(original));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->turn, original.turn);
  EXPECT_EQ(back->ts_ms, original.ts_ms);
  EXPECT_EQ(back->role, Role::Tool);
  EXPECT_EQ(back->text, original.text);
  ASSERT_TRUE(back->tool);
  EXPECT_EQ(back->tool->id, "");  // the call id is not stored
  EXPECT_EQ(back->tool->name, "Write");
  EXPECT_EQ(back->tool->input, original.tool->input);
  EXPECT_EQ(back->tool->output_summary, "File created");
  EXPECT_EQ(back->tool->files, original.tool->files);
  EXPECT_TRUE(back->tool->failed);

  ConversationMessage answer;
  answer.turn = 1;
  answer.role = Role::Assistant;
  answer.text = "Done — \"quoted\"\nnext line";
  const auto answer_back = parse_jsonl_line(to_jsonl_line(answer));
  ASSERT_TRUE(answer_back);
  EXPECT_EQ(answer_back->text, answer.text);
  EXPECT_EQ(answer_back->ts_ms, 0);
  EXPECT_FALSE(answer_back->tool);
}

TEST(ConversationJsonl, InvalidUtf8IsReplacedNotThrown) {
  ConversationMessage m;
  m.role = Role::Assistant;
  m.text = "ok \xC3 \xFF end";
  std::string line;
  EXPECT_NO_THROW(line = to_jsonl_line(m));
  const auto back = parse_jsonl_line(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text, "ok \xEF\xBF\xBD \xEF\xBF\xBD end");

  ConversationMessage tool = tool_message();
  tool.tool->input = {{"bad\xFF", "\xC3"}};
  tool.tool->files = {"\xFE.txt"};
  EXPECT_NO_THROW(line = to_jsonl_line(tool));
  EXPECT_TRUE(parse_jsonl_line(line));
}

TEST(ConversationJsonl, ReadsNullTimestampsAndToolMessagesWithoutTool) {
  const auto m = parse_jsonl_line(R"({"turn":2,"ts":null,"role":"tool","text":"note"})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->ts_ms, 0);
  ASSERT_TRUE(m->tool);
  EXPECT_EQ(m->tool->name, "");
  const auto user = parse_jsonl_line(R"({"role":"user","text":"hi","tool":{"name":"x"},"more":1})");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->turn, 0);
  EXPECT_FALSE(user->tool);
}

TEST(ConversationJsonl, RefusesGarbage) {
  for (const char* line :
       {"", "not json", "[]", "42", "{}", R"({"role":"robot","text":""})",
        R"({"role":"user","text":5})", R"({"role":"user","turn":"one"})",
        R"({"role":"user","ts":"today"})", R"({"role":"tool","tool":[]})",
        R"({"role":"tool","tool":{"input":"x"}})", R"({"role":"tool","tool":{"files":[1]}})",
        R"({"role":"tool","tool":{"failed":"yes"}})", "{\"role\":\"user\"", "\xff\xfe"}) {
    EXPECT_FALSE(parse_jsonl_line(line).has_value()) << line;
  }
}

}  // namespace
