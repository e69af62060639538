// The replay view on the headless painter: what `sddsh replay` shows and how its keys act, on
// bundles written by the recorder's own code (CastWriter, session.json, conversation.jsonl).
#include "replay/replay_view.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>

#include "recorder/cast_writer.hpp"
#include "recorder/conversation_builder.hpp"
#include "recorder/session_record.hpp"
#include "recorder/store.hpp"
#include "replay/player.hpp"
#include "tests/support/temp_dir.hpp"
#include "tui/headless_painter.hpp"
#include "tui/screen.hpp"

using namespace sddsh;
using replay::ReplayView;
using tui::KeyEvent;

namespace {

// Column widths come from wcwidth, as on the user's terminal: sddsh runs replay in a UTF-8 locale.
class Utf8Locale : public ::testing::Environment {
 public:
  void SetUp() override { std::setlocale(LC_CTYPE, "C.UTF-8"); }
};
[[maybe_unused]] const auto* const kUtf8Locale = ::testing::AddGlobalTestEnvironment(new Utf8Locale);

KeyEvent key(char32_t ch) {
  KeyEvent k;
  k.kind = KeyEvent::Kind::Char;
  k.ch = ch;
  return k;
}

KeyEvent key(KeyEvent::Kind kind) {
  KeyEvent k;
  k.kind = kind;
  return k;
}

struct Output {
  double time;
  std::string bytes;
};

// The session most tests replay: a 40×10 terminal, three turns, two task segments, long pauses
// between the turns (cut by the idle limit), diffs for two turns and a conversation.
const std::vector<Output> kOutputs{
    {0.2, "$ start\r\n"},          {1.0, "ready\r\n"},
    {10.5, "working on turn one\r\n"}, {11.0, "done one\r\n"},
    {30.0, "working on turn two\r\n"}, {31.0, "done two\r\n"},
    {50.0, "working on turn three\r\n"}, {52.0, "bye\r\n"},
};

constexpr const char* kTurnOnePatch =
    "diff --git a/a.c b/a.c\n"
    "index 1111111..2222222 100644\n"
    "--- a/a.c\n"
    "+++ b/a.c\n"
    "@@ -1,2 +1,3 @@\n"
    "-old line\n"
    "+hello parser\n"
    "+x\tline\n"
    " context\n";

recorder::TurnRecord turn(int index, double start, double end, std::string prompt, std::string diff,
                          std::optional<recorder::DiffStat> stat) {
  recorder::TurnRecord t;
  t.index = index;
  t.start = start;
  t.end = end;
  t.prompt = std::move(prompt);
  t.diff = std::move(diff);
  t.stat = stat;
  return t;
}

recorder::SessionRecord standard_record() {
  recorder::SessionRecord r;
  r.id = "3f2a9c1d-0000-4000-8000-000000000001";
  r.agent = "claude";
  r.argv = {"claude"};
  r.started_at = "2026-11-21T10:04:05.123Z";
  r.started_unix_ms = 1795256645123;
  r.duration = 52.0;
  r.status = recorder::SessionRecord::Status::Finished;
  r.exit_code = 0;
  r.cols = 40;
  r.rows = 10;
  r.turns = {turn(1, 10.0, 29.5, "fix the parser", "diffs/turn-0001.patch", recorder::DiffStat{1, 2, 1}),
             turn(2, 29.5, 49.5, "add tests\nfor the lexer too", "diffs/turn-0002.patch", recorder::DiffStat{1, 10, 3}),
             turn(3, 49.5, 52.0, "wrap up", "", std::nullopt)};
  recorder::TaskSegment first, second;
  first.task_id = "sd-1a2b";
  first.start = 0;
  first.end = 40.0;
  first.turns = {1, 2};
  first.stat = recorder::DiffStat{2, 12, 4};
  second.task_id = "sd-3c4d";
  second.start = 40.0;
  second.end = 52.0;
  second.turns = {3};
  r.task_segments = {first, second};
  return r;
}

std::vector<recorder::ConversationMessage> standard_conversation() {
  using Role = recorder::ConversationMessage::Role;
  recorder::ConversationMessage prompt{.turn = 1, .ts_ms = 0, .role = Role::User, .text = "fix the parser"};
  recorder::ConversationMessage answer{.turn = 1, .ts_ms = 0, .role = Role::Assistant, .text = "I fixed the parser."};
  recorder::ToolCall write;
  write.name = "Write";
  write.files = {"/w/a.c"};
  write.output_summary = "File written";
  recorder::ConversationMessage tool{.turn = 1, .ts_ms = 0, .role = Role::Tool, .text = "", .tool = write};
  recorder::ConversationMessage second{.turn = 2, .ts_ms = 0, .role = Role::User, .text = "add tests"};
  return {prompt, answer, tool, second};
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A bundle in a temporary directory, written with the recorder's code.
class TestBundle {
 public:
  TestBundle() { EXPECT_TRUE(recorder::make_directories(dir() + "/diffs")); }
  std::string dir() const { return temp_ / "bundle"; }

  void write_cast(int cols, int rows, const std::vector<Output>& outputs) {
    recorder::CastHeader header;
    header.width = cols;
    header.height = rows;
    header.timestamp = 1795256645;
    auto writer = recorder::CastWriter::create(dir() + "/terminal.cast", header);
    ASSERT_TRUE(writer) << writer.error().message;
    for (const auto& o : outputs) (*writer)->output(o.time, o.bytes);
    ASSERT_TRUE((*writer)->close());
  }
  void write_record(const recorder::SessionRecord& record) {
    ASSERT_TRUE(recorder::write_file_atomically(dir() + "/session.json", recorder::to_json_text(record)));
  }
  void write_standard() {
    write_cast(40, 10, kOutputs);
    write_record(standard_record());
    write_text(dir() + "/diffs/turn-0001.patch", kTurnOnePatch);
    write_text(dir() + "/diffs/turn-0002.patch", "");
    ASSERT_TRUE(recorder::write_conversation(dir(), standard_conversation()));
  }
  // A cast cut in the middle of a line, as a killed recorder or a full disk leaves it.
  void truncate_cast() {
    std::ofstream out(dir() + "/terminal.cast", std::ios::binary | std::ios::app);
    out << "[53.5, \"o\", \"half a li";
  }

 private:
  test_support::TempDir temp_{"sddsh-replay-view"};
};

std::unique_ptr<replay::Player> open_player(const std::string& path) {
  auto player = replay::Player::open(path);
  EXPECT_TRUE(player) << (player ? "" : player.error().message);
  return player ? std::move(*player) : nullptr;
}

std::string cell(const tui::HeadlessPainter& painter, int row, int col) {
  return painter.text_lines(row, col, 1, 1).front();
}

int column_of(const tui::HeadlessPainter& painter, int row, const std::string& glyph) {
  for (int c = 0; c < painter.cols(); ++c)
    if (cell(painter, row, c) == glyph) return c;
  return -1;
}

std::string status_line(const tui::HeadlessPainter& painter) { return painter.text_lines().back(); }

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// A replay of the standard bundle on a 30×120 headless terminal.
class ReplayViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_.write_standard();
    player_ = open_player(bundle_.dir());
    ASSERT_TRUE(player_);
    view_ = std::make_unique<ReplayView>(*player_, painter_, replay::ViewOptions{.title = "3f2a9c1d · claude"});
  }
  ReplayView::Action press(const KeyEvent& k) {
    const auto action = view_->handle_key(k);
    view_->draw();
    return action;
  }
  std::vector<std::string> pane_text() const {
    const tui::Rect pane = view_->pane_rect();
    return painter_.text_lines(pane.row, pane.col, pane.rows, pane.cols);
  }
  std::vector<std::string> panel_text() const {
    const tui::Rect& panel = view_->layout().panel;
    return painter_.text_lines(panel.row, panel.col, panel.rows, panel.cols);
  }
  int panel_row_with(const std::string& text) const {
    const auto lines = panel_text();
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (lines[i].find(text) != std::string::npos) return static_cast<int>(i);
    return -1;
  }
  void pause() {
    if (view_->playing()) press(key(U' '));
    ASSERT_FALSE(view_->playing());
  }

