#include "recorder/turn_detector.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace sddsh::recorder;
using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = TurnDetector::Clock;

namespace {

Clock::time_point at(Clock::duration since_start) {
  return Clock::time_point{} + 1h + since_start;
}

// One read from the user's terminal, and when it came.
struct Chunk {
  std::string bytes;
  Clock::duration after_start = 0ms;
};

std::vector<PromptSubmission> feed_chunks(TurnDetector& detector,
                                          const std::vector<Chunk>& chunks) {
  std::vector<PromptSubmission> all;
  for (const Chunk& chunk : chunks) {
    for (auto& submission : detector.feed(chunk.bytes, at(chunk.after_start))) {
      all.push_back(std::move(submission));
    }
  }
  return all;
}

std::vector<PromptSubmission> feed_once(std::string_view bytes) {
  TurnDetector detector;
  return detector.feed(bytes, at(0ms));
}

// The text of the one submission `bytes` make, typed in one go.
std::string prompt_of(std::string_view bytes) {
  auto submissions = feed_once(bytes);
  EXPECT_EQ(submissions.size(), 1U) << testing::PrintToString(std::string(bytes));
  return submissions.empty() ? std::string("<none>") : submissions[0].text;
}

// Submissions as one comparable string: text and the flags that are set.
std::string describe(const std::vector<PromptSubmission>& submissions) {
  std::string out;
  for (const auto& submission : submissions) {
    out += "[" + submission.text + "]";
    if (submission.approximate) out += "~";
    if (submission.continuation) out += "+";
    if (submission.truncated) out += "...";
  }
  return out;
}

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

std::string repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// Named where a hex escape would swallow the next letter ("\x7fe" is one character).
const std::string kDel = "\x7f";
const std::string kBel = "\x07";
const std::string kEsc = "\x1b";
const std::string kCtrlA = "\x01";
const std::string kCtrlC = "\x03";
const std::string kCtrlE = "\x05";
const std::string kCtrlR = "\x12";
const std::string kCtrlU = "\x15";
const std::string kEAcute = "\xc3\xa9";
const std::string kEuro = "\xe2\x82\xac";
const std::string kThumbsUp = "\xf0\x9f\x91\x8d";
const std::string kReplacement = "\xef\xbf\xbd";
const std::string kLeft = "\x1b[D";
const std::string kRight = "\x1b[C";
const std::string kUp = "\x1b[A";
const std::string kDown = "\x1b[B";

}  // namespace

// --- Typing and Enter ---------------------------------------------------------------------------

TEST(TurnDetector, TypedTextThenEnterIsOneSubmission) {
  auto submissions = feed_once("fix the bug\r");
  ASSERT_EQ(submissions.size(), 1U);
  EXPECT_EQ(submissions[0].text, "fix the bug");
  EXPECT_FALSE(submissions[0].approximate);
  EXPECT_FALSE(submissions[0].continuation);
  EXPECT_FALSE(submissions[0].truncated);
}

TEST(TurnDetector, KeysInSeparateReadsMakeTheSamePrompt) {
  TurnDetector detector;
  std::vector<PromptSubmission> submissions;
  std::string typed = "fix the bug\r";
  for (std::size_t i = 0; i < typed.size(); ++i) {
    auto out = detector.feed(typed.substr(i, 1), at(std::chrono::milliseconds(120 * i)));
    submissions.insert(submissions.end(), out.begin(), out.end());
  }
  EXPECT_EQ(describe(submissions), "[fix the bug]");
}

TEST(TurnDetector, PendingTextShowsWhatIsTypedSoFar) {
  TurnDetector detector;
  detector.feed("fix th", at(0ms));
  EXPECT_EQ(detector.pending_text(), "fix th");
  detector.feed("e bug\r", at(1s));
  EXPECT_EQ(detector.pending_text(), "");
}

