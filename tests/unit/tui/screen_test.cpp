#include "tui/screen.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sddsh::tui {
namespace {

struct ScreenWithOutput {
  explicit ScreenWithOutput(int rows = 5, int cols = 20, std::size_t scrollback = 10000)
      : screen({.rows = rows, .cols = cols, .scrollback_limit = scrollback},
               [this](std::string_view bytes) { output += bytes; }) {}
  std::string output;
  Screen screen;
};

TEST(ScreenQueries, DeviceAttributesAndCursorPosition) {
  ScreenWithOutput s;
  s.screen.feed("\x1b[c");
  EXPECT_EQ(s.output, "\x1b[?1;2c");
  s.output.clear();
  s.screen.feed("ab\r\nc\x1b[6n");
  EXPECT_EQ(s.output, "\x1b[2;2R");
}

TEST(ScreenQueries, ColourQueriesBothTerminators) {
  ScreenWithOutput s;
  s.screen.feed("\x1b]11;?\x07");
  EXPECT_EQ(s.output, "\x1b]11;rgb:0000/0000/0000\x07");
  s.output.clear();
  s.screen.feed("\x1b]10;?\x1b\\");
  EXPECT_EQ(s.output, "\x1b]10;rgb:f0f0/f0f0/f0f0\x1b\\");
}

TEST(ScreenQueries, KittyAndSynchronizedOutput) {
  ScreenWithOutput s;
  s.screen.feed("\x1b[?u\x1b[?2026$p");
  EXPECT_EQ(s.output, "\x1b[?0u\x1b[?2026;2$y");
  s.screen.feed("\x1b[?2026h");
  EXPECT_TRUE(s.screen.synchronized_output());
  s.screen.feed("\x1b[?2026l");
  EXPECT_FALSE(s.screen.synchronized_output());
}

TEST(ScreenQueries, AnswersKeepTheirOrder) {
  ScreenWithOutput s;
  s.screen.feed("\x1b[?u\x1b[c\x1b]11;?\x07\x1b[6n");
  EXPECT_EQ(s.output, "\x1b[?0u\x1b[?1;2c\x1b]11;rgb:0000/0000/0000\x07\x1b[1;1R");
}

TEST(ScreenModes, MultiParameterDecSetReachesLibvterm) {
  ScreenWithOutput s;
  s.screen.feed("main\x1b[?1049;2004;1004;1h");
  EXPECT_TRUE(s.screen.alt_screen());  // 0.1.4 alone would drop everything after 1049
  EXPECT_TRUE(s.screen.bracketed_paste());
  EXPECT_TRUE(s.screen.focus_reporting());
  EXPECT_TRUE(s.screen.app_cursor_keys());
  s.screen.focus_changed(true);
  EXPECT_EQ(s.output, "\x1b[I");
  s.screen.feed("\x1b[?1049;2004l");
  EXPECT_FALSE(s.screen.alt_screen());
  EXPECT_FALSE(s.screen.bracketed_paste());
  EXPECT_EQ(s.screen.text_lines()[0], "main");
}

TEST(ScreenModes, EverySplitOfDecSetTakesEffect) {
  const std::string input = "\x1b[?1049;2004;1000h";
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    ScreenWithOutput s;
    s.screen.feed(std::string_view(input).substr(0, cut));
    s.screen.feed(std::string_view(input).substr(cut));
    EXPECT_TRUE(s.screen.alt_screen()) << cut;
    EXPECT_TRUE(s.screen.bracketed_paste()) << cut;
    EXPECT_EQ(s.screen.mouse_mode(), MouseMode::Click) << cut;
  }
}

TEST(ScreenMouse, NoReportsUntilTheAgentAsks) {
  ScreenWithOutput s;
  EXPECT_FALSE(s.screen.mouse_button(1, true, 2, 3));
  EXPECT_FALSE(s.screen.mouse_move(1, 1));
  EXPECT_EQ(s.output, "");
  s.screen.feed("\x1b[?1000;1006h");
  EXPECT_TRUE(s.screen.mouse_button(1, true, 2, 3));
  EXPECT_EQ(s.output, "\x1b[<0;4;3M");
  s.output.clear();
  s.screen.feed("\x1b[?1000l");
  EXPECT_EQ(s.screen.mouse_mode(), MouseMode::None);
  EXPECT_FALSE(s.screen.mouse_button(1, false, 2, 3));
  EXPECT_EQ(s.output, "");
}