  TestBundle bundle_;
  std::unique_ptr<replay::Player> player_;
  tui::HeadlessPainter painter_{30, 120};
  std::unique_ptr<ReplayView> view_;
};

}  // namespace

// ---- layout ----

TEST_F(ReplayViewTest, RecordedTerminalIsCentredAtItsSizeWithAFrameAround) {
  player_->seek(player_->duration());
  view_->draw();
  // compute_layout(30, 120): the pane is 83×29 left of a 36-column panel.
  const tui::Rect pane = view_->pane_rect();
  EXPECT_EQ(pane, (tui::Rect{9, 21, 10, 40}));
  EXPECT_FALSE(view_->cropped());
  EXPECT_EQ(pane_text(), player_->screen().text_lines());
  EXPECT_NE(joined(pane_text()).find("bye"), std::string::npos);
  EXPECT_EQ(cell(painter_, 8, 20), "┌");
  EXPECT_EQ(cell(painter_, 19, 61), "┘");
  // The margins are blank.
  EXPECT_EQ(painter_.text_lines(0, 0, 7, 83), std::vector<std::string>(7, ""));
  EXPECT_EQ(painter_.text_lines(9, 0, 10, 20), std::vector<std::string>(10, ""));
  EXPECT_EQ(status_line(painter_).find("cropped"), std::string::npos);
}

