#include "tui/vt_filter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sddsh::tui {
namespace {

struct RecordingSink final : VtFilterSink {
  void forward(std::string_view bytes) override { forwarded += bytes; }
  void reply(std::string_view bytes) override { replies += bytes; }
  std::string forwarded;
  std::string replies;
};

VtFilter make_filter() { return VtFilter(Rgb{240, 240, 240}, Rgb{0, 0, 0}); }

// A sink whose libvterm has no glyph REP could repeat (see Screen's).
struct NoGlyphSink final : VtFilterSink {
  void forward(std::string_view bytes) override { forwarded += bytes; }
  void reply(std::string_view) override {}
  bool can_repeat() const override { return false; }
  std::string forwarded;
};

TEST(VtFilter, RepeatOnlyWhereTheSinkCanRepeat) {
  VtFilter filter = make_filter();
  NoGlyphSink sink;
  filter.feed("x\x1b[3by", sink);
  EXPECT_EQ(sink.forwarded, "xy");
  // Over-long, its start went to libvterm already: cancelled there (CAN) instead of ended.
  sink.forwarded.clear();
  filter.feed("\x1b[" + std::string(80, '0') + "3bz", sink);
  EXPECT_EQ(sink.forwarded, "\x1b[" + std::string(80, '0') + "3\x18z");
}

TEST(VtFilter, C1ControlsInUtf8TextBecomeReplacementCharacters) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("a\xc2\x9b" "b\xc2\r\n\x85" "c\xc2\xa0", sink);
  EXPECT_EQ(sink.forwarded, "a\xef\xbf\xbd" "b\r\n\xef\xbf\xbd" "c\xc2\xa0");
}

TEST(VtFilter, CsiOscAndDcsAfterEscapeIntermediatesLoseTheIntermediates) {
  // As 0.1.4 reads them: "ESC ( [" starts a CSI, "ESC ( ]" an OSC, "ESC # P" a DCS.
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b([2Cx\x1b(]0;t\x07y\x1b#Pq\x1b\\z", sink);
  EXPECT_EQ(sink.forwarded, "\x1b[2Cx\x1b]0;t\x07y\x1bPq\x1b\\z");
}

TEST(VtFilter, AnEscapeDropsTheUnfinishedSequenceButNotItsControls) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b(\x1b[1;2\r\x1b[Ax", sink);
  EXPECT_EQ(sink.forwarded, "\r\x1b[Ax");
}

TEST(VtFilter, SplitsMultiParameterDecSet) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("a\x1b[?1049;2004hb\x1b[?1;1004l", sink);
  EXPECT_EQ(sink.forwarded, "a\x1b[?1049h\x1b[?2004hb\x1b[?1l\x1b[?1004l");
  EXPECT_TRUE(filter.modes().bracketed_paste);
  EXPECT_FALSE(filter.modes().focus_reporting);
}

TEST(VtFilter, EverySplitPointGivesTheSameResult) {
  const std::string input = "x\x1b[?1049;2004;1004;1hy\x1b]11;?\x1b\\z\x1b[?u";
  RecordingSink whole_sink;
  VtFilter whole = make_filter();
  whole.feed(input, whole_sink);
  ASSERT_EQ(whole_sink.forwarded, "x\x1b[?1049h\x1b[?2004h\x1b[?1004h\x1b[?1hyz");
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    VtFilter filter = make_filter();
    RecordingSink sink;
    filter.feed(std::string_view(input).substr(0, cut), sink);
    filter.feed(std::string_view(input).substr(cut), sink);
    EXPECT_EQ(sink.forwarded, whole_sink.forwarded) << "cut at " << cut;
    EXPECT_EQ(sink.replies, whole_sink.replies) << "cut at " << cut;
    EXPECT_EQ(filter.modes(), whole.modes()) << "cut at " << cut;
  }
}

TEST(VtFilter, ByteAtATimeGivesTheSameResult) {
  const std::string input = "\x1b[?2026h\x1b[?2026$p\x1b]10;?\x07\x1b[31mhi\x1b[?1049;2004h";
  VtFilter filter = make_filter();
  RecordingSink sink;
  for (char c : input) filter.feed(std::string_view(&c, 1), sink);
  EXPECT_EQ(sink.forwarded, "\x1b[31mhi\x1b[?1049h\x1b[?2004h");
  EXPECT_EQ(sink.replies, "\x1b[?2026;1$y\x1b]10;rgb:f0f0/f0f0/f0f0\x07");
}

TEST(VtFilter, AnswersColourQueriesInTheQueryTerminator) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b]10;?\x07", sink);
  EXPECT_EQ(sink.replies, "\x1b]10;rgb:f0f0/f0f0/f0f0\x07");
  sink.replies.clear();
  filter.feed("\x1b]11;?\x1b\\", sink);
  EXPECT_EQ(sink.replies, "\x1b]11;rgb:0000/0000/0000\x1b\\");
  EXPECT_EQ(sink.forwarded, "");  // answered here, never seen by libvterm
}