TEST(TurnDetector, EnterOnAnEmptyLineSubmitsNothing) {
  EXPECT_TRUE(feed_once("\r").empty());
  TurnDetector detector;
  EXPECT_TRUE(feed_chunks(detector, {{"\r", 0s}, {"\r", 2s}, {"\x1b[B\x1b[B\r", 4s}}).empty());
}

TEST(TurnDetector, WhitespaceOnlySubmitsNothing) {
  EXPECT_TRUE(feed_once("   \t \r").empty());
}

TEST(TurnDetector, TrailingWhitespaceIsTrimmedInnerNewlinesKept) {
  EXPECT_EQ(prompt_of("fix it  \x1b\r  \r"), "fix it");
  EXPECT_EQ(prompt_of("one\x1b\r\x1b\rtwo \r"), "one\n\ntwo");
}

TEST(TurnDetector, LineFeedIsCtrlJANewlineNotASubmission) {
  // Enter sends CR; LF is Ctrl+J, a newline in Claude Code and Codex.
  EXPECT_TRUE(feed_once("line one\n").empty());
  EXPECT_EQ(prompt_of("line one\nline two\r"), "line one\nline two");
}

TEST(TurnDetector, CrLfIsOneEnter) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"first\r", 0s}, {"\nsecond\r\n", 2s}})),
            "[first][second]");
}

// --- Editing keys ------------------------------------------------------------------------------

TEST(TurnDetector, BackspaceAndDelRemoveTheCharacterBefore) {
  EXPECT_EQ(prompt_of("fixx\x7f the bg\x08ug\r"), "fix the bug");
  EXPECT_TRUE(feed_once("ab\x7f\x7f\x7f\r").empty());
}

TEST(TurnDetector, BackspaceRemovesAWholeMultibyteCharacter) {
  EXPECT_EQ(prompt_of("caf" + kEAcute + kDel + "e\r"), "cafe");
  EXPECT_EQ(prompt_of("ok " + kThumbsUp + kDel + kDel + "ay\r"), "okay");
  EXPECT_EQ(prompt_of(kEuro + kDel + "5 EUR\r"), "5 EUR");
}

TEST(TurnDetector, CursorMovesByCodePoints) {
  // a é € b: three code points left of the end is just after "a".
  EXPECT_EQ(prompt_of("a" + kEAcute + kEuro + "b" + repeat(kLeft, 3) + "-\r"),
            "a-" + kEAcute + kEuro + "b");
}

TEST(TurnDetector, ArrowsLeftAndRightThenInsert) {
  EXPECT_EQ(prompt_of("fix bug" + repeat(kLeft, 3) + "the " + kRight + kRight + "!\r"),
            "fix the bu!g");
  EXPECT_EQ(prompt_of("ab" + repeat(kLeft, 5) + "<" + repeat(kRight, 5) + ">\r"), "<ab>");
}

TEST(TurnDetector, CtrlBAndCtrlFMoveTheCursor) {
  EXPECT_EQ(prompt_of("fix bug\x02\x02\x02the \x06\x06!\r"), "fix the bu!g");
}

TEST(TurnDetector, CtrlUKillsToTheStartOfTheLine) {
  EXPECT_EQ(prompt_of("oops" + kCtrlU + "fix it\r"), "fix it");
  EXPECT_EQ(prompt_of("hello world" + repeat(kLeft, 5) + "\x15\r"), "world");
}

TEST(TurnDetector, CtrlWDeletesTheBlankSeparatedWordBefore) {
  EXPECT_EQ(prompt_of("git commit -m\x17\x17push\r"), "git push");
  EXPECT_EQ(prompt_of("see src/main.cpp  \x17it\r"), "see it");
}

TEST(TurnDetector, CtrlKKillsToTheEndOfTheLine) {
  EXPECT_EQ(prompt_of("hello world\x01\x06\x06\x06\x06\x06\x0b!\r"), "hello!");
}

TEST(TurnDetector, CtrlAAndCtrlEThenInsertInTheMiddle) {
  EXPECT_EQ(prompt_of("bug" + kCtrlA + "fix the " + kCtrlE + "s\r"), "fix the bugs");
}