TEST(ScreenEvents, BellNotificationsClipboardTitle) {
  ScreenWithOutput s;
  s.screen.feed("\x07\x1b]9;build done\x07\x1b]9;4;1;50\x07\x1b]777;notify;Codex;hi\x1b\\");
  s.screen.feed("\x1b]52;c;aGVsbG8=\x07\x1b]52;c;?\x07\x1b]2;my title\x07");
  const auto events = s.screen.take_events();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].kind, ScreenEvent::Kind::Bell);
  EXPECT_EQ(events[1].kind, ScreenEvent::Kind::Notification);
  EXPECT_EQ(events[1].text, "build done");
  EXPECT_EQ(events[2].kind, ScreenEvent::Kind::Notification);
  EXPECT_EQ(events[2].detail, "Codex");
  EXPECT_EQ(events[2].text, "hi");
  EXPECT_EQ(events[3].kind, ScreenEvent::Kind::Clipboard);
  EXPECT_EQ(events[3].detail, "c");
  EXPECT_EQ(events[3].text, "aGVsbG8=");
  EXPECT_EQ(events[4].kind, ScreenEvent::Kind::TitleChanged);
  EXPECT_EQ(s.screen.title(), "my title");
  EXPECT_TRUE(s.screen.take_events().empty());
  EXPECT_EQ(s.output, "");  // the clipboard read (52;c;?) is never answered
}

TEST(ScreenCells, AttributesAndColours) {
  ScreenWithOutput s;
  s.screen.feed("\x1b[1;3;4;7;9;5;31;48;5;200mA\x1b[0;38;2;1;2;3mB\x1b[0mC");
  const Cell& a = s.screen.cell(0, 0);
  EXPECT_TRUE(a.pen.attrs.bold && a.pen.attrs.italic && a.pen.attrs.reverse &&
              a.pen.attrs.strike && a.pen.attrs.blink);
  EXPECT_EQ(a.pen.attrs.underline, Underline::Single);
  EXPECT_EQ(a.pen.fg, Color::indexed(1));
  EXPECT_EQ(a.pen.bg, Color::indexed(200));
  EXPECT_EQ(s.screen.cell(0, 1).pen.fg, Color::rgb(1, 2, 3));
  EXPECT_TRUE(s.screen.cell(0, 1).pen.bg.is_default());
  EXPECT_TRUE(s.screen.cell(0, 2).pen.fg.is_default());
  EXPECT_FALSE(s.screen.cell(0, 2).pen.attrs.bold);
}

TEST(ScreenCells, CursorShapeAndVisibility) {
  ScreenWithOutput s;
  s.screen.feed("\x1b[3;4H\x1b[?25l\x1b[6 q");
  EXPECT_EQ(s.screen.cursor().row, 2);
  EXPECT_EQ(s.screen.cursor().col, 3);
  EXPECT_FALSE(s.screen.cursor().visible);
  EXPECT_EQ(s.screen.cursor().shape, CursorShape::BarLeft);
}

TEST(ScreenCells, WideAndCombiningCharacters) {
  ScreenWithOutput s;
  s.screen.feed("a\u4E00b e\u0301\u0323x");
  EXPECT_EQ(s.screen.cell(0, 1).width, 2);
  EXPECT_TRUE(s.screen.cell(0, 2).is_wide_tail());
  EXPECT_EQ(s.screen.cell(0, 3).ch, U'b');
  EXPECT_EQ(s.screen.cell_text(0, 5), U"e\u0301\u0323");
  EXPECT_EQ(s.screen.text_lines()[0], "a\u4E00b e\u0301\u0323x");
  // Overwriting half of a wide character blanks the other half, as tmux shows it.
  s.screen.feed("\x1b[1;3HZ");
  EXPECT_EQ(s.screen.text_lines()[0], "a Zb e\u0301\u0323x");
  s.screen.feed("\x1b[1;6Hq");  // overwriting the combined cell drops its marks
  EXPECT_EQ(s.screen.text_lines()[0], "a Zb qx");
}

TEST(ScreenCells, SelectiveEraseKeepsProtectedCells) {
  ScreenWithOutput s;
  s.screen.feed("ab\x1b[1\"qcd\x1b[0\"qef\x1b[?2K");
  EXPECT_EQ(s.screen.text_lines()[0], "  cd");
  s.screen.feed("\x1b[2K");
  EXPECT_EQ(s.screen.text_lines()[0], "");
}