TEST_F(ReplayViewTest, SmallerTerminalCropsAndSaysSo) {
  painter_.resize(8, 60);  // too few rows for the panel, and for the 10 recorded rows
  view_->resized();
  player_->seek(player_->duration());
  view_->draw();
  EXPECT_TRUE(view_->cropped());
  EXPECT_EQ(view_->pane_rect(), (tui::Rect{0, 10, 7, 40}));
  const auto screen = player_->screen().text_lines();
  EXPECT_EQ(pane_text(), std::vector<std::string>(screen.begin(), screen.begin() + 7));
  EXPECT_NE(status_line(painter_).find("cropped 40×10 → 40×7"), std::string::npos) << status_line(painter_);

  // Growing again shows it whole and centred, without the note.
  painter_.resize(30, 120);
  view_->resized();
  view_->draw();
  EXPECT_FALSE(view_->cropped());
  EXPECT_EQ(pane_text(), player_->screen().text_lines());
  EXPECT_EQ(status_line(painter_).find("cropped"), std::string::npos);
}

// ---- keys ----

TEST_F(ReplayViewTest, SpaceTogglesPlayingAndTheStatusSaysWhich) {
  view_->draw();
  EXPECT_TRUE(view_->playing());
  EXPECT_TRUE(status_line(painter_).starts_with(" ▶ 00:00 / ")) << status_line(painter_);
  EXPECT_EQ(press(key(U' ')), ReplayView::Action::Redraw);
  EXPECT_FALSE(view_->playing());
  EXPECT_TRUE(status_line(painter_).starts_with(" ⏸ ")) << status_line(painter_);
  press(key(U' '));
  EXPECT_TRUE(view_->playing());
}

TEST_F(ReplayViewTest, SpeedStepsAndClampsAtAQuarterAndSixteen) {
  EXPECT_EQ(view_->speed(), 1.0);
  press(key(U'+'));
  EXPECT_EQ(view_->speed(), 2.0);
  for (int i = 0; i < 10; ++i) press(key(U'+'));
  EXPECT_EQ(view_->speed(), 16.0);
  EXPECT_NE(status_line(painter_).find("16×"), std::string::npos);
  for (int i = 0; i < 10; ++i) press(key(U'-'));
  EXPECT_EQ(view_->speed(), 0.25);
  EXPECT_NE(status_line(painter_).find("0.25×"), std::string::npos);
}

TEST_F(ReplayViewTest, ArrowsSeekFiveSecondsClamped) {
  pause();
  press(key(U'i'));  // real time: 52 s
  player_->seek(10.0);
  press(key(KeyEvent::Kind::Right));
  EXPECT_NEAR(player_->position(), 15.0, 1e-6);
  press(key(KeyEvent::Kind::Left));
  press(key(KeyEvent::Kind::Left));
  EXPECT_NEAR(player_->position(), 5.0, 1e-6);
  press(key(KeyEvent::Kind::Left));
  press(key(KeyEvent::Kind::Left));
  EXPECT_NEAR(player_->position(), 0.0, 1e-6);
  for (int i = 0; i < 30; ++i) press(key(KeyEvent::Kind::Right));
  EXPECT_NEAR(player_->position(), player_->duration(), 1e-6);
}

