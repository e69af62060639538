#include <gtest/gtest.h>

#include "tui/palette.hpp"
#include "tui/paste.hpp"
#include "tui/terminal_probe.hpp"

using namespace sddsh::tui;

TEST(PasteSanitizer, MarkersInsideAPasteAreRemoved) {
  PasteSanitizer p;
  EXPECT_EQ(p.filter("a\x1b[201~b\x1b[200~c"), "abc");
  EXPECT_EQ(p.finish(), "");
}

TEST(PasteSanitizer, MarkerSplitAcrossChunksAtEveryPoint) {
  const std::string text = "x\x1b[201~rm -rf ~\n";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    PasteSanitizer p;
    std::string out = p.filter(text.substr(0, cut));
    out += p.filter(text.substr(cut));
    out += p.finish();
    EXPECT_EQ(out, "xrm -rf ~\n") << "cut at " << cut;
  }
}

TEST(PasteSanitizer, MarkerReassembledByRemovingAnotherIsRemovedToo) {
  PasteSanitizer p;
  EXPECT_EQ(p.filter("\x1b[2\x1b[200~01~tail") + p.finish(), "tail");
}

// Found by input_decoder_fuzz: the chunks "1\e[201", "\e[201", "~~" sent "1\e[201~".
TEST(PasteSanitizer, SentTextMeetingTheNextChunkNeverMakesAMarker) {
  PasteSanitizer p;
  std::string out = p.filter("1\x1b[201");
  out += p.filter("\x1b[201");
  out += p.filter("~~");
  out += p.finish();
  EXPECT_EQ(out, "1");  // as "1\x1b[201\x1b[201~~" sent whole: both markers go
  // Nested halves, cut anywhere into three chunks: never a marker, and as if sent whole.
  const std::string text = "x\x1b[20\x1b[20\x1b[200~1~1~ y";
  for (std::size_t first = 0; first <= text.size(); ++first) {
    for (std::size_t second = first; second <= text.size(); ++second) {
      PasteSanitizer chunked;
      std::string sent = chunked.filter(text.substr(0, first));
      sent += chunked.filter(text.substr(first, second - first));
      sent += chunked.filter(text.substr(second));
      sent += chunked.finish();
      EXPECT_EQ(sent, "x y") << "cut at " << first << " and " << second;
    }
  }
}

TEST(PasteSanitizer, HeldPrefixThatIsNotAMarkerIsKept) {
  PasteSanitizer p;
  EXPECT_EQ(p.filter("abc\x1b[20"), "abc");
  EXPECT_EQ(p.filter("x"), "\x1b[20x");
  EXPECT_EQ(p.filter("\x1b"), "");
  EXPECT_EQ(p.finish(), "\x1b");
}

TEST(PasteSanitizer, WholeTextBracketed) {
  EXPECT_EQ(bracketed_paste("a\x1b[201~b"), "\x1b[200~ab\x1b[201~");
}

TEST(TerminalProbe, ParsesColourSpecs) {
  auto c = parse_colour_spec("rgb:ffff/8080/0000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->r, 255);
  EXPECT_EQ(c->g, 128);
  EXPECT_EQ(c->b, 0);
  auto short_form = parse_colour_spec("rgb:f/8/0");
  ASSERT_TRUE(short_form);
  EXPECT_EQ(short_form->r, 255);
  EXPECT_EQ(short_form->g, 136);
  EXPECT_FALSE(parse_colour_spec("rgb:ff/ff"));
  EXPECT_FALSE(parse_colour_spec("#ffffff"));
  EXPECT_FALSE(parse_colour_spec("rgb:fffff/0/0"));
}

TEST(TerminalProbe, TakesRepliesAndKeepsTypedKeys) {
  std::string buffer = "ab\x1b]11;rgb:1010/2020/3030\x1b\\c\x1b]10;rgb:eeee/eeee/eeee\a\x1b[?62;22cdz";
  TerminalColours colours;
  std::string typed;
  EXPECT_TRUE(take_probe_replies(buffer, colours, typed));
  ASSERT_TRUE(colours.background);
  EXPECT_EQ(colours.background->r, 16);
  ASSERT_TRUE(colours.foreground);
  EXPECT_EQ(colours.foreground->g, 238);
  EXPECT_EQ(typed + buffer, "abcdz");
}

TEST(TerminalProbe, SilentTerminalGivesNoColours) {
  std::string buffer = "\x1b[?1;2c";
  TerminalColours colours;
  std::string typed;
  EXPECT_TRUE(take_probe_replies(buffer, colours, typed));
  EXPECT_FALSE(colours.foreground);
  EXPECT_FALSE(colours.background);
  EXPECT_EQ(typed, "");
}

TEST(TerminalProbe, IncompleteReplyWaitsForMore) {
  std::string buffer = "\x1b]11;rgb:00";
  TerminalColours colours;
  std::string typed;
  EXPECT_FALSE(take_probe_replies(buffer, colours, typed));
  EXPECT_EQ(buffer, "\x1b]11;rgb:00");
  buffer += "00/0000/0000\x1b\\\x1b[?6c";
  EXPECT_TRUE(take_probe_replies(buffer, colours, typed));
  EXPECT_TRUE(colours.background);
}

TEST(Palette, NearestColours) {
  EXPECT_EQ(palette_rgb(196), 0xff0000u);
  EXPECT_EQ(palette_rgb(232), 0x080808u);
  EXPECT_EQ(nearest_256(0xff0000), 196);
  EXPECT_EQ(nearest_256(0x808080), 244);
  EXPECT_EQ(nearest_256(0x000000), 16);
  EXPECT_EQ(nearest_ansi(0xfe0101, 16), 9);
  EXPECT_EQ(nearest_ansi(0xfe0101, 8), 1);
}
