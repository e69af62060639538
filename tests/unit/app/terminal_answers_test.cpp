// The fallback conversation's answers, from a recorded terminal stream.
#include "app/terminal_answers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace sddsh::app;
using sddsh::recorder::SessionRecord;
using sddsh::recorder::TurnRecord;

namespace {

std::string bundle_with_cast(const std::string& events) {
  std::string tmpl = ::testing::TempDir() + "sddsh-answers-XXXXXX";
  std::string dir = mkdtemp(tmpl.data());
  std::ofstream(dir + "/terminal.cast")
      << R"({"version": 2, "width": 40, "height": 6, "timestamp": 0})"
      << "\n"
      << events;
  return dir;
}

TurnRecord turn(int index, double start, double end, const std::string& prompt) {
  TurnRecord t;
  t.index = index;
  t.start = start;
  t.end = end;
  t.prompt = prompt;
  return t;
}

}  // namespace

TEST(TerminalAnswers, EachTurnGetsTheLinesThatAppearedDuringIt) {
  const std::string dir = bundle_with_cast(
      "[0.1, \"o\", \"$ \"]\n"
      "[1.0, \"i\", \"hello\\r\"]\n"
      "[1.1, \"o\", \"hello\\r\\n\\u001b[1mHi there!\\u001b[0m\\r\\n\\r\\n\\r\\nHow can I "
      "help?\\r\\n$ \"]\n"
      "[3.0, \"i\", \"list\\r\"]\n"
      "[3.1, \"o\", \"list\\r\\none\\r\\ntwo\\r\\nthree\\r\\nfour\\r\\nfive\\r\\n$ \"]\n");
  SessionRecord session;
  session.turns = {turn(1, 1.0, 2.0, "hello"), turn(2, 3.0, 4.0, "list")};
  const auto answers = terminal_answers(dir, session);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0], "$ hello\nHi there!\n\nHow can I help?\n$");
  // History scrolled off the 6-row screen is still there to compare with.
  EXPECT_EQ(answers[1], "$ list\none\ntwo\nthree\nfour\nfive\n$");
  std::filesystem::remove_all(dir);
}

TEST(TerminalAnswers, AFullScreenAgentsLastScreenIsItsAnswer) {
  const std::string dir = bundle_with_cast(
      "[0.1, \"o\", \"\\u001b[?1049h\\u001b[H> \"]\n"
      "[1.0, \"i\", \"go\\r\"]\n"
      "[1.2, \"o\", \"\\u001b[2;1HDone: 3 files.\"]\n"
      "[2.0, \"o\", \"\\u001b[?1049l\"]\n");
  SessionRecord session;
  session.turns = {turn(1, 1.0, 5.0, "go")};
  // The prompt line was there when the turn began; the answer came after.
  EXPECT_EQ(terminal_answers(dir, session), std::vector<std::string>{"Done: 3 files."});
  std::filesystem::remove_all(dir);
}

TEST(TerminalAnswers, NoCastNoAnswers) {
  SessionRecord session;
  session.turns = {turn(1, 1.0, 2.0, "x")};
  EXPECT_EQ(terminal_answers("/nonexistent", session), std::vector<std::string>{""});
}
