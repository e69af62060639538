#include "vterm_oracle.hpp"

#include "tui/utf8.hpp"

#include <algorithm>

namespace sddsh::tui::testing {

class VTermOracle::Sink final : public VtFilterSink {
 public:
  explicit Sink(VTerm* vt) : vt_(vt) {}
  void forward(std::string_view bytes) override {
    vterm_input_write(vt_, bytes.data(), bytes.size());
  }
  void reply(std::string_view) override {}

 private:
  VTerm* vt_;
};

VTermOracle::VTermOracle(int rows, int cols) : vt_(vterm_new(rows, cols)) {
  vterm_set_utf8(vt_, 1);
  screen_ = vterm_obtain_screen(vt_);
  static const VTermScreenCallbacks callbacks{nullptr, nullptr, nullptr, nullptr,
                                              nullptr, nullptr, push_line, pop_line};
  vterm_screen_set_callbacks(screen_, &callbacks, this);
  vterm_screen_enable_altscreen(screen_, 1);
  vterm_screen_reset(screen_, 1);
}

void VTermOracle::feed(std::string_view bytes) {
  Sink sink(vt_);
  filter_.feed(bytes, sink);
}

void VTermOracle::resize(int rows, int cols) {
  int old_rows = 0;
  int old_cols = 0;
  vterm_get_size(vt_, &old_rows, &old_cols);
  vterm_set_size(vt_, rows, cols);
  if (rows < old_rows || cols < old_cols) {
    constexpr std::string_view kRepair = "\x1b" "7\x1b[r\x1b[s\x1b" "8";
    vterm_input_write(vt_, kRepair.data(), kRepair.size());
  }
}

VTermScreenCell VTermOracle::cell(int row, int col) const {
  VTermScreenCell cell{};
  vterm_screen_get_cell(screen_, VTermPos{row, col}, &cell);
  return cell;
}

VTermPos VTermOracle::cursor() const {
  VTermPos pos{};
  vterm_state_get_cursorpos(vterm_obtain_state(vt_), &pos);
  return pos;
}

int VTermOracle::push_line(int cols, const VTermScreenCell* cells, void* user) {
  auto* self = static_cast<VTermOracle*>(user);
  self->scrollback_.emplace_back(cells, cells + cols);
  return 1;
}

int VTermOracle::pop_line(int cols, VTermScreenCell* cells, void* user) {
  auto* self = static_cast<VTermOracle*>(user);
  if (self->scrollback_.empty()) return 0;
  const auto& line = self->scrollback_.back();
  for (int col = 0; col < cols; ++col) {
    if (col < static_cast<int>(line.size())) {
      cells[col] = line[static_cast<std::size_t>(col)];
    } else {
      cells[col] = VTermScreenCell{};
      cells[col].width = 1;
      vterm_state_get_default_colors(vterm_obtain_state(self->vt_), &cells[col].fg,
                                     &cells[col].bg);
    }
  }
  self->scrollback_.pop_back();
  return 1;
}

Color color_from_vterm(const VTermColor& c) {
  if (VTERM_COLOR_IS_DEFAULT_FG(&c) || VTERM_COLOR_IS_DEFAULT_BG(&c)) return {};
  if (VTERM_COLOR_IS_INDEXED(&c)) return Color::indexed(c.indexed.idx);
  return Color::rgb(c.rgb.red, c.rgb.green, c.rgb.blue);
}

std::string utf8_of(const VTermScreenCell* cells, int count) {
  std::string out;
  for (int col = 0; col < count; ++col) {
    const VTermScreenCell& cell = cells[col];
    if (cell.chars[0] == 0xFFFFFFFFu) continue;
    if (cell.chars[0] == 0) {
      out += ' ';
      continue;
    }
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i] != 0; ++i) {
      append_utf8(out, cell.chars[i]);
    }
  }
  out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

}  // namespace sddsh::tui::testing
