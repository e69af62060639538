#include "tui/input_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace sddsh::tui {
namespace {

using Events = std::vector<InputEvent>;

// ---- describing events as short strings, so that expectations read like the protocol ----

std::string escaped(std::string_view bytes) {
  std::string text;
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0x1b) {
      text += "\\e";
    } else if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      text += hex;
    } else {
      text += c;
    }
  }
  return text;
}

std::string kind_name(KeyEvent::Kind kind) {
  static constexpr const char* kNames[] = {
      "Char",  "Enter", "Tab", "BackTab", "Backspace", "Escape", "Up",     "Down", "Left",
      "Right", "Home",  "End", "PageUp",  "PageDown",  "Insert", "Delete", "F",    "Unknown"};
  return kNames[static_cast<int>(kind)];
}

std::string describe(const KeyEvent& key) {
  std::string text = kind_name(key.kind);
  if (key.kind == KeyEvent::Kind::F) text += std::to_string(key.f_number);
  if (key.kind == KeyEvent::Kind::Char) {
    if (key.ch < 0x80) {
      text += "'" + std::string(1, static_cast<char>(key.ch)) + "'";
    } else {
      text += " U+" + std::to_string(static_cast<unsigned>(key.ch));
    }
  }
  if (key.ctrl) text += "+ctrl";
  if (key.alt) text += "+alt";
  if (key.shift) text += "+shift";
  return text;
}

std::string describe(const MouseEvent& mouse) {
  static constexpr const char* kActions[] = {"press", "release", "motion", "wheel-up",
                                             "wheel-down"};
  std::string text = kActions[static_cast<int>(mouse.action)];
  text += " b" + std::to_string(mouse.button) + " r" + std::to_string(mouse.row) + " c" +
          std::to_string(mouse.col);
  if (mouse.shift) text += "+shift";
  if (mouse.alt) text += "+alt";
  if (mouse.ctrl) text += "+ctrl";
  return text;
}

std::string describe(const InputEvent& event) {
  switch (event.kind) {
    case InputEvent::Kind::Bytes:
      return "bytes:" + escaped(event.bytes);
    case InputEvent::Kind::PasteData:
      return "paste:" + escaped(event.bytes);
    case InputEvent::Kind::Key:
      return "key:" + describe(event.key);
    case InputEvent::Kind::Mouse:
      return "mouse:" + describe(event.mouse);
    case InputEvent::Kind::PasteStart:
      return "paste-start";
    case InputEvent::Kind::PasteEnd:
      return "paste-end";
    case InputEvent::Kind::FocusIn:
      return "focus-in";
    case InputEvent::Kind::FocusOut:
      return "focus-out";
    case InputEvent::Kind::Prefix:
      return "prefix";
  }
  return "?";
}

// Consecutive Bytes (or PasteData) are merged: how a stream was cut into reads may split a run.
std::vector<std::string> describe(const Events& events) {
  std::vector<std::string> lines;
  InputEvent::Kind previous = InputEvent::Kind::Prefix;
  for (const InputEvent& event : events) {
    const bool text =
        event.kind == InputEvent::Kind::Bytes || event.kind == InputEvent::Kind::PasteData;
    if (text && !lines.empty() && previous == event.kind) {
      lines.back() += escaped(event.bytes);
    } else {
      lines.push_back(describe(event));
    }
    previous = event.kind;
  }
  return lines;
}

using Lines = std::vector<std::string>;

InputDecoder make_decoder(bool decode_keys) {
  InputDecoder decoder;
  decoder.set_decode_keys(decode_keys);
  return decoder;
}

// Feeds `pieces` one by one, then flushes whatever is held (as the caller's timeout would).
Events feed_pieces(InputDecoder& decoder, const std::vector<std::string>& pieces) {
  Events events;
  for (const std::string& piece : pieces) decoder.feed(piece, events);
  decoder.flush_pending(events);
  return events;
}

Lines decode(std::string_view input, bool decode_keys = false) {
  InputDecoder decoder = make_decoder(decode_keys);
  return describe(feed_pieces(decoder, {std::string(input)}));
}

std::string concat_text(const Events& events, InputEvent::Kind kind) {
  std::string all;
  for (const InputEvent& event : events) {
    if (event.kind == kind) all += event.bytes;
  }
  return all;
}

// ---- pass-through ----

TEST(InputDecoderBytes, PlainTextIsOneBytesEvent) {
  InputDecoder decoder;
  Events events;
  decoder.feed("hello, world\r", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, InputEvent::Kind::Bytes);
  EXPECT_EQ(events[0].bytes, "hello, world\r");
  EXPECT_FALSE(decoder.has_pending());
}

TEST(InputDecoderBytes, KeysThatAreNotOursPassThroughInTheSameRun) {
  // Arrows, SS3 keys, F5, Alt-x, Ctrl-letters and modifyOtherKeys Shift+Enter: all for the agent.
  const std::string input = "a\x1b[Ab\x1bOPc\x1b[15;5~\x1bx\x01\x1b[27;2;13~\x1b[13;2u\x7f";
  InputDecoder decoder;
  Events events;
  decoder.feed(input, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bytes, input);
}