TEST(VtFilter, UnknownColoursLeaveColourQueriesUnanswered) {
  VtFilter filter(std::nullopt, std::nullopt);
  RecordingSink sink;
  filter.feed("\x1b]10;?\x07\x1b]11;?\x1b\\x", sink);
  EXPECT_EQ(sink.replies, "");
  EXPECT_EQ(sink.forwarded, "x");  // swallowed: libvterm would not answer either
}

TEST(VtFilter, ColourQueriesWaitUntilTheColoursAreSettled) {
  VtFilter filter(std::nullopt, std::nullopt);
  filter.hold_colour_queries();
  RecordingSink sink;
  filter.feed("\x1b]11;?\x07\x1b]10;?\x1b\\", sink);
  EXPECT_EQ(sink.replies, "");
  filter.settle_colours(Rgb{1, 2, 3}, Rgb{0x10, 0x20, 0x30}, sink);
  EXPECT_EQ(sink.replies, "\x1b]11;rgb:1010/2020/3030\x07\x1b]10;rgb:0101/0202/0303\x1b\\");
  sink.replies.clear();
  filter.feed("\x1b]11;?\x07", sink);  // settled: answered at once
  EXPECT_EQ(sink.replies, "\x1b]11;rgb:1010/2020/3030\x07");
}

TEST(VtFilter, HeldColourQueriesAreDroppedWhenNothingIsKnown) {
  VtFilter filter(std::nullopt, std::nullopt);
  filter.hold_colour_queries();
  RecordingSink sink;
  filter.feed("\x1b]11;?\x07", sink);
  filter.settle_colours(std::nullopt, std::nullopt, sink);
  EXPECT_EQ(sink.replies, "");
}

TEST(VtFilter, PassesOtherOscThrough) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b]0;title\x07\x1b]52;c;aGk=\x1b\\\x1b]10;red\x07", sink);
  EXPECT_EQ(sink.forwarded, "\x1b]0;title\x07\x1b]52;c;aGk=\x1b\\\x1b]10;red\x07");
  EXPECT_EQ(sink.replies, "");
}

TEST(VtFilter, KittyKeyboardQueryAndPushPop) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b[>1u\x1b[?u\x1b[<u\x1b[=1;1u\x1b[u", sink);
  EXPECT_EQ(sink.replies, "\x1b[?0u");
  EXPECT_EQ(sink.forwarded, "\x1b[u");  // plain CSI u (restore cursor) still reaches libvterm
}

TEST(VtFilter, SynchronizedOutputTrackedAndReported) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b[?2026$p", sink);
  EXPECT_EQ(sink.replies, "\x1b[?2026;2$y");
  filter.feed("\x1b[?2026h", sink);
  EXPECT_TRUE(filter.modes().synchronized_output);
  filter.feed("\x1b[?2026$p", sink);
  EXPECT_EQ(sink.replies, "\x1b[?2026;2$y\x1b[?2026;1$y");
  filter.feed("\x1b[?2026l", sink);
  EXPECT_FALSE(filter.modes().synchronized_output);
  EXPECT_EQ(sink.forwarded, "");
}

TEST(VtFilter, ResetClearsTrackedModes) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b[?2004;1h", sink);
  ASSERT_TRUE(filter.modes().bracketed_paste);
  filter.feed("\x1b" "c", sink);
  EXPECT_EQ(filter.modes(), TrackedModes{});
}

TEST(VtFilter, GarbageNeverGrowsTheHeldBuffer) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  filter.feed("\x1b[", sink);
  filter.feed(std::string(10000, '1'), sink);
  EXPECT_LE(filter.held_bytes(), VtFilter::kMaxHeld);
  filter.feed("m", sink);
  EXPECT_EQ(sink.forwarded.size(), 2u + 10000u + 1u);
  // An endless string is dropped, not buffered without bound.
  filter.feed("\x1b]52;c;", sink);
  for (int i = 0; i < 3; ++i) {
    filter.feed(std::string(VtFilter::kMaxString / 2, 'A'), sink);
    EXPECT_LE(filter.held_bytes(), VtFilter::kMaxString);
  }
  filter.feed("\x07ok", sink);
  EXPECT_EQ(filter.held_bytes(), 0u);
  EXPECT_TRUE(sink.forwarded.ends_with("mok"));
}

TEST(VtFilter, StringsReachLibvtermInOneWrite) {
  struct CountingSink final : VtFilterSink {
    void forward(std::string_view bytes) override { writes.emplace_back(bytes); }
    void reply(std::string_view) override {}
    std::vector<std::string> writes;
  } sink;
  VtFilter filter = make_filter();
  for (char c : std::string("\x1b]2;a title\x1b\\")) filter.feed(std::string_view(&c, 1), sink);
  ASSERT_EQ(sink.writes.size(), 1u);
  EXPECT_EQ(sink.writes[0], "\x1b]2;a title\x1b\\");
}

TEST(VtFilter, EscapeInsideStringsStartsANewSequence) {
  VtFilter filter = make_filter();
  RecordingSink sink;
  // A DCS cut short by a CSI: the kitty query after it must still be answered.
  filter.feed("\x1bPq\x1b[?u", sink);
  EXPECT_EQ(sink.replies, "\x1b[?0u");
}

}  // namespace
}  // namespace sddsh::tui