TEST(ScreenScrollback, KeepsLinesScrolledOffTheTop) {
  ScreenWithOutput s(3, 10);
  s.screen.feed("one\r\ntwo\r\nthree\r\nfour\r\nfive");
  EXPECT_EQ(s.screen.scrollback_text_lines(), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"three", "four", "five"}));
}

TEST(ScreenScrollback, BoundedByTheLimit) {
  ScreenWithOutput s(2, 10, 3);
  for (int i = 0; i < 10; ++i) s.screen.feed(std::to_string(i) + "\r\n");
  EXPECT_EQ(s.screen.scrollback_text_lines(), (std::vector<std::string>{"6", "7", "8"}));
}

TEST(ScreenScrollback, NothingFromAlternateScreenOrLowerRegions) {
  ScreenWithOutput s(4, 10);
  s.screen.feed("\x1b[?1049h");
  for (int i = 0; i < 6; ++i) s.screen.feed("alt\r\n");
  s.screen.feed("\x1b[?1049l\x1b[2;4r\x1b[4;1H");
  for (int i = 0; i < 6; ++i) s.screen.feed("region\r\n");
  EXPECT_EQ(s.screen.scrollback_size(), 0u);
}

TEST(ScreenScrollback, ShrinkPushesAndGrowPullsBack) {
  ScreenWithOutput s(4, 10);
  s.screen.feed("a\r\nb\r\nc\r\nd");
  s.screen.resize(2, 10);
  EXPECT_EQ(s.screen.scrollback_text_lines(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"c", "d"}));
  s.screen.resize(4, 10);
  EXPECT_EQ(s.screen.scrollback_size(), 0u);
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(s.screen.cursor().row, 3);
}

TEST(ScreenResize, ScrollRegionBeyondShrunkScreenIsSafe) {
  // 0.1.4 memmoves a negative size here unless Screen::resize repairs the region.
  ScreenWithOutput s(12, 20);
  s.screen.feed("\x1b[8;11r\x1b[11;1H\x1b" "7");
  s.screen.resize(5, 20);
  for (int i = 0; i < 20; ++i) s.screen.feed("x\r\n");
  s.screen.feed("\x1b" "8end");
  EXPECT_EQ(s.screen.rows(), 5);
  EXPECT_LT(s.screen.cursor().row, 5);
  EXPECT_EQ(s.screen.text_lines()[static_cast<std::size_t>(s.screen.cursor().row)].substr(0, 3),
            "end");
}

TEST(ScreenResize, ResizeOnAlternateScreen) {
  ScreenWithOutput s(4, 10);
  s.screen.feed("primary\x1b[?1049h\x1b[2;1Halt");
  s.screen.resize(6, 8);
  EXPECT_EQ(s.screen.text_lines()[1], "alt");
  s.screen.resize(3, 12);
  s.screen.feed("\x1b[?1049l");
  EXPECT_EQ(s.screen.rows(), 3);
  EXPECT_EQ(s.screen.text_lines()[0], "primary");
}

TEST(ScreenDamage, ReportsChangedRowsOnce) {
  ScreenWithOutput s(5, 10);
  (void)s.screen.take_damage();
  s.screen.feed("\x1b[3;1Hx");
  Damage damage = s.screen.take_damage();
  EXPECT_EQ(damage.rows, std::vector<int>{2});
  EXPECT_TRUE(damage.cursor);
  EXPECT_FALSE(damage.everything);
  EXPECT_TRUE(s.screen.take_damage().empty());
}

TEST(ScreenDamage, FullScrollMarksEveryRowAndCountsTheScroll) {
  ScreenWithOutput s(3, 10);
  s.screen.feed("a\r\nb\r\nc");
  (void)s.screen.take_damage();
  s.screen.feed("\r\nd\r\ne");
  const Damage damage = s.screen.take_damage();
  EXPECT_EQ(damage.rows, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(damage.scrolled_up, 2);
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"c", "d", "e"}));
}

TEST(ScreenDamage, ResizeAndScreenSwitchRepaintEverything) {
  ScreenWithOutput s(3, 10);
  (void)s.screen.take_damage();
  s.screen.feed("\x1b[?1049h");
  EXPECT_TRUE(s.screen.take_damage().everything);
  s.screen.resize(4, 12);
  EXPECT_TRUE(s.screen.take_damage().everything);
}