TEST_F(ReplayViewTest, CommaAndPeriodStepOneEventOnlyWhilePaused) {
  ASSERT_TRUE(view_->playing());
  const auto before = player_->event_index();
  press(key(U'.'));
  EXPECT_EQ(player_->event_index(), before);
  EXPECT_NE(status_line(painter_).find("pause"), std::string::npos) << status_line(painter_);

  pause();
  press(key(U'.'));
  press(key(U'.'));
  EXPECT_EQ(player_->event_index(), before + 2);
  EXPECT_NE(joined(pane_text()).find("ready"), std::string::npos);
  press(key(U','));
  EXPECT_EQ(player_->event_index(), before + 1);
  EXPECT_EQ(joined(pane_text()).find("ready"), std::string::npos);
}

TEST_F(ReplayViewTest, NAndPMoveBetweenTurnsGAndCapitalGToTheEnds) {
  const auto& turns = player_->record()->turns;
  pause();
  press(key(U'n'));
  EXPECT_EQ(player_->current_turn(), 0);
  EXPECT_NEAR(player_->position(), player_->shown_time(turns[0].start), 1e-6);
  press(key(U'n'));
  EXPECT_EQ(player_->current_turn(), 1);
  press(key(U'p'));
  EXPECT_EQ(player_->current_turn(), 0);
  press(key(U'G'));
  EXPECT_TRUE(player_->at_end());
  EXPECT_FALSE(view_->playing());
  EXPECT_EQ(player_->current_turn(), 2);
  press(key(U'g'));
  EXPECT_NEAR(player_->position(), 0.0, 1e-6);
  EXPECT_EQ(player_->current_turn(), -1);
}

TEST_F(ReplayViewTest, SpaceAtTheEndPlaysAgainFromTheStart) {
  press(key(U'G'));
  ASSERT_FALSE(view_->playing());
  press(key(U' '));
  EXPECT_TRUE(view_->playing());
  EXPECT_NEAR(player_->position(), 0.0, 1e-6);
}

TEST_F(ReplayViewTest, ITogglesTheIdleLimitAndKeepsThePosition) {
  pause();
  press(key(U'n'));
  press(key(U'.'));
  const auto event = player_->event_index();
  const double limited_duration = player_->duration();
  EXPECT_NE(status_line(painter_).find("idle≤2s"), std::string::npos);
  press(key(U'i'));
  EXPECT_FALSE(player_->idle_limited());
  EXPECT_EQ(player_->event_index(), event);
  EXPECT_GT(player_->duration(), limited_duration);
  EXPECT_EQ(status_line(painter_).find("idle≤"), std::string::npos) << status_line(painter_);
  press(key(U'i'));
  EXPECT_TRUE(player_->idle_limited());
  EXPECT_EQ(player_->event_index(), event);
}

TEST_F(ReplayViewTest, QAndCtrlCQuit) {
  EXPECT_EQ(view_->handle_key(key(U'q')), ReplayView::Action::Quit);
  KeyEvent ctrl_c = key(U'c');
  ctrl_c.ctrl = true;
  EXPECT_EQ(view_->handle_key(ctrl_c), ReplayView::Action::Quit);
  EXPECT_EQ(view_->handle_key(key(U'Z')), ReplayView::Action::None);
}

// ---- playing ----

TEST_F(ReplayViewTest, TickAdvancesBySpeedAndFramesAreDueOnlyWhilePlaying) {
  ASSERT_TRUE(view_->playing());
  // The first output event is at 0.2 s.
  ASSERT_TRUE(view_->next_frame_in());
  EXPECT_NEAR(*view_->next_frame_in(), 0.2, 1e-6);
  press(key(U'+'));  // 2×
  EXPECT_NEAR(*view_->next_frame_in(), 0.1, 1e-6);
  view_->tick(0.5);
  EXPECT_NEAR(player_->position(), 1.0, 1e-6);
  press(key(U' '));
  EXPECT_FALSE(view_->next_frame_in());
  view_->tick(5.0);  // paused: nothing moves
  EXPECT_NEAR(player_->position(), 1.0, 1e-6);
  press(key(U' '));
  view_->tick(1000.0);
  EXPECT_TRUE(player_->at_end());
  EXPECT_FALSE(view_->playing());
  EXPECT_FALSE(view_->next_frame_in());
}

