#include "app/cli.hpp"

#include <gtest/gtest.h>

using namespace sddsh::app;

namespace {

RunOptions run(const std::vector<std::string>& args) {
  auto parsed = parse_command_line(args);
  EXPECT_TRUE(std::holds_alternative<RunOptions>(parsed))
      << (std::holds_alternative<ExitNow>(parsed) ? std::get<ExitNow>(parsed).text : "");
  return std::holds_alternative<RunOptions>(parsed) ? std::get<RunOptions>(parsed) : RunOptions{};
}

ExitNow exit_now(const std::vector<std::string>& args) {
  auto parsed = parse_command_line(args);
  EXPECT_TRUE(std::holds_alternative<ExitNow>(parsed));
  return std::holds_alternative<ExitNow>(parsed) ? std::get<ExitNow>(parsed) : ExitNow{};
}

}  // namespace

TEST(CommandLine, AgentArgumentsPassThroughUntouched) {
  auto r = run({"--no-tui", "claude", "--model", "x", "--no-tui", "--", "-p"});
  EXPECT_TRUE(r.no_tui);
  EXPECT_EQ(r.command, (std::vector<std::string>{"claude", "--model", "x", "--no-tui", "--", "-p"}));
}

TEST(CommandLine, DoubleDashEndsOurOptions) {
  auto r = run({"--", "copilot", "--model", "x"});
  EXPECT_FALSE(r.no_tui);
  EXPECT_EQ(r.command, (std::vector<std::string>{"copilot", "--model", "x"}));
  EXPECT_EQ(run({"--", "-weird"}).command.front(), "-weird");
  EXPECT_EQ(run({"--", "sessions"}).command.front(), "sessions");
}

TEST(CommandLine, UnknownOptionIsAUsageError) {
  auto e = exit_now({"--bogus", "claude"});
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_NE(e.text.find("unknown option: --bogus"), std::string::npos) << e.text;
  EXPECT_NE(e.text.find("Usage: sddsh"), std::string::npos);
}

TEST(CommandLine, MissingAgentIsAUsageError) { EXPECT_EQ(exit_now({}).exit_code, 2); }