TEST(TurnDetector, HomeAndEndInEveryForm) {
  for (std::string home : {"\x1b[H", "\x1b[1~", "\x1b[7~", "\x1bOH", "\x01"}) {
    for (std::string end : {"\x1b[F", "\x1b[4~", "\x1b[8~", "\x1bOF", "\x05"}) {
      EXPECT_EQ(prompt_of(joined({"world", home, "hello ", end, "!\r"})), "hello world!")
          << testing::PrintToString(home) << " " << testing::PrintToString(end);
    }
  }
}

TEST(TurnDetector, ArrowsInApplicationCursorMode) {
  EXPECT_EQ(prompt_of("fix bug\x1bOD\x1bOD\x1bODthe \x1bOC\x1bOC!\r"), "fix the bu!g");
}

TEST(TurnDetector, DeleteKeyAndCtrlDDeleteTheCharacterUnderTheCursor) {
  EXPECT_EQ(prompt_of("xabc\x1b[H\x1b[3~\r"), "abc");
  EXPECT_EQ(prompt_of("xabc\x01\x04\r"), "abc");
  EXPECT_EQ(prompt_of("abc\x1b[3~\x04\r"), "abc");  // at the end: nothing to delete
}

TEST(TurnDetector, WordMovesWithCtrlArrowsAndAltBF) {
  for (const std::string& word_left : {"\x1b[1;5D"s, "\x1b[1;3D"s, kEsc + "b", "\x1bOd"s}) {
    EXPECT_EQ(prompt_of(joined({"one two three", word_left, word_left, "X\r"})), "one Xtwo three")
        << testing::PrintToString(word_left);
  }
  for (const std::string& word_right : {"\x1b[1;5C"s, kEsc + "f", "\x1bOc"s}) {
    EXPECT_EQ(prompt_of(joined({"one two three\x01", word_right, "X\r"})), "oneX two three")
        << testing::PrintToString(word_right);
  }
}

TEST(TurnDetector, AltBackspaceAndAltDDeleteAWord) {
  EXPECT_EQ(prompt_of("hello big-world\x1b\x7f\r"), "hello big-");
  EXPECT_EQ(prompt_of("hello big world" + kCtrlA + kEsc + "d\r"), " big world");
  EXPECT_EQ(prompt_of("hello big world\x01\x1b[3;5~\r"), " big world");
}

TEST(TurnDetector, CtrlYYanksTheLastKilledText) {
  EXPECT_EQ(prompt_of("abc def\x15x \x19\r"), "x abc def");
}

TEST(TurnDetector, CtrlCClearsTheLine) {
  EXPECT_EQ(prompt_of("oops" + kCtrlC + "fix it\r"), "fix it");
  EXPECT_TRUE(feed_once("draft\x03\r").empty());
}

TEST(TurnDetector, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(prompt_of("a\xff" + "b\xc3(c\xed\xa0\x80\r"s),
            "a" + kReplacement + "b" + kReplacement + "(c" + repeat(kReplacement, 3));
}

// --- Newlines inside a prompt ------------------------------------------------------------------

TEST(TurnDetector, AltEnterAndShiftEnterInsertANewline) {
  for (std::string newline : {"\x1b\r", "\x1b[13;2u", "\x1b[27;2;13~", "\x1b[13;3u", "\x1b[13;5u",
                              "\x1b[27;5;13~", "\n"}) {
    TurnDetector detector;
    EXPECT_TRUE(detector.feed("one" + newline + "two", at(0ms)).empty())
        << testing::PrintToString(newline);
    EXPECT_EQ(describe(detector.feed("\r", at(1s))), "[one\ntwo]")
        << testing::PrintToString(newline);
  }
}

TEST(TurnDetector, BackslashThenEnterIsANewline) {
  EXPECT_EQ(prompt_of("one\\\rtwo\r"), "one\ntwo");
}