TEST_F(ReplayViewTest, NoFrameIsDueWhileAPagerCoversTheReplay) {
  ASSERT_TRUE(view_->next_frame_in());
  press(key(U'c'));
  EXPECT_FALSE(view_->next_frame_in());
  const double position = player_->position();
  view_->tick(3.0);
  EXPECT_EQ(player_->position(), position);
  press(key(U'q'));
  EXPECT_TRUE(view_->next_frame_in());
}

// ---- timeline and panel ----

TEST_F(ReplayViewTest, TimelineHasATickPerTurnAtItsTime) {
  pause();
  view_->draw();
  const int row = painter_.rows() - 1;
  const int left = column_of(painter_, row, "├"), right = column_of(painter_, row, "┤");
  ASSERT_GE(left, 0) << status_line(painter_);
  ASSERT_GT(right, left + 10) << status_line(painter_);
  const int cells = right - left - 1;
  const double duration = player_->duration();
  int ticks = 0;
  for (int c = left + 1; c < right; ++c) ticks += cell(painter_, row, c) == "┼" ? 1 : 0;
  EXPECT_EQ(ticks, 3) << status_line(painter_);
  for (const auto& t : player_->record()->turns) {
    const int expected = static_cast<int>(std::floor(player_->shown_time(t.start) / duration * cells));
    EXPECT_EQ(cell(painter_, row, left + 1 + expected), "┼") << "turn " << t.index << ": " << status_line(painter_);
  }
  EXPECT_EQ(cell(painter_, row, left + 1), "●");  // the position, at the start

  // At the end the position is the last cell and the played part is drawn heavy.
  press(key(U'G'));
  EXPECT_EQ(cell(painter_, row, right - 1), "●") << status_line(painter_);
  const int first_tick = left + 1 + static_cast<int>(std::floor(player_->shown_time(10.0) / duration * cells));
  EXPECT_EQ(cell(painter_, row, first_tick), "╋");
}

TEST_F(ReplayViewTest, PanelListsTurnsWithTimePromptAndDiffstatAndHighlightsTheCurrentOne) {
  pause();
  press(key(U'n'));
  press(key(U'n'));  // turn 2
  const auto lines = panel_text();
  const std::string text = joined(lines);
  EXPECT_NE(text.find("Turns · 2 of 3"), std::string::npos) << text;
  const int one = panel_row_with("fix the parser"), two = panel_row_with("add tests");
  ASSERT_GE(one, 0) << text;
  ASSERT_GE(two, 0) << text;
  EXPECT_NE(lines[static_cast<std::size_t>(one)].find(" 1 " + replay::clock_text(player_->shown_time(10.0))), std::string::npos)
      << lines[static_cast<std::size_t>(one)];
  EXPECT_NE(lines[static_cast<std::size_t>(one)].find("+2 -1"), std::string::npos) << lines[static_cast<std::size_t>(one)];
  EXPECT_NE(lines[static_cast<std::size_t>(two)].find("+10 -3"), std::string::npos);
  EXPECT_EQ(lines[static_cast<std::size_t>(two)].find("lexer"), std::string::npos) << "only the prompt's first line";
  const int panel_col = view_->layout().panel.col;
  EXPECT_TRUE(painter_.style_at(two, panel_col + 2).attrs.reverse);
  EXPECT_FALSE(painter_.style_at(one, panel_col + 2).attrs.reverse);
}

