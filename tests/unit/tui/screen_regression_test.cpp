// Inputs that once broke the screen model, found by tests/fuzz/screen_fuzz; each stays here.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "tui/screen.hpp"

using sddsh::tui::Screen;

TEST(ScreenRegression, AlternateScreenAfterAResizeOnThePrimary) {
  // Reflow resized only the primary grid; entering the alternate screen then erased rows and
  // columns that its grid did not have (heap overflow under ASan).
  Screen screen({.rows = 30, .cols = 100});
  screen.feed("hello");
  screen.resize(50, 1);
  screen.feed("\x1b[?1049h\x1b[2J\x1b[50;1Hx");
  EXPECT_TRUE(screen.alt_screen());
  EXPECT_EQ(screen.text_lines().size(), 50U);
  EXPECT_EQ(screen.text_lines().back(), "x");
  screen.feed("\x1b[?1049l");
  screen.resize(30, 100);
  EXPECT_EQ(screen.text_lines().size(), 30U);
}

TEST(ScreenRegression, CsiWithMoreParametersThanLibvtermHolds) {
  // libvterm 0.1.4 keeps 16 CSI arguments and writes the 17th over its own state (a bad free at
  // vterm_free under ASan). Up to 16 the sequence works (here: cursor home, so "b" overwrites
  // "a"); beyond, the filter drops it, as tmux ignores what it cannot hold.
  for (int params : {15, 16, 17, 40, 200}) {
    Screen screen({.rows = 28, .cols = 28});
    screen.feed("a\x1b[" + std::string(static_cast<std::size_t>(params - 1), ';') + "Hb");
    screen.feed("\x1b[" + std::string(static_cast<std::size_t>(params - 1), ':') + "1mc");
    EXPECT_EQ(screen.text_lines().front(), params <= 16 ? "bc" : "abc") << params << " parameters";
  }  // the Screen's destructor frees the VTerm: that is where the corruption showed
}

TEST(ScreenRegression, OverlongCsiPassedOnInPartIsCancelled) {
  // Longer than the filter holds (64 bytes), so its start already went to libvterm when the
  // 17th argument shows up: libvterm must be told to drop it.
  Screen screen({.rows = 10, .cols = 40});
  screen.feed("a\x1b[" + std::string(70, '1') + std::string(20, ';') + "Hb");
  EXPECT_EQ(screen.text_lines().front(), "ab");
}

TEST(ScreenRegression, BrokenEscapeDoesNotHideACsiFromTheFilter) {
  // ESC followed by an 8-bit byte: the filter took the escape as over while libvterm read the
  // following '[' as a CSI whose 17 arguments then went uncounted. Broken escapes are dropped.
  Screen screen({.rows = 10, .cols = 40});
  screen.feed("a\x1b\xcf[" + std::string(17, ':') + "5[b");
  EXPECT_EQ(screen.text_lines().front().substr(0, 1), "a");
  EXPECT_NE(screen.text_lines().front().find('b'), std::string::npos);
}

TEST(ScreenRegression, RepeatBeforeAnyTextIsDropped) {
  // libvterm 0.1.4's REP before any character was drawn repeats uninitialised memory and can
  // loop for good (found by the screen fuzzer as a timeout). After text it works as usual.
  for (int i = 0; i < 50; ++i) {
    Screen screen({.rows = 51, .cols = 60});
    screen.feed("\x1b[b\x1b[3b");
    EXPECT_EQ(screen.text_lines().front(), "");
  }
  Screen screen({.rows = 5, .cols = 20});
  screen.feed("x\x1b[3b");
  EXPECT_EQ(screen.text_lines().front(), "xxxx");
}

TEST(ScreenRegression, RepeatAfterAGlyphOfWidthZeroIsDropped) {
  // A combining mark with nothing to join (at the start, or after a cursor move) is drawn as a
  // glyph of width 0, and 0.1.4's REP repeats it without ever moving on: it looped for good
  // (found by screen_state_fuzz as a timeout). So did an over-long REP before any text, which
  // went past the filter's hold. The REP is dropped, as xterm ignores it; later ones work.
  const std::string long_rep = "\x1b[" + std::string(80, '0') + "3b";
  const std::pair<std::string, std::string> cases[] = {
      {"\xcc\x81\x1b[3bz", "\xcc\x81z"},
      {"x\x1b[5G\xcc\x81\x1b[3by\x1b[2b", "x\x1b[5G\xcc\x81yyy"},
      {long_rep + "z", "z"},
      {"x\x1b[5G\xcc\x81" + long_rep + "y" + long_rep, "x\x1b[5G\xcc\x81yyyy"},
  };
  for (const auto& [with_rep, as_if] : cases) {
    Screen screen({.rows = 5, .cols = 20});
    screen.feed(with_rep);
    Screen expected({.rows = 5, .cols = 20});
    expected.feed(as_if);
    EXPECT_EQ(screen.text_lines(), expected.text_lines());
  }
}

