#include "shell/mode_tracker.hpp"

#include <gtest/gtest.h>

using sddsh::shell::ModeTracker;

TEST(ModeTracker, CleanOutputNeedsNoReset) {
  ModeTracker t;
  t.observe("hello \x1b[1;31mworld\x1b[0m\r\n");
  EXPECT_EQ(t.reset_sequence(), "");
  EXPECT_FALSE(t.take_changed());
}

TEST(ModeTracker, UndoesWhatTheAgentLeftOn) {
  ModeTracker t;
  t.observe("\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[?1000h\x1b[?1006h\x1b[?1004h");
  EXPECT_TRUE(t.take_changed());
  EXPECT_EQ(t.reset_sequence(),
            "\x1b[?1000l\x1b[?1006l\x1b[?1004l\x1b[?2004l\x1b[?1049l\x1b[?25h");
}

TEST(ModeTracker, ModesTurnedOffAgainNeedNoReset) {
  ModeTracker t;
  t.observe("\x1b[?1049h\x1b[?2004h");
  t.observe("\x1b[?2004l\x1b[?1049l");
  EXPECT_EQ(t.reset_sequence(), "");
}

TEST(ModeTracker, MultiParameterSetCountsEveryMode) {
  ModeTracker t;
  t.observe("\x1b[?1049;2004h");
  EXPECT_EQ(t.reset_sequence(), "\x1b[?2004l\x1b[?1049l");
}

TEST(ModeTracker, SequenceSplitAtEveryByteIsStillSeen) {
  const std::string seq = "\x1b[?2004h";
  for (std::size_t cut = 1; cut < seq.size(); ++cut) {
    ModeTracker t;
    t.observe(seq.substr(0, cut));
    t.observe(seq.substr(cut));
    EXPECT_EQ(t.reset_sequence(), "\x1b[?2004l") << "cut at " << cut;
  }
}

TEST(ModeTracker, KittyKeyboardPushesArePopped) {
  ModeTracker t;
  t.observe("\x1b[>1u\x1b[>5u\x1b[>1u\x1b[<u");
  EXPECT_EQ(t.reset_sequence(), "\x1b[<2u");
}

// Found by mode_tracker_fuzz: a negative count made the depth overflow (undefined behaviour).
TEST(ModeTracker, KittyKeyboardPopOfANegativeCountPopsOne) {
  ModeTracker t;
  t.observe("\x1b[>1u\x1b[>1u\x1b[<-2000000000u");
  EXPECT_EQ(t.reset_sequence(), "\x1b[<1u");
  t.observe("\x1b[<-2000000000u\x1b[<-2000000000u");
  EXPECT_EQ(t.reset_sequence(), "");
}

TEST(ModeTracker, KeypadCursorKeysAndCursorShape) {
  ModeTracker t;
  t.observe("\x1b=\x1b[?1h\x1b[5 q\x1b[>4;2m");
  EXPECT_EQ(t.reset_sequence(), "\x1b[>4m\x1b[?1l\x1b>\x1b[0 q");
}

TEST(ModeTracker, FullResetForgetsEverything) {
  ModeTracker t;
  t.observe("\x1b[?1049h\x1b[?25l\x1b" "c");
  EXPECT_EQ(t.reset_sequence(), "");
}

TEST(ModeTracker, OverlongGarbageIsDropped) {
  ModeTracker t;
  t.observe("\x1b[?" + std::string(10000, '1') + "h");
  t.observe("\x1b[?25l");
  EXPECT_EQ(t.reset_sequence(), "\x1b[?25h");
}