TEST_F(ReplayViewTest, PanelListsTaskSegmentsWithTimesAndStat) {
  pause();
  view_->draw();
  const std::string text = joined(panel_text());
  EXPECT_NE(text.find("Tasks"), std::string::npos) << text;
  const int first = panel_row_with("sd-1a2b"), second = panel_row_with("sd-3c4d");
  ASSERT_GE(first, 0) << text;
  ASSERT_GE(second, 0) << text;
  EXPECT_NE(panel_text()[static_cast<std::size_t>(first)].find("00:00–"), std::string::npos) << text;
  EXPECT_NE(panel_text()[static_cast<std::size_t>(first)].find("+12 -4"), std::string::npos) << text;
}

TEST(ReplayViewPanel, ManyTurnsScrollToKeepTheCurrentOneInSight) {
  TestBundle bundle;
  std::vector<Output> outputs;
  recorder::SessionRecord record = standard_record();
  record.turns.clear();
  for (int i = 1; i <= 60; ++i) {
    outputs.push_back({i * 1.0, "turn " + std::to_string(i) + "\r\n"});
    record.turns.push_back(turn(i, i - 0.5, i + 0.5, "prompt number " + std::to_string(i), "", std::nullopt));
  }
  bundle.write_cast(40, 10, outputs);
  bundle.write_record(record);
  auto player = open_player(bundle.dir());
  ASSERT_TRUE(player);
  tui::HeadlessPainter painter(30, 120);
  ReplayView view(*player, painter);
  player->seek(player->shown_time(50.6));
  view.draw();
  const tui::Rect& panel = view.layout().panel;
  const std::string text = joined(painter.text_lines(panel.row, panel.col, panel.rows, panel.cols));
  EXPECT_NE(text.find("prompt number 50"), std::string::npos) << text;
  EXPECT_EQ(text.find("prompt number 1\n"), std::string::npos) << text;
}

// ---- pagers ----

TEST_F(ReplayViewTest, DOpensTheCurrentTurnsDiffColouredAndQReturns) {
  pause();
  press(key(U'n'));
  EXPECT_EQ(press(key(U'd')), ReplayView::Action::Redraw);
  EXPECT_EQ(view_->overlay(), ReplayView::Overlay::Diff);
  const tui::Rect area = view_->layout().pane;
  const auto lines = painter_.text_lines(area.row, area.col, area.rows, area.cols);
  EXPECT_EQ(lines[0], " Turn 1 · diff · diffs/turn-0001.patch");
  const auto added = std::find(lines.begin(), lines.end(), "+hello parser");
  ASSERT_NE(added, lines.end()) << joined(lines);
  EXPECT_EQ(painter_.style_at(static_cast<int>(added - lines.begin()), area.col).fg, tui::Color::indexed(2));
  const auto removed = std::find(lines.begin(), lines.end(), "-old line");
  ASSERT_NE(removed, lines.end());
  EXPECT_EQ(painter_.style_at(static_cast<int>(removed - lines.begin()), area.col).fg, tui::Color::indexed(1));
  EXPECT_NE(std::find(lines.begin(), lines.end(), "+x      line"), lines.end()) << "tabs expanded: " << joined(lines);
  EXPECT_NE(status_line(painter_).find("q back"), std::string::npos);

  press(key(U'j'));  // the whole patch fits: nothing to scroll
  EXPECT_EQ(painter_.text_lines(area.row + 1, area.col, 1, area.cols)[0], "diff --git a/a.c b/a.c");
  EXPECT_NE(status_line(painter_).find("1-9/9"), std::string::npos) << status_line(painter_);
  press(key(U'q'));
  EXPECT_EQ(view_->overlay(), ReplayView::Overlay::None);
  EXPECT_EQ(pane_text(), player_->screen().text_lines());
}

TEST_F(ReplayViewTest, DiffPagerSaysWhenThereIsNone) {
  pause();
  press(key(U'd'));  // before the first turn
  const tui::Rect area = view_->layout().pane;
  EXPECT_NE(joined(painter_.text_lines(area.row, area.col, area.rows, area.cols)).find("no turn, so no diff"),
            std::string::npos);
  press(key(KeyEvent::Kind::Escape));
  press(key(U'G'));  // turn 3: no diff
  press(key(U'd'));
  EXPECT_NE(joined(painter_.text_lines(area.row, area.col, area.rows, area.cols)).find("Turn 3 has no diff"),
            std::string::npos);
  press(key(U'q'));
  player_->seek(player_->shown_time(30.0));  // turn 2: an empty patch
  press(key(U'd'));
  EXPECT_NE(joined(painter_.text_lines(area.row, area.col, area.rows, area.cols)).find("changed no files"),
            std::string::npos);
}