TEST(ScreenRegression, C1ControlsSentAsUtf8AreReplaced) {
  // 0.1.4 drew U+0080..U+009F as a glyph of width -1: the cursor stepped back, and in insert
  // mode on a one-column screen the line shifted from column -1 (a heap read before the row's
  // cells under ASan, found by screen_fuzz). Each becomes U+FFFD, also across C0 controls, which
  // libvterm's decoder keeps a character through.
  Screen narrow({.rows = 40, .cols = 1});
  narrow.feed("\x1b[4h\xc2\x81?");
  EXPECT_EQ(narrow.text_lines()[0], "\xef\xbf\xbd");
  EXPECT_EQ(narrow.text_lines()[1], "?");
  Screen screen({.rows = 5, .cols = 20});
  screen.feed("ab\xc2\x85" "cd\r\n" "a\xc2\r\x9f" "b\r\n\xc2\xa9");
  EXPECT_EQ(screen.text_lines()[0], "ab\xef\xbf\xbd" "cd");
  EXPECT_EQ(screen.text_lines()[1], "\xef\xbf\xbd" "b");
  EXPECT_EQ(screen.text_lines()[2], "\xc2\xa9");  // U+00A9 is no control
}

TEST(ScreenRegression, DoubleWidthLineOnAOneColumnScreen) {
  // 0.1.4 gives a double-width line on a one-column screen a width of 0 and puts its cursor at
  // column -1; a cursor saved there comes back after a resize, and a glyph inserted there moved
  // cells from column -1 (a heap read before the row's cells under ASan, found by screen_fuzz).
  Screen saved({.rows = 3, .cols = 1});
  saved.feed("\x1b#6\x1b[4h\x1b" "7");
  saved.resize(3, 4);
  saved.feed("\x1b" "8;");
  Screen alternate({.rows = 1, .cols = 1});
  alternate.feed("\x1b#3\x1b[4h\x1b[?1049h");
  alternate.resize(1, 2);
  alternate.feed(";");
  for (const Screen* screen : {&saved, &alternate}) {
    EXPECT_GE(screen->cursor().col, 0);
    EXPECT_LT(screen->cursor().col, screen->cols());
    EXPECT_EQ(static_cast<int>(screen->text_lines().size()), screen->rows());
  }
}

TEST(ScreenRegression, CsiAfterEscapeIntermediatesIsACsi) {
  // 0.1.4 starts a CSI on "ESC <intermediates> [", forgetting the intermediates; the filter took
  // it for a charset designation and what followed for text, so "ESC / [ b" went by as a REP
  // with nothing drawn, which looped for good (found by screen_fuzz as a timeout).
  Screen tiny({.rows = 1, .cols = 1});
  tiny.feed("\x1b/[b");
  EXPECT_EQ(tiny.text_lines().front(), "");
  Screen screen({.rows = 5, .cols = 20});
  screen.feed("ab\x1b([3b\x1b)[2Cx\r\n\x1b*[" + std::string(20, ';') + "Hy");
  EXPECT_EQ(screen.text_lines()[0], "abbbb  x");
  EXPECT_EQ(screen.text_lines()[1], "y");  // 21 arguments: dropped, as after a plain CSI
}

TEST(ScreenRegression, SequenceCutByAnEscapeLeavesLibvtermInItsGroundState) {
  // An ESC cut a sequence short, and the one it began was a REP the filter drops; libvterm had
  // been given the unfinished start and read the text after it as its end, "[b" as a REP of a
  // glyph of width zero, which never ended (found by screen_fuzz as a timeout).
  Screen escape({.rows = 2, .cols = 10});
  escape.feed(std::string("\x1b\0\0\x10\x1b/[b[bok", 13));
  EXPECT_EQ(escape.text_lines().front(), "[bok");
  Screen csi({.rows = 2, .cols = 10});
  csi.feed("\x1b[12\r\x1b[b[bok");  // the CR inside the cut CSI is still obeyed
  EXPECT_EQ(csi.text_lines().front(), "[bok");
  Screen streaming({.rows = 2, .cols = 10});
  streaming.feed("\x1b[" + std::string(200, '1') + "\x1b[b[bok");  // a CSI too long to hold
  EXPECT_EQ(streaming.text_lines().front(), "[bok");
}

TEST(ScreenRegression, RepOfACombiningMarkAfterEscapeIntermediates) {
  // screen_fuzz's timeout, in short: "ESC - [ 2 b" after a combining mark was a REP of width
  // zero that the filter never saw.
  Screen screen({.rows = 2, .cols = 10});
  screen.feed("\xcc\x81\x1b-[2bx");
  EXPECT_EQ(screen.text_lines().front(), "x");  // the mark has no base; the REP is dropped
}