TEST(TurnDetector, UpAndDownMoveBetweenTheLinesOfAMultiLinePrompt) {
  EXPECT_EQ(describe(feed_once("abc\x1b\rde" + kUp + "X" + kDown + "Y\r")), "[abXc\ndeY]");
}

// --- Bracketed paste ---------------------------------------------------------------------------

TEST(TurnDetector, BracketedPasteKeepsItsNewlinesAndSubmitsOnce) {
  auto submissions = feed_once("\x1b[200~line 1\rline 2\r\nline 3\n\x1b[201~\r");
  EXPECT_EQ(describe(submissions), "[line 1\nline 2\nline 3]");
}

TEST(TurnDetector, PastedTextGoesInAtTheCursor) {
  EXPECT_EQ(prompt_of("please review" + repeat(kLeft, 6) + "\x1b[200~carefully \x1b[201~\r"),
            "please carefully review");
}

TEST(TurnDetector, PastedControlsAndEscapesAreDroppedAndTabsKept) {
  EXPECT_EQ(prompt_of("\x1b[200~a\tb" + kBel + "c\x1b[20x\x1b\x1b[201~\r"), "a\tbc[20x");
}

TEST(TurnDetector, PasteMarkersSplitAtEveryOffset) {
  const std::string stream = "ask: \x1b[200~a\rb\x1b[201~ now\r";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    TurnDetector detector;
    auto submissions =
        feed_chunks(detector, {{stream.substr(0, cut), 0ms}, {stream.substr(cut), 0ms}});
    EXPECT_EQ(describe(submissions), "[ask: a\nb now]") << "cut at " << cut;
  }
}

TEST(TurnDetector, ALargePasteIsTruncatedAndMemoryStaysBounded) {
  TurnDetector detector;
  detector.feed("\x1b[200~", at(0ms));
  for (int i = 0; i < 50; ++i) detector.feed(std::string(4096, 'x'), at(0ms));
  EXPECT_EQ(detector.pending_text().size(), TurnDetector::kMaxPromptBytes);
  auto submissions = detector.feed("\x1b[201~\r", at(0ms));
  ASSERT_EQ(submissions.size(), 1U);
  EXPECT_EQ(submissions[0].text.size(), TurnDetector::kMaxPromptBytes);
  EXPECT_TRUE(submissions[0].truncated);
}

TEST(TurnDetector, TruncationNeverSplitsACodePoint) {
  auto submissions = feed_once("\x1b[200~" + repeat("\xe2\x82\xac", 30000) + "\x1b[201~\r");
  ASSERT_EQ(submissions.size(), 1U);
  EXPECT_TRUE(submissions[0].truncated);
  EXPECT_EQ(submissions[0].text.size() % 3, 0U);
  EXPECT_GT(submissions[0].text.size(), TurnDetector::kMaxPromptBytes - 3);
  EXPECT_EQ(submissions[0].text.substr(submissions[0].text.size() - 3), "\xe2\x82\xac");
}

TEST(TurnDetector, TheNextPromptAfterATruncatedOneIsWhole) {
  TurnDetector detector;
  auto submissions = feed_chunks(
      detector, {{std::string(TurnDetector::kMaxPromptBytes + 10, 'x') + "\r", 0s}, {"ok\r", 2s}});
  ASSERT_EQ(submissions.size(), 2U);
  EXPECT_TRUE(submissions[0].truncated);
  EXPECT_EQ(describe({submissions[1]}), "[ok]");
}

// --- Sequences cut by reads --------------------------------------------------------------------

TEST(TurnDetector, EverySequenceSplitAtEveryByteGivesTheSameResult) {
  const std::string stream =
      "fix\x1b[1;5D\x1b[1;5Cthe\x1bOD\x1bOC\x1b[3~ bug\x1b[13;2ucaf\xc3\xa9\x1b[27;2;13~"
      "\x1b[<0;12;5M\x1b[I\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;22c\x1b[M !!"
      "\x1b[200~pa\rste\x1b[201~\x1b[104u\x1b[104;1:3u\x1b\r\xe2\x82\xac\r";
  const std::string whole = describe(feed_once(stream));
  ASSERT_EQ(whole, "[fixthe bug\ncaf\xc3\xa9\npa\nsteh\n\xe2\x82\xac]");
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    TurnDetector detector;
    auto submissions =
        feed_chunks(detector, {{stream.substr(0, cut), 0ms}, {stream.substr(cut), 0ms}});
    EXPECT_EQ(describe(submissions), whole) << "cut at " << cut;
  }
}