TEST_F(ReplayViewTest, COpensTheCurrentTurnsConversation) {
  pause();
  press(key(U'n'));
  press(key(U'c'));
  EXPECT_EQ(view_->overlay(), ReplayView::Overlay::Conversation);
  const tui::Rect area = view_->layout().pane;
  const std::string text = joined(painter_.text_lines(area.row, area.col, area.rows, area.cols));
  EXPECT_NE(text.find("Turn 1 · conversation"), std::string::npos) << text;
  EXPECT_NE(text.find("> fix the parser"), std::string::npos) << text;
  EXPECT_NE(text.find("claude\nI fixed the parser."), std::string::npos) << text;
  EXPECT_NE(text.find("⏺ Write  /w/a.c"), std::string::npos) << text;
  EXPECT_NE(text.find("│ File written"), std::string::npos) << text;
  EXPECT_EQ(text.find("add tests"), std::string::npos) << "turn 2's prompt is not turn 1's";
  press(key(U'q'));
  EXPECT_EQ(view_->overlay(), ReplayView::Overlay::None);
}

TEST_F(ReplayViewTest, HelpOverlayListsTheKeysAndAnyKeyClosesIt) {
  press(key(U'?'));
  EXPECT_EQ(view_->overlay(), ReplayView::Overlay::Help);
  const std::string text = joined(painter_.text_lines());
  EXPECT_NE(text.find("next / previous turn"), std::string::npos) << text;
  EXPECT_NE(text.find("the current turn's diff"), std::string::npos) << text;
  EXPECT_FALSE(view_->next_frame_in());
  press(key(U'x'));
  EXPECT_EQ(view_->overlay(), ReplayView::Overlay::None);
}

TEST(PagerTest, KeysScrollByLineAndPageAndStopAtTheEnds) {
  std::vector<replay::PagerLine> lines;
  for (int i = 1; i <= 100; ++i) lines.push_back({"line " + std::to_string(i)});
  replay::Pager pager("title", lines);
  tui::HeadlessPainter painter(11, 40);
  const tui::Rect area{0, 0, 11, 40};
  auto first_text_row = [&] {
    pager.draw(painter, area);
    return painter.text_lines(1, 0, 1, 40)[0];
  };
  EXPECT_EQ(first_text_row(), "line 1");
  EXPECT_TRUE(pager.handle_key(key(U' ')));
  EXPECT_EQ(first_text_row(), "line 11");
  EXPECT_TRUE(pager.handle_key(key(U'b')));
  EXPECT_TRUE(pager.handle_key(key(U'k')));
  EXPECT_EQ(first_text_row(), "line 1");
  EXPECT_TRUE(pager.handle_key(key(U'G')));
  EXPECT_EQ(first_text_row(), "line 91");
  EXPECT_EQ(pager.position_text(), "91-100/100");
  EXPECT_TRUE(pager.handle_key(key(KeyEvent::Kind::PageDown)));
  EXPECT_EQ(first_text_row(), "line 91");
  EXPECT_TRUE(pager.handle_key(key(U'g')));
  EXPECT_EQ(first_text_row(), "line 1");
  EXPECT_FALSE(pager.handle_key(key(U'q')));
  EXPECT_FALSE(pager.handle_key(key(KeyEvent::Kind::Escape)));
}

TEST(PagerTest, LongLinesWrapAndControlCharactersNeverReachTheTerminal) {
  replay::Pager pager("t", {{std::string(50, 'x') + "\x1b[31mred"}});
  tui::HeadlessPainter painter(5, 20);
  pager.draw(painter, {0, 0, 5, 20});
  const auto lines = painter.text_lines(1, 0, 4, 20);
  EXPECT_EQ(lines[0], std::string(20, 'x'));
  EXPECT_EQ(lines[1], std::string(20, 'x'));
  EXPECT_EQ(lines[2], std::string(10, 'x') + "\uFFFD[31mred");
}

// ---- damaged bundles ----