TEST(ScreenText, TrailingSpacesTrimmedLeadingKept) {
  ScreenWithOutput s(2, 10);
  s.screen.feed("  hi   \x1b[41m   \x1b[0m");
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"  hi", ""}));
}

TEST(ScreenWrap, AutowrapMarksTheLineAndCrLfDoesNot) {
  ScreenWithOutput s(4, 5);
  s.screen.feed("abcdefg\r\n12345\r\nxy");
  EXPECT_TRUE(s.screen.line(0).wrapped());    // autowrap within one text run
  EXPECT_FALSE(s.screen.line(1).wrapped());
  EXPECT_FALSE(s.screen.line(2).wrapped());   // last column, then CR LF: not wrapped
  s.screen.feed("\r\nabcde\x1b[1mf");        // a pen change between the two glyphs
  EXPECT_TRUE(s.screen.line(3).wrapped() || s.screen.scrollback_line(0).wrapped());
}

TEST(ScreenWrap, CursorMoveAfterLastColumnIsNotAWrap) {
  ScreenWithOutput s(4, 5);
  s.screen.feed("abcde\x1b[2;1Hx");
  EXPECT_FALSE(s.screen.line(0).wrapped());
  s.screen.feed("\x1b[3;1H1234\xe4\xb8\xad");  // a wide glyph that no longer fits wraps
  EXPECT_TRUE(s.screen.line(2).wrapped());
}

TEST(ScreenWrap, ClearingTheWholeLineDropsTheFlagPartialEraseKeepsIt) {
  ScreenWithOutput s(4, 5);
  s.screen.feed("abcdefg\x1b[1;3H\x1b[K");
  EXPECT_TRUE(s.screen.line(0).wrapped());
  EXPECT_EQ(s.screen.line(0).used(), 5);  // tmux keeps the extent on a partial erase
  s.screen.feed("\x1b[2K");
  EXPECT_FALSE(s.screen.line(0).wrapped());
  EXPECT_EQ(s.screen.line(0).used(), 0);
}

TEST(ScreenReflow, ShrinkSplitsGrowJoinsCursorFollows) {
  ScreenWithOutput s(4, 10);
  s.screen.feed("0123456789abcde\r\nxy");
  s.screen.resize(4, 5);
  // The blank row under the cursor stays part of the grid, so the top line goes to history.
  EXPECT_EQ(s.screen.scrollback_text_lines(), (std::vector<std::string>{"01234"}));
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"56789", "abcde", "xy", ""}));
  EXPECT_EQ(s.screen.cursor().row, 2);
  EXPECT_EQ(s.screen.cursor().col, 2);
  s.screen.resize(4, 20);
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"0123456789abcde", "xy", "", ""}));
  EXPECT_EQ(s.screen.cursor().row, 1);
  EXPECT_EQ(s.screen.cursor().col, 2);
}

TEST(ScreenReflow, UnwrappedLongLineSplitsAndRejoins) {
  ScreenWithOutput s(3, 10);
  s.screen.feed("abcdefghij\r\nk");
  s.screen.resize(3, 4);
  EXPECT_EQ(s.screen.scrollback_text_lines(), (std::vector<std::string>{"abcd", "efgh"}));
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"ij", "k", ""}));
  s.screen.resize(3, 10);
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"abcdefghij", "k", ""}));
  EXPECT_EQ(s.screen.scrollback_size(), 0u);
}

TEST(ScreenReflow, HeightShrinkDropsRowsBelowTheCursorFirst) {
  ScreenWithOutput s(6, 10);
  s.screen.feed("a\r\nb\r\nc\r\nd\x1b[2;2H");
  s.screen.resize(2, 10);
  EXPECT_EQ(s.screen.text_lines(), (std::vector<std::string>{"a", "b"}));  // as tmux: c, d lost
  EXPECT_EQ(s.screen.scrollback_size(), 0u);
  EXPECT_EQ(s.screen.cursor().row, 1);
}

TEST(ScreenReflow, OffKeepsTruncating) {
  Screen screen({.rows = 2, .cols = 10, .reflow = false});
  screen.feed("0123456789abc");
  screen.resize(2, 5);
  EXPECT_EQ(screen.text_lines(), (std::vector<std::string>{"01234", "abc"}));
}

}  // namespace
}  // namespace sddsh::tui
