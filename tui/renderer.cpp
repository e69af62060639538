#include "tui/renderer.hpp"

#include <algorithm>

#include "tui/screen.hpp"
#include "tui/utf8.hpp"

namespace sddsh::tui {

namespace {

const Style kDefault{};
Style dim() {
  Style s;
  s.fg = Color::indexed(8);
  return s;
}
Style bold() {
  Style s;
  s.attrs.bold = true;
  return s;
}
Style tone_style(PanelLine::Tone tone) {
  Style s;
  switch (tone) {
    case PanelLine::Tone::Normal: break;
    case PanelLine::Tone::Dim: s.fg = Color::indexed(8); break;
    case PanelLine::Tone::Accent: s.fg = Color::indexed(6); break;
    case PanelLine::Tone::Alert: s.fg = Color::indexed(3); s.attrs.bold = true; break;
    case PanelLine::Tone::Selected: s.attrs.reverse = true; break;
  }
  return s;
}

CursorStyle cursor_style_of(CursorShape shape) {
  switch (shape) {
    case CursorShape::Block: return CursorStyle::Block;
    case CursorShape::Underline: return CursorStyle::Underline;
    case CursorShape::BarLeft: return CursorStyle::Bar;
  }
  return CursorStyle::Default;
}

}  // namespace

void Renderer::set_layout(const Layout& layout) {
  layout_ = layout;
  full_repaint_ = true;
}

void Renderer::draw(Screen& screen, int scroll_offset, const Chrome& chrome) {
  const bool overlay = !chrome.overlay.empty();
  // Leaving the scrollback view or closing an overlay uncovers the whole live pane.
  const bool repaint_pane = full_repaint_ || scroll_offset > 0 || last_scroll_offset_ != scroll_offset ||
                            (overlay_was_shown_ && !overlay);
  if (full_repaint_) {
    panel_cache_.clear();
    status_cache_.clear();
    draw_separator();
  }
  draw_pane(screen, scroll_offset, repaint_pane);
  draw_panel(chrome);
  draw_status(chrome);
  if (overlay) draw_overlay(chrome.overlay);
  painter_.set_cursor(cursor_for(screen, scroll_offset, overlay));
  painter_.present();
  full_repaint_ = false;
  overlay_was_shown_ = overlay;
  last_scroll_offset_ = scroll_offset;
}

void Renderer::draw_pane(Screen& screen, int scroll_offset, bool repaint_all) {
  Damage damage = screen.take_damage();
  const Rect& pane = layout_.pane;
  if (scroll_offset > 0) {
    // The history: scrollback lines, then the screen's, ending `scroll_offset` above the bottom.
    const int history = static_cast<int>(screen.scrollback_size());
    const int total = history + screen.rows();
    const int top = std::max(0, total - pane.rows - scroll_offset);
    for (int r = 0; r < pane.rows; ++r) {
      const int index = top + r;
      const Line* line = index < history ? &screen.scrollback_line(static_cast<std::size_t>(index))
                         : index < total ? &screen.line(index - history)
                                         : nullptr;
      draw_pane_row(r, line);
    }
    return;
  }
  auto row_line = [&](int r) { return r < screen.rows() ? &screen.line(r) : nullptr; };
  if (repaint_all || damage.everything) {
    for (int r = 0; r < pane.rows; ++r) draw_pane_row(r, row_line(r));
    return;
  }
  for (int r : damage.rows)
    if (r < pane.rows) draw_pane_row(r, row_line(r));
}

void Renderer::draw_pane_row(int pane_row, const Line* line) {
  const Rect& pane = layout_.pane;
  const int row = pane.row + pane_row;
  const int cells = line ? std::min(line->size(), pane.cols) : 0;
  for (int c = 0; c < cells; ++c) {
    const Cell& cell = line->at(c);
    if (cell.is_wide_tail()) continue;  // drawn with its left half
    const int width = cell.width == 2 && c + 1 < pane.cols ? 2 : 1;
    const Style style = Style::of(cell.pen);
    if (cell.has_combining) {
      painter_.put(row, pane.col + c, line->text_at(c), width, style);
    } else if (cell.ch == 0) {
      painter_.put(row, pane.col + c, {}, 1, style);
    } else {
      const char32_t ch = cell.ch;
      painter_.put(row, pane.col + c, std::u32string_view(&ch, 1), width, style);
    }
  }
  for (int c = cells; c < pane.cols; ++c) painter_.put(row, pane.col + c, {}, 1, kDefault);
}

void Renderer::draw_separator() {
  if (layout_.separator_col < 0) return;
  static constexpr char32_t kBar = U'│';
  for (int r = 0; r < layout_.pane.rows; ++r)
    painter_.put(r, layout_.separator_col, std::u32string_view(&kBar, 1), 1, dim());
}

void Renderer::draw_text_row(int row, int col, int cols, const std::string& text, const Style& style) {
  const std::u32string fitted = fit_columns(decode_utf8(text), cols);
  int c = col;
  for (char32_t ch : fitted) {
    const int width = std::max(1, display_width(std::u32string_view(&ch, 1)));
    painter_.put(row, c, std::u32string_view(&ch, 1), width, style);
    c += width;
  }
  for (; c < col + cols; ++c) painter_.put(row, c, {}, 1, style);
}

void Renderer::draw_panel(const Chrome& chrome) {
  if (!layout_.panel_shown()) return;
  const Rect& panel = layout_.panel;
  std::vector<std::pair<std::string, Style>> rows;
  for (const PanelSection* section : chrome.sections) {
    rows.emplace_back(" " + section->title(), bold());
    for (const PanelLine& line : section->lines()) rows.emplace_back(" " + line.text, tone_style(line.tone));
    rows.emplace_back("", kDefault);
  }
  rows.resize(static_cast<std::size_t>(panel.rows), {"", kDefault});
  panel_cache_.resize(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    // Text and tone together decide whether the row changed.
    std::string key = rows[r].first + '\0' + static_cast<char>(rows[r].second.fg.index()) +
                      (rows[r].second.attrs.reverse ? "R" : "");
    if (panel_cache_[r] == key) continue;
    panel_cache_[r] = std::move(key);
    draw_text_row(panel.row + static_cast<int>(r), panel.col, panel.cols, rows[r].first, rows[r].second);
  }
}

void Renderer::draw_status(const Chrome& chrome) {
  const Rect& status = layout_.status;
  std::u32string left = decode_utf8(" " + chrome.status_left);
  std::u32string right = decode_utf8(chrome.status_right + " ");
  const int right_cols = display_width(right);
  left = fit_columns(left, std::max(0, status.cols - right_cols - 1));
  std::string line;
  append_utf8(line, left);
  line.append(static_cast<std::size_t>(std::max(0, status.cols - display_width(left) - right_cols)), ' ');
  append_utf8(line, right);
  std::string key = line + (chrome.status_alert ? "!" : "");
  if (key == status_cache_) return;
  status_cache_ = std::move(key);
  Style style;
  style.attrs.reverse = true;
  if (chrome.status_alert) {
    style.bg = Color::indexed(3);
    style.fg = Color::indexed(0);
    style.attrs.reverse = false;
  }
  draw_text_row(status.row, status.col, status.cols, line, style);
}

void Renderer::draw_overlay(const std::vector<std::string>& lines) {
  const Rect& pane = layout_.pane;
  int inner = 0;
  for (const auto& l : lines) inner = std::max(inner, display_width(decode_utf8(l)));
  const int width = std::min(pane.cols, inner + 4);
  const int height = std::min(pane.rows, static_cast<int>(lines.size()) + 2);
  const int top = pane.row + (pane.rows - height) / 2;
  const int left = pane.col + (pane.cols - width) / 2;
  Style box;
  box.attrs.reverse = true;
  const std::string rule(static_cast<std::size_t>(std::max(0, width)), ' ');
  draw_text_row(top, left, width, rule, box);
  for (int i = 0; i + 2 < height; ++i)
    draw_text_row(top + 1 + i, left, width, "  " + lines[static_cast<std::size_t>(i)], box);
  if (height > 1) draw_text_row(top + height - 1, left, width, rule, box);
}

PaintCursor Renderer::cursor_for(const Screen& screen, int scroll_offset, bool overlay) const {
  const CursorState& c = screen.cursor();
  PaintCursor cursor;
  cursor.visible = c.visible && scroll_offset == 0 && !overlay && c.row < layout_.pane.rows &&
                   c.col < layout_.pane.cols;
  cursor.row = layout_.pane.row + c.row;
  cursor.col = layout_.pane.col + c.col;
  cursor.style = cursor_style_of(c.shape);
  cursor.blink = c.blink;
  return cursor;
}

}  // namespace sddsh::tui