TEST(ReplayViewProblems, TruncatedCastPlaysWhatIsReadableAndShowsTheProblem) {
  TestBundle bundle;
  bundle.write_standard();
  bundle.truncate_cast();
  auto player = open_player(bundle.dir());
  ASSERT_TRUE(player);
  ASSERT_FALSE(player->problems().empty());
  const std::string problem = player->problems().front();

  tui::HeadlessPainter painter(30, 120);
  ReplayView view(*player, painter);
  player->seek(player->duration());
  view.draw();
  EXPECT_NE(joined(painter.text_lines()).find("bye"), std::string::npos) << "what was readable plays";
  EXPECT_NE(painter.text_lines().back().find("⚠ 1 problem"), std::string::npos) << painter.text_lines().back();
  const tui::Rect& panel = view.layout().panel;
  const auto panel_lines = painter.text_lines(panel.row, panel.col, panel.rows, panel.cols);
  EXPECT_EQ(panel_lines[0], " Problems");
  EXPECT_TRUE(problem.starts_with(panel_lines[1].substr(1))) << panel_lines[1] << " / " << problem;

  // Without room for the panel, the status line says what it is.
  painter.resize(9, 100);
  view.resized();
  view.draw();
  EXPECT_NE(painter.text_lines().back().find("⚠ " + problem.substr(0, 20)), std::string::npos)
      << painter.text_lines().back();
}

TEST(ReplayViewProblems, TurnsBeyondTheReadablePartAreDimAndHaveNoTick) {
  TestBundle bundle;
  bundle.write_standard();
  // Cut the cast in the middle of turn three's first output.
  const std::string path = bundle.dir() + "/terminal.cast";
  std::ifstream in(path, std::ios::binary);
  std::string cast((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const auto cut = cast.find("turn three");
  ASSERT_NE(cut, std::string::npos);
  write_text(path, cast.substr(0, cut));
  auto player = open_player(bundle.dir());
  ASSERT_TRUE(player);
  ASSERT_FALSE(player->problems().empty());

  tui::HeadlessPainter painter(30, 120);
  ReplayView view(*player, painter);
  view.handle_key(key(U' '));
  view.draw();
  const int row = painter.rows() - 1;
  int ticks = 0;
  for (int c = 0; c < painter.cols(); ++c) ticks += cell(painter, row, c) == "┼" ? 1 : 0;
  EXPECT_EQ(ticks, 2) << painter.text_lines().back();
  const tui::Rect& panel = view.layout().panel;
  const auto lines = painter.text_lines(panel.row, panel.col, panel.rows, panel.cols);
  const auto three = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("wrap up") != std::string::npos; });
  ASSERT_NE(three, lines.end()) << joined(lines);
  EXPECT_EQ(painter.style_at(static_cast<int>(three - lines.begin()), panel.col + 2).fg, tui::Color::indexed(8));
  // The problem is in the panel, wrapped at spaces rather than inside a word.
  ASSERT_EQ(lines[0], " Problems");
  std::string rejoined = lines[1].substr(1);
  for (std::size_t i = 2; i < lines.size() && lines[i].starts_with("   "); ++i) rejoined += " " + lines[i].substr(3);
  EXPECT_EQ(rejoined, player->problems().front());
}

TEST(ReplayViewProblems, BundleWithoutSessionJsonStillPlays) {
  TestBundle bundle;
  bundle.write_cast(40, 10, kOutputs);
  auto player = open_player(bundle.dir());
  ASSERT_TRUE(player);
  tui::HeadlessPainter painter(30, 120);
  ReplayView view(*player, painter);
  player->seek(player->duration());
  view.draw();
  EXPECT_NE(joined(painter.text_lines()).find("bye"), std::string::npos);
  const tui::Rect& panel = view.layout().panel;
  EXPECT_NE(joined(painter.text_lines(panel.row, panel.col, panel.rows, panel.cols)).find("no session.json"),
            std::string::npos);
  EXPECT_EQ(view.handle_key(key(U'n')), ReplayView::Action::Redraw);  // no turns: nothing breaks
  view.handle_key(key(U'd'));
  view.draw();
  EXPECT_EQ(view.overlay(), ReplayView::Overlay::Diff);
}
