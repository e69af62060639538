#include "replay/pager.hpp"

#include <fstream>
#include <sstream>

#include "recorder/conversation_builder.hpp"
#include "tui/utf8.hpp"

namespace sddsh::replay {

namespace {

using Tone = PagerLine::Tone;
using tui::KeyEvent;

constexpr int kTabStop = 8;
constexpr std::size_t kToolTargetLength = 100;

tui::Style style_of(Tone tone) {
  tui::Style s;
  switch (tone) {
    case Tone::Normal: break;
    case Tone::Dim: s.fg = tui::Color::indexed(8); break;
    case Tone::Header: s.attrs.bold = true; break;
    case Tone::Hunk: s.fg = tui::Color::indexed(6); break;
    case Tone::Added: s.fg = tui::Color::indexed(2); break;
    case Tone::Removed: s.fg = tui::Color::indexed(1); break;
    case Tone::Prompt: s.fg = tui::Color::indexed(6); s.attrs.bold = true; break;
    case Tone::Speaker: s.attrs.bold = true; break;
    case Tone::Tool: s.fg = tui::Color::indexed(5); break;
    case Tone::Alert: s.fg = tui::Color::indexed(3); s.attrs.bold = true; break;
  }
  return s;
}

// What a terminal cell can show: tabs become spaces to the next stop, other control characters
// U+FFFD (a raw ESC from a patch must not reach the user's terminal).
std::u32string printable(std::string_view text) {
  std::u32string out;
  for (char32_t ch : tui::decode_utf8(text)) {
    if (ch == U'\t') {
      const int column = tui::display_width(out);
      out.append(static_cast<std::size_t>(kTabStop - column % kTabStop), U' ');
    } else if (ch == U'\r') {
      continue;
    } else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0)) {
      out += U'\uFFFD';
    } else {
      out += ch;
    }
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_whole_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::ostringstream text;
  if (ok) text << in.rdbuf();
  return text.str();
}

void add_text(std::vector<PagerLine>& out, const std::string& text, const std::string& prefix, Tone tone) {
  for (const auto& line : split_lines(text)) out.push_back({prefix + line, tone});
}

void add_message(std::vector<PagerLine>& out, const recorder::ConversationMessage& m, const std::string& agent) {
  using Role = recorder::ConversationMessage::Role;
  switch (m.role) {
    case Role::User:
      out.push_back({"You", Tone::Speaker});
      add_text(out, m.text, "> ", Tone::Prompt);
      break;
    case Role::Assistant:
      out.push_back({agent, Tone::Speaker});
      add_text(out, m.text, "", Tone::Normal);
      break;
    case Role::Tool: {
      if (!m.tool) break;
      const std::string target = recorder::tool_call_target(*m.tool, kToolTargetLength, true);
      out.push_back({"⏺ " + m.tool->name + (target.empty() ? "" : "  " + target) +
                         (m.tool->failed ? "  (failed)" : ""),
                     Tone::Tool});
      add_text(out, m.tool->output_summary, "  │ ", Tone::Dim);
      break;
    }
  }
  out.push_back({});
}

const recorder::TurnRecord* turn_at(const recorder::SessionRecord* record, int slot) {
  if (!record || slot < 0 || slot >= static_cast<int>(record->turns.size())) return nullptr;
  return &record->turns[static_cast<std::size_t>(slot)];
}

std::string turn_title(const recorder::TurnRecord* turn) {
  return turn ? "Turn " + std::to_string(turn->index) : "Before the first turn";
}

Pager message_pager(std::string title, std::vector<std::string> messages) {
  std::vector<PagerLine> lines;
  for (auto& message : messages) lines.push_back({std::move(message), Tone::Dim});
  return Pager(std::move(title), std::move(lines));
}

}  // namespace

void paint_row(tui::Painter& painter, int row, int col, int cols, std::u32string_view text,
               const tui::Style& style) {
  int c = col;
  for (char32_t ch : tui::fit_columns(text, cols)) {
    const int width = std::max(1, tui::display_width(std::u32string_view(&ch, 1)));
    painter.put(row, c, std::u32string_view(&ch, 1), width, style);
    c += width;
  }
  for (; c < col + cols; ++c) painter.put(row, c, {}, 1, style);
}

Pager::Pager(std::string title, std::vector<PagerLine> lines)
    : title_(std::move(title)), lines_(std::move(lines)) {}

void Pager::wrap_to(int cols) {
  if (cols == wrap_cols_) return;
  // The line at the top stays at the top when the width changes.
  const std::size_t top_line = rows_.empty() ? 0 : rows_[static_cast<std::size_t>(top_)].line;
  wrap_cols_ = cols;
  rows_.clear();
  int new_top = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (i == top_line) new_top = static_cast<int>(rows_.size());
    std::u32string rest = printable(lines_[i].text);
    do {
      std::u32string piece = tui::fit_columns(rest, cols);
      if (piece.empty() && !rest.empty()) piece = rest.substr(0, 1);  // wider than the area
      rest.erase(0, piece.size());
      rows_.push_back({std::move(piece), lines_[i].tone, i});
    } while (!rest.empty());
  }
  top_ = new_top;
  scroll_to(top_);
}