TEST(CommandLine, HelpListsTheCommandsAndVersionPrints) {
  auto help = exit_now({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* name : {"sessions", "replay", "tasks", "import", "sync"})
    EXPECT_NE(help.text.find(name), std::string::npos) << name;
  auto version = exit_now({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.text.starts_with("sddsh ")) << version.text;
}

TEST(CommandLine, ReplayTakesASessionOrATask) {
  auto parsed = parse_command_line({"replay"});
  ASSERT_TRUE(std::holds_alternative<ReplayCommand>(parsed));
  EXPECT_EQ(std::get<ReplayCommand>(parsed).session, "last");
  EXPECT_EQ(std::get<ReplayCommand>(parsed).speed, 1.0);
  EXPECT_TRUE(std::get<ReplayCommand>(parsed).idle_limit);

  parsed = parse_command_line({"replay", "--task", "sd-1a2b", "--pick", "2", "--speed", "4", "--no-idle-limit",
                               "--ca-file", "ca.pem"});
  ASSERT_TRUE(std::holds_alternative<ReplayCommand>(parsed));
  const auto& replay = std::get<ReplayCommand>(parsed);
  EXPECT_EQ(replay.session, "");
  EXPECT_EQ(replay.task, "sd-1a2b");
  EXPECT_EQ(replay.pick, 2);
  EXPECT_EQ(replay.speed, 4.0);
  EXPECT_FALSE(replay.idle_limit);
  EXPECT_EQ(replay.ca_file, "ca.pem");

  EXPECT_EQ(exit_now({"replay", "3f2a", "--task", "sd-1"}).exit_code, 2);
  EXPECT_EQ(exit_now({"replay", "--pick", "1"}).exit_code, 2);
  EXPECT_EQ(exit_now({"replay", "--speed", "32"}).exit_code, 2);
  EXPECT_EQ(exit_now({"replay", "--speed", "0.1"}).exit_code, 2);
  // An agent called replay still runs after --.
  EXPECT_EQ(run({"--", "replay"}).command.front(), "replay");
}

TEST(CommandLine, ReplayHasItsOwnHelp) {
  auto help = exit_now({"replay", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"SESSION", "--task", "--pick", "--speed", "--no-idle-limit", "--ca-file"})
    EXPECT_NE(help.text.find(option), std::string::npos) << option << "\n" << help.text;
  EXPECT_EQ(help.text.find("--no-tui"), std::string::npos) << help.text;
}

TEST(CommandLine, ExportRedact) {
  auto parsed = parse_command_line({"export", "--format", "cast", "--redact"});
  ASSERT_TRUE(std::holds_alternative<ExportCommand>(parsed));
  EXPECT_TRUE(std::get<ExportCommand>(parsed).redact);
  parsed = parse_command_line({"export"});
  EXPECT_FALSE(std::get<ExportCommand>(parsed).redact);
}

TEST(CommandLine, SizeAndTask) {
  auto r = run({"--size", "100x30", "--task", "T012", "gemini"});
  ASSERT_TRUE(r.size);
  EXPECT_EQ(r.size->ws_col, 100);
  EXPECT_EQ(r.size->ws_row, 30);
  EXPECT_EQ(r.task_id, "T012");
  EXPECT_EQ(exit_now({"--size", "100", "gemini"}).exit_code, 2);
  EXPECT_EQ(exit_now({"--size", "0x10", "gemini"}).exit_code, 2);
  EXPECT_EQ(exit_now({"--size", "10x10y", "gemini"}).exit_code, 2);
}

TEST(CommandLine, SessionCommandsTakeTheirOptions) {
  auto parsed = parse_command_line({"sessions", "--json"});
  ASSERT_TRUE(std::holds_alternative<SessionsCommand>(parsed));
  EXPECT_TRUE(std::get<SessionsCommand>(parsed).json);

  parsed = parse_command_line({"show"});
  ASSERT_TRUE(std::holds_alternative<ShowCommand>(parsed));
  EXPECT_EQ(std::get<ShowCommand>(parsed).session, "last");

  parsed = parse_command_line({"diff", "3f2a", "--turn", "2", "--color=always", "--no-pager"});
  ASSERT_TRUE(std::holds_alternative<DiffCommand>(parsed));
  const auto& diff = std::get<DiffCommand>(parsed);
  EXPECT_EQ(diff.session, "3f2a");
  EXPECT_EQ(diff.turn, 2);
  EXPECT_EQ(diff.colour, DiffCommand::Colour::Always);
  EXPECT_FALSE(diff.pager);

  EXPECT_EQ(exit_now({"diff", "--turn", "0"}).exit_code, 2);
  EXPECT_EQ(exit_now({"diff", "--color", "sometimes"}).exit_code, 2);
  EXPECT_TRUE(std::holds_alternative<RecoverCommand>(parse_command_line({"recover"})));
  EXPECT_FALSE(run({"--no-record-input", "claude"}).record_input);
}

TEST(CommandLine, EachCommandHasItsOwnHelp) {
  auto help = exit_now({"diff", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.text.find("--turn"), std::string::npos) << help.text;
  EXPECT_EQ(help.text.find("--no-tui"), std::string::npos) << "not the main help:\n" << help.text;
}

TEST(CommandLine, ConversationCommandsAndAgentKind) {
  auto parsed = parse_command_line({"show", "3f2a", "--conversation"});
  ASSERT_TRUE(std::holds_alternative<ShowCommand>(parsed));
  EXPECT_TRUE(std::get<ShowCommand>(parsed).conversation);

  parsed = parse_command_line({"export"});
  ASSERT_TRUE(std::holds_alternative<ExportCommand>(parsed));
  EXPECT_EQ(std::get<ExportCommand>(parsed).session, "last");
  EXPECT_EQ(std::get<ExportCommand>(parsed).format, ExportCommand::Format::Markdown);
  parsed = parse_command_line({"export", "ab12", "--format", "cast", "-o", "out.cast"});
  ASSERT_TRUE(std::holds_alternative<ExportCommand>(parsed));
  EXPECT_EQ(std::get<ExportCommand>(parsed).format, ExportCommand::Format::Cast);
  EXPECT_EQ(std::get<ExportCommand>(parsed).output, "out.cast");
  EXPECT_EQ(exit_now({"export", "--format", "pdf"}).exit_code, 2);

  EXPECT_TRUE(std::holds_alternative<HookCommand>(parse_command_line({"hook"})));
  EXPECT_EQ(run({"--agent-kind", "claude", "my-wrapper"}).agent_kind, "claude");
  EXPECT_EQ(run({"my-wrapper"}).agent_kind, std::nullopt);
  EXPECT_EQ(exit_now({"--agent-kind", "cursor", "x"}).exit_code, 2);
}