TEST(TurnDetector, EveryByteInItsOwnReadGivesTheSameResult) {
  const std::string stream = "a\x1b[13;2u\xf0\x9f\x91\x8d\x1b[200~x\r\ny\x1b[201~\x1b[D!\r";
  TurnDetector detector;
  std::vector<PromptSubmission> submissions;
  for (char c : stream) {
    auto out = detector.feed(std::string(1, c), at(0ms));
    submissions.insert(submissions.end(), out.begin(), out.end());
  }
  EXPECT_EQ(describe(submissions), describe(feed_once(stream)));
  EXPECT_EQ(describe(submissions), "[a\n\xf0\x9f\x91\x8dx\n!y]");
}

// --- Things that are not typing ----------------------------------------------------------------

TEST(TurnDetector, MouseAndFocusReportsAreIgnored) {
  EXPECT_EQ(prompt_of("fi\x1b[<0;12;5M\x1b[<0;12;5m\x1b[I\x1b[O\x1b[M !!x\x1b[32;5;7M\r"), "fix");
}

TEST(TurnDetector, TheTerminalsRepliesAreIgnored) {
  EXPECT_EQ(prompt_of("a\x1b]11;rgb:1e1e/1e1e/1e1e" + kBel +
                      "b\x1b]10;rgb:ffff/ffff/ffff\x1b\\c"
                      "\x1b[?62;22c\x1b[12;40R\x1b[?1u\x1b[?2026;2$y\x1bP1+r636f6c6f7273=323536"
                      "\x1b\\d\r"),
            "abcd");
}

TEST(TurnDetector, ShiftTabFunctionKeysAndPagingAreIgnored) {
  EXPECT_EQ(prompt_of("a\x1b[Z\x1bOP\x1b[15~\x1b[5~\x1b[6~\x1b[2~\x1b[[Ab\x0c\x1b[1;2A\r"), "ab");
}

TEST(TurnDetector, ALoneEscapeIsIgnored) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"fix\x1b", 0ms}, {" it\r", 1s}})), "[fix it]");
}

TEST(TurnDetector, EscapeFollowedQuicklyByAKeyIsAlt) {
  TurnDetector detector;
  EXPECT_EQ(
      describe(feed_chunks(detector, {{"hello world\x1b", 0ms}, {"b", 10ms}, {"big \r", 1s}})),
      "[hello big world]");
}

TEST(TurnDetector, AltBracketFollowedLaterByTypingIsNotAReply) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"\x1b]", 0ms}, {"fix\r", 1s}})), "[fix]");
  EXPECT_EQ(describe(feed_chunks(detector, {{"\x1b[", 3s}, {"fix\r", 4s}})), "[fix]");
}

TEST(TurnDetector, DoubleEscapeClearsTheLineAndFlagsTheNextPrompt) {
  TurnDetector detector;
  auto submissions = feed_chunks(
      detector, {{"draft", 0ms}, {"\x1b", 100ms}, {"\x1b", 400ms}, {"new prompt\r", 1s}});
  EXPECT_EQ(describe(submissions), "[new prompt]~");
}

TEST(TurnDetector, EscapesFarApartDoNotClear) {
  TurnDetector detector;
  auto submissions = feed_chunks(detector, {{"keep\x1b", 0ms}, {"\x1b", 3s}, {" it\r", 6s}});
  EXPECT_EQ(describe(submissions), "[keep it]");
}

// --- What cannot be known ----------------------------------------------------------------------