void Pager::draw(tui::Painter& painter, const tui::Rect& area) {
  if (area.rows <= 0 || area.cols <= 0) return;
  wrap_to(area.cols);
  page_rows_ = area.rows - 1;
  scroll_to(top_);
  tui::Style title_style;
  title_style.attrs.reverse = true;
  paint_row(painter, area.row, area.col, area.cols, tui::decode_utf8(" " + title_), title_style);
  for (int r = 0; r < page_rows_; ++r) {
    const std::size_t index = static_cast<std::size_t>(top_ + r);
    const int row = area.row + 1 + r;
    if (index < rows_.size())
      paint_row(painter, row, area.col, area.cols, rows_[index].text, style_of(rows_[index].tone));
    else
      paint_row(painter, row, area.col, area.cols, {}, {});
  }
}

bool Pager::handle_key(const KeyEvent& key) {
  using K = KeyEvent::Kind;
  const bool plain = key.kind == K::Char && !key.ctrl && !key.alt;
  auto is = [&](char32_t ch) { return plain && key.ch == ch; };
  if (key.kind == K::Escape || is(U'q')) return false;
  if (key.kind == K::Down || is(U'j') || key.kind == K::Enter) scroll_to(top_ + 1);
  else if (key.kind == K::Up || is(U'k')) scroll_to(top_ - 1);
  else if (key.kind == K::PageDown || is(U' ') || is(U'f')) scroll_to(top_ + page_rows());
  else if (key.kind == K::PageUp || is(U'b')) scroll_to(top_ - page_rows());
  else if (key.kind == K::Home || is(U'g')) scroll_to(0);
  else if (key.kind == K::End || is(U'G')) scroll_to(max_top());
  return true;
}

std::string Pager::position_text() const {
  const int total = static_cast<int>(rows_.empty() ? lines_.size() : rows_.size());
  const int last = std::min(total, top_ + page_rows());
  return std::to_string(total == 0 ? 0 : top_ + 1) + "-" + std::to_string(last) + "/" + std::to_string(total);
}

std::vector<PagerLine> diff_lines(const std::string& patch) {
  std::vector<PagerLine> out;
  bool in_header = false;
  for (auto& line : split_lines(patch)) {
    if (line.starts_with("diff --git ")) in_header = true;
    if (line.starts_with("@@")) in_header = false;
    Tone tone = Tone::Normal;
    if (in_header) tone = Tone::Header;
    else if (line.starts_with("@@")) tone = Tone::Hunk;
    else if (line.starts_with("+")) tone = Tone::Added;
    else if (line.starts_with("-")) tone = Tone::Removed;
    out.push_back({std::move(line), tone});
  }
  return out;
}

std::vector<PagerLine> conversation_lines(const std::vector<recorder::ConversationMessage>& messages,
                                          int turn, const std::string& agent) {
  std::vector<PagerLine> out;
  for (const auto& m : messages)
    if (m.turn == turn) add_message(out, m, agent.empty() ? "Agent" : agent);
  return out;
}

Pager turn_diff_pager(const std::string& bundle_dir, const recorder::SessionRecord* record, int turn_slot) {
  const recorder::TurnRecord* turn = turn_at(record, turn_slot);
  const std::string title = turn_title(turn) + " · diff";
  if (bundle_dir.empty()) return message_pager(title, {"A bare cast file has no diffs."});
  if (!record) return message_pager(title, {"session.json could not be read: the turns and their diffs are unknown."});
  if (!turn) return message_pager(title, {"Before the first prompt: no turn, so no diff yet.",
                                          "Press n for the next turn."});
  if (turn->diff.empty())
    return message_pager(title, {"Turn " + std::to_string(turn->index) + " has no diff" +
                                 (turn->end ? " (no git repository, or the snapshot failed)." : " (it had not ended).")});
  bool ok = false;
  const std::string patch = read_whole_file(bundle_dir + "/" + turn->diff, ok);
  if (!ok) return message_pager(title, {"Cannot read " + turn->diff + " in the bundle."});
  if (patch.empty()) return message_pager(title + " · " + turn->diff, {"Turn " + std::to_string(turn->index) + " changed no files."});
  return Pager(title + " · " + turn->diff, diff_lines(patch));
}

Pager turn_conversation_pager(const std::string& bundle_dir, const recorder::SessionRecord* record,
                              int turn_slot) {
  const recorder::TurnRecord* turn = turn_at(record, turn_slot);
  const int turn_number = turn ? turn->index : 0;
  const std::string title = turn_title(turn) + " · conversation";
  const std::string agent = record ? record->agent : "";
  if (bundle_dir.empty()) return message_pager(title, {"A bare cast file has no conversation."});
  auto messages = recorder::load_conversation(bundle_dir);
  if (!messages) {
    std::vector<PagerLine> lines;
    if (turn) add_text(lines, turn->prompt, "> ", Tone::Prompt);
    lines.push_back({});
    lines.push_back({"No conversation.jsonl in this bundle (the session had not ended, or it was "
                     "recorded before conversations were kept): only the prompt is known.", Tone::Dim});
    return Pager(title, std::move(lines));
  }
  std::vector<PagerLine> lines = conversation_lines(*messages, turn_number, agent);
  if (lines.empty())
    return message_pager(title, {turn ? "Nothing was said in turn " + std::to_string(turn_number) + "."
                                      : "Nothing was said before the first prompt."});
  return Pager(title, std::move(lines));
}

}  // namespace sddsh::replay