TEST(InputDecoderBytes, LargeUnbracketedPasteIsOneEvent) {
  std::string paste;
  while (paste.size() < 100'000)
    paste += "line of pasted text with\ttabs and \x1b[1mescapes\x1b[0m\r";
  InputDecoder decoder;
  Events events;
  decoder.feed(paste, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bytes, paste);
}

TEST(InputDecoderBytes, LargeUnbracketedPaseInReadSizedChunksIsOneEventPerRead) {
  std::string paste;
  while (paste.size() < 100'000) paste += "some text \x1b[Bmore\r";
  InputDecoder decoder;
  Events events;
  constexpr std::size_t kRead = 4096;
  for (std::size_t pos = 0; pos < paste.size(); pos += kRead)
    decoder.feed(paste.substr(pos, kRead), events);
  decoder.flush_pending(events);
  EXPECT_LE(events.size(), paste.size() / kRead + 2);
  EXPECT_EQ(concat_text(events, InputEvent::Kind::Bytes), paste);
}

TEST(InputDecoderBytes, RunsAreNotMergedIntoEventsOfAnEarlierFeed) {
  InputDecoder decoder;
  Events events;
  decoder.feed("ab", events);
  decoder.feed("cd", events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].bytes, "ab");
  EXPECT_EQ(events[1].bytes, "cd");
}

TEST(InputDecoderBytes, HeldSequenceAndTheRestOfTheReadFormOneRun) {
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b[1;5", events);
  EXPECT_TRUE(events.empty());
  decoder.feed("Axyz", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bytes, "\x1b[1;5Axyz");
}

TEST(InputDecoderBytes, BrokenSequenceIsPassedOnAndTheBreakingByteStillCounts) {
  // A control byte inside a CSI ends it; the prefix byte there is still the prefix key.
  EXPECT_EQ(decode("\x1b[1\x1dz"), (Lines{"bytes:\\e[1", "prefix", "key:Char'z'"}));
  EXPECT_EQ(decode("\x1b[1\rz"), (Lines{"bytes:\\e[1\\x0dz"}));
}

// ---- escape timing ----

TEST(InputDecoderEscape, LoneEscapeIsNotHeld) {
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b", events);
  EXPECT_FALSE(decoder.has_pending());
  EXPECT_EQ(describe(events), (Lines{"bytes:\\e"}));
}

TEST(InputDecoderEscape, EscapeAtTheEndOfALongerReadIsNotHeld) {
  InputDecoder decoder;
  Events events;
  decoder.feed("abc\x1b", events);
  EXPECT_FALSE(decoder.has_pending());
  EXPECT_EQ(describe(events), (Lines{"bytes:abc\\e"}));
}

TEST(InputDecoderEscape, LoneEscapeIsAnEscapeKeyInDecodeMode) {
  InputDecoder decoder = make_decoder(true);
  Events events;
  decoder.feed("\x1b", events);
  EXPECT_FALSE(decoder.has_pending());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key.kind, KeyEvent::Kind::Escape);
  EXPECT_EQ(events[0].key.bytes, "\x1b");
}

TEST(InputDecoderEscape, UnfinishedSequencesAreHeldUntilTheNextRead) {
  for (const char* head :
       {"\x1b[", "\x1bO", "\x1b[<0;12", "\x1b[20", "\x1b[1;", "\x1b[M", "\x1b[M !"}) {
    InputDecoder decoder;
    Events events;
    decoder.feed(head, events);
    EXPECT_TRUE(decoder.has_pending()) << escaped(head);
    EXPECT_TRUE(events.empty()) << escaped(head);
  }
}

TEST(InputDecoderEscape, FlushEmitsHeldBytesUnchanged) {
  InputDecoder decoder;
  Events events;
  decoder.feed("x\x1b[<0;12", events);
  decoder.flush_pending(events);
  EXPECT_FALSE(decoder.has_pending());
  EXPECT_EQ(concat_text(events, InputEvent::Kind::Bytes), "x\x1b[<0;12");
  events.clear();
  decoder.flush_pending(events);  // nothing left
  EXPECT_TRUE(events.empty());
}

TEST(InputDecoderEscape, FlushInDecodeModeGivesAltKeysForTheHeldBytes) {
  EXPECT_EQ(decode("\x1b[", true), (Lines{"key:Char'['+alt"}));
  EXPECT_EQ(decode("\x1bO", true), (Lines{"key:Char'O'+alt"}));
  EXPECT_EQ(decode("\x1b[20", true), (Lines{"key:Char'['+alt", "key:Char'2'", "key:Char'0'"}));
}

TEST(InputDecoderEscape, HeldBytesNeverReachTheCap) {
  // An endless parameter string, in one read and byte by byte: garbage is let go, not hoarded.
  const std::string garbage = "\x1b[" + std::string(500, '1');
  for (bool decode_keys : {false, true}) {
    InputDecoder whole = make_decoder(decode_keys);
    Events events;
    whole.feed(garbage, events);
    EXPECT_FALSE(whole.has_pending());  // 64 bytes let go, the rest is plain text
    InputDecoder bytewise = make_decoder(decode_keys);
    Events bytewise_events;
    std::size_t fed = 0;
    for (char c : garbage) {
      bytewise.feed(std::string(1, c), bytewise_events);
      ++fed;
      std::size_t emitted = concat_text(bytewise_events, InputEvent::Kind::Bytes).size();
      for (const InputEvent& e : bytewise_events) emitted += e.key.bytes.size();
      ASSERT_LT(fed - emitted, InputDecoder::kMaxHeld) << "after " << fed << " bytes";
    }
  }
  EXPECT_EQ(decode(garbage), (Lines{"bytes:" + escaped(garbage)}));
}

// ---- bracketed paste ----

TEST(InputDecoderPaste, MarkersBecomeEventsAndTheTextIsData) {
  EXPECT_EQ(decode("a\x1b[200~pasted\rtext\x1b[201~b"),
            (Lines{"bytes:a", "paste-start", "paste:pasted\\x0dtext", "paste-end", "bytes:b"}));
}

TEST(InputDecoderPaste, NothingIsInterpretedInsideAPaste) {
  const std::string content = "\x1d \x1b[<0;1;1M \x1b[I \x1b[A \x1b[27;5;93~ \x1bx \x1b";
  EXPECT_EQ(decode("\x1b[200~" + content + "\x1b[201~", true),
            (Lines{"paste-start", "paste:" + escaped(content), "paste-end"}));
}

TEST(InputDecoderPaste, NestedStartMarkerIsDropped) {
  EXPECT_EQ(decode("\x1b[200~ab\x1b[200~cd\x1b[201~"),
            (Lines{"paste-start", "paste:abcd", "paste-end"}));
}

TEST(InputDecoderPaste, StrayEndMarkerOutsideAPasteIsDropped) {
  EXPECT_EQ(decode("a\x1b[201~b"), (Lines{"bytes:ab"}));
}

TEST(InputDecoderPaste, PartialEndMarkerIsHeldNotEmitted) {
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b[200~abc\x1b[20", events);
  EXPECT_TRUE(decoder.has_pending());
  EXPECT_EQ(describe(events), (Lines{"paste-start", "paste:abc"}));
  events.clear();
  decoder.feed("1~x", events);
  EXPECT_EQ(describe(events), (Lines{"paste-end", "bytes:x"}));
}

TEST(InputDecoderPaste, EscapeAtTheEndOfAReadInsideAPasteIsHeld) {
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b[200~abc\x1b", events);
  EXPECT_TRUE(decoder.has_pending());
  decoder.feed("[201~", events);
  EXPECT_EQ(describe(events), (Lines{"paste-start", "paste:abc", "paste-end"}));
}

TEST(InputDecoderPaste, FlushedPartialMarkerIsData) {
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b[200~abc\x1b[2", events);
  decoder.flush_pending(events);
  decoder.feed("1~\x1b[201~", events);  // the flushed bytes were text, so this is the real end
  EXPECT_EQ(describe(events), (Lines{"paste-start", "paste:abc\\e[21~", "paste-end"}));
}

std::string big_text(std::size_t size) {
  std::string text;
  for (std::size_t i = 0; text.size() < size; ++i) {
    text += "row " + std::to_string(i) + " \x1b[31mred\x1b[0m \x1d [ ] \xc3\xa9\r\n";
  }
  return text;
}

TEST(InputDecoderPaste, LargeBracketedPasteStreamsInFewEvents) {
  const std::string content = big_text(100'000);
  const std::string input = "\x1b[200~" + content + "\x1b[201~";
  InputDecoder decoder;
  Events events;
  constexpr std::size_t kRead = 4093;  // odd, so markers and sequences get cut
  std::size_t reads = 0;
  for (std::size_t pos = 0; pos < input.size(); pos += kRead, ++reads) {
    const std::size_t before = events.size();
    decoder.feed(std::string_view(input).substr(pos, kRead), events);
    EXPECT_LE(events.size() - before, 3u);  // streamed: each read gives its data at once
  }
  decoder.flush_pending(events);
  EXPECT_LE(events.size(), reads + 2);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().kind, InputEvent::Kind::PasteStart);
  EXPECT_EQ(events.back().kind, InputEvent::Kind::PasteEnd);
  EXPECT_EQ(concat_text(events, InputEvent::Kind::PasteData), content);
  EXPECT_EQ(concat_text(events, InputEvent::Kind::Bytes), "");
}

TEST(InputDecoderPaste, LargeBracketedPasteInOneReadIsThreeEvents) {
  const std::string content = big_text(100'000);
  EXPECT_EQ(decode("\x1b[200~" + content + "\x1b[201~"),
            (Lines{"paste-start", "paste:" + escaped(content), "paste-end"}));
}

// ---- focus and mouse ----

TEST(InputDecoderFocus, FocusEvents) {
  EXPECT_EQ(decode("\x1b[Ia\x1b[O"), (Lines{"focus-in", "bytes:a", "focus-out"}));
  EXPECT_EQ(decode("\x1b[I\x1b[O", true), (Lines{"focus-in", "focus-out"}));
  EXPECT_EQ(decode("\x1bO", false), (Lines{"bytes:\\eO"}));  // SS3 start, not focus-out
}

TEST(InputDecoderMouse, SgrButtonsAndCoordinates) {
  EXPECT_EQ(decode("\x1b[<0;1;1M"), (Lines{"mouse:press b0 r0 c0"}));
  EXPECT_EQ(decode("\x1b[<0;12;5M\x1b[<0;12;5m"),
            (Lines{"mouse:press b0 r4 c11", "mouse:release b0 r4 c11"}));
  EXPECT_EQ(decode("\x1b[<1;300;200M"), (Lines{"mouse:press b1 r199 c299"}));
  EXPECT_EQ(decode("\x1b[<2;3;4M"), (Lines{"mouse:press b2 r3 c2"}));
}

TEST(InputDecoderMouse, SgrMotion) {
  EXPECT_EQ(decode("\x1b[<32;7;8M"), (Lines{"mouse:motion b0 r7 c6"}));
  EXPECT_EQ(decode("\x1b[<35;7;8M"), (Lines{"mouse:motion b-1 r7 c6"}));
}

TEST(InputDecoderMouse, SgrModifiers) {
  EXPECT_EQ(decode("\x1b[<4;1;1M"), (Lines{"mouse:press b0 r0 c0+shift"}));
  EXPECT_EQ(decode("\x1b[<8;1;1M"), (Lines{"mouse:press b0 r0 c0+alt"}));
  EXPECT_EQ(decode("\x1b[<16;1;1M"), (Lines{"mouse:press b0 r0 c0+ctrl"}));
  EXPECT_EQ(decode("\x1b[<30;1;1M"), (Lines{"mouse:press b2 r0 c0+shift+alt+ctrl"}));
}

TEST(InputDecoderMouse, SgrWheel) {
  EXPECT_EQ(decode("\x1b[<64;10;3M"), (Lines{"mouse:wheel-up b-1 r2 c9"}));
  EXPECT_EQ(decode("\x1b[<65;10;3M"), (Lines{"mouse:wheel-down b-1 r2 c9"}));
  EXPECT_EQ(decode("\x1b[<81;10;3M"), (Lines{"mouse:wheel-down b-1 r2 c9+ctrl"}));
  // Horizontal wheel has no action: consumed, neither an event nor bytes for the agent.
  EXPECT_EQ(decode("a\x1b[<66;10;3Mb"), (Lines{"bytes:ab"}));
}

TEST(InputDecoderMouse, MalformedSgrReportIsPassedOn) {
  EXPECT_EQ(decode("\x1b[<0;1M"), (Lines{"bytes:\\e[<0;1M"}));
}

std::string x10(int button_code, int col, int row) {
  return std::string("\x1b[M") + static_cast<char>(32 + button_code) +
         static_cast<char>(32 + col + 1) + static_cast<char>(32 + row + 1);
}

TEST(InputDecoderMouse, LegacyX10Reports) {
  EXPECT_EQ(decode(x10(0, 11, 4)), (Lines{"mouse:press b0 r4 c11"}));
  EXPECT_EQ(decode(x10(3, 11, 4)), (Lines{"mouse:release b-1 r4 c11"}));
  EXPECT_EQ(decode(x10(2 + 16, 0, 0)), (Lines{"mouse:press b2 r0 c0+ctrl"}));
  EXPECT_EQ(decode(x10(32, 5, 6)), (Lines{"mouse:motion b0 r6 c5"}));
  EXPECT_EQ(decode(x10(64, 5, 6)), (Lines{"mouse:wheel-up b-1 r6 c5"}));
  EXPECT_EQ(decode(x10(65, 5, 6) + "z", true),
            (Lines{"mouse:wheel-down b-1 r6 c5", "key:Char'z'"}));
  // Columns past 223 make the byte wrap or zero; nothing leaks either way.
  EXPECT_EQ(decode(std::string("\x1b[M \xff\x00", 6)), (Lines{"mouse:press b0 r0 c222"}));
}

// ---- prefix key ----

TEST(InputDecoderPrefix, AllThreeFormsInBothModes) {
  for (bool decode_keys : {false, true}) {
    EXPECT_EQ(decode("\x1d", decode_keys), (Lines{"prefix"}));
    EXPECT_EQ(decode("\x1b[27;5;93~", decode_keys), (Lines{"prefix"}));
    EXPECT_EQ(decode("\x1b[93;5u", decode_keys), (Lines{"prefix"}));
  }
  EXPECT_EQ(decode("ab\x1d"
                   "cd"),
            (Lines{"bytes:ab", "prefix", "key:Char'c'", "key:Char'd'"}));
}

TEST(InputDecoderPrefix, KittyLockBitsAndAlternatesStillMatch) {
  EXPECT_EQ(decode("\x1b[93;69u"), (Lines{"prefix"}));       // ctrl + caps lock
  EXPECT_EQ(decode("\x1b[93:125;5:1u"), (Lines{"prefix"}));  // shifted key and event type
}

TEST(InputDecoderPrefix, OtherModifiersOrKeysAreNotThePrefix) {
  EXPECT_EQ(decode("\x1b[93;6u"), (Lines{"bytes:\\e[93;6u"}));        // ctrl+shift
  EXPECT_EQ(decode("\x1b[27;5;91~"), (Lines{"bytes:\\e[27;5;91~"}));  // Ctrl-[
  EXPECT_EQ(decode("\x1b[93u"), (Lines{"bytes:\\e[93u"}));            // plain ]
}

TEST(InputDecoderPrefix, InsideAPasteItIsText) {
  EXPECT_EQ(decode("\x1b[200~a\x1d\x1b[93;5u\x1b[201~"),
            (Lines{"paste-start", "paste:a\\x1d\\e[93;5u", "paste-end"}));
}

TEST(InputDecoderPrefix, OtherPrefixBytesDeriveTheirForms) {
  InputDecoder decoder;
  decoder.set_prefix_byte(0x01);  // Ctrl-A, as in screen
  EXPECT_EQ(describe(feed_pieces(decoder, {"\x01\x1b[27;5;97~\x1b[97;5u\x1d"})),
            (Lines{"prefix", "prefix", "prefix", "key:Char']'+ctrl"}));
  InputDecoder space;
  space.set_prefix_byte(0x00);  // Ctrl-Space
  EXPECT_EQ(describe(feed_pieces(space, {std::string("\0\x1b[32;5u", 8)})),
            (Lines{"prefix", "prefix"}));
}

// ---- decoded keys ----

struct KeyCase {
  const char* bytes;
  const char* expected;
};

class InputDecoderKeys : public testing::TestWithParam<KeyCase> {};

TEST_P(InputDecoderKeys, DecodesToOneKeyCarryingItsBytes) {
  const KeyCase& c = GetParam();
  InputDecoder decoder = make_decoder(true);
  Events events;
  decoder.feed(c.bytes, events);
  EXPECT_FALSE(decoder.has_pending());
  ASSERT_EQ(events.size(), 1u) << escaped(c.bytes);
  ASSERT_EQ(events[0].kind, InputEvent::Kind::Key);
  EXPECT_EQ(describe(events[0].key), c.expected) << escaped(c.bytes);
  EXPECT_EQ(events[0].key.bytes, c.bytes);
}

INSTANTIATE_TEST_SUITE_P(
    C0AndText, InputDecoderKeys,
    testing::Values(KeyCase{"a", "Char'a'"}, KeyCase{"Q", "Char'Q'"}, KeyCase{"\r", "Enter"},
                    KeyCase{"\t", "Tab"}, KeyCase{"\x7f", "Backspace"},
                    KeyCase{"\x08", "Backspace"}, KeyCase{"\x01", "Char'a'+ctrl"},
                    KeyCase{"\x1a", "Char'z'+ctrl"}, KeyCase{"\x03", "Char'c'+ctrl"},
                    KeyCase{"\n", "Char'j'+ctrl"}, KeyCase{"\x1c", "Char'\\'+ctrl"},
                    KeyCase{"\x1f", "Char'_'+ctrl"}, KeyCase{"\xc3\xa9", "Char U+233"},
                    KeyCase{"\xe2\x82\xac", "Char U+8364"},
                    KeyCase{"\xf0\x9f\x98\x80", "Char U+128512"}, KeyCase{"\xff", "Unknown"},
                    KeyCase{"\xe0\x80\xaf", "Unknown"}));

INSTANTIATE_TEST_SUITE_P(Alt, InputDecoderKeys,
                         testing::Values(KeyCase{"\x1bx", "Char'x'+alt"},
                                         KeyCase{"\x1b\x01", "Char'a'+ctrl+alt"},
                                         KeyCase{"\x1b\x7f", "Backspace+alt"},
                                         KeyCase{"\x1b\r", "Enter+alt"},
                                         KeyCase{"\x1b\xc3\xa9", "Char U+233+alt"}));

INSTANTIATE_TEST_SUITE_P(
    CursorAndEditing, InputDecoderKeys,
    testing::Values(KeyCase{"\x1b[A", "Up"}, KeyCase{"\x1b[B", "Down"}, KeyCase{"\x1b[C", "Right"},
                    KeyCase{"\x1b[D", "Left"}, KeyCase{"\x1b[H", "Home"}, KeyCase{"\x1b[F", "End"},
                    KeyCase{"\x1bOA", "Up"}, KeyCase{"\x1bOB", "Down"}, KeyCase{"\x1bOC", "Right"},
                    KeyCase{"\x1bOD", "Left"}, KeyCase{"\x1bOH", "Home"}, KeyCase{"\x1bOF", "End"},
                    KeyCase{"\x1b[1;2A", "Up+shift"}, KeyCase{"\x1b[1;3B", "Down+alt"},
                    KeyCase{"\x1b[1;5C", "Right+ctrl"}, KeyCase{"\x1b[1;8D", "Left+ctrl+alt+shift"},
                    KeyCase{"\x1b[1;5H", "Home+ctrl"}, KeyCase{"\x1b[2~", "Insert"},
                    KeyCase{"\x1b[3~", "Delete"}, KeyCase{"\x1b[3;5~", "Delete+ctrl"},
                    KeyCase{"\x1b[5~", "PageUp"}, KeyCase{"\x1b[6~", "PageDown"},
                    KeyCase{"\x1b[6;2~", "PageDown+shift"}, KeyCase{"\x1b[1~", "Home"},
                    KeyCase{"\x1b[7~", "Home"}, KeyCase{"\x1b[4~", "End"},
                    KeyCase{"\x1b[8~", "End"}, KeyCase{"\x1b[Z", "BackTab+shift"}));

INSTANTIATE_TEST_SUITE_P(
    FunctionKeys, InputDecoderKeys,
    testing::Values(KeyCase{"\x1bOP", "F1"}, KeyCase{"\x1bOQ", "F2"}, KeyCase{"\x1bOR", "F3"},
                    KeyCase{"\x1bOS", "F4"}, KeyCase{"\x1b[15~", "F5"}, KeyCase{"\x1b[17~", "F6"},
                    KeyCase{"\x1b[18~", "F7"}, KeyCase{"\x1b[19~", "F8"}, KeyCase{"\x1b[20~", "F9"},
                    KeyCase{"\x1b[21~", "F10"}, KeyCase{"\x1b[23~", "F11"},
                    KeyCase{"\x1b[24~", "F12"}, KeyCase{"\x1b[1;2P", "F1+shift"},
                    KeyCase{"\x1b[1;5S", "F4+ctrl"}, KeyCase{"\x1b[15;5~", "F5+ctrl"},
                    KeyCase{"\x1b[24;3~", "F12+alt"}, KeyCase{"\x1bO2P", "F1+shift"},
                    KeyCase{"\x1b[11~", "F1"}, KeyCase{"\x1b[14~", "F4"}));

INSTANTIATE_TEST_SUITE_P(
    ModifyOtherKeysAndCsiU, InputDecoderKeys,
    testing::Values(KeyCase{"\x1b[27;2;13~", "Enter+shift"}, KeyCase{"\x1b[13;2u", "Enter+shift"},
                    KeyCase{"\x1b[27;5;105~", "Char'i'+ctrl"},
                    KeyCase{"\x1b[105;5u", "Char'i'+ctrl"},
                    KeyCase{"\x1b[27;2;9~", "BackTab+shift"}, KeyCase{"\x1b[9;2u", "BackTab+shift"},
                    KeyCase{"\x1b[27u", "Escape"}, KeyCase{"\x1b[127;3u", "Backspace+alt"},
                    KeyCase{"\x1b[27;6;65~", "Char'a'+ctrl+shift"},
                    KeyCase{"\x1b[97;3u", "Char'a'+alt"}, KeyCase{"\x1b[57399u", "Unknown"}));

INSTANTIATE_TEST_SUITE_P(KeypadAndUnknown, InputDecoderKeys,
                         testing::Values(KeyCase{"\x1bOM", "Enter"}, KeyCase{"\x1bOp", "Char'0'"},
                                         KeyCase{"\x1bOy", "Char'9'"}, KeyCase{"\x1bOk", "Char'+'"},
                                         KeyCase{"\x1b[99~", "Unknown"},
                                         KeyCase{"\x1b[?1;2c", "Unknown"},
                                         KeyCase{"\x1b[4;1$y", "Unknown"}));

INSTANTIATE_TEST_SUITE_P(Rxvt, InputDecoderKeys,
                         testing::Values(KeyCase{"\x1b[2$", "Insert+shift"},
                                         KeyCase{"\x1b[3^", "Delete+ctrl"},
                                         KeyCase{"\x1b[5@", "PageUp+ctrl+shift"},
                                         KeyCase{"\x1b[a", "Up+shift"},
                                         KeyCase{"\x1bOd", "Left+ctrl"}));

TEST(InputDecoderKeysMore, TextBecomesOneKeyPerCharacter) {
  EXPECT_EQ(decode("h\xc3\xa9!", true), (Lines{"key:Char'h'", "key:Char U+233", "key:Char'!'"}));
}

TEST(InputDecoderKeysMore, EscapeEscapeIsEscapeThenWhatFollows) {
  EXPECT_EQ(decode("\x1b\x1b[A", true), (Lines{"key:Escape", "key:Up"}));
  EXPECT_EQ(decode("\x1b\x1d", true), (Lines{"key:Escape", "prefix"}));
}

TEST(InputDecoderKeysMore, SwitchingModesBetweenReads) {
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b[A", events);
  decoder.set_decode_keys(true);
  decoder.feed("\x1b[A", events);
  decoder.set_decode_keys(false);
  decoder.feed("q", events);
  EXPECT_EQ(describe(events), (Lines{"bytes:\\e[A", "key:Up", "bytes:q"}));
}

TEST(InputDecoderUtf8, CharacterSplitAcrossReadsIsHeldAndCompleted) {
  const std::string euro = "\xe2\x82\xac";
  for (std::size_t cut = 1; cut < euro.size(); ++cut) {
    InputDecoder decoder = make_decoder(true);
    Events events;
    decoder.feed(euro.substr(0, cut), events);
    EXPECT_TRUE(decoder.has_pending());
    EXPECT_TRUE(events.empty());
    decoder.feed(euro.substr(cut), events);
    EXPECT_FALSE(decoder.has_pending());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].key.ch, U'\u20ac');
    EXPECT_EQ(events[0].key.bytes, euro);
  }
}

TEST(InputDecoderUtf8, AbandonedCharacterIsFlushedAsUnknown) {
  EXPECT_EQ(decode("\xf0\x9f", true), (Lines{"key:Unknown"}));
  EXPECT_EQ(decode("\xc3"
                   "a",
                   true),
            (Lines{"key:Unknown", "key:Char'a'"}));
}

// ---- splits: a stream cut into reads anywhere gives the events it gives whole ----

// A lone ESC at the end of a read is a key, by design (Esc must not wait), so a cut right
// after an ESC that starts a sequence or an Alt key legitimately changes the result - outside a
// paste. Inside
// one, an ESC at the end of a read is held, since it may begin the end marker.
bool cut_after_sequence_escape(std::string_view input, std::size_t cut) {
  if (cut == 0 || cut >= input.size() || input[cut - 1] != '\x1b') return false;
  const std::size_t esc = cut - 1;
  const std::size_t start = input.find("\x1b[200~");
  const std::size_t end = input.find("\x1b[201~");
  const bool inside_paste = start != std::string_view::npos && esc > start &&
                            (end == std::string_view::npos || esc <= end);
  return !inside_paste;
}

struct SplitCase {
  std::string input;
  bool decode_keys;
};

std::vector<SplitCase> split_cases() {
  std::vector<SplitCase> cases;
  const std::vector<std::string> specials = {"\x1b[200~",        "\x1b[I",       "\x1b[O",
                                             "\x1b[<35;120;44M", "\x1b[<0;3;4m", x10(0, 11, 4),
                                             "\x1b[27;5;93~",    "\x1b[93;5u",   "\x1d"};
  for (bool decode_keys : {false, true}) {
    for (const std::string& special : specials) cases.push_back({"a" + special + "b", decode_keys});
    cases.push_back({"x\x1b[200~p\x1b[201~y", decode_keys});
    cases.push_back({"\x1b[200~p\x1b[200~q\x1b\x1b[20x\x1b[201~", decode_keys});
  }
  const std::vector<std::string> keys = {"\x1b[1;5A",     "\x1bOP",     "\x1b[24;2~",
                                         "\x1b[27;2;13~", "\x1b[13;2u", "\xf0\x9f\x98\x80",
                                         "\x1b\xc3\xa9",  "\x1b[Z"};
  for (const std::string& key : keys) cases.push_back({"a" + key + "b", true});
  return cases;
}

TEST(InputDecoderSplits, EveryCutInTwoGivesTheSameEvents) {
  for (const SplitCase& c : split_cases()) {
    InputDecoder whole_decoder = make_decoder(c.decode_keys);
    const Lines whole = describe(feed_pieces(whole_decoder, {c.input}));
    for (std::size_t cut = 0; cut <= c.input.size(); ++cut) {
      if (cut_after_sequence_escape(c.input, cut)) continue;
      InputDecoder decoder = make_decoder(c.decode_keys);
      const Lines split =
          describe(feed_pieces(decoder, {c.input.substr(0, cut), c.input.substr(cut)}));
      EXPECT_EQ(split, whole) << escaped(c.input) << " cut at " << cut;
    }
  }
}

TEST(InputDecoderSplits, ByteByByteGivesTheSameEvents) {
  // Byte by byte, except that an ESC starting a sequence travels with the next byte (see above).
  for (const SplitCase& c : split_cases()) {
    InputDecoder whole_decoder = make_decoder(c.decode_keys);
    const Lines whole = describe(feed_pieces(whole_decoder, {c.input}));
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < c.input.size(); ++i) {
      if (cut_after_sequence_escape(c.input, i + 1)) {
        pieces.push_back(c.input.substr(i, 2));
        ++i;
      } else {
        pieces.push_back(c.input.substr(i, 1));
      }
    }
    InputDecoder decoder = make_decoder(c.decode_keys);
    EXPECT_EQ(describe(feed_pieces(decoder, pieces)), whole) << escaped(c.input);
  }
}

TEST(InputDecoderSplits, CutAfterTheEscapeLetsTheEscapeGoAlone) {
  // The documented price of an Esc without delay: the ESC leaves at once, the rest follows.
  InputDecoder decoder;
  EXPECT_EQ(describe(feed_pieces(decoder, {"a\x1b", "[Ib"})), (Lines{"bytes:a\\e[Ib"}));
  InputDecoder keys = make_decoder(true);
  EXPECT_EQ(describe(feed_pieces(keys, {"\x1b", "[A"})),
            (Lines{"key:Escape", "key:Char'['", "key:Char'A'"}));
}

TEST(InputDecoderSplits, EveryByteFedInsideAPasteIsHeldOnlyWhileItCouldBeAMarker) {
  const std::string content = "a\x1b[2x\x1b[201~";  // "ESC[2x" is text, "ESC[201~" the end
  InputDecoder decoder;
  Events events;
  decoder.feed("\x1b[200~", events);
  for (std::size_t i = 0; i < content.size(); ++i) {
    decoder.feed(content.substr(i, 1), events);
    const bool in_marker_prefix = (i >= 1 && i <= 3) || (i >= 5 && i < content.size() - 1);
    EXPECT_EQ(decoder.has_pending(), in_marker_prefix) << "after byte " << i;
  }
  EXPECT_EQ(describe(events), (Lines{"paste-start", "paste:a\\e[2x", "paste-end"}));
}

// ---- random streams: invariants that must hold whatever the bytes ----

TEST(InputDecoderRandom, TextNeverGrowsAndNothingIsHeldPastTheCap) {
  std::mt19937 random(1234);
  const std::string alphabet = std::string("\x1b[]O<;~Mm0129IuAZ\x1d\xc3\xa9 a\r");
  for (int round = 0; round < 300; ++round) {
    std::string input;
    const std::size_t size = random() % 300;
    for (std::size_t i = 0; i < size; ++i) input += alphabet[random() % alphabet.size()];
    InputDecoder decoder = make_decoder(round % 2 == 1);
    Events events;
    std::size_t pos = 0;
    while (pos < input.size()) {
      const std::size_t take = 1 + random() % 17;
      decoder.feed(std::string_view(input).substr(pos, take), events);
      pos += take;
    }
    decoder.flush_pending(events);
    EXPECT_FALSE(decoder.has_pending());
    std::size_t text = 0;
    for (const InputEvent& e : events) text += e.bytes.size() + e.key.bytes.size();
    EXPECT_LE(text, input.size()) << escaped(input);
  }
}

TEST(InputDecoderRandom, BytesModeForwardsEverythingThatIsNotOurs) {
  // Without the special sequences, the Bytes are exactly the input, however it is cut.
  std::mt19937 random(99);
  const std::string alphabet = std::string("\x1b[]O;0129AZ\xc3\xa9 a\r\x7f");
  for (int round = 0; round < 300; ++round) {
    std::string input;
    const std::size_t size = random() % 200;
    for (std::size_t i = 0; i < size; ++i) input += alphabet[random() % alphabet.size()];
    if (input.find("\x1b[O") != std::string::npos) continue;  // focus-out is ours
    InputDecoder decoder;
    Events events;
    for (std::size_t pos = 0; pos < input.size();) {
      const std::size_t take = 1 + random() % 9;
      decoder.feed(std::string_view(input).substr(pos, take), events);
      pos += take;
    }
    decoder.flush_pending(events);
    EXPECT_EQ(concat_text(events, InputEvent::Kind::Bytes), input) << escaped(input);
  }
}

}  // namespace
}  // namespace sddsh::tui

// The key after the prefix is sddsh's command even when both come in one read (fast typing, or
// keys sent together): the decoder does not wait for the consumer to switch modes.
TEST(InputDecoderPrefix, KeyAfterThePrefixInTheSameReadIsDecoded) {
  using sddsh::tui::InputDecoder;
  using sddsh::tui::InputEvent;
  InputDecoder decoder;
  std::vector<InputEvent> events;
  decoder.feed("\x1dq", events);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].kind, InputEvent::Kind::Prefix);
  ASSERT_EQ(events[1].kind, InputEvent::Kind::Key);
  EXPECT_EQ(events[1].key.ch, U'q');
  EXPECT_EQ(events[1].key.bytes, "q");
}