TEST(TurnDetector, HistoryRecallOnAnEmptyLineIsAnApproximateEmptySubmission) {
  EXPECT_EQ(describe(feed_once(kUp + "\r")), "[]~");
  EXPECT_EQ(describe(feed_once("\x10\r")), "[]~");  // ^P
  EXPECT_EQ(describe(feed_once("\x1bOA\r")), "[]~");
}

TEST(TurnDetector, HistoryRecallKeepsTheTypedTextButFlagsIt) {
  EXPECT_EQ(describe(feed_once("fix" + kUp + "\r")), "[fix]~");
}

TEST(TurnDetector, UpThenDownReturnsToTheKnownLine) {
  EXPECT_EQ(describe(feed_once("fix" + kUp + kUp + kDown + kDown + "ed\r")), "[fixed]");
}

TEST(TurnDetector, EditingARecalledEntryStaysApproximate) {
  EXPECT_EQ(describe(feed_once("fix" + kUp + "!" + kDown + "\r")), "[fix!]~");
}

TEST(TurnDetector, TabCompletionMakesTheTextApproximate) {
  EXPECT_EQ(describe(feed_once("look at src/ma\t\r")), "[look at src/ma]~");
  EXPECT_EQ(describe(feed_once("\tplain\r")), "[plain]");  // nothing to complete
}

TEST(TurnDetector, OutsideEditsMayHoldTextWeNeverSaw) {
  EXPECT_EQ(describe(feed_once("\x07\r")), "[]~");           // ^G: $EDITOR
  EXPECT_EQ(describe(feed_once(kCtrlR + "fi\r")), "[fi]~");  // ^R: history search
}

TEST(TurnDetector, CtrlCForgetsWhatWasUnknown) {
  EXPECT_TRUE(feed_once(kUp + "\x03\r").empty());
  EXPECT_EQ(describe(feed_once(kUp + "\x03ok\r")), "[ok]");
}

TEST(TurnDetector, FlagsDoNotCarryOverToTheNextPrompt) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"a\t\r", 0s}, {"b\r", 2s}})), "[a]~[b]");
}

// --- Debounce ----------------------------------------------------------------------------------

TEST(TurnDetector, EntersInOneBurstAreContinuations) {
  EXPECT_EQ(describe(feed_once("a\rb\r")), "[a][b]+");
  EXPECT_EQ(describe(feed_once("l1\rl2\rl3\r")), "[l1][l2]+[l3]+");
}

TEST(TurnDetector, BlankLinesOfAnUnbracketedPasteAreKept) {
  EXPECT_EQ(describe(feed_once("para 1\r\r\rpara 2\r")), "[para 1][\n\npara 2]+");
}

TEST(TurnDetector, BlankLinesAtTheEndOfABurstAreDropped) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"a\r\r\r", 0s}, {"b\r", 2s}})), "[a][b]");
}

TEST(TurnDetector, EntersASecondApartAreSeparateTurns) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"a\r", 0s}, {"b\r", 1s}})), "[a][b]");
}

TEST(TurnDetector, ADoubleEnterMakesOneTurn) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"a\r", 0ms}, {"\r", 100ms}, {"b\r", 3s}})), "[a][b]");
}

TEST(TurnDetector, TheWindowIsMeasuredFromTheLatestEnter) {
  TurnDetector detector;
  EXPECT_EQ(describe(feed_chunks(detector, {{"a\r", 0ms}, {"b\r", 400ms}, {"c\r", 800ms}})),
            "[a][b]+[c]+");
}

TEST(TurnDetector, TheDebounceIsConfigurable) {
  TurnDetector slow(2s);
  EXPECT_EQ(describe(feed_chunks(slow, {{"a\r", 0s}, {"b\r", 1s}})), "[a][b]+");
  TurnDetector none(0s);
  EXPECT_EQ(describe(none.feed("a\rb\r", at(0s))), "[a][b]");
}

// --- Other encodings of keys -------------------------------------------------------------------

