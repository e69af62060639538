// Inputs that once broke the screen model, found by tests/fuzz/screen_fuzz; each stays here.
#include <gtest/gtest.h>

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
