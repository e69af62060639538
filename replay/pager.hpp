#pragma once
// A pager over the replay's pane area, like `less` without a search: a turn's diff (coloured as
// git colours it) or a turn's conversation (prompt, answers, tool calls). Lines wrap at the
// area's width; keys scroll it; q or Esc closes it.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/conversation.hpp"
#include "recorder/session_record.hpp"
#include "tui/input_decoder.hpp"
#include "tui/layout.hpp"
#include "tui/painter.hpp"

namespace sddsh::replay {

struct PagerLine {
  enum class Tone : std::uint8_t { Normal, Dim, Header, Hunk, Added, Removed, Prompt, Speaker, Tool, Alert };
  std::string text;
  Tone tone = Tone::Normal;
};

class Pager {
 public:
  Pager(std::string title, std::vector<PagerLine> lines);

  const std::string& title() const { return title_; }
  const std::vector<PagerLine>& lines() const { return lines_; }

  // False when the key closes the pager (q, Esc).
  bool handle_key(const tui::KeyEvent& key);
  // The title on the area's first row, the text below it from the current scroll position.
  void draw(tui::Painter& painter, const tui::Rect& area);
  // "12-40/120": the rows shown and how many there are, as of the last draw.
  std::string position_text() const;

 private:
  struct Row {
    std::u32string text;  // already fitted to the wrap width
    PagerLine::Tone tone;
    std::size_t line;  // index into lines_
  };
  void wrap_to(int cols);
  int page_rows() const { return std::max(1, page_rows_); }
  int max_top() const { return std::max(0, static_cast<int>(rows_.size()) - page_rows()); }
  void scroll_to(int top) { top_ = std::clamp(top, 0, max_top()); }

  std::string title_;
  std::vector<PagerLine> lines_;
  std::vector<Row> rows_;  // lines_ wrapped at wrap_cols_
  int wrap_cols_ = 0;
  int page_rows_ = 20;  // the text rows of the last draw: what a page is
  int top_ = 0;         // first row shown
};

// Writes `text` on one row from `col`, cut at `cols` columns and padded with blanks to them.
void paint_row(tui::Painter& painter, int row, int col, int cols, std::u32string_view text,
               const tui::Style& style);

// The lines of a unified diff with their colours: file headers, hunks, additions, removals.
std::vector<PagerLine> diff_lines(const std::string& patch);

// One turn's messages: the prompt, the agent's answers, its tool calls with names and files.
std::vector<PagerLine> conversation_lines(const std::vector<recorder::ConversationMessage>& messages,
                                          int turn, const std::string& agent);

// The pager for turn `turn_slot` (an index into record->turns; -1 before the first turn) of the
// bundle at `bundle_dir`: its diff, or why there is none.
Pager turn_diff_pager(const std::string& bundle_dir, const recorder::SessionRecord* record, int turn_slot);

// The pager for that turn's conversation from the bundle's conversation.jsonl; without one, the
// prompt session.json kept, and why the rest is missing.
Pager turn_conversation_pager(const std::string& bundle_dir, const recorder::SessionRecord* record,
                              int turn_slot);

}  // namespace sddsh::replay