TEST(TurnDetector, KittyKeyboardProtocol) {
  // Codex turns on "disambiguate" and "report event types": Ctrl and Alt keys and Esc come as
  // CSI u, key releases too; with "report all keys", so do letters and Enter.
  EXPECT_EQ(prompt_of("oops\x1b[99;5ufix\x1b[99;5:3u\r"), "fix");
  EXPECT_EQ(prompt_of("\x1b[104u\x1b[104;1:3u\x1b[105u\x1b[105;1:3u\x1b[13u"), "hi");
  EXPECT_EQ(prompt_of("\x1b[97;2u\x1b[49:33;2u\x1b[57399u\x1b[97;;98u\x1b[13u"), "A!b");
  EXPECT_EQ(prompt_of("one two\x1b[127;5u\x1b[98;3uX\x1b[57414u"), "Xone");
  EXPECT_EQ(describe(feed_once("x\x1b[27u\x1b[9;2u\x1b[13;1:3u")), "");
}

TEST(TurnDetector, ModifyOtherKeys) {
  EXPECT_EQ(prompt_of("foo\x1b[27;5;117~bar\x1b[27;5;109~"), "bar");  // Ctrl+U, Ctrl+M
}

TEST(TurnDetector, KeypadInApplicationMode) {
  EXPECT_EQ(prompt_of("\x1bOq\x1bOk\x1bOr\x1bOM"), "1+2");
}

// --- Realistic streams -------------------------------------------------------------------------

TEST(TurnDetector, RealisticStreams) {
  struct Case {
    const char* what;
    std::vector<Chunk> chunks;
    std::string expected;
  };
  auto typed = [](std::string_view keys, Clock::duration start, Clock::duration gap) {
    std::vector<Chunk> chunks;
    Clock::duration when = start;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::size_t length = 1;
      if (keys[i] == '\x1b') length = keys.find_first_of("ABCDFH~", i) - i + 1;
      chunks.push_back({std::string(keys.substr(i, length)), when});
      i += length - 1;
      when += gap;
    }
    return chunks;
  };
  const std::vector<Case> cases = {
      {"tmux send-keys 'fix the bug' Enter", {{"fix the bug", 0ms}, {"\r", 1ms}}, "[fix the bug]"},
      {"tmux 3.3a send-keys, bytes as captured: a typo, BSpace, Left, Home, End, M-Enter, "
       "Escape, C-u, Up, Enter",
       {{"fix teh", 0ms},
        {"\x7f\x7f\x7f", 100ms},
        {"the bug", 200ms},
        {"\x1b[D\x1b[1~\x1b[4~\x1b\r\x1b\x15\x1b[A\r", 300ms}},
       "[fix the bug]"},
      {"a typo, backspaced, at typing speed", typed("fix teh\x7f\x7f\x7fthe bug\r", 0ms, 90ms),
       "[fix the bug]"},
      {"a typo fixed with the arrows", typed("add tset\x1b[D\x1b[D\x7f\x1b[Cs\x1b[F\r", 0ms, 150ms),
       "[add test]"},
      {"Claude Code: a pasted snippet, then the question",
       {{"\x1b[200~def f():\r    return 1\r\x1b[201~", 0ms}, {"why?", 2s}, {"\r", 3s}},
       "[def f():\n    return 1\nwhy?]"},
      {"Codex with kitty keys: Shift+Enter between lines",
       {{"run tests", 0ms}, {"\x1b[13;2u", 1s}, {"and lint", 2s}, {"\r", 3s}},
       "[run tests\nand lint]"},
      {"focus changes, a menu answered with Down and Enter, then a prompt",
       {{"\x1b[O", 0ms}, {"\x1b[I", 5s}, {"\x1b[B", 6s}, {"\r", 7s}, {"next\r", 20s}},
       "[next]"},
      {"two prompts in one session",
       {{"first\r", 0s}, {"second", 30s}, {"\r", 31s}},
       "[first][second]"},
  };
  for (const Case& c : cases) {
    TurnDetector detector;
    EXPECT_EQ(describe(feed_chunks(detector, c.chunks)), c.expected) << c.what;
  }
}
