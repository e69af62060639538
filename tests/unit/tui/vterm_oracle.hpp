#pragma once
// libvterm's own VTermScreen, used as the reference our grid is compared against.

#include <vterm.h>

#include <string>
#include <string_view>
#include <vector>

#include "tui/cell.hpp"
#include "tui/vt_filter.hpp"

namespace sddsh::tui::testing {

class VTermOracle {
 public:
  VTermOracle(int rows, int cols);
  ~VTermOracle() { vterm_free(vt_); }
  VTermOracle(const VTermOracle&) = delete;
  VTermOracle& operator=(const VTermOracle&) = delete;

  // Fed through the same pre-filter as Screen, so libvterm sees identical bytes on both sides.
  void feed(std::string_view bytes);
  // With the same repair Screen::resize feeds after shrinking (see there).
  void resize(int rows, int cols);

  VTermScreenCell cell(int row, int col) const;
  VTermPos cursor() const;
  const std::vector<std::vector<VTermScreenCell>>& scrollback() const { return scrollback_; }

 private:
  class Sink;
  static int push_line(int cols, const VTermScreenCell* cells, void* user);
  static int pop_line(int cols, VTermScreenCell* cells, void* user);

  VTerm* vt_;
  VTermScreen* screen_;
  VtFilter filter_{Rgb{240, 240, 240}, Rgb{0, 0, 0}};
  std::vector<std::vector<VTermScreenCell>> scrollback_;
};

Color color_from_vterm(const VTermColor& c);
std::string utf8_of(const VTermScreenCell* cells, int count);

}  // namespace sddsh::tui::testing
